"""Reference NumPy layers: the answers the course's exercises are graded against.

Conventions, the same as Keras and TensorFlow so that a NumPy layer and a Keras layer can be
compared weight for weight:

- images are NHWC: ``(N, H, W, C)``;
- convolution kernels are ``(f_h, f_w, c_in, c_out)``, biases ``(c_out,)``;
- dense kernels are ``(D, M)``, biases ``(M,)``.

Every layer has a forward pass ``*_forward(...) -> (out, cache)`` and a backward pass
``*_backward(dout, cache)`` that returns the gradients of the loss with respect to the forward
inputs. The cache holds what the backward pass needs. Floating inputs keep their dtype (float32 in,
float32 out); integer inputs are computed in float64.

Everything is vectorised: windows come from ``numpy.lib.stride_tricks.sliding_window_view`` and
convolutions are matrix products, so the only Python loops run over the ``f_h * f_w`` positions of
a kernel, never over pixels or batch items.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cnnlib._validate import (
    as_float_array,
    check_int,
    check_ndim,
    check_same_shape,
    fail,
)

__all__ = [
    "conv_output_size",
    "zero_pad",
    "conv2d_forward",
    "conv2d_backward",
    "depthwise_conv2d_forward",
    "depthwise_conv2d_backward",
    "pool2d_forward",
    "pool2d_backward",
    "relu_forward",
    "relu_backward",
    "dense_forward",
    "dense_backward",
    "softmax",
    "softmax_cross_entropy",
    "dropout_forward",
    "dropout_backward",
    "batchnorm_forward",
    "batchnorm_backward",
]


# --------------------------------------------------------------------------- sizes and padding


def conv_output_size(n, f, pad, stride):
    """Length of a convolution's or pooling's output along one axis.

    ``floor((n + 2 * pad - f) / stride) + 1``: e.g. n=7, f=3, pad=0, stride=2 gives 3, and
    AlexNet's first layer (n=227, f=11, pad=0, stride=4) gives 55.

    Args:
        n: input length (height or width), >= 1.
        f: kernel (or pooling window) length, >= 1.
        pad: zeros added on each side, >= 0.
        stride: step between windows, >= 1.

    Returns:
        int, the output length.

    Raises:
        ValueError: for a stride < 1, a negative padding, or a kernel larger than the padded input.
    """
    n = check_int("n", n, minimum=1)
    f = check_int("f", f, minimum=1)
    pad = check_int("pad", pad, minimum=0)
    stride = check_int("stride", stride, minimum=1)
    if f > n + 2 * pad:
        fail(f"The kernel is larger than the padded input: f={f} > n + 2*pad = {n + 2 * pad} "
             f"(n={n}, pad={pad}).")
    return (n + 2 * pad - f) // stride + 1


def zero_pad(x, pad):
    """Pad the height and width of a batch of images with zeros.

    Args:
        x: array of shape (N, H, W, C).
        pad: int >= 0, the same number of zeros on all four sides; or
            ``((top, bottom), (left, right))`` for uneven padding.

    Returns:
        array of shape (N, H + top + bottom, W + left + right, C), the dtype of ``x``.
    """
    x = np.asarray(x)
    check_ndim("x", x, 4, "(N, H, W, C)")
    (top, bottom), (left, right) = _pad_pairs(pad)
    n, h, w, c = x.shape
    # Several times faster than np.pad, which is general-purpose: allocate zeros, copy the middle.
    padded = np.zeros((n, h + top + bottom, w + left + right, c), dtype=x.dtype)
    padded[:, top:top + h, left:left + w] = x
    return padded


def _pad_pairs(pad):
    """Normalise ``pad`` (int or ((top, bottom), (left, right))) to the nested-pairs form."""
    if isinstance(pad, (int, np.integer)) and not isinstance(pad, bool):
        p = check_int("pad", pad, minimum=0)
        return (p, p), (p, p)
    try:
        (top, bottom), (left, right) = pad
    except (TypeError, ValueError):
        fail(f"Invalid value for argument `pad`. Expected an int >= 0 or "
             f"((top, bottom), (left, right)). Received pad={pad!r}")
    return tuple((check_int("pad", a, minimum=0), check_int("pad", b, minimum=0))
                 for a, b in ((top, bottom), (left, right)))


def _conv_padding(pad, in_hw, kernel_hw, stride):
    """Resolve ``pad`` (int, "valid" or "same") to ((top, bottom), (left, right)).

    "same" follows TensorFlow: the output has ceil(n / stride) positions and any odd padding
    goes to the bottom and right.
    """
    if isinstance(pad, str):
        if pad == "valid":
            return (0, 0), (0, 0)
        if pad == "same":
            pairs = []
            for n, f in zip(in_hw, kernel_hw):
                out = -(-n // stride)
                total = max((out - 1) * stride + f - n, 0)
                pairs.append((total // 2, total - total // 2))
            return tuple(pairs)
        fail(f"Invalid value for argument `pad`. Expected an int >= 0, 'valid' or 'same'. "
             f"Received pad={pad!r}")
    return _pad_pairs(pad)


def _windows(x, window_hw, stride):
    """Strided view of every (f_h, f_w) window of x.

    x (N, H, W, C) -> view (N, H', W', C, f_h, f_w); no data is copied.
    """
    return sliding_window_view(x, window_hw, axis=(1, 2))[:, ::stride, ::stride]


def _check_window_fits(x_shape, pads, window_hw, what):
    """Raise if a window is larger than the (padded) input."""
    (top, bottom), (left, right) = pads
    padded = (x_shape[1] + top + bottom, x_shape[2] + left + right)
    if window_hw[0] > padded[0] or window_hw[1] > padded[1]:
        fail(f"The {what} {window_hw[0]}x{window_hw[1]} is larger than the padded input "
             f"{padded[0]}x{padded[1]} (x has shape {tuple(x_shape)}, padding "
             f"((top, bottom), (left, right)) = {pads}).")


# --------------------------------------------------------------------------- convolution


def conv2d_forward(x, w, b, stride=1, pad=0):
    """Forward pass of a 2-D convolution (deep learning's cross-correlation), NHWC.

    out[n, i, j, f] = b[f] + sum over (di, dj, c) of
                      x_pad[n, i*stride + di, j*stride + dj, c] * w[di, dj, c, f]

    Args:
        x: input of shape (N, H, W, C).
        w: kernels of shape (f_h, f_w, C, F).
        b: biases of shape (F,).
        stride: int >= 1, the same step along height and width.
        pad: int >= 0 zeros on every side, ``((top, bottom), (left, right))``, ``"valid"`` (no
            padding) or ``"same"`` (TensorFlow's: H' = ceil(H / stride)).

    Returns:
        out: array of shape (N, H', W', F) with H' = floor((H + top + bottom - f_h) / stride) + 1
            and W' likewise.
        cache: what ``conv2d_backward`` needs.
    """
    x, w, b, stride, pads = _conv_arguments(x, w, b, stride, pad, depthwise=False)
    f_h, f_w, c_in, n_filters = w.shape

    # The padded input, built channels-first in one copy so that every copy below, and every read
    # in the backward pass, runs over contiguous memory.
    (top, bottom), (left, right) = pads
    n, h, w_in = x.shape[:3]
    x_cfirst = np.zeros((c_in, n, h + top + bottom, w_in + left + right), dtype=x.dtype)  # (C, N, H_pad, W_pad)
    x_cfirst[:, :, top:top + h, left:left + w_in] = x.transpose(3, 0, 1, 2)
    x_pad_shape = (n, *x_cfirst.shape[2:], c_in)
    out_h, out_w = _out_hw(x_pad_shape, (f_h, f_w), stride)
    # im2col, transposed: one column per output pixel, one row per (di, dj, c) like w's first three axes.
    cols_t = np.empty((f_h, f_w, c_in, n, out_h, out_w), dtype=x.dtype)
    for di in range(f_h):
        for dj in range(f_w):
            cols_t[di, dj] = x_cfirst[:, :, di:di + stride * out_h:stride, dj:dj + stride * out_w:stride]
    cols_t = cols_t.reshape(f_h * f_w * c_in, n * out_h * out_w)
    dtype = np.result_type(x, w, b)
    out = (cols_t.T @ w.reshape(-1, n_filters)).astype(dtype, copy=False)
    out += b
    cache = (x.shape, x_pad_shape, cols_t, w, stride, pads)
    return out.reshape(n, out_h, out_w, n_filters), cache


def conv2d_backward(dout, cache):
    """Backward pass of ``conv2d_forward``.

    Args:
        dout: upstream gradient of shape (N, H', W', F).
        cache: from ``conv2d_forward``.

    Returns:
        dx: (N, H, W, C), a "full" convolution of dout with the flipped kernels.
        dw: (f_h, f_w, C, F), the correlation of the input with dout.
        db: (F,), dout summed over batch, height and width.
    """
    x_shape, x_pad_shape, cols_t, w, stride, pads = cache
    f_h, f_w, c_in, n_filters = w.shape
    n, out_h, out_w = x_shape[0], *_out_hw(x_pad_shape, (f_h, f_w), stride)
    dout = _check_dout(dout, (n, out_h, out_w, n_filters))

    dout_rows = dout.reshape(-1, n_filters)
    db = dout_rows.sum(axis=0)
    dw = (cols_t @ dout_rows).reshape(w.shape)
    dcols_t = (w.reshape(-1, n_filters) @ dout_rows.T).reshape(f_h, f_w, c_in, n, out_h, out_w)

    # col2im: every kernel position adds its share back to the pixels it read (channels-first).
    dx_cfirst = np.zeros((c_in, n, x_pad_shape[1], x_pad_shape[2]), dtype=dcols_t.dtype)
    for di in range(f_h):
        for dj in range(f_w):
            dx_cfirst[:, :, di:di + stride * out_h:stride, dj:dj + stride * out_w:stride] += dcols_t[di, dj]
    (top, _), (left, _) = pads
    dx = dx_cfirst[:, :, top:top + x_shape[1], left:left + x_shape[2]].transpose(1, 2, 3, 0)
    dtype = np.result_type(dout, w)
    return (np.ascontiguousarray(dx, dtype=dtype), dw.astype(dtype, copy=False),
            db.astype(dtype, copy=False))


def _conv_arguments(x, w, b, stride, pad, depthwise):
    """The checked arguments of ``conv2d_forward`` (w: (f_h, f_w, C, F), b: (F,)) or, with
    ``depthwise``, of ``depthwise_conv2d_forward`` (w: (f_h, f_w, C, M), b: (C * M,)).

    Returns:
        (x, w, b) as float arrays, stride as an int, and the padding ((top, bottom), (left, right)).
    """
    x = as_float_array("x", x)
    w = as_float_array("w", w)
    b = as_float_array("b", b)
    layout = "(f_h, f_w, C, M)" if depthwise else "(f_h, f_w, C, F)"
    check_ndim("x", x, 4, "(N, H, W, C)")
    check_ndim("w", w, 4, layout)
    f_h, f_w, c_in, last = w.shape
    if x.shape[3] != c_in:
        kernels = "depthwise kernels" if depthwise else "kernels"
        fail(f"Channel mismatch: x has {x.shape[3]} channels (x.shape={x.shape}) but the {kernels} "
             f"expect {c_in} (w.shape={w.shape}, layout {layout}).")
    channels_out = c_in * last if depthwise else last
    if b.shape != (channels_out,):
        fail(f"Bias shape mismatch: expected b.shape=({channels_out},){' (C * M)' if depthwise else ''} to match "
             f"w.shape={w.shape}, received b.shape={b.shape}.")
    stride = check_int("stride", stride, minimum=1)
    pads = _conv_padding(pad, x.shape[1:3], (f_h, f_w), stride)
    _check_window_fits(x.shape, pads, (f_h, f_w), "kernel")
    return x, w, b, stride, pads


def depthwise_conv2d_forward(x, w, b, stride=1, pad=0):
    """Forward pass of a depthwise convolution: each input channel has kernels of its own, NHWC.

    Unlike ``conv2d_forward``, channels are not summed: input channel c, filtered with its M
    kernels w[:, :, c, m], gives output channels c * M + m (TensorFlow's order):

    out[n, i, j, c * M + m] = b[c * M + m] + sum over (di, dj) of
                              x_pad[n, i*stride + di, j*stride + dj, c] * w[di, dj, c, m]

    Args:
        x: input of shape (N, H, W, C).
        w: kernels of shape (f_h, f_w, C, M), M the channel (depth) multiplier.
        b: biases of shape (C * M,).
        stride: int >= 1.
        pad: as in ``conv2d_forward`` (int, ((top, bottom), (left, right)), "valid" or "same").

    Returns:
        out: (N, H', W', C * M), H' and W' as in ``conv2d_forward``.
        cache: what ``depthwise_conv2d_backward`` needs.
    """
    x, w, b, stride, pads = _conv_arguments(x, w, b, stride, pad, depthwise=True)
    f_h, f_w, c_in, multiplier = w.shape
    x_pad = np.pad(x, ((0, 0), *pads, (0, 0)))
    windows = _windows(x_pad, (f_h, f_w), stride)                   # (N, H', W', C, f_h, f_w)
    out = np.einsum("nijcuv,uvcm->nijcm", windows, w)
    dtype = np.result_type(x, w, b)
    out = out.reshape(*out.shape[:3], c_in * multiplier).astype(dtype, copy=False) + b
    return out.astype(dtype, copy=False), (x.shape, x_pad, w, stride, pads)


def depthwise_conv2d_backward(dout, cache):
    """Backward pass of ``depthwise_conv2d_forward``.

    Args:
        dout: upstream gradient of shape (N, H', W', C * M).
        cache: from ``depthwise_conv2d_forward``.

    Returns:
        dx: (N, H, W, C); dw: (f_h, f_w, C, M); db: (C * M,).
    """
    x_shape, x_pad, w, stride, pads = cache
    f_h, f_w, c_in, multiplier = w.shape
    n, out_h, out_w = x_shape[0], *_out_hw(x_pad.shape, (f_h, f_w), stride)
    dout = _check_dout(dout, (n, out_h, out_w, c_in * multiplier))
    dtype = np.result_type(dout, w)
    per_kernel = dout.reshape(n, out_h, out_w, c_in, multiplier)
    windows = _windows(x_pad, (f_h, f_w), stride)
    dw = np.einsum("nijcuv,nijcm->uvcm", windows, per_kernel)
    dx_pad = np.zeros(x_pad.shape, dtype=dtype)
    for di in range(f_h):
        for dj in range(f_w):
            dx_pad[:, di:di + stride * out_h:stride, dj:dj + stride * out_w:stride] += \
                np.einsum("nijcm,cm->nijc", per_kernel, w[di, dj])
    (top, _), (left, _) = pads
    dx = dx_pad[:, top:top + x_shape[1], left:left + x_shape[2]]
    return (np.ascontiguousarray(dx, dtype=dtype), dw.astype(dtype, copy=False),
            dout.sum(axis=(0, 1, 2)).astype(dtype, copy=False))


def _out_hw(in_shape, window_hw, stride):
    """(H', W') of a valid window sweep over an input of shape (N, H, W, C)."""
    return tuple((n - f) // stride + 1 for n, f in zip(in_shape[1:3], window_hw))


def _check_dout(dout, expected_shape):
    dout = as_float_array("dout", dout)
    check_same_shape("dout", dout.shape, "the forward output", expected_shape)
    return dout


# --------------------------------------------------------------------------- pooling

POOL_MODES = ("max", "avg", "sum", "l2")


def pool2d_forward(x, size=2, stride=2, mode="max"):
    """Forward pass of pooling, channel by channel, without padding.

    Args:
        x: input of shape (N, H, W, C).
        size: int >= 1, the pooling window is size x size.
        stride: int >= 1.
        mode: "max", "avg" (the mean), "sum" or "l2" (the L2 norm, the square root of the sum of
            squares) of each window.

    Returns:
        out: (N, H', W', C) with H' = floor((H - size) / stride) + 1, W' likewise.
        cache: what ``pool2d_backward`` needs.
    """
    x = as_float_array("x", x)
    check_ndim("x", x, 4, "(N, H, W, C)")
    size = check_int("size", size, minimum=1)
    stride = check_int("stride", stride, minimum=1)
    if mode not in POOL_MODES:
        fail(f"Unknown pooling mode: mode={mode!r}. Expected one of {POOL_MODES}.")
    _check_window_fits(x.shape, ((0, 0), (0, 0)), (size, size), "pooling window")

    windows = _windows(x, (size, size), stride)          # (N, H', W', C, size, size)
    flat = windows.reshape(*windows.shape[:4], size * size)
    if mode == "max":
        # TensorFlow sends a max's gradient to the first maximum of its window; so do we.
        argmax = flat.argmax(axis=-1)
        out = np.take_along_axis(flat, argmax[..., None], axis=-1)[..., 0]
    elif mode == "l2":
        out = np.sqrt((flat ** 2).sum(axis=-1))
        argmax = (x, out)   # what the l2 gradient needs: the inputs and the norms
    else:
        argmax = None
        out = flat.mean(axis=-1) if mode == "avg" else flat.sum(axis=-1)
    return out.astype(x.dtype, copy=False), (x.shape, size, stride, mode, argmax)


def pool2d_backward(dout, cache):
    """Backward pass of ``pool2d_forward``.

    Max pooling routes each gradient to the input that was the window's maximum; average pooling
    shares it equally among the size*size inputs, sum pooling gives each of them all of it, and L2
    pooling gives input x its share x / norm (0 for a window of zeros). Overlapping windows
    (stride < size) add up.

    Args:
        dout: upstream gradient of shape (N, H', W', C).
        cache: from ``pool2d_forward``.

    Returns:
        dx: (N, H, W, C).
    """
    x_shape, size, stride, mode, argmax = cache
    out_h, out_w = _out_hw(x_shape, (size, size), stride)
    dout = _check_dout(dout, (x_shape[0], out_h, out_w, x_shape[3]))
    dx = np.zeros(x_shape, dtype=dout.dtype)
    if mode == "l2":
        x, norms = argmax
        safe = np.where(norms > 0, norms, 1)
    for di in range(size):
        for dj in range(size):
            if mode == "max":
                share = np.where(argmax == di * size + dj, dout, 0)
            elif mode == "l2":
                share = dout * np.where(norms > 0, x[:, di:di + stride * out_h:stride,
                                                     dj:dj + stride * out_w:stride] / safe, 0)
            else:
                share = dout / (size * size) if mode == "avg" else dout
            dx[:, di:di + stride * out_h:stride, dj:dj + stride * out_w:stride] += share
    return dx


# --------------------------------------------------------------------------- activations, dense, loss


def relu_forward(x):
    """ReLU, max(0, x), element-wise.

    Args:
        x: array of any shape.

    Returns:
        out: same shape and dtype as x.
        cache: x.
    """
    x = as_float_array("x", x)
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    """Backward pass of ReLU: the gradient flows where the input was positive.

    Args:
        dout: upstream gradient, the shape of x.
        cache: x, from ``relu_forward``.

    Returns:
        dx: same shape as x.
    """
    x = cache
    dout = _check_dout(dout, x.shape)
    return np.where(x > 0, dout, 0).astype(dout.dtype, copy=False)


def dense_forward(x, w, b):
    """Fully connected layer, out = x_flat @ w + b (Keras' Dense kernel layout).

    Args:
        x: (N, D) or (N, d_1, ..., d_k) with D = d_1 * ... * d_k (flattened per example).
        w: (D, M).
        b: (M,).

    Returns:
        out: (N, M).
        cache: what ``dense_backward`` needs.
    """
    x = as_float_array("x", x)
    w = as_float_array("w", w)
    b = as_float_array("b", b)
    check_ndim("w", w, 2, "(D, M)")
    if x.ndim < 2:
        fail(f"Expected x with a batch axis, shape (N, D) or (N, ...); received x.shape={x.shape}.")
    x_flat = x.reshape(x.shape[0], -1)
    if x_flat.shape[1] != w.shape[0]:
        fail(f"Size mismatch: x has {x_flat.shape[1]} features per example (x.shape={x.shape}) "
             f"but w expects {w.shape[0]} (w.shape={w.shape}, layout (D, M)).")
    if b.shape != (w.shape[1],):
        fail(f"Bias shape mismatch: expected b.shape=({w.shape[1]},) to match w.shape={w.shape}, "
             f"received b.shape={b.shape}.")
    return x_flat @ w + b, (x.shape, x_flat, w)


def dense_backward(dout, cache):
    """Backward pass of ``dense_forward``.

    Args:
        dout: (N, M).
        cache: from ``dense_forward``.

    Returns:
        dx: the shape of the forward x; dw: (D, M); db: (M,).
    """
    x_shape, x_flat, w = cache
    dout = _check_dout(dout, (x_shape[0], w.shape[1]))
    return (dout @ w.T).reshape(x_shape), x_flat.T @ dout, dout.sum(axis=0)


def softmax(logits):
    """Numerically stable softmax over the last axis.

    Args:
        logits: (N, K) scores.

    Returns:
        (N, K) probabilities; each row sums to 1.
    """
    logits = as_float_array("logits", logits)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def softmax_cross_entropy(logits, y):
    """Mean cross-entropy of softmax(logits) against the labels, and its gradient.

    Args:
        logits: (N, K) scores.
        y: (N,) integer labels in [0, K) (Keras' SparseCategoricalCrossentropy), or (N, K)
            one-hot rows, e.g. from ``keras.utils.to_categorical`` (CategoricalCrossentropy);
            any rows of probabilities that sum to 1 work.

    Returns:
        loss: float, mean over the batch of -sum_k t[n, k] log softmax(logits)[n, k], with t the
            one-hot (or given) targets: -log softmax(logits)[n, y[n]] for integer labels.
        dlogits: (N, K), (softmax(logits) - t) / N.
    """
    logits = as_float_array("logits", logits)
    check_ndim("logits", logits, 2, "(N, K)")
    n, k = logits.shape
    targets = _targets(y, n, k)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -(targets * log_probs).sum(axis=1).mean()
    return float(loss), ((np.exp(log_probs) - targets) / n).astype(logits.dtype, copy=False)


def _targets(y, n, k):
    """(N, K) target rows from integer labels (N,) or from one-hot / probability rows (N, K)."""
    y = np.asarray(y)
    if y.ndim == 2:
        if y.shape != (n, k):
            fail(f"One-hot label shape mismatch: expected y.shape=({n}, {k}) for "
                 f"logits.shape={(n, k)}, received y.shape={y.shape}.")
        if not np.issubdtype(y.dtype, np.number) or not np.allclose(y.sum(axis=1), 1, atol=1e-6):
            fail(f"One-hot labels must be rows of numbers that sum to 1 (y.shape={y.shape}); "
                 "use keras.utils.to_categorical(labels, K) or pass integer labels of shape (N,).")
        return y.astype(np.float64)
    if y.shape != (n,):
        fail(f"Label shape mismatch: expected y.shape=({n},) (integer labels) or ({n}, {k}) "
             f"(one-hot) for logits.shape={(n, k)}, received y.shape={y.shape}.")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        fail(f"Labels must be integers (class indices); received y.dtype={y.dtype}.")
    if y.size and (y.min() < 0 or y.max() >= k):
        fail(f"Labels out of range: expected 0 <= y < {k} (logits.shape={(n, k)}), "
             f"received min {y.min()} and max {y.max()}.")
    targets = np.zeros((n, k))
    targets[np.arange(n), y] = 1
    return targets


# --------------------------------------------------------------------------- regularisation


def dropout_forward(x, rate, training, rng=None):
    """Inverted dropout: zero each input with probability ``rate`` and scale the rest by 1/(1-rate).

    The expected output equals x, so nothing changes at inference, where the layer is the identity.

    Args:
        x: array of any shape.
        rate: probability of dropping an input, 0 <= rate < 1.
        training: bool, drop only while training.
        rng: a ``numpy.random.Generator`` (or a seed) for reproducible masks; fresh if None.

    Returns:
        out: same shape and dtype as x.
        cache: the scaled keep-mask (None at inference), for ``dropout_backward``.
    """
    x = as_float_array("x", x)
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.integer, np.floating)) \
            or not 0 <= rate < 1:
        fail(f"Invalid value for argument `rate`. Expected a number with 0 <= rate < 1. "
             f"Received rate={rate!r}")
    if not training or rate == 0:
        return x, None
    rng = np.random.default_rng(rng)
    mask = (rng.random(x.shape) >= rate).astype(x.dtype) / x.dtype.type(1 - rate)
    return x * mask, mask


def dropout_backward(dout, cache):
    """Backward pass of ``dropout_forward``: the gradient flows through the kept inputs, scaled.

    Args:
        dout: upstream gradient, the shape of x.
        cache: the mask from ``dropout_forward`` (None at inference).

    Returns:
        dx: same shape as dout.
    """
    dout = as_float_array("dout", dout)
    if cache is None:
        return dout
    check_same_shape("dout", dout.shape, "the forward input", cache.shape)
    return dout * cache


def batchnorm_forward(x, gamma, beta, running, training, momentum=0.99, eps=1e-3):
    """Batch normalization over every axis but the last (Keras' BatchNormalization, axis=-1).

    Training: normalise with the batch mean and (biased) variance, then update
        running["mean"] = momentum * running["mean"] + (1 - momentum) * batch_mean
        running["var"]  = momentum * running["var"]  + (1 - momentum) * batch_var
    Inference: normalise with running["mean"] and running["var"].
    Then out = gamma * x_hat + beta.

    Args:
        x: (N, D) or (N, H, W, C); the statistics are per feature D or per channel C.
        gamma, beta: (D,) or (C,), scale and shift.
        running: dict with "mean" and "var" of shape (D,) or (C,), replaced by their updated
            values while training. An empty dict starts from Keras' initial values (0 and 1).
        training: bool.
        momentum: float in [0, 1], Keras' default 0.99.
        eps: float > 0 added to the variance, Keras' default 1e-3.

    Returns:
        out: same shape and dtype as x.
        cache: what ``batchnorm_backward`` needs.
    """
    x = as_float_array("x", x)
    if x.ndim not in (2, 4):
        fail(f"Expected x of shape (N, D) or (N, H, W, C); received x.shape={x.shape} "
             f"with {x.ndim} dimensions.")
    features = x.shape[-1]
    gamma = as_float_array("gamma", gamma)
    beta = as_float_array("beta", beta)
    for name, value in (("gamma", gamma), ("beta", beta)):
        check_same_shape(name, value.shape, "the features of x", (features,))
    if not isinstance(running, dict):
        fail(f"`running` must be a dict with 'mean' and 'var'; received {type(running).__name__}.")
    running.setdefault("mean", np.zeros(features, dtype=x.dtype))
    running.setdefault("var", np.ones(features, dtype=x.dtype))
    for key in ("mean", "var"):
        check_same_shape(f"running[{key!r}]", np.shape(running[key]), "the features of x",
                         (features,))
    if not 0 <= momentum <= 1:
        fail(f"Invalid value for argument `momentum`. Expected 0 <= momentum <= 1. "
             f"Received momentum={momentum!r}")
    if not eps > 0:
        fail(f"Invalid value for argument `eps`. Expected eps > 0. Received eps={eps!r}")

    axes = tuple(range(x.ndim - 1))
    if training:
        mean = x.mean(axis=axes)
        var = x.var(axis=axes)
        running["mean"] = (momentum * running["mean"] + (1 - momentum) * mean).astype(x.dtype)
        running["var"] = (momentum * running["var"] + (1 - momentum) * var).astype(x.dtype)
    else:
        mean = np.asarray(running["mean"], dtype=x.dtype)
        var = np.asarray(running["var"], dtype=x.dtype)
    inv_std = 1 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    out = gamma * x_hat + beta
    return out.astype(x.dtype, copy=False), (x_hat, gamma, inv_std, training)


def batchnorm_backward(dout, cache):
    """Backward pass of ``batchnorm_forward``.

    In training the batch statistics depend on x, which gives
        dx = inv_std / m * (m * dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat))
    with dx_hat = dout * gamma and sums over the m = N (or N*H*W) values of each feature.
    At inference the running statistics are constants and dx = dout * gamma * inv_std.

    Args:
        dout: upstream gradient, the shape of x.
        cache: from ``batchnorm_forward``.

    Returns:
        dx: the shape of x; dgamma, dbeta: (D,) or (C,).
    """
    x_hat, gamma, inv_std, training = cache
    dout = _check_dout(dout, x_hat.shape)
    axes = tuple(range(dout.ndim - 1))
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * x_hat).sum(axis=axes)
    dx_hat = dout * gamma
    if training:
        m = dout.size // dout.shape[-1]
        dx = inv_std / m * (m * dx_hat - dx_hat.sum(axis=axes) - x_hat * (dx_hat * x_hat).sum(axis=axes))
    else:
        dx = dx_hat * inv_std
    return dx.astype(dout.dtype, copy=False), dgamma, dbeta
