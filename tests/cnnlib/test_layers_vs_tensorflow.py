"""Do cnnlib's layers compute what TensorFlow computes, forward and backward?

TensorFlow is the independent oracle: ``tf.nn`` ops for the forward passes, ``tf.GradientTape``
for every gradient, and Keras' own layers for dropout and batch normalization.
"""

import numpy as np
import pytest

from cnnlib import layers
from cnnlib.quiet_tf import import_tensorflow

tf = import_tensorflow()
import keras  # noqa: E402  (after TensorFlow has been imported quietly)

DTYPES = [np.float32, np.float64]
TOLERANCE = {np.float32: dict(rtol=2e-4, atol=2e-4), np.float64: dict(rtol=1e-9, atol=1e-9)}


def run_against_tensorflow(numpy_forward, numpy_backward, tf_forward, inputs, dtype, seed=0):
    """Compare a cnnlib layer with a TensorFlow computation on the same inputs.

    Args:
        numpy_forward: callable(*inputs) -> (out, cache).
        numpy_backward: callable(dout, cache) -> gradient or tuple of gradients, one per input.
        tf_forward: callable(*tf_variables) -> output tensor.
        inputs: list of NumPy arrays, already of ``dtype``.
        dtype: np.float32 or np.float64; the outputs must keep it.
    """
    out, cache = numpy_forward(*inputs)
    variables = [tf.Variable(a) for a in inputs]
    with tf.GradientTape() as tape:
        expected = tf_forward(*variables)
        dout = np.random.default_rng(seed).standard_normal(expected.shape).astype(dtype)
        loss = tf.reduce_sum(expected * dout)
    expected_grads = tape.gradient(loss, variables)

    assert out.dtype == dtype
    np.testing.assert_allclose(out, expected.numpy(), **TOLERANCE[dtype])
    grads = numpy_backward(dout, cache)
    grads = grads if isinstance(grads, tuple) else (grads,)
    assert len(grads) == len(inputs)
    for grad, expected_grad in zip(grads, expected_grads):
        assert grad.dtype == dtype
        np.testing.assert_allclose(grad, expected_grad.numpy(), **TOLERANCE[dtype])


def random(shape, dtype, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# --------------------------------------------------------------------------- convolution

# (x shape NHWC, kernel (f_h, f_w), filters, stride, pad)
CONV_CASES = [
    ((2, 7, 7, 3), (3, 3), 4, 1, 0),
    ((2, 7, 9, 3), (3, 3), 4, 1, 1),
    ((1, 8, 6, 2), (3, 3), 5, 2, 1),
    ((3, 10, 11, 3), (3, 3), 2, 3, 2),
    ((2, 9, 8, 4), (2, 2), 3, 2, 0),
    ((2, 6, 7, 1), (5, 5), 2, 1, 2),
    ((2, 5, 9, 3), (3, 2), 4, 1, 1),
    ((2, 7, 7, 3), (1, 1), 6, 1, 0),
    ((2, 7, 9, 3), (3, 3), 4, 1, "same"),
    ((2, 8, 7, 2), (3, 3), 3, 2, "same"),
    ((1, 9, 10, 3), (4, 4), 2, 3, "same"),
    ((2, 6, 5, 2), (2, 3), 3, 2, "valid"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, kernel, filters, stride, pad", CONV_CASES)
def test_conv2d_matches_tf_nn_conv2d(x_shape, kernel, filters, stride, pad, dtype):
    """Does conv2d agree with tf.nn.conv2d and its gradients for every stride and padding?"""
    seed = hash((x_shape, kernel, filters, stride, str(pad))) % 2**32
    x = random(x_shape, dtype, seed)
    w = random((*kernel, x_shape[3], filters), dtype, seed + 1)
    b = random((filters,), dtype, seed + 2)

    def tf_conv(x, w, b):
        if isinstance(pad, int):
            x = tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
        tf_padding = pad.upper() if isinstance(pad, str) else "VALID"
        return tf.nn.conv2d(x, w, stride, tf_padding) + b

    run_against_tensorflow(
        lambda x, w, b: layers.conv2d_forward(x, w, b, stride=stride, pad=pad),
        layers.conv2d_backward, tf_conv, [x, w, b], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv2d_matches_a_keras_conv2d_layer_weight_for_weight(dtype):
    """Does a Keras Conv2D with the same kernel and bias give the same output (same layouts)?"""
    x = random((2, 9, 8, 3), dtype, 7)
    layer = keras.layers.Conv2D(5, (3, 3), strides=2, padding="same", dtype=np.dtype(dtype).name)
    layer.build(x.shape)
    w, b = random((3, 3, 3, 5), dtype, 8), random((5,), dtype, 9)
    layer.set_weights([w, b])
    out, _ = layers.conv2d_forward(x, w, b, stride=2, pad="same")
    np.testing.assert_allclose(out, np.asarray(layer(x)), **TOLERANCE[dtype])


# --------------------------------------------------------------------------- pooling

POOL_CASES = [
    ((2, 8, 8, 3), 2, 2),
    ((2, 7, 9, 2), 2, 2),
    ((1, 9, 9, 4), 3, 2),
    ((2, 6, 7, 3), 2, 1),
    ((2, 9, 10, 1), 3, 3),
    ((3, 5, 8, 2), 1, 1),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["max", "avg", "sum", "l2"])
@pytest.mark.parametrize("x_shape, size, stride", POOL_CASES)
def test_pool2d_matches_tf_pooling(x_shape, size, stride, mode, dtype):
    """Does pooling agree with TensorFlow's pooling and its gradients, overlapping too? Sum pooling is
    tf.nn.avg_pool2d times the window's size; L2 pooling the square root of that of x squared."""
    x = random(x_shape, dtype, size * 10 + stride)
    tf_pool = {"max": tf.nn.max_pool2d, "avg": tf.nn.avg_pool2d,
               "sum": lambda x, *a: tf.nn.avg_pool2d(x, *a) * (size * size),
               "l2": lambda x, *a: tf.sqrt(tf.nn.avg_pool2d(x * x, *a) * (size * size))}[mode]
    run_against_tensorflow(
        lambda x: layers.pool2d_forward(x, size=size, stride=stride, mode=mode),
        layers.pool2d_backward,
        lambda x: tf_pool(x, size, stride, "VALID"), [x], dtype)


# --------------------------------------------------------------------------- activations, dense, loss


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 4, 5)])
def test_relu_matches_tf_nn_relu(shape, dtype):
    """Does ReLU agree with tf.nn.relu and its gradient?"""
    run_against_tensorflow(layers.relu_forward, layers.relu_backward, tf.nn.relu,
                           [random(shape, dtype, 3)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape", [(4, 6), (3, 2, 3, 2)])
def test_dense_matches_tf_matmul(x_shape, dtype):
    """Does the dense layer (flattening each example) agree with a TensorFlow matmul and its gradients?"""
    d = int(np.prod(x_shape[1:]))
    x, w, b = random(x_shape, dtype, 1), random((d, 5), dtype, 2), random((5,), dtype, 3)
    run_against_tensorflow(
        layers.dense_forward, layers.dense_backward,
        lambda x, w, b: tf.matmul(tf.reshape(x, (x_shape[0], -1)), w) + b, [x, w, b], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_and_cross_entropy_match_tensorflow(dtype):
    """Do softmax, the mean cross-entropy and its gradient agree with TensorFlow's?"""
    logits = random((6, 10), dtype, 4) * 5
    y = np.array([0, 3, 9, 2, 2, 7])
    np.testing.assert_allclose(layers.softmax(logits), tf.nn.softmax(logits).numpy(), **TOLERANCE[dtype])

    variable = tf.Variable(logits)
    with tf.GradientTape() as tape:
        expected = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, variable))
    loss, dlogits = layers.softmax_cross_entropy(logits, y)
    np.testing.assert_allclose(loss, expected.numpy(), **TOLERANCE[dtype])
    np.testing.assert_allclose(dlogits, tape.gradient(expected, variable).numpy(), **TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_with_one_hot_labels_matches_keras_losses(dtype):
    """Do integer and to_categorical labels give Keras' Sparse/CategoricalCrossentropy and one gradient?"""
    logits = random((5, 4), dtype, 5) * 3
    y = np.array([3, 0, 1, 1, 2])
    one_hot = keras.utils.to_categorical(y, 4)
    sparse = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits)
    dense = keras.losses.CategoricalCrossentropy(from_logits=True)(one_hot, logits)
    loss_int, grad_int = layers.softmax_cross_entropy(logits, y)
    loss_hot, grad_hot = layers.softmax_cross_entropy(logits, one_hot)
    np.testing.assert_allclose(loss_int, float(sparse), **TOLERANCE[np.float32])
    np.testing.assert_allclose(loss_hot, float(dense), **TOLERANCE[np.float32])
    np.testing.assert_allclose(grad_hot, grad_int, **TOLERANCE[dtype])
    assert grad_hot.dtype == dtype


# (x shape NHWC, kernel (f_h, f_w), channel multiplier, stride, pad)
DEPTHWISE_CASES = [
    ((2, 6, 6, 3), (3, 3), 1, 1, 0),
    ((1, 7, 8, 2), (3, 3), 2, 2, 1),
    ((2, 5, 7, 4), (2, 3), 3, 1, "same"),
    ((1, 9, 9, 1), (5, 5), 2, 3, 2),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, kernel, multiplier, stride, pad", DEPTHWISE_CASES)
def test_depthwise_conv2d_matches_tf_nn_depthwise_conv2d(x_shape, kernel, multiplier, stride, pad, dtype):
    """Does the depthwise convolution, forward and backward, agree with tf.nn.depthwise_conv2d?"""
    c = x_shape[3]
    x, w, b = random(x_shape, dtype, 1), random((*kernel, c, multiplier), dtype, 2), random((c * multiplier,), dtype, 3)
    if isinstance(pad, str):
        tf_pad = pad.upper()
    else:
        tf_pad = [[0, 0], [pad, pad], [pad, pad], [0, 0]]
    run_against_tensorflow(
        lambda x, w, b: layers.depthwise_conv2d_forward(x, w, b, stride, pad), layers.depthwise_conv2d_backward,
        lambda x, w, b: tf.nn.depthwise_conv2d(x, w, [1, stride, stride, 1], tf_pad) + b, [x, w, b], dtype)


def test_depthwise_conv2d_matches_a_keras_depthwise_layer_weight_for_weight():
    """Loaded with the same weights, does Keras' DepthwiseConv2D give the same output?"""
    x, w, b = random((2, 6, 5, 3), np.float32, 4), random((3, 3, 3, 2), np.float32, 5), random((6,), np.float32, 6)
    layer = keras.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same")
    layer.build(x.shape)
    layer.set_weights([w, b])
    out, _ = layers.depthwise_conv2d_forward(x, w, b, pad="same")
    np.testing.assert_allclose(out, np.asarray(layer(x)), **TOLERANCE[np.float32])


def test_softmax_is_stable_for_large_logits():
    """Does softmax stay finite where a naive exp would overflow?"""
    probs = layers.softmax(np.array([[1000.0, 1000.0, -1000.0]]))
    np.testing.assert_allclose(probs, [[0.5, 0.5, 0.0]])


# --------------------------------------------------------------------------- dropout


@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_keeps_and_scales_like_keras_dropout(dtype):
    """Are kept values scaled by 1/(1-rate) as Keras' Dropout does, and is inference the identity?"""
    rate = 0.4
    x = np.abs(random((200, 50), dtype, 5)) + 0.1
    out, mask = layers.dropout_forward(x, rate, training=True, rng=0)
    keras_dropout = keras.layers.Dropout(rate, seed=1, dtype=np.dtype(dtype).name)
    keras_out = np.asarray(keras_dropout(x, training=True))

    for result in (out, keras_out):
        kept = result != 0
        np.testing.assert_allclose(result[kept], x[kept] / (1 - rate), **TOLERANCE[dtype])
        assert abs(1 - kept.mean() - rate) < 0.02  # 10,000 draws: the dropped share is near the rate
    assert out.dtype == dtype
    np.testing.assert_array_equal(layers.dropout_forward(x, rate, training=False)[0], x)
    np.testing.assert_array_equal(np.asarray(keras_dropout(x, training=False)), x)

    dout = random(x.shape, dtype, 6)
    np.testing.assert_allclose(layers.dropout_backward(dout, mask), dout * (out / x), **TOLERANCE[dtype])


def test_dropout_is_reproducible_with_a_seed():
    """Does the same rng seed give the same mask, and a different seed a different one?"""
    x = np.ones((10, 10))
    first = layers.dropout_forward(x, 0.5, True, rng=3)[0]
    np.testing.assert_array_equal(first, layers.dropout_forward(x, 0.5, True, rng=3)[0])
    assert not np.array_equal(first, layers.dropout_forward(x, 0.5, True, rng=4)[0])


# --------------------------------------------------------------------------- batch normalization


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(16, 5), (4, 3, 5, 6)])
def test_batchnorm_matches_keras_in_training_and_inference(shape, dtype):
    """Over several steps, do outputs, moving statistics and gradients match Keras' BatchNormalization?"""
    layer = keras.layers.BatchNormalization(dtype=np.dtype(dtype).name)
    layer.build(shape)
    gamma, beta = random(shape[-1:], dtype, 1), random(shape[-1:], dtype, 2)
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    running = {}
    for step, training in enumerate([True, True, True, False]):
        x = random(shape, dtype, 10 + step) * 3 + 1
        x_var = tf.Variable(x)
        with tf.GradientTape() as tape:
            expected = layer(x_var, training=training)
            dout = random(shape, dtype, 20 + step)
            loss = tf.reduce_sum(expected * dout)
        gx, ggamma, gbeta = tape.gradient(loss, [x_var, layer.gamma, layer.beta])

        out, cache = layers.batchnorm_forward(x, gamma, beta, running, training)
        np.testing.assert_allclose(out, expected.numpy(), **TOLERANCE[dtype])
        np.testing.assert_allclose(running["mean"], layer.moving_mean.numpy(), **TOLERANCE[dtype])
        np.testing.assert_allclose(running["var"], layer.moving_variance.numpy(), **TOLERANCE[dtype])
        dx, dgamma, dbeta = layers.batchnorm_backward(dout, cache)
        for got, want in ((dx, gx), (dgamma, ggamma), (dbeta, gbeta)):
            np.testing.assert_allclose(got, want.numpy(), **TOLERANCE[dtype])


@pytest.mark.parametrize("size, stride", [(2, 2), (3, 1), (2, 1)])
def test_max_pool_ties_send_the_gradient_to_the_first_maximum_like_tensorflow(size, stride):
    """With tied maxima (small integers), does each window's gradient go to one input only, as in TF?"""
    x = np.random.default_rng(7).integers(0, 3, (2, 6, 6, 2)).astype(np.float64)
    out, cache = layers.pool2d_forward(x, size, stride, "max")
    dout = np.ones_like(out)
    variable = tf.Variable(x)
    with tf.GradientTape() as tape:
        objective = tf.reduce_sum(tf.nn.max_pool2d(variable, size, stride, "VALID") * dout)
    expected = tape.gradient(objective, variable).numpy()
    dx = layers.pool2d_backward(dout, cache)
    np.testing.assert_array_equal(dx, expected)
    assert dx.sum() == out.size                                  # one unit per window, never split


def test_max_pool_tie_goes_to_the_first_maximum_in_row_major_order():
    x = np.array([[1.0, 7.0], [7.0, 0.0]]).reshape(1, 2, 2, 1)
    _, cache = layers.pool2d_forward(x, 2, 2, "max")
    np.testing.assert_array_equal(layers.pool2d_backward(np.full((1, 1, 1, 1), 5.0), cache)[0, :, :, 0],
                                  [[0, 5], [0, 0]])
