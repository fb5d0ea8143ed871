"""Classic mistakes in assignment 3, each a runnable variant of one graded function.

The instructor's file: never released. ``cnn-course mistakes 03-pooling`` grades each variant as a
student's answer and shows which tests catch it; a failed test whose result one of them reproduces
names the mistake to the student.
"""

import numpy as np

from autograder.mistakes import Mistake

POOL = "1, Max and average pooling"
NORM = "Sum and L2-norm pooling"
GLOBAL = "Shifts anywhere: global max pooling"
FIELD = "2, How far does a neuron see? The receptive field"


def pool_forward_stride_ignored(A_prev, size, stride, mode="max"):
    out_h, out_w = (A_prev.shape[1] - size) // stride + 1, (A_prev.shape[2] - size) // stride + 1
    reduce = np.max if mode == "max" else np.mean
    A = np.zeros((A_prev.shape[0], out_h, out_w, A_prev.shape[3]))
    for i in range(out_h):
        for j in range(out_w):
            A[:, i, j, :] = reduce(A_prev[:, i:i + size, j:j + size, :], axis=(1, 2))
    return A


def pool_forward_across_channels(A_prev, size, stride, mode="max"):
    out_h, out_w = (A_prev.shape[1] - size) // stride + 1, (A_prev.shape[2] - size) // stride + 1
    reduce = np.max if mode == "max" else np.mean
    A = np.zeros((A_prev.shape[0], out_h, out_w, A_prev.shape[3]))
    for i in range(out_h):
        for j in range(out_w):
            window = A_prev[:, i * stride:i * stride + size, j * stride:j * stride + size, :]
            A[:, i, j, :] = reduce(window, axis=(1, 2, 3))[:, None]
    return A


def pool_forward_always_max(A_prev, size, stride, mode="max"):
    out_h, out_w = (A_prev.shape[1] - size) // stride + 1, (A_prev.shape[2] - size) // stride + 1
    A = np.zeros((A_prev.shape[0], out_h, out_w, A_prev.shape[3]))
    for i in range(out_h):
        for j in range(out_w):
            A[:, i, j, :] = np.max(A_prev[:, i * stride:i * stride + size, j * stride:j * stride + size, :],
                                   axis=(1, 2))
    return A


def pool_forward_size_as_stride(A_prev, size, stride, mode="max"):
    out_h, out_w = (A_prev.shape[1] - size) // size + 1, (A_prev.shape[2] - size) // size + 1
    reduce = np.max if mode == "max" else np.mean
    A = np.zeros((A_prev.shape[0], out_h, out_w, A_prev.shape[3]))
    for i in range(out_h):
        for j in range(out_w):
            A[:, i, j, :] = reduce(A_prev[:, i * size:i * size + size, j * size:j * size + size, :], axis=(1, 2))
    return A


def norm_pool_no_square_root(A_prev, size, stride, mode="sum"):
    n, h, w, c = A_prev.shape
    out_h, out_w = (h - size) // stride + 1, (w - size) // stride + 1
    A = np.zeros((n, out_h, out_w, c))
    for i in range(out_h):
        for j in range(out_w):
            window = A_prev[:, i * stride:i * stride + size, j * stride:j * stride + size, :]
            A[:, i, j, :] = window.sum(axis=(1, 2)) if mode == "sum" else (window ** 2).sum(axis=(1, 2))
    return A


def norm_pool_square_of_sum(A_prev, size, stride, mode="sum"):
    n, h, w, c = A_prev.shape
    out_h, out_w = (h - size) // stride + 1, (w - size) // stride + 1
    A = np.zeros((n, out_h, out_w, c))
    for i in range(out_h):
        for j in range(out_w):
            window = A_prev[:, i * stride:i * stride + size, j * stride:j * stride + size, :]
            A[:, i, j, :] = window.sum(axis=(1, 2)) if mode == "sum" else np.sqrt(window.sum(axis=(1, 2)) ** 2)
    return A


def norm_pool_root_mean_square(A_prev, size, stride, mode="sum"):
    n, h, w, c = A_prev.shape
    out_h, out_w = (h - size) // stride + 1, (w - size) // stride + 1
    A = np.zeros((n, out_h, out_w, c))
    for i in range(out_h):
        for j in range(out_w):
            window = A_prev[:, i * stride:i * stride + size, j * stride:j * stride + size, :]
            A[:, i, j, :] = window.sum(axis=(1, 2)) if mode == "sum" else np.sqrt((window ** 2).mean(axis=(1, 2)))
    return A


def norm_pool_stride_ignored(A_prev, size, stride, mode="sum"):
    n, h, w, c = A_prev.shape
    out_h, out_w = (h - size) // stride + 1, (w - size) // stride + 1
    A = np.zeros((n, out_h, out_w, c))
    for i in range(out_h):
        for j in range(out_w):
            window = A_prev[:, i:i + size, j:j + size, :]
            A[:, i, j, :] = window.sum(axis=(1, 2)) if mode == "sum" else np.sqrt((window ** 2).sum(axis=(1, 2)))
    return A


def global_max_pool_dims_kept(A):
    return A.max(axis=(1, 2), keepdims=True)


def global_max_pool_average(A):
    return A.mean(axis=(1, 2))


def global_max_pool_from_zero(A):
    n, h, w, c = A.shape
    out = np.zeros((n, c))
    for i in range(h):
        for j in range(w):
            out = np.maximum(out, A[:, i, j, :])
    return out


def global_max_pool_channels_first(A):
    return A.max(axis=(2, 3))


def receptive_field_sizes_added(stack):
    r = 1
    for f, s in stack:
        r += f - 1
    return r


def receptive_field_jump_first(stack):
    r, j = 1, 1
    for f, s in stack:
        j *= s
        r += (f - 1) * j
    return r


def receptive_field_sizes_multiplied(stack):
    r = 1
    for f, s in stack:
        r *= f
    return r


MISTAKES = [
    Mistake("pool_forward", pool_forward_stride_ignored,
            "the stride is ignored when the windows are cut: window (i, j) starts at (i * stride, j * stride)",
            POOL),
    Mistake("pool_forward", pool_forward_across_channels,
            "the pooling runs across the channels: each channel is pooled on its own", POOL),
    Mistake("pool_forward", pool_forward_always_max, "mode is ignored: mode='avg' takes the window's mean", POOL),
    Mistake("pool_forward", pool_forward_size_as_stride,
            "the window size is used as the stride: the two are separate arguments", POOL),
    Mistake("norm_pool", norm_pool_no_square_root,
            "the square root is missing: the L2 norm is sqrt(sum of the squares), the window's length", NORM),
    Mistake("norm_pool", norm_pool_square_of_sum,
            "the sum is squared instead of each value: sqrt((sum x)^2) is |sum x|; square first, then add",
            NORM),
    Mistake("norm_pool", norm_pool_root_mean_square,
            "the squares are averaged: the L2 norm adds them up, sqrt(sum x^2), without dividing by size^2",
            NORM),
    Mistake("norm_pool", norm_pool_stride_ignored,
            "the stride is ignored when the windows are cut: window (i, j) starts at (i * stride, j * stride)",
            POOL),
    Mistake("global_max_pool", global_max_pool_dims_kept,
            "the pooled axes are kept (keepdims): the result has shape (N, C), one number per channel",
            GLOBAL),
    Mistake("global_max_pool", global_max_pool_average,
            "that is global average pooling: take each channel's maximum, not its mean", GLOBAL),
    Mistake("global_max_pool", global_max_pool_from_zero,
            "the running maximum starts at 0: a map whose values are all negative has a negative maximum",
            GLOBAL),
    Mistake("global_max_pool", global_max_pool_channels_first,
            "the maximum is taken over the wrong axes (channels first): maps are (N, H, W, C), pool axes 1 and 2",
            GLOBAL),
    Mistake("receptive_field", receptive_field_sizes_added,
            "the strides are ignored: each layer adds (f - 1) times the jump j, the product of the strides "
            "before it", FIELD),
    Mistake("receptive_field", receptive_field_jump_first,
            "the jump is updated too early: a layer's own stride only counts for the layers after it", FIELD),
    Mistake("receptive_field", receptive_field_sizes_multiplied,
            "the window sizes are multiplied: the receptive field grows by addition, r + (f - 1) * j", FIELD),
]
