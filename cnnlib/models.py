"""Keras models of the course, the one training recipe they share, and compact weight files.

- ``model_from_spec``: a plain Sequential CNN from a short layer list (``MNIST_CLASSIC_SPEC``: the
  classic Keras MNIST network, Conv 32 -> Conv 64 -> MaxPool -> Dropout -> Dense 128 -> Dropout -> Dense 10).
- ``build_cifar_net``: the CIFAR-10 network (conv 32-32-64-64-128-128, ELU, max pooling) with optional
  batch normalization and dropout.
- ``ImageBatches``: a ``keras.utils.PyDataset`` that keeps uint8 images and preprocesses (and, for
  training, augments) one batch at a time, so the full CIFAR-10 set never exists as float32 in memory.
- ``fit``: Adam with a cosine-decayed learning rate (or any other optimizer), used by the notebooks and
  by ``benchmarks/train.py`` alike.
- ``save_compact_weights``/``load_compact_weights``: int8 weight files small enough to ship with the
  course (``cnnlib.training.shipped_weights`` finds them), for learners without the time or a GPU to train.

Only Keras' backend-independent API is used, so all of it runs on the TensorFlow and JAX backends.
"""

import math
import os

import numpy as np

from cnnlib.quiet_tf import import_tensorflow

if os.environ["KERAS_BACKEND"] == "tensorflow":
    import_tensorflow()
import keras  # noqa: E402  (after TensorFlow's start-up noise is silenced)

# One tuple per layer. ("conv", filters, kernel_size): "valid" padding, stride 1, ReLU;
# ("pool", size): max pooling with stride = size; ("dropout", rate); ("flatten",);
# ("dense", units): ReLU, except the last layer of a spec, which is softmax.
MNIST_CLASSIC_SPEC = (
    ("conv", 32, 3),
    ("conv", 64, 3),
    ("pool", 2),
    ("dropout", 0.25),
    ("flatten",),
    ("dense", 128),
    ("dropout", 0.5),
    ("dense", 10),
)
LAYER_KINDS = ("conv", "pool", "dropout", "flatten", "dense")

# Full-mode training settings shared by the notebooks and benchmarks/train.py.
MNIST_RECIPE = {"epochs": 6, "batch_size": 128, "learning_rate": 1e-3}
CIFAR_RECIPE = {"epochs": 50, "batch_size": 128, "learning_rate": 1e-3, "shift": 4}


def model_from_spec(input_shape, spec, name="cnn"):
    """A Keras Sequential model with one layer per entry of ``spec``.

    Args:
        input_shape: (H, W, C) of one image.
        spec: sequence of tuples as described above ``MNIST_CLASSIC_SPEC``.
        name: the model's name.

    Returns:
        an uncompiled ``keras.Sequential``; ``model.layers[i]`` is built from ``spec[i]``.
    """
    built = []
    for i, entry in enumerate(spec):
        kind, *args = entry
        activation = "softmax" if i == len(spec) - 1 else "relu"
        if kind == "conv":
            built.append(keras.layers.Conv2D(args[0], args[1], activation=activation))
        elif kind == "pool":
            built.append(keras.layers.MaxPooling2D(args[0]))
        elif kind == "dropout":
            built.append(keras.layers.Dropout(args[0]))
        elif kind == "flatten":
            built.append(keras.layers.Flatten())
        elif kind == "dense":
            built.append(keras.layers.Dense(args[0], activation=activation))
        else:
            raise ValueError(f"Unknown layer kind {kind!r} in spec entry {entry!r}. "
                             f"Expected one of {LAYER_KINDS}.")
    return keras.Sequential([keras.Input(shape=tuple(input_shape)), *built], name=name)


def build_cifar_net(batch_norm=True, dropout=True, width=1, input_shape=(32, 32, 3), n_classes=10):
    """The CIFAR-10 network: three blocks of two 3x3 "same" convolutions with ELU, then max pooling.

    Block b (b = 0, 1, 2) has 32 * 2**b * width kernels per convolution; with ``batch_norm`` every
    convolution is followed by batch normalization, with ``dropout`` every block ends with dropout
    of rate 0.2, 0.3, 0.4. A dense softmax layer classifies the flattened 4x4 maps.

    Args:
        batch_norm, dropout: include those layers.
        width: multiplier of the number of kernels (1: 32-32-64-64-128-128).
        input_shape: (H, W, C) of one image.
        n_classes: number of outputs.

    Returns:
        an uncompiled ``keras.Sequential``.
    """
    stack = [keras.Input(shape=tuple(input_shape))]
    for block, rate in enumerate((0.2, 0.3, 0.4)):
        for _ in range(2):
            stack.append(keras.layers.Conv2D(32 * 2 ** block * width, 3, padding="same"))
            stack.append(keras.layers.Activation("elu"))
            if batch_norm:
                stack.append(keras.layers.BatchNormalization())
        stack.append(keras.layers.MaxPooling2D(2))
        if dropout:
            stack.append(keras.layers.Dropout(rate))
    stack += [keras.layers.Flatten(), keras.layers.Dense(n_classes, activation="softmax")]
    name = "cifar_net" + "_bn" * batch_norm + "_dropout" * dropout
    return keras.Sequential(stack, name=name)


class ImageBatches(keras.utils.PyDataset):
    """Mini-batches of (preprocessed images, labels) from uint8 arrays, reshuffled every epoch.

    Args:
        x: (N, H, W) or (N, H, W, C) uint8 images; kept as they are.
        y: (N,) or (N, 1) integer labels.
        preprocess: function from a uint8 batch (B, H, W, C) to the float32 batch the model eats.
        batch_size: images per batch (the last batch may be smaller).
        augment: None, or function (batch, rng) -> batch applied to training batches before
            preprocessing (e.g. ``cnnlib.augment.crop_and_flip``).
        shuffle: draw a new order every epoch (training) or keep the order (evaluation).
        seed: seed of the shuffling and augmentation.
    """

    def __init__(self, x, y, preprocess, batch_size=128, augment=None, shuffle=True, seed=0):
        super().__init__()
        self.x = x if x.ndim == 4 else x[..., None]
        self.y = np.asarray(y).reshape(-1).astype(np.int32)
        self.preprocess = preprocess
        self.batch_size = batch_size
        self.augment = augment
        self.shuffle = shuffle
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(self.x)) if shuffle else np.arange(len(self.x))

    def __len__(self):
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, index):
        rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        batch = self.x[rows]
        if self.augment is not None:
            batch = self.augment(batch, self.rng)
        return self.preprocess(batch), self.y[rows]

    def on_epoch_end(self):
        if self.shuffle:
            self.order = self.rng.permutation(len(self.x))


def fit(model, train, validation=None, epochs=1, learning_rate=1e-3, optimizer=None, verbose=2):
    """Compile ``model`` for integer labels and train it.

    Args:
        model: an uncompiled Keras model ending in softmax.
        train: ``ImageBatches`` of the training set.
        validation: optional ``ImageBatches`` evaluated after every epoch.
        epochs: number of passes over ``train``.
        learning_rate: Adam's initial learning rate, decayed to 0 along a cosine over all steps.
        optimizer: a Keras optimizer to use instead of the cosine-decayed Adam.
        verbose: Keras' verbosity (2: one line per epoch, 0: silent).

    Returns:
        the ``keras.callbacks.History``; ``history.history`` holds "loss", "accuracy" and, with
        validation data, "val_loss", "val_accuracy", one value per epoch.
    """
    if optimizer is None:
        schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=epochs * len(train))
        optimizer = keras.optimizers.Adam(schedule)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model.fit(train, validation_data=validation, epochs=epochs, verbose=verbose)


def predict_proba(model, batches):
    """Class probabilities (N, K) for every image of ``batches`` (an unshuffled ``ImageBatches``)."""
    return np.asarray(model.predict(batches, verbose=0))


# --------------------------------------------------------------------------- compact weight files


def save_compact_weights(model, path):
    """Save a model's weights as an .npz, kernels quantized to int8.

    Arrays with two or more axes (conv and dense kernels) are stored as int8 with one float32 scale
    per output unit (last axis): w ~ q * scale, an error of at most scale / 2 = max|w| / 254 per
    weight, which leaves accuracies unchanged. Biases and batch-normalization vectors stay float32.
    The file is about a quarter of the float32 size.
    """
    arrays = {}
    for i, w in enumerate(model.get_weights()):
        if w.ndim >= 2:
            scale = np.abs(w).reshape(-1, w.shape[-1]).max(axis=0) / 127
            scale[scale == 0] = 1
            arrays[f"q{i}"] = np.round(w / scale).astype(np.int8)
            arrays[f"scale{i}"] = scale.astype(np.float32)
        else:
            arrays[f"w{i}"] = w.astype(np.float32)
    np.savez_compressed(path, **arrays)


def load_compact_weights(model, path):
    """Load weights saved by ``save_compact_weights`` into a model of the same architecture."""
    with np.load(path, allow_pickle=False) as f:
        count = len(model.get_weights())
        weights = [f[f"q{i}"].astype(np.float32) * f[f"scale{i}"] if f"q{i}" in f.files else f[f"w{i}"]
                   for i in range(count)]
    model.set_weights(weights)
    return model
