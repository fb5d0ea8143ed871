"""Classic mistakes in assignment 1, each a runnable variant of one graded function.

The instructor's file: never released. ``cnn-course mistakes 01-edge-detection`` grades each
variant as a student's answer and shows which tests catch it; a failed test whose result one of
them reproduces names the mistake to the student.
"""

import numpy as np

from autograder.mistakes import Mistake

STEP = "2, One step of a convolution"
SLIDE = "3, Sliding the kernel over the image"
FLIP = "4, Cross-correlation or convolution?"


def conv_single_step_no_bias(a_slice, W, b):
    return float(np.sum(a_slice * W))


def conv_single_step_bias_per_product(a_slice, W, b):
    return float(np.sum(a_slice * W + b))


def conv_single_step_first_channel(a_slice, W, b):
    return float(np.sum(a_slice[:, :, 0] * W[:, :, 0]) + b)


def correlate2d_flipped(image, kernel):
    flipped = kernel[::-1, ::-1]
    f_h, f_w = kernel.shape
    Z = np.zeros((image.shape[0] - f_h + 1, image.shape[1] - f_w + 1))
    for i in range(Z.shape[0]):
        for j in range(Z.shape[1]):
            Z[i, j] = np.sum(image[i:i + f_h, j:j + f_w] * flipped)
    return Z


def correlate2d_one_window_short(image, kernel):
    f_h, f_w = kernel.shape
    Z = np.zeros((image.shape[0] - f_h, image.shape[1] - f_w))
    for i in range(Z.shape[0]):
        for j in range(Z.shape[1]):
            Z[i, j] = np.sum(image[i:i + f_h, j:j + f_w] * kernel)
    return Z


def correlate2d_square_kernel(image, kernel):
    f = kernel.shape[0]
    Z = np.zeros((image.shape[0] - f + 1, image.shape[1] - f + 1))
    for i in range(Z.shape[0]):
        for j in range(Z.shape[1]):
            Z[i, j] = np.sum(image[i:i + f, j:j + f] * kernel)
    return Z


def apply_kernel_bank_channels_first(image, kernels):
    f_h, f_w, k = kernels.shape
    maps = np.zeros((k, image.shape[0] - f_h + 1, image.shape[1] - f_w + 1))
    for c in range(k):
        for i in range(maps.shape[1]):
            for j in range(maps.shape[2]):
                maps[c, i, j] = np.sum(image[i:i + f_h, j:j + f_w] * kernels[:, :, c])
    return maps


def apply_kernel_bank_summed(image, kernels):
    f_h, f_w, k = kernels.shape
    total = np.zeros((image.shape[0] - f_h + 1, image.shape[1] - f_w + 1))
    for i in range(total.shape[0]):
        for j in range(total.shape[1]):
            total[i, j] = np.sum(image[i:i + f_h, j:j + f_w, None] * kernels)
    return total[:, :, None]


def apply_kernel_bank_first_kernel(image, kernels):
    f_h, f_w, k = kernels.shape
    Z = np.zeros((image.shape[0] - f_h + 1, image.shape[1] - f_w + 1))
    for i in range(Z.shape[0]):
        for j in range(Z.shape[1]):
            Z[i, j] = np.sum(image[i:i + f_h, j:j + f_w] * kernels[:, :, 0])
    return np.repeat(Z[:, :, None], k, axis=2)


MISTAKES = [
    Mistake("conv_single_step", conv_single_step_no_bias,
            "the bias b is left out: a step is sum(a_slice * W) + b", STEP),
    Mistake("conv_single_step", conv_single_step_bias_per_product,
            "b is added to every product before the sum, so it counts f_h * f_w * C times instead of once", STEP),
    Mistake("conv_single_step", conv_single_step_first_channel,
            "only the first channel is used: the sum runs over every channel of the patch", STEP),
    Mistake("correlate2d", correlate2d_flipped,
            "your kernel is flipped: that is a true convolution, and this course uses cross-correlation", FLIP),
    Mistake("correlate2d", correlate2d_one_window_short,
            "the output is one row and one column short: a valid output is H - f_h + 1 by W - f_w + 1", SLIDE),
    Mistake("correlate2d", correlate2d_square_kernel,
            "the kernel is taken to be square (f_h used for the width too): use kernel.shape for both sizes", SLIDE),
    Mistake("apply_kernel_bank", apply_kernel_bank_channels_first,
            "the maps are stacked along the first axis (K, H', W'): the course keeps channels last, (H', W', K)",
            SLIDE),
    Mistake("apply_kernel_bank", apply_kernel_bank_summed,
            "the kernels' results are summed into one map: each kernel gives a map of its own", SLIDE),
    Mistake("apply_kernel_bank", apply_kernel_bank_first_kernel,
            "every map uses the first kernel: map k comes from kernels[:, :, k]", SLIDE),
]
