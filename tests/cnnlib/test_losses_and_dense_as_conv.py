"""cnnlib.losses against Keras' losses and centred differences; cnnlib.dense_as_conv against Keras'
Dense and Conv2D layers."""

import numpy as np
import pytest

from cnnlib import losses
from cnnlib.dense_as_conv import dense_to_conv_kernel
from cnnlib.gradcheck import numerical_gradient_array

keras = pytest.importorskip("cnnlib.models").keras


def _scores(n=6, k=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, k)) * 2, rng.integers(0, k, n)


def test_hinge_loss_worked_example():
    """Scores (3, 1, 0.5) for class 0 beat the rival 1 by 2: loss 0; for class 2, 1 + 3 - 0.5 = 3.5."""
    loss, d = losses.hinge_loss(np.array([[3.0, 1.0, 0.5], [3.0, 1.0, 0.5]]), np.array([0, 2]))
    assert loss == pytest.approx(3.5 / 2)
    np.testing.assert_allclose(d, [[0, 0, 0], [0.5, 0, -0.5]])


def test_hinge_and_mse_equal_keras_losses():
    scores, y = _scores()
    one_hot = keras.utils.to_categorical(y, 4)
    positive = np.abs(scores)   # Keras counts the true class as 0 among the wrong ones: agree for scores >= 0
    keras_hinge = float(keras.losses.CategoricalHinge()(one_hot, positive.astype(np.float32)))
    assert losses.hinge_loss(positive, y)[0] == pytest.approx(keras_hinge, rel=1e-5)
    probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    keras_mse = float(keras.losses.MeanSquaredError()(one_hot, probs.astype(np.float32)))
    assert losses.mse_loss(probs, one_hot)[0] == pytest.approx(keras_mse, rel=1e-5)
    assert losses.mse_loss(probs, y)[0] == pytest.approx(keras_mse, rel=1e-5)


@pytest.mark.parametrize("loss_fn", [losses.hinge_loss, losses.mse_loss])
def test_loss_gradients_match_centred_differences(loss_fn):
    scores, y = _scores(seed=1)
    numeric = numerical_gradient_array(lambda s: np.array(loss_fn(s, y)[0]), scores.copy(), np.array(1.0))
    np.testing.assert_allclose(loss_fn(scores, y)[1], numeric, rtol=1e-5, atol=1e-8)


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match="scores"):
        losses.hinge_loss(np.ones(3), np.array([0]))
    with pytest.raises(ValueError, match="flattens to 12 values"):
        dense_to_conv_kernel(np.ones((10, 2)), (2, 2, 3))


@pytest.mark.parametrize("shape", [(1, 1, 5), (7, 7, 3), (3, 4, 2)])
def test_a_dense_layer_equals_a_convolution_with_the_reshaped_kernel(shape):
    """Keras' Dense on Flatten(x) equals Keras' valid Conv2D over x with the reshaped kernel."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, *shape)).astype(np.float32)
    W, b = rng.standard_normal((int(np.prod(shape)), 6)).astype(np.float32), rng.standard_normal(6).astype(np.float32)
    dense = keras.layers.Dense(6)
    dense.build((None, W.shape[0]))
    dense.set_weights([W, b])
    conv = keras.layers.Conv2D(6, shape[:2])
    conv.build((None, *shape))
    conv.set_weights([dense_to_conv_kernel(W, shape), b])
    expected = keras.ops.convert_to_numpy(dense(x.reshape(4, -1)))
    got = keras.ops.convert_to_numpy(conv(x))
    assert got.shape == (4, 1, 1, 6)
    np.testing.assert_allclose(got[:, 0, 0], expected, rtol=1e-5, atol=1e-5)
