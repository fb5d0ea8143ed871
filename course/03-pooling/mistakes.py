"""Classic mistakes in assignment 3, each a runnable variant of one graded function.

The instructor's file: never released. ``cnn-course mistakes 03-pooling`` grades each variant as a
student's answer and shows which tests catch it; a failed test whose result one of them reproduces
names the mistake to the student.
"""

import numpy as np

from autograder.mistakes import Mistake

POOL = "1, Max and average pooling"
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
    Mistake("receptive_field", receptive_field_sizes_added,
            "the strides are ignored: each layer adds (f - 1) times the jump j, the product of the strides "
            "before it", FIELD),
    Mistake("receptive_field", receptive_field_jump_first,
            "the jump is updated too early: a layer's own stride only counts for the layers after it", FIELD),
    Mistake("receptive_field", receptive_field_sizes_multiplied,
            "the window sizes are multiplied: the receptive field grows by addition, r + (f - 1) * j", FIELD),
]
