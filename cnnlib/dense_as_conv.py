"""A dense layer written as a convolution: the same weights, reshaped.

A dense layer on a flattened h x w x c map computes, for each output f, the sum over every position
and channel of x[i, j, k] * W[(i * w + j) * c + k, f]: a convolution whose kernel covers the whole map.
On a 1 x 1 map it is a 1 x 1 convolution. Slid over a larger map, the same kernel applies the dense
layer at every position, which is how a trained classifier becomes a fully convolutional network.
"""

import numpy as np

from cnnlib._validate import check_ndim, fail

__all__ = ["dense_to_conv_kernel"]


def dense_to_conv_kernel(W_dense, input_shape):
    """The convolution kernel equal to a dense layer on a flattened map.

    Args:
        W_dense: dense weights of shape (h * w * c, F), rows in the order of a row-major flatten of an
            (h, w, c) map (NumPy's ``reshape`` and Keras' ``Flatten``).
        input_shape: (h, w, c), the map the dense layer reads.

    Returns:
        kernel: (h, w, c, F), with kernel[i, j, k, f] = W_dense[(i * w + j) * c + k, f]. A valid
        convolution with it (and the dense bias) on an (N, h, w, c) input gives (N, 1, 1, F), the
        dense layer's (N, F) outputs.
    """
    W = np.asarray(W_dense)
    check_ndim("W", W, 2, "(h * w * c, F)")
    h, w, c = (int(n) for n in input_shape)
    if W.shape[0] != h * w * c:
        fail(f"W has {W.shape[0]} rows, but an input of shape {(h, w, c)} flattens to {h * w * c} values.")
    return W.reshape(h, w, c, W.shape[1])
