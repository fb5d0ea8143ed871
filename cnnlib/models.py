"""Keras models of the course, the one training recipe they share, and compact weight files.

- ``model_from_spec``: a plain Sequential CNN from a short layer list (``MNIST_CLASSIC_SPEC``: the
  classic Keras MNIST network, Conv 32 -> Conv 64 -> MaxPool -> Dropout -> Dense 128 -> Dropout -> Dense 10).
- ``build_cifar_net``: the CIFAR-10 network (conv 32-32-64-64-128-128, ELU, max pooling) with optional
  batch normalization, dropout and L2 weight decay; ``build_cifar_mlp`` and ``build_small_cifar_cnn``:
  an MLP and a small CNN of the same size class, to compare the two kinds of network.
- ``CIFAR_EXPERIMENTS`` and ``train_experiment``: the CIFAR-10 experiments (each cure on its own, and all
  of them) with the one recipe ``CIFAR_EXPERIMENT_RECIPE`` that the notebook's full mode and
  ``benchmarks/train.py`` (which records their histories in cnnlib/histories/) share.
- ``ImageBatches``: a ``keras.utils.PyDataset`` that keeps uint8 images and preprocesses (and, for
  training, augments) one batch at a time, so the full CIFAR-10 set never exists as float32 in memory.
- ``fit``: Adam with a cosine-decayed learning rate (or any other optimizer), used by the notebooks and
  by ``benchmarks/train.py`` alike.
- ``layer_sequence``: what a model is, whatever code built it (``Activation`` layers or ``activation=``
  arguments, Sequential or functional): the operations in order, with output shapes and parameter counts.
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

# The CIFAR-10 experiments: a subset small enough that every experiment trains in minutes on a CPU,
# large enough that overfitting and each cure show. A fifth of the n_train images (a seeded shuffle)
# validate; the test accuracy is measured on n_test test images.
CIFAR_EXPERIMENT_RECIPE = {"n_train": 2500, "n_test": 1000, "validation_fraction": 0.2, "epochs": 10,
                           "batch_size": 64, "learning_rate": 1e-3, "shift": 4, "seed": 0}
# name -> the network and the cures it uses. "network": "cifar_net" (build_cifar_net), "mlp"
# (build_cifar_mlp) or "small_cnn" (build_small_cifar_cnn); "augment": crops and flips.
_PLAIN = {"network": "cifar_net", "batch_norm": False, "dropout": False, "augment": False, "weight_decay": 0.0}
CIFAR_EXPERIMENTS = {
    "plain": _PLAIN,
    "dropout": {**_PLAIN, "dropout": True},
    "batch norm": {**_PLAIN, "batch_norm": True},
    "augmentation": {**_PLAIN, "augment": True},
    "all cures": {**_PLAIN, "batch_norm": True, "dropout": True, "augment": True},
    "mlp": {**_PLAIN, "network": "mlp"},
    "small cnn": {**_PLAIN, "network": "small_cnn"},
    "weight decay": {**_PLAIN, "weight_decay": 5e-4},
}


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


def build_cifar_net(batch_norm=True, dropout=True, width=1, weight_decay=0.0, input_shape=(32, 32, 3),
                    n_classes=10):
    """The CIFAR-10 network: three blocks of two 3x3 "same" convolutions with ELU, then max pooling.

    Block b (b = 0, 1, 2) has 32 * 2**b * width kernels per convolution; with ``batch_norm`` every
    ELU is followed by batch normalization, with ``dropout`` every block ends with dropout
    of rate 0.2, 0.3, 0.4. A dense softmax layer classifies the flattened 4x4 maps.

    Args:
        batch_norm, dropout: include those layers.
        width: multiplier of the number of kernels (1: 32-32-64-64-128-128).
        weight_decay: lambda of an L2 penalty (lambda / 2) * sum(w ** 2) on every convolution and
            dense kernel (Keras' ``L2(l2)`` adds l2 * sum(w ** 2), so l2 = lambda / 2); 0: none.
        input_shape: (H, W, C) of one image.
        n_classes: number of outputs.

    Returns:
        an uncompiled ``keras.Sequential``.
    """
    regularizer = keras.regularizers.L2(weight_decay / 2) if weight_decay else None
    stack = [keras.Input(shape=tuple(input_shape))]
    for block, rate in enumerate((0.2, 0.3, 0.4)):
        for _ in range(2):
            stack.append(keras.layers.Conv2D(32 * 2 ** block * width, 3, padding="same",
                                             kernel_regularizer=regularizer))
            stack.append(keras.layers.Activation("elu"))
            if batch_norm:
                stack.append(keras.layers.BatchNormalization())
        stack.append(keras.layers.MaxPooling2D(2))
        if dropout:
            stack.append(keras.layers.Dropout(rate))
    stack += [keras.layers.Flatten(),
              keras.layers.Dense(n_classes, activation="softmax", kernel_regularizer=regularizer)]
    name = "cifar_net" + "_bn" * batch_norm + "_dropout" * dropout + "_l2" * bool(weight_decay)
    return keras.Sequential(stack, name=name)


def build_cifar_mlp(input_shape=(32, 32, 3), n_classes=10):
    """An MLP for CIFAR-10 (deck 004's): flatten -> dense 1000 -> dropout 0.2 -> dense 512 -> dropout 0.2
    -> dense softmax, ReLU hidden units; 3,590,642 parameters for 32x32x3 inputs."""
    return keras.Sequential([
        keras.Input(shape=tuple(input_shape)), keras.layers.Flatten(),
        keras.layers.Dense(1000, activation="relu"), keras.layers.Dropout(0.2),
        keras.layers.Dense(512, activation="relu"), keras.layers.Dropout(0.2),
        keras.layers.Dense(n_classes, activation="softmax")], name="cifar_mlp")


def build_small_cifar_cnn(input_shape=(32, 32, 3), n_classes=10):
    """A small CNN for CIFAR-10 (deck 004's): three blocks of a 2x2 "same" ReLU convolution (16, 32, 64
    kernels) and 2x2 max pooling, dropout 0.3, dense 500 (ReLU), dropout 0.4, dense softmax;
    528,054 parameters, a seventh of the MLP's."""
    stack = [keras.Input(shape=tuple(input_shape))]
    for filters in (16, 32, 64):
        stack += [keras.layers.Conv2D(filters, 2, padding="same", activation="relu"), keras.layers.MaxPooling2D(2)]
    stack += [keras.layers.Dropout(0.3), keras.layers.Flatten(), keras.layers.Dense(500, activation="relu"),
              keras.layers.Dropout(0.4), keras.layers.Dense(n_classes, activation="softmax")]
    return keras.Sequential(stack, name="small_cifar_cnn")


def build_experiment_model(name):
    """The uncompiled network of the experiment ``name`` of ``CIFAR_EXPERIMENTS``."""
    if name not in CIFAR_EXPERIMENTS:
        raise ValueError(f"Unknown experiment {name!r}. Expected one of {tuple(CIFAR_EXPERIMENTS)}.")
    setup = CIFAR_EXPERIMENTS[name]
    if setup["network"] == "mlp":
        return build_cifar_mlp()
    if setup["network"] == "small_cnn":
        return build_small_cifar_cnn()
    return build_cifar_net(batch_norm=setup["batch_norm"], dropout=setup["dropout"],
                           weight_decay=setup["weight_decay"])


def split_train_validation(x, y, fraction=0.1, seed=0):
    """Shuffle (seeded), then hold out ``fraction`` of the images for validation.

    Shuffling matters: the course's offline copy of CIFAR-10 is sorted by class.

    Args:
        x: (N, ...) images; y: (N, ...) labels.
        fraction: share of N held out, rounded down.
        seed: seed of the shuffle.

    Returns:
        (x_train, y_train), (x_val, y_val).
    """
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = int(len(x) * fraction)
    return (x[order[n_val:]], y[order[n_val:]]), (x[order[:n_val]], y[order[:n_val]])


def train_experiment(name, x_train, y_train, validation, preprocess, epochs, recipe=None, verbose=0):
    """Build and train the network of experiment ``name`` with the experiments' recipe.

    Args:
        name: a key of ``CIFAR_EXPERIMENTS``.
        x_train, y_train: uint8 (N, 32, 32, 3) images and (N,) or (N, 1) labels.
        validation: ``ImageBatches`` evaluated after every epoch.
        preprocess: uint8 batch -> float32 batch (standardisation with training statistics).
        epochs: number of epochs.
        recipe: dict like ``CIFAR_EXPERIMENT_RECIPE`` (batch_size, learning_rate, shift, seed); default it.
        verbose: Keras' verbosity.

    Returns:
        (model, history): the trained model and its ``History.history`` dict.
    """
    from cnnlib import augment

    recipe = CIFAR_EXPERIMENT_RECIPE if recipe is None else recipe
    keras.utils.set_random_seed(recipe["seed"])
    model = build_experiment_model(name)
    crops = None
    if CIFAR_EXPERIMENTS[name]["augment"]:
        def crops(batch, rng):
            return augment.crop_and_flip(batch, rng, pad=recipe["shift"])
    batches = ImageBatches(x_train, y_train, preprocess, recipe["batch_size"], augment=crops, seed=recipe["seed"])
    history = fit(model, batches, validation, epochs=epochs, learning_rate=recipe["learning_rate"], verbose=verbose)
    return model, history.history


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


# Layers that are an activation function and nothing else, by class name.
_ACTIVATION_LAYERS = {"ReLU": "relu", "ELU": "elu", "Softmax": "softmax", "LeakyReLU": "leaky_relu"}


def layer_sequence(model):
    """The operations of a model in order, independent of how its code was spelled.

    A layer with an ``activation`` other than linear counts as two operations, the layer and then
    its activation, so ``Conv2D(32, 3, activation="relu")`` reads like ``Conv2D(32, 3)`` followed by
    ``Activation("relu")``; input layers are left out. The model's layers must form a chain
    (Sequential, or a functional model without branches).

    Args:
        model: a built Keras model.

    Returns:
        list of (kind, output_shape, parameters) tuples: kind is the layer's class name
        ("Conv2D", "MaxPooling2D", ...) or "activation:<name>" (e.g. "activation:relu"),
        output_shape a tuple with None for the batch axis, parameters an int.
    """
    ops = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "InputLayer":
            continue
        shape = tuple(layer.output.shape)
        if kind in _ACTIVATION_LAYERS:
            ops.append((f"activation:{_ACTIVATION_LAYERS[kind]}", shape, 0))
            continue
        activation = getattr(layer, "activation", None)
        name = getattr(activation, "__name__", "linear") if activation is not None else "linear"
        if kind == "Activation":
            ops.append((f"activation:{name}", shape, 0))
            continue
        ops.append((kind, shape, int(layer.count_params())))
        if name != "linear":
            ops.append((f"activation:{name}", shape, 0))
    return ops


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
