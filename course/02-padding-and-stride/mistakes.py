"""Classic mistakes in assignment 2, each a runnable variant of one graded function.

The instructor's file: never released. ``cnn-course mistakes 02-padding-and-stride`` grades each
variant as a student's answer and shows which tests catch it; a failed test whose result one of
them reproduces names the mistake to the student.
"""

import numpy as np

from autograder.mistakes import Mistake

PAD = "2, Zero padding"
STRIDE = "3, Stride and the output size"
VOLUME = "4, Convolution over volumes"
COUNT = "5, Counting parameters"
DENSE_AS_CONV = "A dense layer is a convolution"
VARIANTS = "7, Variants: dense, locally connected, depthwise, 1D and 3D"


def zero_pad_all_axes(X, pad):
    return np.pad(X, pad)


def zero_pad_one_side(X, pad):
    return np.pad(X, ((0, 0), (pad, 0), (pad, 0), (0, 0)))


def zero_pad_height_only(X, pad):
    return np.pad(X, ((0, 0), (pad, pad), (0, 0), (0, 0)))


def conv_output_size_one_pad(n, f, pad, stride):
    return (n + pad - f) // stride + 1


def conv_output_size_stride_ignored(n, f, pad, stride):
    return n + 2 * pad - f + 1


def conv_output_size_true_division(n, f, pad, stride):
    return (n + 2 * pad - f) / stride + 1


def conv_output_size_no_plus_one(n, f, pad, stride):
    return (n + 2 * pad - f) // stride


def conv_forward_stride_ignored(A_prev, W, b, stride, pad):
    A_pad = np.pad(A_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    f_h, f_w, _, n_kernels = W.shape
    out_h = (A_prev.shape[1] + 2 * pad - f_h) // stride + 1
    out_w = (A_prev.shape[2] + 2 * pad - f_w) // stride + 1
    Z = np.zeros((A_prev.shape[0], out_h, out_w, n_kernels))
    for i in range(out_h):
        for j in range(out_w):
            window = A_pad[:, i:i + f_h, j:j + f_w, :]
            Z[:, i, j, :] = np.tensordot(window, W, axes=([1, 2, 3], [0, 1, 2])) + b
    return Z


def conv_forward_no_bias(A_prev, W, b, stride, pad):
    A_pad = np.pad(A_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    f_h, f_w, _, n_kernels = W.shape
    out_h = (A_prev.shape[1] + 2 * pad - f_h) // stride + 1
    out_w = (A_prev.shape[2] + 2 * pad - f_w) // stride + 1
    Z = np.zeros((A_prev.shape[0], out_h, out_w, n_kernels))
    for i in range(out_h):
        for j in range(out_w):
            window = A_pad[:, i * stride:i * stride + f_h, j * stride:j * stride + f_w, :]
            Z[:, i, j, :] = np.tensordot(window, W, axes=([1, 2, 3], [0, 1, 2]))
    return Z


def conv_forward_flipped(A_prev, W, b, stride, pad):
    A_pad = np.pad(A_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    f_h, f_w, _, n_kernels = W.shape
    out_h = (A_prev.shape[1] + 2 * pad - f_h) // stride + 1
    out_w = (A_prev.shape[2] + 2 * pad - f_w) // stride + 1
    Z = np.zeros((A_prev.shape[0], out_h, out_w, n_kernels))
    for i in range(out_h):
        for j in range(out_w):
            window = A_pad[:, i * stride:i * stride + f_h, j * stride:j * stride + f_w, :]
            Z[:, i, j, :] = np.tensordot(window, W[::-1, ::-1], axes=([1, 2, 3], [0, 1, 2])) + b
    return Z


def conv_forward_channels_per_kernel(A_prev, W, b, stride, pad):
    A_pad = np.pad(A_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    f_h, f_w, _, n_kernels = W.shape
    out_h = (A_prev.shape[1] + 2 * pad - f_h) // stride + 1
    out_w = (A_prev.shape[2] + 2 * pad - f_w) // stride + 1
    Z = np.zeros((A_prev.shape[0], out_h, out_w, n_kernels))
    for i in range(out_h):
        for j in range(out_w):
            window = A_pad[:, i * stride:i * stride + f_h, j * stride:j * stride + f_w, :]
            for k in range(n_kernels):
                Z[:, i, j, k] = np.sum(window[..., k % window.shape[-1]] * W[:, :, k % W.shape[2], k],
                                       axis=(1, 2)) + b[k]
    return Z


def dense_to_conv_kernel_channels_first(W_dense, input_shape):
    h, w, c = input_shape
    return np.asarray(W_dense).reshape(c, h, w, -1).transpose(1, 2, 0, 3)


def dense_to_conv_kernel_columns_first(W_dense, input_shape):
    h, w, c = input_shape
    return np.asarray(W_dense).reshape(w, h, c, -1).transpose(1, 0, 2, 3)


def dense_to_conv_kernel_one_by_one(W_dense, input_shape):
    h, w, c = input_shape
    return np.asarray(W_dense).reshape(1, 1, h * w * c, -1)


def dense_to_conv_kernel_outputs_first(W_dense, input_shape):
    h, w, c = input_shape
    return np.asarray(W_dense).reshape(-1, h, w, c).transpose(1, 2, 3, 0)


def conv_variants_no_biases(H, W, C, f, F, M):
    out_h, out_w = H - f + 1, W - f + 1
    return {"dense": ((out_h * out_w * F,), H * W * C * out_h * out_w * F),
            "locally_connected": ((out_h, out_w, F), out_h * out_w * f * f * C * F),
            "conv": ((out_h, out_w, F), f * f * C * F),
            "depthwise": ((out_h, out_w, C * M), f * f * C * M),
            "pointwise": ((out_h, out_w, F), C * M * F)}


def conv_variants_shared_locally(H, W, C, f, F, M):
    out_h, out_w = H - f + 1, W - f + 1
    return {"dense": ((out_h * out_w * F,), (H * W * C + 1) * out_h * out_w * F),
            "locally_connected": ((out_h, out_w, F), (f * f * C + 1) * F),
            "conv": ((out_h, out_w, F), (f * f * C + 1) * F),
            "depthwise": ((out_h, out_w, C * M), f * f * C * M + C * M),
            "pointwise": ((out_h, out_w, F), (C * M + 1) * F)}


def conv_variants_depthwise_full(H, W, C, f, F, M):
    out_h, out_w = H - f + 1, W - f + 1
    return {"dense": ((out_h * out_w * F,), (H * W * C + 1) * out_h * out_w * F),
            "locally_connected": ((out_h, out_w, F), out_h * out_w * (f * f * C + 1) * F),
            "conv": ((out_h, out_w, F), (f * f * C + 1) * F),
            "depthwise": ((out_h, out_w, C * M), (f * f * C + 1) * C * M),
            "pointwise": ((out_h, out_w, F), (C * M + 1) * F)}


def conv_nd_shape_no_channels(input_shape, kernel_size, filters):
    *spatial, channels = input_shape
    shape = tuple(int(n - k + 1) for n, k in zip(spatial, kernel_size)) + (int(filters),)
    return shape, int((np.prod(kernel_size) + 1) * filters)


def conv_nd_shape_channels_kept(input_shape, kernel_size, filters):
    *spatial, channels = input_shape
    shape = tuple(int(n - k + 1) for n, k in zip(spatial, kernel_size)) + (int(channels),)
    return shape, int((np.prod(kernel_size) * channels + 1) * filters)


def conv_nd_shape_two_axes(input_shape, kernel_size, filters):
    *spatial, channels = input_shape
    shape = tuple(int(n - k + 1) for n, k in zip(spatial[:2], kernel_size[:2])) + (int(filters),)
    return shape, int((np.prod(kernel_size[:2]) * channels + 1) * filters)


def depthwise_conv_channels_summed(A_prev, W, b):
    f_h, f_w, channels, multiplier = W.shape
    out_h, out_w = A_prev.shape[1] - f_h + 1, A_prev.shape[2] - f_w + 1
    Z = np.zeros((A_prev.shape[0], out_h, out_w, channels * multiplier))
    for i in range(out_h):
        for j in range(out_w):
            window = A_prev[:, i:i + f_h, j:j + f_w, :]
            for c in range(channels):
                for m in range(multiplier):
                    Z[:, i, j, c * multiplier + m] = np.sum(window * W[:, :, :, m], axis=(1, 2, 3))
    return Z + b


def depthwise_conv_order_mixed(A_prev, W, b):
    f_h, f_w, channels, multiplier = W.shape
    out_h, out_w = A_prev.shape[1] - f_h + 1, A_prev.shape[2] - f_w + 1
    Z = np.zeros((A_prev.shape[0], out_h, out_w, channels * multiplier))
    for i in range(out_h):
        for j in range(out_w):
            window = A_prev[:, i:i + f_h, j:j + f_w, :]
            for c in range(channels):
                for m in range(multiplier):
                    Z[:, i, j, m * channels + c] = np.sum(window[..., c] * W[:, :, c, m], axis=(1, 2))
    return Z + b


def depthwise_conv_no_bias(A_prev, W, b):
    f_h, f_w, channels, multiplier = W.shape
    out_h, out_w = A_prev.shape[1] - f_h + 1, A_prev.shape[2] - f_w + 1
    Z = np.zeros((A_prev.shape[0], out_h, out_w, channels * multiplier))
    for i in range(out_h):
        for j in range(out_w):
            window = A_prev[:, i:i + f_h, j:j + f_w, :]
            for c in range(channels):
                for m in range(multiplier):
                    Z[:, i, j, c * multiplier + m] = np.sum(window[..., c] * W[:, :, c, m], axis=(1, 2))
    return Z


MISTAKES = [
    Mistake("zero_pad", zero_pad_all_axes,
            "every axis is padded, the batch and the channels too: pad only the height and the width", PAD),
    Mistake("zero_pad", zero_pad_one_side,
            "zeros are added on one side only: pad puts pad zeros on each of the four sides", PAD),
    Mistake("zero_pad", zero_pad_height_only, "only the height is padded: the width needs the same zeros", PAD),
    Mistake("conv_output_size", conv_output_size_one_pad,
            "the padding is counted once: it is added on both sides, n + 2 * pad", STRIDE),
    Mistake("conv_output_size", conv_output_size_stride_ignored,
            "the stride is ignored: the windows move stride pixels at a time", STRIDE),
    Mistake("conv_output_size", conv_output_size_true_division,
            "the division is not rounded down: use // so that a window never hangs over the border", STRIDE),
    Mistake("conv_output_size", conv_output_size_no_plus_one,
            "the + 1 is missing: the first window's position counts too", STRIDE),
    Mistake("conv_forward", conv_forward_stride_ignored,
            "the stride is ignored when the windows are cut: window (i, j) starts at (i * stride, j * stride)",
            STRIDE),
    Mistake("conv_forward", conv_forward_no_bias, "the bias b is left out: add b[k] to output channel k", VOLUME),
    Mistake("conv_forward", conv_forward_flipped,
            "your kernel is flipped: that is a true convolution, and this course uses cross-correlation", VOLUME),
    Mistake("conv_forward", conv_forward_channels_per_kernel,
            "each kernel sees one input channel only: kernel k sums over every channel c, with W[:, :, c, k]",
            VOLUME),
    Mistake("dense_to_conv_kernel", dense_to_conv_kernel_channels_first,
            "the rows are read channel by channel first (channels-first order): flattening an (h, w, c) map "
            "puts the channels innermost, row (i * w + j) * c + k", DENSE_AS_CONV),
    Mistake("dense_to_conv_kernel", dense_to_conv_kernel_columns_first,
            "the map is read column by column: flattening reads it row by row, so the width varies faster "
            "than the height", DENSE_AS_CONV),
    Mistake("dense_to_conv_kernel", dense_to_conv_kernel_one_by_one,
            "the kernel is 1x1 with h * w * c channels: it must be as large as the map, (h, w, c, F)",
            DENSE_AS_CONV),
    Mistake("dense_to_conv_kernel", dense_to_conv_kernel_outputs_first,
            "the weight matrix is read as (F, h * w * c): its shape is (h * w * c, F), one column per "
            "output", DENSE_AS_CONV),
    Mistake("conv_variants", conv_variants_no_biases,
            "the biases are not counted: every output unit, map or kernel has one", COUNT),
    Mistake("conv_variants", conv_variants_shared_locally,
            "the locally connected layer shares its weights like a convolution: it has its own at every "
            "position", VARIANTS),
    Mistake("conv_variants", conv_variants_depthwise_full,
            "the depthwise kernels see every channel: each sees only its own channel, f * f weights", VARIANTS),
    Mistake("conv_nd_shape", conv_nd_shape_no_channels,
            "the input channels are left out of the parameter count: a kernel has f_1 * ... * f_d * C weights",
            VARIANTS),
    Mistake("conv_nd_shape", conv_nd_shape_channels_kept,
            "the output keeps the input's channels: it has one channel per kernel, F", VARIANTS),
    Mistake("conv_nd_shape", conv_nd_shape_two_axes,
            "only two spatial axes are used: a d-dimensional convolution slides along all d", VARIANTS),
    Mistake("depthwise_conv", depthwise_conv_channels_summed,
            "each kernel sums over every channel, like a plain convolution: a depthwise kernel sees one "
            "channel", VARIANTS),
    Mistake("depthwise_conv", depthwise_conv_order_mixed,
            "the output channels are in the wrong order: channel c's m-th map goes to c * M + m", VARIANTS),
    Mistake("depthwise_conv", depthwise_conv_no_bias, "the bias b is left out", VARIANTS),
]
