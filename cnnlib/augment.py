"""Cheap data augmentation for image batches, in NumPy: random shifted crops and horizontal flips.

Everything is vectorised over the batch (one padded copy, one fancy-indexing gather), so a batch of
128 CIFAR-10 images takes well under a millisecond, on any Keras backend. Keras' preprocessing
layers inside a model are far slower on some backends (``RandomTranslation`` on JAX took over a
hundred times longer per epoch).
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cnnlib._validate import check_int, check_ndim
from cnnlib.layers import zero_pad


def random_crop(x, pad, rng):
    """Shift every image by up to ``pad`` pixels in each direction, filling with zeros.

    Equivalent to zero-padding each image by ``pad`` and cropping an H x W window at a random
    offset, chosen independently per image.

    Args:
        x: (N, H, W, C) images.
        pad: int >= 0, the largest shift.
        rng: ``numpy.random.Generator``.

    Returns:
        (N, H, W, C) array, the dtype of x.
    """
    x = np.asarray(x)
    check_ndim("x", x, 4, "(N, H, W, C)")
    pad = check_int("pad", pad, minimum=0)
    n, h, w, _ = x.shape
    padded = zero_pad(x, pad)
    windows = sliding_window_view(padded, (h, w), axis=(1, 2))   # (N, 2p+1, 2p+1, C, H, W), a view
    top = rng.integers(0, 2 * pad + 1, size=n)
    left = rng.integers(0, 2 * pad + 1, size=n)
    return windows[np.arange(n), top, left].transpose(0, 2, 3, 1)


def random_flip(x, rng):
    """Mirror each image left-right with probability 1/2.

    Args:
        x: (N, H, W, C) images.
        rng: ``numpy.random.Generator``.

    Returns:
        (N, H, W, C) array, the dtype of x.
    """
    x = np.asarray(x)
    check_ndim("x", x, 4, "(N, H, W, C)")
    flip = rng.random(len(x)) < 0.5
    return np.where(flip[:, None, None, None], x[:, :, ::-1], x)


def crop_and_flip(x, rng, pad=4):
    """The CIFAR-10 augmentation: ``random_crop`` by up to ``pad`` pixels, then ``random_flip``."""
    return random_flip(random_crop(x, pad, rng), rng)
