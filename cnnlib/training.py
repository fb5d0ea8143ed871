"""A small CNN in NumPy, built from ``cnnlib.layers``, and the loop that trains it.

The network (MNIST notebook, assignment 5):

    x (N, 28, 28, 1) -> conv 5x5, 16 kernels, "valid" -> ReLU -> max pool 2x2
                     -> dense 2304 -> 10 -> softmax cross-entropy

Its parameters live in a dict of arrays, the optimizer's state (one velocity per parameter) in a
second dict with the same keys, so that one training step is plain arithmetic on dicts:

    params = init_cnn()
    velocity = init_velocity(params)
    loss = train_step(params, velocity, x_batch, y_batch, learning_rate=0.05, momentum=0.9)

``fit`` repeats a training step over shuffled mini-batches with a progress bar; it takes the step
function as an argument, so the notebook can train with the student's own step.
"""

from pathlib import Path

import numpy as np

from cnnlib import layers

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

# Full-mode settings shared by the MNIST notebook and benchmarks/train.py (2 epochs of 60,000 images).
NUMPY_MNIST_RECIPE = {"steps": 1876, "batch_size": 64, "learning_rate": 0.05, "momentum": 0.9}


def init_cnn(input_shape=(28, 28, 1), n_kernels=16, kernel_size=5, n_classes=10, seed=0):
    """Random float32 parameters for the NumPy CNN (He initialisation, zero biases).

    Args:
        input_shape: (H, W, C) of one image.
        n_kernels: number of convolution kernels F.
        kernel_size: k, the kernels are k x k.
        n_classes: K, the number of outputs.
        seed: seed of the random generator.

    Returns:
        dict with "conv_w" (k, k, C, F), "conv_b" (F,), "dense_w" (D, K), "dense_b" (K,) where
        D = F * floor((H - k + 1) / 2) * floor((W - k + 1) / 2) is the size of the pooled maps.
    """
    rng = np.random.default_rng(seed)
    h, w, c = input_shape
    pooled = ((h - kernel_size + 1) // 2) * ((w - kernel_size + 1) // 2) * n_kernels
    fan_in_conv = kernel_size * kernel_size * c

    def he(shape, fan_in):
        return (rng.standard_normal(shape) * np.sqrt(2 / fan_in)).astype(np.float32)

    return {
        "conv_w": he((kernel_size, kernel_size, c, n_kernels), fan_in_conv),
        "conv_b": np.zeros(n_kernels, dtype=np.float32),
        "dense_w": he((pooled, n_classes), pooled),
        "dense_b": np.zeros(n_classes, dtype=np.float32),
    }


def init_velocity(params):
    """Zero momentum buffers, one per parameter: a dict with the keys and shapes of ``params``."""
    return {name: np.zeros_like(value) for name, value in params.items()}


def cnn_forward(params, x):
    """Logits of the NumPy CNN, and the caches its backward pass needs.

    Args:
        params: from ``init_cnn``.
        x: (N, H, W, C) float images.

    Returns:
        logits: (N, K).
        caches: tuple of the four layers' caches (conv, relu, pool, dense).
    """
    conv, conv_cache = layers.conv2d_forward(x, params["conv_w"], params["conv_b"])
    act, relu_cache = layers.relu_forward(conv)
    pooled, pool_cache = layers.pool2d_forward(act, size=2, stride=2)
    logits, dense_cache = layers.dense_forward(pooled, params["dense_w"], params["dense_b"])
    return logits, (conv_cache, relu_cache, pool_cache, dense_cache)


def cnn_backward(dlogits, caches):
    """Gradients of the loss with respect to every parameter.

    Args:
        dlogits: (N, K), gradient of the loss with respect to the logits.
        caches: from ``cnn_forward``.

    Returns:
        dict of gradients with the keys and shapes of the parameters.
    """
    conv_cache, relu_cache, pool_cache, dense_cache = caches
    dpooled, dense_w, dense_b = layers.dense_backward(dlogits, dense_cache)
    dact = layers.pool2d_backward(dpooled, pool_cache)
    dconv = layers.relu_backward(dact, relu_cache)
    _, conv_w, conv_b = layers.conv2d_backward(dconv, conv_cache)
    return {"conv_w": conv_w, "conv_b": conv_b, "dense_w": dense_w, "dense_b": dense_b}


def train_step(params, velocity, x, y, learning_rate=0.05, momentum=0.9):
    """One step of SGD with momentum on one mini-batch; updates params and velocity in place.

    For every parameter p with gradient g:  v = momentum * v - learning_rate * g;  p = p + v.

    Args:
        params: from ``init_cnn``, changed in place.
        velocity: from ``init_velocity``, changed in place.
        x: (N, H, W, C) float images.
        y: (N,) integer labels.
        learning_rate, momentum: floats.

    Returns:
        float, the mini-batch's mean cross-entropy before the update.
    """
    logits, caches = cnn_forward(params, x)
    loss, dlogits = layers.softmax_cross_entropy(logits, y)
    grads = cnn_backward(dlogits, caches)
    for name in params:
        velocity[name] = momentum * velocity[name] - learning_rate * grads[name]
        params[name] += velocity[name]
    return loss


def predict(params, x, batch_size=1000):
    """Predicted class of every image, computed in batches to bound memory.

    Args:
        params: from ``init_cnn``.
        x: (N, H, W, C) float images.
        batch_size: images per forward pass.

    Returns:
        (N,) int array of classes.
    """
    return np.concatenate([cnn_forward(params, x[i:i + batch_size])[0].argmax(axis=1)
                           for i in range(0, len(x), batch_size)])


def accuracy(params, x, y):
    """Fraction of images in x whose predicted class equals y (float in [0, 1])."""
    return float((predict(params, x) == np.asarray(y).reshape(-1)).mean())


def fit(params, x, y, steps, batch_size=64, learning_rate=0.05, momentum=0.9, step=train_step,
        seed=0, progress=True):
    """Train with ``step`` for a number of mini-batch steps over reshuffled epochs.

    Args:
        params: from ``init_cnn``, trained in place.
        x: (N, H, W, C) float images.
        y: (N,) integer labels.
        steps: number of mini-batches (an epoch is ceil(N / batch_size) of them).
        batch_size, learning_rate, momentum: hyperparameters.
        step: the training step, with ``train_step``'s signature (the student's in the notebook).
        seed: seed of the shuffling, so that a run can be repeated exactly.
        progress: show a tqdm progress bar with the running loss.

    Returns:
        list of the ``steps`` mini-batch losses.
    """
    from tqdm.auto import tqdm

    rng = np.random.default_rng(seed)
    y = np.asarray(y).reshape(-1)
    velocity = init_velocity(params)
    losses = []
    order = np.empty(0, dtype=np.int64)
    bar = tqdm(total=steps, disable=not progress, desc="training", unit="step")
    while len(losses) < steps:
        if order.size < batch_size:
            order = np.concatenate([order, rng.permutation(len(x))])
        batch, order = order[:batch_size], order[batch_size:]
        losses.append(float(step(params, velocity, x[batch], y[batch], learning_rate, momentum)))
        bar.update()
        if len(losses) % 20 == 0:
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
    bar.close()
    return losses


def save_params(path, params):
    """Write parameters to an .npz file (one array per name)."""
    np.savez_compressed(path, **params)


def load_params(path):
    """Read parameters written by ``save_params``: a dict of arrays."""
    with np.load(path, allow_pickle=False) as f:
        return {name: f[name] for name in f.files}


def shipped_weights(name="mnist_numpy_cnn"):
    """Path of a weight file shipped with the course in cnnlib/weights/.

    Args:
        name: "mnist_numpy_cnn" (this module's CNN, for ``load_params``), "mnist_classic" or
            "cifar10_net" (Keras models, for ``cnnlib.models.load_compact_weights``).

    Raises:
        FileNotFoundError: listing the files that do exist.
    """
    path = WEIGHTS_DIR / f"{name}.npz"
    if not path.exists():
        available = sorted(p.stem for p in WEIGHTS_DIR.glob("*.npz"))
        raise FileNotFoundError(f"No shipped weights named {name!r}; available: {available}.")
    return path
