"""Transfer learning on CIFAR-10's cats and dogs: the data, the pretrained base and its reuse.

- ``write_cats_and_dogs``: CIFAR-10's cat and dog photos written as PNG files into class folders
  (``train/cats``, ``train/dogs``, ``validation/...``, ``test/...``), the layout that
  ``keras.utils.image_dataset_from_directory`` reads.
- ``build_cifar8_base`` and ``build_cifar8_classifier``: a convolutional base of three blocks (two 3x3
  convolutions with ELU and batch normalization, max pooling, dropout), named like VGG16's layers
  (``block1_conv1`` ... ``block3_pool``), and the 8-class classifier it was pretrained in, on the eight
  CIFAR-10 classes that are neither cats nor dogs (``CIFAR8_CLASSES``).
- ``load_cifar8_base``: that base with the weights shipped in ``cnnlib/weights/cifar8_base.npz``.
- ``bottleneck_features``, ``freeze_up_to``, ``stack``: the three steps of reusing a base.

The base takes images with pixel values 0..255 (float or uint8), as ``image_dataset_from_directory``
yields them, and rescales them itself; its output for a 32x32 image is (4, 4, 128).
"""

import functools
import os
from pathlib import Path

import numpy as np

from cnnlib._validate import check_int, fail
from cnnlib.quiet_tf import import_tensorflow

if os.environ["KERAS_BACKEND"] == "tensorflow":
    import_tensorflow()
import keras  # noqa: E402  (after TensorFlow's start-up noise is silenced)

CAT, DOG = 3, 5
# The CIFAR-10 classes the base was pretrained on, in the order of its 8 outputs.
CIFAR8_CLASSES = ("airplane", "automobile", "bird", "deer", "frog", "horse", "ship", "truck")
CIFAR8_LABELS = (0, 1, 2, 4, 6, 7, 8, 9)
BASE_FILTERS = (32, 64, 128)
BASE_DROPOUT = (0.2, 0.3, 0.4)
# Full-mode pretraining of the base (benchmarks/train_transfer.py): cosine Adam, crops and flips.
CIFAR8_RECIPE = {"epochs": 20, "batch_size": 128, "learning_rate": 1e-3, "shift": 4}
WEIGHTS_FILE = Path(__file__).resolve().parent / "weights" / "cifar8_base.npz"


def build_cifar8_base(input_shape=(32, 32, 3)):
    """The convolutional base: Rescaling(1/255), then three blocks of conv-conv-pool-dropout.

    Block b (1, 2, 3) has two 3x3 "same" convolutions with ``BASE_FILTERS[b - 1]`` kernels and ELU,
    each followed by batch normalization, then 2x2 max pooling and dropout. Layer names:
    ``rescale``, ``block{b}_conv{i}``, ``block{b}_bn{i}``, ``block{b}_pool``, ``block{b}_dropout``.

    Args:
        input_shape: (H, W, 3) of one image, H and W divisible by 8.

    Returns:
        an uncompiled ``keras.Sequential`` named "cifar8_base"; output (H/8, W/8, 128).
    """
    stack = [keras.Input(shape=tuple(input_shape)), keras.layers.Rescaling(1 / 255, name="rescale")]
    for block, (filters, rate) in enumerate(zip(BASE_FILTERS, BASE_DROPOUT), start=1):
        for i in (1, 2):
            stack.append(keras.layers.Conv2D(filters, 3, padding="same", activation="elu",
                                             name=f"block{block}_conv{i}"))
            stack.append(keras.layers.BatchNormalization(name=f"block{block}_bn{i}"))
        stack.append(keras.layers.MaxPooling2D(2, name=f"block{block}_pool"))
        stack.append(keras.layers.Dropout(rate, name=f"block{block}_dropout"))
    return keras.Sequential(stack, name="cifar8_base")


def build_cifar8_classifier(base=None):
    """The model the base is pretrained in: base, Flatten, Dense(8, softmax).

    Args:
        base: a model from ``build_cifar8_base`` (a new one when None).

    Returns:
        an uncompiled ``keras.Sequential`` whose first layer is the base.
    """
    base = build_cifar8_base() if base is None else base
    return keras.Sequential([keras.Input(shape=base.input_shape[1:]), base,
                             keras.layers.Flatten(name="flatten"),
                             keras.layers.Dense(len(CIFAR8_CLASSES), activation="softmax", name="predictions")],
                            name="cifar8_classifier")


def load_cifar8_base(path=WEIGHTS_FILE):
    """The pretrained base with the shipped weights (int8 kernels, see ``models.save_compact_weights``).

    Args:
        path: the weight file of a whole ``build_cifar8_classifier`` model.

    Returns:
        the base (``build_cifar8_base``'s architecture), output (4, 4, 128) for 32x32 images.
    """
    from cnnlib.models import load_compact_weights

    classifier = load_compact_weights(build_cifar8_classifier(), path)
    return classifier.layers[0]


# --------------------------------------------------------------------------- the cats-and-dogs data

CLASS_FOLDERS = ("cats", "dogs")   # label 0 and 1: image_dataset_from_directory sorts folder names
SPLITS = ("train", "validation")
DECK_SIZES = {"train": 1000, "validation": 200, "test": 1000}   # images per class
# Training settings of the three approaches, full and fast mode (the notebook and the benchmark).
TRANSFER_RECIPE = {
    "full": {"batch_size": 32, "scratch_epochs": 50, "head_epochs": 50, "finetune_epochs": 20,
             "finetune_learning_rate": 1e-3, "momentum": 0.9, "test_per_class": 1000},
    "fast": {"batch_size": 32, "scratch_epochs": 4, "head_epochs": 10, "finetune_epochs": 2,
             "finetune_learning_rate": 1e-3, "momentum": 0.9, "test_per_class": 200},
}

# The notebook's accuracy test of build_head: sizes per class, epochs, and the threshold, set below the
# lowest accuracy of the reference head over ten seeds (benchmarks/train_transfer.py --head-test).
HEAD_TEST = {"sizes": {"train": 200, "validation": 0, "test": 100}, "epochs": 10, "threshold": 0.63}


def head_test_features():
    """The data of the accuracy test of ``build_head``: the shipped base's features of its images.

    Computed once per process (grading a class computes them once per grading process, not once per
    submission); each call returns fresh copies.

    Returns:
        ((f_train, y_train), (f_test, y_test)): f (2n, 4, 4, 128) float32 for n images per class of
        ``HEAD_TEST["sizes"]``, y (2n,) int32 in {0, 1}.
    """
    f_train, y_train, f_test, y_test = _head_test_features()
    return (f_train.copy(), y_train.copy()), (f_test.copy(), y_test.copy())


@functools.cache
def _head_test_features():
    splits = load_cats_and_dogs(**HEAD_TEST["sizes"])
    base = load_cifar8_base()
    (x_train, y_train), (x_test, y_test) = splits["train"], splits["test"]
    return bottleneck_features(base, x_train), y_train, bottleneck_features(base, x_test), y_test


def default_data_dir():
    """Where the cats-and-dogs folders are written: ``$KERAS_HOME/datasets/cifar10_cats_and_dogs``.

    Keras' cache (``~/.keras`` unless ``KERAS_HOME`` says otherwise), outside the course folder, so
    that the PNG files never travel with a notebook.
    """
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    return keras_home / "datasets" / "cifar10_cats_and_dogs"


def load_cats_and_dogs(train=1000, validation=200, test=1000):
    """CIFAR-10's cats (label 0) and dogs (label 1): the same images every time.

    Training and validation images come from CIFAR-10's training split (different images), test
    images from its test split. Only the images needed are decoded.

    Args:
        train, validation: images per class from the training split (train + validation <= 5,000;
            validation may be 0).
        test: images per class from the test split (<= 1,000).

    Returns:
        dict with "train", "validation", "test", each a pair (x, y): x (2n, 32, 32, 3) uint8 and
        y (2n,) int32 in {0, 1}, classes in a mixed order.
    """
    from cnnlib import data

    train, validation, test = (check_int(name, value, minimum=minimum) for name, value, minimum in
                               (("train", train, 1), ("validation", validation, 0), ("test", test, 1)))
    if train + validation > 5000 or test > 1000:
        fail(f"Invalid sizes: CIFAR-10 has 5,000 training and 1,000 test images per class; received "
             f"train={train}, validation={validation} (sum {train + validation}), test={test}.")
    # A class-balanced subset of 10 n images holds n of every class.
    (x_all, y_all), (x_test, y_test) = data.load_cifar10(n_train=10 * (train + validation), n_test=10 * test)
    out = {}
    for split, (x, y), ranks in (("train", (x_all, y_all), (0, train)),
                                 ("validation", (x_all, y_all), (train, train + validation)),
                                 ("test", (x_test, y_test), (0, test))):
        y = y.reshape(-1)
        picked = [np.flatnonzero(y == label)[ranks[0]:ranks[1]] for label in (CAT, DOG)]
        order = np.sort(np.concatenate(picked))   # the subset's mixed class order
        out[split] = (x[order], (y[order] == DOG).astype(np.int32))
    return out


def write_class_folders(folder, splits):
    """Write images as PNG files into ``folder/<split>/cats`` and ``folder/<split>/dogs``.

    Existing ``cats`` and ``dogs`` folders of those splits are emptied first, so the folders hold
    exactly the given images.

    Args:
        folder: the data folder (created if missing).
        splits: dict split name -> (x, y) as returned by ``load_cats_and_dogs``.

    Returns:
        dict "<split>/<class folder>" -> number of files written.
    """
    from PIL import Image

    folder = Path(folder)
    counts = {}
    for split, (x, y) in splits.items():
        for label, name in enumerate(CLASS_FOLDERS):
            target = folder / split / name
            target.mkdir(parents=True, exist_ok=True)
            for old in target.glob("*.png"):
                old.unlink()
            images = x[np.asarray(y) == label]
            for i, image in enumerate(images):
                Image.fromarray(image).save(target / f"{name[:-1]}.{i:04d}.png")
            counts[f"{split}/{name}"] = len(images)
    return counts


def image_datasets(folder, batch_size=32, seed=0):
    """The training and validation sets as ``tf.data`` datasets read from class folders.

    Args:
        folder: holding ``train/`` and ``validation/``, each with ``cats/`` and ``dogs/``.
        batch_size: images per batch.
        seed: seed of the training set's shuffling.

    Returns:
        (train, validation): datasets of (images (B, 32, 32, 3) float32 in 0..255, labels (B, 1)
        float32 in {0, 1}); the training set is reshuffled every epoch, the validation set is not.
    """
    folder = Path(folder)
    common = {"label_mode": "binary", "image_size": (32, 32), "batch_size": batch_size, "verbose": False}
    train = keras.utils.image_dataset_from_directory(folder / "train", shuffle=True, seed=seed, **common)
    validation = keras.utils.image_dataset_from_directory(folder / "validation", shuffle=False, **common)
    return train, validation


def deck_augmentation(seed=0):
    """The lecture's random transformations as Keras preprocessing layers.

    Rotations by up to 40 degrees, shifts and zooms by up to 20%, left-right mirroring; new pixels
    copy the nearest edge pixel. (The lecture's ``shear_range=0.2`` is an angle in degrees, too small
    to matter, and is left out.)

    Returns:
        a ``keras.Sequential``, active only when called with ``training=True``.
    """
    return keras.Sequential([
        keras.layers.RandomRotation(40 / 360, fill_mode="nearest", seed=seed),
        keras.layers.RandomTranslation(0.2, 0.2, fill_mode="nearest", seed=seed + 1),
        keras.layers.RandomZoom(0.2, fill_mode="nearest", seed=seed + 2),
        keras.layers.RandomFlip("horizontal", seed=seed + 3),
    ], name="deck_augmentation")


def augmented(dataset, augmentation):
    """``dataset`` with ``augmentation`` applied to every training batch (labels unchanged)."""
    import tensorflow as tf

    return dataset.map(lambda x, y: (augmentation(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)


def dataset_arrays(dataset):
    """All batches of a dataset of (images, labels) as two arrays: (N, H, W, C) float32 and (N,) int32."""
    xs, ys = zip(*((x.numpy(), y.numpy()) for x, y in dataset))
    return np.concatenate(xs), np.concatenate(ys).reshape(-1).astype(np.int32)


# --------------------------------------------------------------------------- reference answers


def bottleneck_features(base, images, batch_size=64):
    """The base's output for every image, computed batch by batch in inference mode.

    Args:
        base: a Keras model (the convolutional base).
        images: (N, H, W, C) array, pixel values as the base expects them.
        batch_size: images per forward pass; the last batch may be smaller.

    Returns:
        (N, h, w, c) float32: ``base``'s output shape, one row per image, in the order of ``images``.
    """
    batch_size = check_int("batch_size", batch_size, minimum=1)
    images = np.asarray(images, dtype=np.float32)
    parts = [keras.ops.convert_to_numpy(base(images[i:i + batch_size], training=False))
             for i in range(0, len(images), batch_size)]
    return np.concatenate(parts).astype(np.float32)


def freeze_up_to(model, layer_name):
    """Freeze every layer of ``model`` before the layer ``layer_name``; that layer and the later ones train.

    Args:
        model: a Keras model with a flat list of layers (``model.layers``).
        layer_name: name of the first layer that stays trainable.

    Returns:
        the same model (changed in place).

    Raises:
        ValueError: if no layer has that name (the message lists the names).
    """
    names = [layer.name for layer in model.layers]
    if layer_name not in names:
        fail(f"Invalid value for argument `layer_name`: no layer is called {layer_name!r}. "
             f"Expected one of {names}.")
    model.trainable = True   # a frozen model hides the weights of every layer inside it
    first = names.index(layer_name)
    for i, layer in enumerate(model.layers):
        layer.trainable = i >= first
    return model


def build_head(input_shape):
    """The lecture's dense classifier: Flatten, Dense(256, ReLU), Dropout(0.5), Dense(1, sigmoid)."""
    return keras.Sequential([
        keras.Input(shape=tuple(input_shape)),
        keras.layers.Flatten(),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(1, activation="sigmoid"),
    ], name="head")


def build_transfer_model(base):
    """The lecture's transfer model, written with the functional API: an image input, the whole
    ``base`` called as one layer (its weights shared, not copied), then the classifier of
    ``build_head``: Flatten, Dense(256, ReLU), Dropout(0.5), Dense(1, sigmoid).

    Args:
        base: a Keras model taking (H, W, C) images to (h, w, c) features.

    Returns:
        keras.Model with layers [InputLayer, base, Flatten, Dense, Dropout, Dense]; input
        (None, H, W, C), output (None, 1); base.count_params() + h*w*c*256 + 256 + 257 parameters.
    """
    image = keras.Input(shape=tuple(base.input_shape[1:]))
    x = keras.layers.Flatten()(base(image))
    x = keras.layers.Dense(256, activation="relu")(x)
    x = keras.layers.Dropout(0.5)(x)
    return keras.Model(image, keras.layers.Dense(1, activation="sigmoid")(x), name="transfer_model")


def build_small_convnet(input_shape=(32, 32, 3)):
    """The lecture's from-scratch network: Rescaling(1/255), three blocks of 3x3 conv (32, 32, 64
    kernels, "valid", ReLU) and 2x2 max pooling, Flatten, Dense(64, ReLU), Dropout(0.5), Dense(1, sigmoid)."""
    stack = [keras.Input(shape=tuple(input_shape)), keras.layers.Rescaling(1 / 255)]
    for filters in (32, 32, 64):
        stack += [keras.layers.Conv2D(filters, 3, activation="relu"), keras.layers.MaxPooling2D(2)]
    stack += [keras.layers.Flatten(), keras.layers.Dense(64, activation="relu"), keras.layers.Dropout(0.5),
              keras.layers.Dense(1, activation="sigmoid")]
    return keras.Sequential(stack, name="small_convnet")


# --------------------------------------------------------------------------- training and comparing


def stack(base, head):
    """One flat model: the layers of ``base`` followed by those of ``head``, sharing their weights.

    Flat (not a model inside a model), so that ``freeze_up_to`` sees every layer by name.
    """
    return keras.Sequential([keras.Input(shape=base.input_shape[1:]), *base.layers, *head.layers],
                            name=f"{base.name}_with_{head.name}")


def layer_table(model):
    """One row per layer, plain data: (class name, output shape without the batch axis, parameters, detail).

    ``detail`` is the activation of Dense and Conv2D layers, the rate of Dropout, the pool size of
    pooling layers, the scale of Rescaling and "" otherwise. Two models with equal tables have the same
    structure, however their code was spelled: an activation layer (``Activation("relu")``,
    ``ReLU()``) right after a layer without one counts as that layer's ``activation=``, and the
    input layer of a functional model is left out.
    """
    rows = []
    for layer in model.layers:
        kind, config = type(layer).__name__, layer.get_config()
        if kind == "InputLayer":
            continue
        activation = _ACTIVATION_LAYERS.get(kind) or (str(config["activation"]) if kind == "Activation" else None)
        if activation and rows and rows[-1][3].endswith("linear"):
            name, shape, params, detail = rows[-1]
            rows[-1] = (name, shape, params, detail[:-len("linear")] + activation)
            continue
        if "activation" in config:
            detail = str(config["activation"])
        elif "rate" in config:
            detail = f"rate {config['rate']:g}"
        elif "pool_size" in config:
            detail = f"pool {tuple(config['pool_size'])}"
        elif "scale" in config:
            detail = f"scale {float(config['scale']):.6g}"
        else:
            detail = ""
        if "kernel_size" in config:
            detail = f"{tuple(config['kernel_size'])} {config['padding']} {detail}"
        rows.append((kind, tuple(int(d) for d in layer.output.shape[1:]), int(layer.count_params()), detail))
    return rows


# Layers that are an activation function and nothing else (with their defaults), by class name.
_ACTIVATION_LAYERS = {"ReLU": "relu", "Softmax": "softmax"}


def compile_and_fit(model, train, validation=None, epochs=1, optimizer="rmsprop", batch_size=None, verbose=0):
    """Compile for a sigmoid output (binary cross-entropy, accuracy) and train.

    Args:
        model: ends in one sigmoid unit.
        train: a dataset of (images, labels), or a pair (x, y) of arrays.
        validation: the same kind, or None.
        epochs: passes over ``train``.
        optimizer: a Keras optimizer or its name.
        batch_size: for arrays only.
        verbose: Keras' verbosity.

    Returns:
        ``history.history``: "loss", "accuracy" (and "val_loss", "val_accuracy"), one value per epoch.
    """
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"])
    if isinstance(train, tuple):
        x, y = train
        return model.fit(x, y, batch_size=batch_size, epochs=epochs, validation_data=validation,
                         verbose=verbose).history
    return model.fit(train, validation_data=validation, epochs=epochs, shuffle=False, verbose=verbose).history  # a dataset shuffles itself


def binary_accuracy(model, x, y, batch_size=256):
    """Fraction of images whose sigmoid output lands on the right side of 0.5 (float in [0, 1])."""
    probs = np.asarray(model.predict(np.asarray(x, dtype=np.float32), batch_size=batch_size, verbose=0))
    return float(((probs.reshape(-1) > 0.5) == (np.asarray(y).reshape(-1) == 1)).mean())


# --------------------------------------------------------------------------- the lecture's VGG16, optionally

VGG16_WEIGHTS = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
VGG16_HOST = ("storage.googleapis.com", 443)


def vgg16_available(timeout=3.0):
    """Whether Keras can get VGG16's ImageNet weights: cached already, or the download host answers.

    Returns:
        (bool, reason): reason says which, or why not, in one line.
    """
    import socket

    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    if (keras_home / "models" / VGG16_WEIGHTS).exists():
        return True, "VGG16's weights are in Keras' cache"
    try:
        socket.create_connection(VGG16_HOST, timeout=timeout).close()
    except OSError as error:
        return False, f"no connection to {VGG16_HOST[0]} ({error}): VGG16's ImageNet weights (58 MB) cannot be downloaded"
    return True, "VGG16's weights will be downloaded once (58 MB)"


def vgg16_base(size=96, weights="imagenet"):
    """The lecture's ``VGG16(include_top=False)`` for 32x32 images with pixel values 0..255.

    The images are enlarged to size x size first (VGG16 was trained on 224x224 photos; at 32x32 its
    five poolings would leave a single position) and converted as VGG16 expects (BGR, ImageNet means
    subtracted).

    Returns:
        a Keras model from (N, 32, 32, 3) to (N, size/32, size/32, 512).
    """
    inputs = keras.Input(shape=(32, 32, 3))
    x = keras.layers.Resizing(size, size)(inputs)
    x = keras.layers.Lambda(keras.applications.vgg16.preprocess_input)(x)
    vgg = keras.applications.VGG16(include_top=False, weights=weights, input_shape=(size, size, 3))
    return keras.Model(inputs, vgg(x), name="vgg16_base")
