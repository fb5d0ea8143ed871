"""cnnlib.layers on worked examples, numerical gradients and bad input.

The worked examples' expected values were computed by hand (and once more with plain loops);
TensorFlow comparisons live in test_layers_vs_tensorflow.py.
"""

import numpy as np
import pytest

from cnnlib import layers
from cnnlib.gradcheck import numerical_gradient_array, relative_error


def image(rows):
    """A 2-D list -> (1, H, W, 1) float64 batch of one single-channel image."""
    return np.asarray(rows, dtype=np.float64)[None, :, :, None]


def kernel(rows):
    """A 2-D list -> (f_h, f_w, 1, 1) kernel."""
    return np.asarray(rows, dtype=np.float64)[:, :, None, None]


def correlate(x_rows, k_rows, **kwargs):
    out, _ = layers.conv2d_forward(image(x_rows), kernel(k_rows), np.zeros(1), **kwargs)
    return out[0, :, :, 0]


# --------------------------------------------------------------------------- worked examples

VERTICAL_EDGE_INPUT = [[3, 0, 1, 2, 7, 4],
                       [1, 5, 8, 9, 3, 1],
                       [2, 7, 2, 5, 1, 3],
                       [0, 1, 3, 1, 7, 8],
                       [4, 2, 1, 6, 2, 8],
                       [2, 4, 5, 2, 3, 9]]


def test_vertical_edge_example():
    """Does the 6x6 vertical-edge example give the lecture's output (with row 2 = 10, 2, -2, -3)?"""
    out = correlate(VERTICAL_EDGE_INPUT, [[-1, 0, 1]] * 3)
    np.testing.assert_array_equal(out, [[5, 4, 0, -8],
                                        [10, 2, -2, -3],
                                        [0, 2, 4, 7],
                                        [3, 2, 3, 16]])


def test_step_image_gives_an_edge_in_the_middle_columns():
    """Does a 10/0 step image filtered by [1, 0, -1] rows give columns 0, 30, 30, 0 on every row?"""
    step = [[10, 10, 10, 0, 0, 0]] * 6
    np.testing.assert_array_equal(correlate(step, [[1, 0, -1]] * 3), [[0, 30, 30, 0]] * 4)


def test_cross_correlation_versus_true_convolution():
    """Is conv2d a cross-correlation, and does flipping the kernel give the true convolution?"""
    x = [[80, 0, 50], [70, 20, 10], [0, 40, 0]]
    k = np.array([[0, 1], [0.5, -1]])
    np.testing.assert_array_equal(correlate(x, k), [[15, 50], [-20, 30]])
    np.testing.assert_array_equal(correlate(x, k[::-1, ::-1]), [[-10, 45], [-60, 25]])


def test_pooling_example():
    """Does the 4x4 example give max [[6, 9], [8, 9]] and average [[3.25, 5], [5.25, 5.5]]?"""
    x = image([[1, 3, 2, 1], [3, 6, 8, 9], [8, 3, 3, 9], [4, 6, 8, 2]])
    np.testing.assert_array_equal(layers.pool2d_forward(x, 2, 2, "max")[0][0, :, :, 0], [[6, 9], [8, 9]])
    np.testing.assert_array_equal(layers.pool2d_forward(x, 2, 2, "avg")[0][0, :, :, 0],
                                  [[3.25, 5], [5.25, 5.5]])


def test_max_pool_gradient_goes_to_the_maximum_only():
    """Does the gradient of a max go to the window's maximum, and an average's spread evenly?"""
    x = image([[1, 3], [4, 2]])
    _, cache = layers.pool2d_forward(x, 2, 2, "max")
    np.testing.assert_array_equal(layers.pool2d_backward(np.full((1, 1, 1, 1), 5.0), cache)[0, :, :, 0],
                                  [[0, 0], [5, 0]])
    _, cache = layers.pool2d_forward(x, 2, 2, "avg")
    np.testing.assert_array_equal(layers.pool2d_backward(np.full((1, 1, 1, 1), 4.0), cache)[0, :, :, 0],
                                  [[1, 1], [1, 1]])


@pytest.mark.parametrize("n, f, pad, stride, expected", [
    (7, 3, 0, 2, 3), (6, 3, 0, 2, 2), (227, 11, 0, 4, 55), (6, 3, 0, 1, 4), (6, 3, 1, 1, 6),
    (32, 5, 2, 1, 32), (5, 5, 0, 1, 1),
])
def test_conv_output_size(n, f, pad, stride, expected):
    """Does floor((n + 2p - f) / s) + 1 give the course's examples (7x7/f3/s2 -> 3, AlexNet 227 -> 55)?"""
    assert layers.conv_output_size(n, f, pad, stride) == expected


def test_same_padding_keeps_the_size_and_shapes_follow_the_formula():
    """Does "same" keep H and W at stride 1, and do integer paddings follow conv_output_size?"""
    x = np.zeros((2, 7, 9, 3))
    w = np.zeros((3, 3, 3, 4))
    assert layers.conv2d_forward(x, w, np.zeros(4), pad="same")[0].shape == (2, 7, 9, 4)
    assert layers.conv2d_forward(x, w, np.zeros(4), stride=2, pad=1)[0].shape == (
        2, layers.conv_output_size(7, 3, 1, 2), layers.conv_output_size(9, 3, 1, 2), 4)


def test_zero_pad_adds_zeros_around_height_and_width_only():
    """Does zero_pad pad H and W (not N or C), evenly or unevenly, keeping the dtype?"""
    x = np.ones((2, 3, 4, 5), dtype=np.float32)
    padded = layers.zero_pad(x, 2)
    assert padded.shape == (2, 7, 8, 5) and padded.dtype == np.float32
    assert padded.sum() == x.sum() and padded[:, 2:5, 2:6].min() == 1
    assert layers.zero_pad(x, ((0, 1), (2, 3))).shape == (2, 4, 9, 5)


def test_bias_is_added_per_filter_and_dtypes_are_preserved():
    """Is b[f] added to every pixel of output channel f, and does float32 stay float32?"""
    x = np.zeros((1, 4, 4, 2), dtype=np.float32)
    out, _ = layers.conv2d_forward(x, np.zeros((3, 3, 2, 2), np.float32), np.array([1.5, -2], np.float32))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[0, :, :, 0], 1.5)
    np.testing.assert_array_equal(out[0, :, :, 1], -2)


def test_batchnorm_starts_from_keras_initial_statistics_and_updates_them():
    """With an empty running dict, does training start from mean 0 / var 1 and apply the momentum rule?"""
    x = np.array([[1.0, 2.0], [3.0, 6.0]])
    running = {}
    layers.batchnorm_forward(x, np.ones(2), np.zeros(2), running, training=True, momentum=0.9)
    np.testing.assert_allclose(running["mean"], 0.1 * np.array([2.0, 4.0]))
    np.testing.assert_allclose(running["var"], 0.9 + 0.1 * np.array([1.0, 4.0]))
    out, _ = layers.batchnorm_forward(x, np.ones(2), np.zeros(2), {"mean": np.zeros(2), "var": np.ones(2)},
                                      training=False, eps=1e-12)
    np.testing.assert_allclose(out, x)


# --------------------------------------------------------------------------- numerical gradients


def assert_gradient(analytic, f, x, dout, tol=1e-7):
    numeric = numerical_gradient_array(f, x, dout)
    assert relative_error(analytic, numeric) < tol, relative_error(analytic, numeric)


@pytest.mark.parametrize("stride, pad", [(1, 0), (2, 1), (1, "same"), (3, 2)])
def test_conv2d_backward_numerically(stride, pad):
    """Do dx, dw and db of conv2d match centred differences?"""
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 6, 5, 2)), rng.standard_normal((3, 3, 2, 3)), rng.standard_normal(3)
    out, cache = layers.conv2d_forward(x, w, b, stride, pad)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = layers.conv2d_backward(dout, cache)
    assert_gradient(dx, lambda v: layers.conv2d_forward(v, w, b, stride, pad)[0], x, dout)
    assert_gradient(dw, lambda v: layers.conv2d_forward(x, v, b, stride, pad)[0], w, dout)
    assert_gradient(db, lambda v: layers.conv2d_forward(x, w, v, stride, pad)[0], b, dout)


@pytest.mark.parametrize("mode", ["max", "avg", "sum", "l2"])
@pytest.mark.parametrize("size, stride", [(2, 2), (3, 2), (2, 1)])
def test_pool2d_backward_numerically(mode, size, stride):
    """Does pooling's dx match centred differences, overlapping windows included?"""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 6, 7, 3))
    out, cache = layers.pool2d_forward(x, size, stride, mode)
    dout = rng.standard_normal(out.shape)
    assert_gradient(layers.pool2d_backward(dout, cache),
                    lambda v: layers.pool2d_forward(v, size, stride, mode)[0], x, dout)


def test_relu_dense_and_loss_backward_numerically():
    """Do ReLU, dense and softmax cross-entropy gradients match centred differences?"""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3, 2))
    x[np.abs(x) < 0.05] = 0.5  # keep clear of ReLU's kink, where differences are meaningless
    out, cache = layers.relu_forward(x)
    dout = rng.standard_normal(out.shape)
    assert_gradient(layers.relu_backward(dout, cache), lambda v: layers.relu_forward(v)[0], x, dout)

    w, b = rng.standard_normal((6, 5)), rng.standard_normal(5)
    out, cache = layers.dense_forward(x, w, b)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = layers.dense_backward(dout, cache)
    assert_gradient(dx, lambda v: layers.dense_forward(v, w, b)[0], x, dout)
    assert_gradient(dw, lambda v: layers.dense_forward(x, v, b)[0], w, dout)
    assert_gradient(db, lambda v: layers.dense_forward(x, w, v)[0], b, dout)

    logits, y = rng.standard_normal((5, 4)), np.array([0, 3, 1, 1, 2])
    _, dlogits = layers.softmax_cross_entropy(logits, y)
    assert_gradient(dlogits, lambda v: layers.softmax_cross_entropy(v, y)[0], logits, 1.0)


def test_dropout_backward_numerically():
    """With a fixed mask, does dropout's dx match centred differences?"""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 6))
    out, mask = layers.dropout_forward(x, 0.3, True, rng=7)
    dout = rng.standard_normal(out.shape)
    assert_gradient(layers.dropout_backward(dout, mask),
                    lambda v: layers.dropout_forward(v, 0.3, True, rng=7)[0], x, dout)


@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 3, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_backward_numerically(shape, training):
    """Do batch norm's dx, dgamma and dbeta match centred differences, in training and inference?"""
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape) * 2 + 1
    gamma, beta = rng.standard_normal(shape[-1]), rng.standard_normal(shape[-1])
    stats = {"mean": rng.standard_normal(shape[-1]), "var": rng.random(shape[-1]) + 0.5}

    def forward(x, gamma, beta):
        return layers.batchnorm_forward(x, gamma, beta, dict(stats), training)[0]

    out, cache = layers.batchnorm_forward(x, gamma, beta, dict(stats), training)
    dout = rng.standard_normal(out.shape)
    dx, dgamma, dbeta = layers.batchnorm_backward(dout, cache)
    assert_gradient(dx, lambda v: forward(v, gamma, beta), x, dout, tol=1e-6)
    assert_gradient(dgamma, lambda v: forward(x, v, beta), gamma, dout)
    assert_gradient(dbeta, lambda v: forward(x, gamma, v), beta, dout)


# --------------------------------------------------------------------------- bad input

X = np.zeros((2, 5, 5, 3))
W = np.zeros((3, 3, 3, 4))
B = np.zeros(4)


@pytest.mark.parametrize("call, message", [
    (lambda: layers.conv2d_forward(X, np.zeros((3, 3, 2, 4)), B),
     r"Channel mismatch: x has 3 channels \(x.shape=\(2, 5, 5, 3\)\) but the kernels expect 2"),
    (lambda: layers.conv2d_forward(X, np.zeros((7, 7, 3, 4)), B),
     r"kernel 7x7 is larger than the padded input 5x5"),
    (lambda: layers.conv2d_forward(X, np.zeros((8, 8, 3, 4)), B, pad=1),
     r"kernel 8x8 is larger than the padded input 7x7"),
    (lambda: layers.conv2d_forward(X, W, B, stride=0),
     r"Invalid value for argument `stride`. Expected an integer >= 1. Received stride=0"),
    (lambda: layers.conv2d_forward(X, W, B, pad=-1),
     r"Invalid value for argument `pad`. Expected an integer >= 0. Received pad=-1"),
    (lambda: layers.conv2d_forward(X, W, B, pad="full"),
     r"Expected an int >= 0, 'valid' or 'same'. Received pad='full'"),
    (lambda: layers.conv2d_forward(X[0], W, B),
     r"Expected `x` with 4 dimensions \(N, H, W, C\); received x.shape=\(5, 5, 3\) with 3"),
    (lambda: layers.conv2d_forward(X, W[0], B),
     r"Expected `w` with 4 dimensions \(f_h, f_w, C, F\)"),
    (lambda: layers.conv2d_forward(X, W, np.zeros(3)),
     r"Bias shape mismatch: expected b.shape=\(4,\)"),
    (lambda: layers.conv2d_forward(X.astype(str), W, B), r"Expected `x` to hold real numbers"),
    (lambda: layers.zero_pad(X, -2), r"Expected an integer >= 0. Received pad=-2"),
    (lambda: layers.zero_pad(X[0], 1), r"Expected `x` with 4 dimensions"),
    (lambda: layers.conv_output_size(5, 7, 0, 1), r"kernel is larger than the padded input: f=7 > n \+ 2\*pad = 5"),
    (lambda: layers.conv_output_size(5, 3, 0, 0), r"Received stride=0"),
    (lambda: layers.pool2d_forward(X, 2, 2, mode="median"),
     r"Unknown pooling mode: mode='median'. Expected one of \('max', 'avg', 'sum', 'l2'\)"),
    (lambda: layers.pool2d_forward(X, 6, 1), r"pooling window 6x6 is larger than the padded input 5x5"),
    (lambda: layers.pool2d_forward(X, 2, stride=0), r"Received stride=0"),
    (lambda: layers.pool2d_forward(X[0]), r"Expected `x` with 4 dimensions"),
    (lambda: layers.dropout_forward(X, 1.0, True), r"Expected a number with 0 <= rate < 1. Received rate=1.0"),
    (lambda: layers.dropout_forward(X, -0.1, True), r"Received rate=-0.1"),
    (lambda: layers.softmax_cross_entropy(np.zeros((3, 4)), np.array([0, 4, 1])),
     r"Labels out of range: expected 0 <= y < 4 \(logits.shape=\(3, 4\)\), received min 0 and max 4"),
    (lambda: layers.softmax_cross_entropy(np.zeros((3, 4)), np.array([0, -1, 1])), r"received min -1"),
    (lambda: layers.softmax_cross_entropy(np.zeros((3, 4)), np.array([0, 1])),
     r"expected y.shape=\(3,\) \(integer labels\) or \(3, 4\) \(one-hot\) for logits.shape=\(3, 4\)"),
    (lambda: layers.softmax_cross_entropy(np.zeros((3, 4)), np.zeros((3, 5))),
     r"One-hot label shape mismatch: expected y.shape=\(3, 4\)"),
    (lambda: layers.softmax_cross_entropy(np.zeros((2, 3)), np.array([[1, 1, 0], [0, 0, 1]])),
     r"rows of numbers that sum to 1 \(y.shape=\(2, 3\)\)"),
    (lambda: layers.depthwise_conv2d_forward(X, np.zeros((3, 3, 2, 2)), np.zeros(4)),
     r"x has 3 channels .* depthwise kernels expect 2"),
    (lambda: layers.depthwise_conv2d_forward(X, np.zeros((3, 3, 3, 2)), np.zeros(2)),
     r"expected b.shape=\(6,\) \(C \* M\)"),
    (lambda: layers.softmax_cross_entropy(np.zeros((3, 4)), np.array([0.0, 1.0, 2.0])),
     r"Labels must be integers"),
    (lambda: layers.dense_forward(np.zeros((2, 6)), np.zeros((5, 3)), np.zeros(3)),
     r"x has 6 features per example \(x.shape=\(2, 6\)\) but w expects 5"),
    (lambda: layers.batchnorm_forward(np.zeros((2, 3, 4)), np.ones(4), np.zeros(4), {}, True),
     r"Expected x of shape \(N, D\) or \(N, H, W, C\); received x.shape=\(2, 3, 4\)"),
    (lambda: layers.batchnorm_forward(np.zeros((2, 4)), np.ones(3), np.zeros(4), {}, True),
     r"`gamma` must have the shape of the features of x, \(4,\); received \(3,\)"),
    (lambda: layers.conv2d_backward(np.zeros((2, 2, 2, 4)), layers.conv2d_forward(X, W, B)[1]),
     r"`dout` must have the shape of the forward output, \(2, 3, 3, 4\); received \(2, 2, 2, 4\)"),
])
def test_bad_input_raises_a_clear_value_error(call, message):
    """Does every kind of bad input raise a ValueError whose message names the problem and shapes?"""
    with pytest.raises(ValueError, match=message):
        call()


def test_batchnorm_backward_is_the_sum_of_06s_three_paths():
    """06 derives dx as the direct path plus the paths through the variance and the mean."""
    rng = np.random.default_rng(7)
    x, dout, gamma = rng.standard_normal((6, 3)) * 2 + 1, rng.standard_normal((6, 3)), rng.uniform(0.5, 2, 3)
    m, mu, var = 6, x.mean(axis=0), x.var(axis=0)
    r = 1 / np.sqrt(var + 1e-3)
    dx_hat = dout * gamma
    d_var = (dx_hat * (x - mu)).sum(axis=0) * -0.5 * r ** 3
    d_mu = -r * dx_hat.sum(axis=0) + d_var * (-2 / m) * (x - mu).sum(axis=0)
    three_paths = r * dx_hat + d_var * 2 * (x - mu) / m + d_mu / m
    cache = ((x - mu) * r, gamma, r, True)
    np.testing.assert_allclose(layers.batchnorm_backward(dout, cache)[0], three_paths, rtol=1e-10)
