"""Classic mistakes in assignment 4, each a runnable variant of one graded function.

The instructor's file: never released. ``cnn-course mistakes 04-backpropagation`` grades each
variant as a student's answer and shows which tests catch it; a failed test whose result one of
them reproduces names the mistake to the student.
"""

import numpy as np

from autograder.mistakes import Mistake

SOFTMAX = "2, Softmax and cross-entropy"
LOSSES = "Two other losses: hinge and mean squared error"
DENSE = "3, The dense layer"
RELU = "4, ReLU backward"
CONV = "5, Convolution backward"
POOL = "6, Pooling backward"


def softmax_cross_entropy(logits, y):
    """Not a mistake: the loss that numerical_dlogits' variants call here, as the notebook's own
    cell defines it there."""
    n, k = logits.shape
    one_hot = np.asarray(y, dtype=float) if np.ndim(y) == 2 else np.eye(k)[np.asarray(y)]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-(one_hot * log_probs).sum() / n), (np.exp(log_probs) - one_hot) / n


def softmax_cross_entropy_no_shift(logits, y):
    n, k = logits.shape
    one_hot = np.asarray(y, dtype=float) if np.ndim(y) == 2 else np.eye(k)[np.asarray(y)]
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return float(-(one_hot * np.log(probs)).sum() / n), (probs - one_hot) / n


def softmax_cross_entropy_gradient_not_averaged(logits, y):
    n, k = logits.shape
    one_hot = np.asarray(y, dtype=float) if np.ndim(y) == 2 else np.eye(k)[np.asarray(y)]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-(one_hot * log_probs).sum() / n), np.exp(log_probs) - one_hot


def softmax_cross_entropy_gradient_averaged_twice(logits, y):
    n, k = logits.shape
    one_hot = np.asarray(y, dtype=float) if np.ndim(y) == 2 else np.eye(k)[np.asarray(y)]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-(one_hot * log_probs).sum() / n), (np.exp(log_probs) - one_hot) / n ** 2


def numerical_dlogits_one_sided(logits, y, h=1e-5):
    grad = np.zeros(logits.shape)
    base = softmax_cross_entropy(logits, y)[0]
    for index in np.ndindex(logits.shape):
        original = logits[index]
        logits[index] = original + h
        grad[index] = (softmax_cross_entropy(logits, y)[0] - base) / h
        logits[index] = original
    return grad


def numerical_dlogits_step_once(logits, y, h=1e-5):
    grad = np.zeros(logits.shape)
    for index in np.ndindex(logits.shape):
        original = logits[index]
        logits[index] = original + h
        plus = softmax_cross_entropy(logits, y)[0]
        logits[index] = original - h
        minus = softmax_cross_entropy(logits, y)[0]
        logits[index] = original
        grad[index] = (plus - minus) / h
    return grad


def numerical_dlogits_not_restored(logits, y, h=1e-5):
    grad = np.zeros(logits.shape)
    for index in np.ndindex(logits.shape):
        original = logits[index]
        logits[index] = original + h
        plus = softmax_cross_entropy(logits, y)[0]
        logits[index] = original - h
        minus = softmax_cross_entropy(logits, y)[0]
        grad[index] = (plus - minus) / (2 * h)
    return grad


def hinge_loss_every_rival(scores, y):
    n = scores.shape[0]
    rows = np.arange(n)
    margins = 1 + scores.astype(float) - scores[rows, y][:, None]
    margins[rows, y] = 0
    active = (margins > 0) / n
    dscores = active.copy()
    dscores[rows, y] -= active.sum(axis=1)
    return float(np.maximum(margins, 0).sum(axis=1).mean()), dscores


def hinge_loss_true_class_as_rival(scores, y):
    n = scores.shape[0]
    rows = np.arange(n)
    rival = scores.argmax(axis=1)
    margins = 1 + scores[rows, rival].astype(float) - scores[rows, y]
    active = (margins > 0) / n
    dscores = np.zeros(scores.shape)
    dscores[rows, rival] += active
    dscores[rows, y] -= active
    return float(np.maximum(margins, 0).mean()), dscores


def hinge_loss_not_averaged(scores, y):
    n = scores.shape[0]
    rows = np.arange(n)
    wrong = scores.astype(float)
    wrong[rows, y] = -np.inf
    rival = wrong.argmax(axis=1)
    margins = 1 + wrong[rows, rival] - scores[rows, y]
    active = (margins > 0).astype(float)
    dscores = np.zeros(scores.shape)
    dscores[rows, rival] += active
    dscores[rows, y] -= active
    return float(np.maximum(margins, 0).mean()), dscores


def hinge_loss_not_clipped(scores, y):
    n = scores.shape[0]
    rows = np.arange(n)
    wrong = scores.astype(float)
    wrong[rows, y] = -np.inf
    rival = wrong.argmax(axis=1)
    margins = 1 + wrong[rows, rival] - scores[rows, y]
    dscores = np.zeros(scores.shape)
    dscores[rows, rival] += 1 / n
    dscores[rows, y] -= 1 / n
    return float(margins.mean()), dscores


def mse_loss_labels_not_one_hot(probs, y):
    diff = probs - np.asarray(y)[:, None]
    return float((diff ** 2).mean()), 2 * diff / diff.size


def mse_loss_mean_over_examples(probs, y):
    one_hot = np.zeros(probs.shape)
    one_hot[np.arange(probs.shape[0]), y] = 1
    diff = probs - one_hot
    return float((diff ** 2).sum() / probs.shape[0]), 2 * diff / probs.shape[0]


def mse_loss_gradient_without_two(probs, y):
    one_hot = np.zeros(probs.shape)
    one_hot[np.arange(probs.shape[0]), y] = 1
    diff = probs - one_hot
    return float((diff ** 2).mean()), diff / diff.size


def mse_loss_gradient_not_averaged(probs, y):
    one_hot = np.zeros(probs.shape)
    one_hot[np.arange(probs.shape[0]), y] = 1
    diff = probs - one_hot
    return float((diff ** 2).mean()), 2 * diff


def dense_forward_no_bias(x, W, b):
    return x.reshape(x.shape[0], -1) @ W


def dense_forward_channels_first(x, W, b):
    flat = np.moveaxis(x, -1, 1).reshape(x.shape[0], -1) if x.ndim > 2 else x
    return flat @ W + b


def dense_forward_not_flattened(x, W, b):
    return x @ W + b


def dense_backward_dW_transposed(dout, x, W):
    x_flat = x.reshape(x.shape[0], -1)
    return (dout @ W.T).reshape(x.shape), dout.T @ x_flat, dout.sum(axis=0)


def dense_backward_db_averaged(dout, x, W):
    x_flat = x.reshape(x.shape[0], -1)
    return (dout @ W.T).reshape(x.shape), x_flat.T @ dout, dout.mean(axis=0)


def dense_backward_dx_flat(dout, x, W):
    x_flat = x.reshape(x.shape[0], -1)
    return dout @ W.T, x_flat.T @ dout, dout.sum(axis=0)


def relu_backward_at_zero(dA, Z):
    return np.where(Z >= 0, dA, 0.0)


def relu_backward_mask_only(dA, Z):
    return (Z > 0).astype(float)


def relu_backward_mask_of_dA(dA, Z):
    return np.where(dA > 0, dA, 0.0)


def conv_backward_db_averaged(dZ, A_prev, W, stride, pad):
    dA_prev, dW = _conv_backward(dZ, A_prev, W, stride, pad)
    return dA_prev, dW, dZ.sum(axis=(0, 1, 2)) / dZ.shape[0]


def conv_backward_padding_kept(dZ, A_prev, W, stride, pad):
    n_batch, height, width, _ = A_prev.shape
    f_h, f_w, _, n_kernels = W.shape
    A_pad = np.pad(A_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    dA_pad, dW = np.zeros(A_pad.shape), np.zeros(W.shape)
    for i in range(dZ.shape[1]):
        for j in range(dZ.shape[2]):
            rows, cols = slice(i * stride, i * stride + f_h), slice(j * stride, j * stride + f_w)
            dA_pad[:, rows, cols, :] += np.einsum("hwck,nk->nhwc", W, dZ[:, i, j, :])
            dW += np.einsum("nhwc,nk->hwck", A_pad[:, rows, cols, :], dZ[:, i, j, :])
    return dA_pad, dW, dZ.sum(axis=(0, 1, 2))


def conv_backward_stride_ignored(dZ, A_prev, W, stride, pad):
    n_batch, height, width, _ = A_prev.shape
    f_h, f_w, _, n_kernels = W.shape
    A_pad = np.pad(A_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    dA_pad, dW = np.zeros(A_pad.shape), np.zeros(W.shape)
    for i in range(dZ.shape[1]):
        for j in range(dZ.shape[2]):
            rows, cols = slice(i, i + f_h), slice(j, j + f_w)
            dA_pad[:, rows, cols, :] += np.einsum("hwck,nk->nhwc", W, dZ[:, i, j, :])
            dW += np.einsum("nhwc,nk->hwck", A_pad[:, rows, cols, :], dZ[:, i, j, :])
    return dA_pad[:, pad:pad + height, pad:pad + width, :], dW, dZ.sum(axis=(0, 1, 2))


def _conv_backward(dZ, A_prev, W, stride, pad):
    """Not a mistake: dA_prev and dW done right, for conv_backward_db_averaged."""
    n_batch, height, width, _ = A_prev.shape
    f_h, f_w, _, n_kernels = W.shape
    A_pad = np.pad(A_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    dA_pad, dW = np.zeros(A_pad.shape), np.zeros(W.shape)
    for i in range(dZ.shape[1]):
        for j in range(dZ.shape[2]):
            rows, cols = slice(i * stride, i * stride + f_h), slice(j * stride, j * stride + f_w)
            dA_pad[:, rows, cols, :] += np.einsum("hwck,nk->nhwc", W, dZ[:, i, j, :])
            dW += np.einsum("nhwc,nk->hwck", A_pad[:, rows, cols, :], dZ[:, i, j, :])
    return dA_pad[:, pad:pad + height, pad:pad + width, :], dW


def pool_backward_avg_not_divided(dA, A_prev, size, stride, mode="max"):
    return _pool_backward(dA, A_prev, size, stride, mode, share=1.0)


def pool_backward_overwritten(dA, A_prev, size, stride, mode="max"):
    dA_prev = np.zeros(A_prev.shape)
    for i in range(dA.shape[1]):
        for j in range(dA.shape[2]):
            rows, cols = slice(i * stride, i * stride + size), slice(j * stride, j * stride + size)
            for n in range(A_prev.shape[0]):
                for c in range(A_prev.shape[3]):
                    window = A_prev[n, rows, cols, c]
                    if mode == "max":
                        mask = np.zeros(window.shape)
                        mask.flat[np.argmax(window)] = 1
                        dA_prev[n, rows, cols, c] = mask * dA[n, i, j, c]
                    else:
                        dA_prev[n, rows, cols, c] = dA[n, i, j, c] / size ** 2
    return dA_prev


def pool_backward_every_maximum(dA, A_prev, size, stride, mode="max"):
    return _pool_backward(dA, A_prev, size, stride, mode, share=1 / size ** 2, ties=True)


def _pool_backward(dA, A_prev, size, stride, mode, share, ties=False):
    """Not a mistake in itself: pooling backward with the average's share and the treatment of
    tied maxima as given."""
    dA_prev = np.zeros(A_prev.shape)
    for i in range(dA.shape[1]):
        for j in range(dA.shape[2]):
            rows, cols = slice(i * stride, i * stride + size), slice(j * stride, j * stride + size)
            for n in range(A_prev.shape[0]):
                for c in range(A_prev.shape[3]):
                    window = A_prev[n, rows, cols, c]
                    if mode == "max":
                        mask = (window == window.max()).astype(float)
                        if not ties:
                            mask = np.zeros(window.shape)
                            mask.flat[np.argmax(window)] = 1
                        dA_prev[n, rows, cols, c] += mask * dA[n, i, j, c]
                    else:
                        dA_prev[n, rows, cols, c] += dA[n, i, j, c] * share
    return dA_prev


MISTAKES = [
    Mistake("softmax_cross_entropy", softmax_cross_entropy_no_shift,
            "softmax without the shift: exp of large logits overflows; subtract each row's maximum first",
            SOFTMAX),
    Mistake("softmax_cross_entropy", softmax_cross_entropy_gradient_not_averaged,
            "the 1/N is missing from dlogits: the loss is a mean over the batch, so is its gradient", SOFTMAX),
    Mistake("softmax_cross_entropy", softmax_cross_entropy_gradient_averaged_twice,
            "dlogits is divided by N twice: (softmax - one_hot) / N, once", SOFTMAX),
    Mistake("numerical_dlogits", numerical_dlogits_one_sided,
            "a one-sided difference, (L(x + h) - L(x)) / h: use the centred one, (L(x + h) - L(x - h)) / (2h)",
            SOFTMAX),
    Mistake("numerical_dlogits", numerical_dlogits_step_once,
            "the centred difference is divided by h: the two points are 2h apart", SOFTMAX),
    Mistake("numerical_dlogits", numerical_dlogits_not_restored,
            "the logits are not restored after each entry's difference: put the original value back", SOFTMAX),
    Mistake("hinge_loss", hinge_loss_every_rival,
            "every wrong class adds its own margin (the sum over j != t): this hinge loss takes only the "
            "strongest rival, max over j != t", LOSSES),
    Mistake("hinge_loss", hinge_loss_true_class_as_rival,
            "the true class is counted as its own rival: the maximum runs over the wrong classes only, "
            "j != t", LOSSES),
    Mistake("hinge_loss", hinge_loss_not_averaged,
            "the gradient is not divided by N: the loss is a mean over the batch, so each example's "
            "+1 and -1 become +1/N and -1/N", LOSSES),
    Mistake("hinge_loss", hinge_loss_not_clipped,
            "max(0, ...) is left out: an example past the margin adds nothing to the loss and has no gradient",
            LOSSES),
    Mistake("mse_loss", mse_loss_labels_not_one_hot,
            "the integer labels are subtracted as they are: turn them into one-hot rows first", LOSSES),
    Mistake("mse_loss", mse_loss_mean_over_examples,
            "the squares are averaged over the N examples only: the mean runs over all N * K entries",
            LOSSES),
    Mistake("mse_loss", mse_loss_gradient_without_two,
            "the gradient lacks the 2 of the square's derivative: 2 * (p - t) / (N * K)", LOSSES),
    Mistake("mse_loss", mse_loss_gradient_not_averaged,
            "the gradient is not divided by N * K: the loss is a mean, so its gradient is too", LOSSES),
    Mistake("dense_forward", dense_forward_no_bias, "the bias b is left out", DENSE),
    Mistake("dense_forward", dense_forward_channels_first,
            "the input is flattened channels first: flatten each example as it is stored, "
            "x.reshape(N, -1)", DENSE),
    Mistake("dense_forward", dense_forward_not_flattened,
            "the input is not flattened: an (N, H, W, C) input becomes (N, H * W * C) first", DENSE),
    Mistake("dense_backward", dense_backward_dW_transposed,
            "dW is transposed: it has W's shape (D, M), x_flat.T @ dout", DENSE),
    Mistake("dense_backward", dense_backward_db_averaged,
            "db is averaged over the batch: the 1/N is already in dout, so db is dout summed over the batch",
            DENSE),
    Mistake("dense_backward", dense_backward_dx_flat,
            "dx is left flat: it has x's shape, (dout @ W.T).reshape(x.shape)", DENSE),
    Mistake("relu_backward", relu_backward_at_zero,
            "the gradient passes where Z == 0: ReLU's gradient there is taken as 0 (Z > 0, not Z >= 0)", RELU),
    Mistake("relu_backward", relu_backward_mask_only, "the mask is returned without dA: dZ = dA * (Z > 0)", RELU),
    Mistake("relu_backward", relu_backward_mask_of_dA,
            "the mask is taken from dA: it comes from the forward input Z", RELU),
    Mistake("conv_backward", conv_backward_db_averaged,
            "db is divided by N: it is dZ summed over the batch and every position", CONV),
    Mistake("conv_backward", conv_backward_padding_kept,
            "dA_prev keeps the padding: crop it back to A_prev's shape", CONV),
    Mistake("conv_backward", conv_backward_stride_ignored,
            "the stride is ignored: output (i, j) came from the window at (i * stride, j * stride)", CONV),
    Mistake("pool_backward", pool_backward_avg_not_divided,
            "average pooling's gradient is not divided by size ** 2: each value of the window had that share",
            POOL),
    Mistake("pool_backward", pool_backward_overwritten,
            "overlapping windows overwrite each other's gradient: add it up (+=)", POOL),
    Mistake("pool_backward", pool_backward_every_maximum,
            "every tied maximum gets the gradient: only the first maximum, in row-major order, was chosen", POOL),
]
