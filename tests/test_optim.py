"""Tests of cnnlib.optim against Keras' optimizers and regularizers and numerical gradients."""

import numpy as np
import pytest

from cnnlib import optim
from cnnlib.gradcheck import numerical_gradient_array

keras = pytest.importorskip("cnnlib.models").keras


@pytest.mark.parametrize("settings", [{}, {"learning_rate": 0.02, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-3}])
def test_adam_step_follows_keras_adam_for_several_steps(settings):
    """Does adam_step move a weight array exactly as keras.optimizers.Adam does, step after step?"""
    rng = np.random.default_rng(0)
    start = rng.standard_normal((4, 3)).astype(np.float32)
    variable = keras.Variable(start.copy())
    adam = keras.optimizers.Adam(**settings)
    ours, m, v = start.astype(np.float64), np.zeros((4, 3)), np.zeros((4, 3))
    for t in range(1, 7):
        g = rng.standard_normal((4, 3)).astype(np.float32)
        adam.apply_gradients([(keras.ops.convert_to_tensor(g), variable)])
        ours, m, v = optim.adam_step(ours, g.astype(np.float64), m, v, t, **settings)
        np.testing.assert_allclose(ours, keras.ops.convert_to_numpy(variable), rtol=1e-5, atol=1e-6)


def test_adam_first_step_moves_by_the_learning_rate():
    """Worked example: the bias correction makes the first step learning_rate * sign(g), up to epsilon."""
    param, m, v = optim.adam_step(np.zeros(3), np.array([1e-3, -5.0, 200.0]), np.zeros(3), np.zeros(3), 1,
                                  epsilon=0.0)
    np.testing.assert_allclose(param, [-1e-3, 1e-3, -1e-3])
    np.testing.assert_allclose(m, [1e-4, -0.5, 20.0])


def test_adam_step_does_not_change_its_arguments_and_rejects_step_zero():
    arrays = [np.ones(2), np.ones(2), np.zeros(2), np.zeros(2)]
    optim.adam_step(*arrays, t=1)
    assert all((a == b).all() for a, b in zip(arrays, [np.ones(2), np.ones(2), np.zeros(2), np.zeros(2)]))
    with pytest.raises(ValueError, match=r"Expected the step number, an int >= 1. Received t=0"):
        optim.adam_step(*arrays, t=0)


def test_l2_penalty_matches_keras_l2_with_half_lambda_and_numerical_gradients():
    """Is the penalty (lambda / 2) * sum(w ** 2), which is Keras' L2(lambda / 2), with gradient lambda * w?"""
    rng = np.random.default_rng(1)
    weights = [rng.standard_normal((3, 3, 2, 4)), rng.standard_normal((5,))]
    penalty, grads = optim.l2_penalty(weights, 0.2)
    assert penalty == pytest.approx(sum(float(keras.regularizers.L2(0.1)(w.astype(np.float32))) for w in weights),
                                    rel=1e-5)
    for w, g in zip(weights, grads):
        numeric = numerical_gradient_array(lambda x: np.array(optim.l2_penalty([x], 0.2)[0]), w.copy(), np.array(1.0))
        np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-9)
    assert optim.l2_penalty([np.array([3.0, 4.0])], 0.1)[0] == pytest.approx(1.25)


def test_weight_decay_step_shrinks_the_weights():
    """w <- w - eta * (dJ + lambda * w) with dJ = 0 multiplies w by 1 - eta * lambda (the sign deck 002 gets wrong)."""
    w = np.array([1.0, -2.0, 0.5])
    _, (grad,) = optim.l2_penalty([w], 0.1)
    np.testing.assert_allclose(w - 0.5 * grad, 0.95 * w)


def test_keras_rmsprop_adds_epsilon_inside_the_square_root():
    """05's note: Keras' RMSprop steps by lr * g / sqrt(s + eps), not lr * g / (sqrt(s) + eps)."""
    g, lr, rho, eps = np.array([1e-4, -2e-4, 3.0], np.float32), 0.1, 0.9, 1e-3
    variable = keras.Variable(np.zeros(3, np.float32))
    keras.optimizers.RMSprop(lr, rho=rho, epsilon=eps).apply_gradients([(keras.ops.convert_to_tensor(g), variable)])
    s = (1 - rho) * g.astype(np.float64) ** 2
    np.testing.assert_allclose(keras.ops.convert_to_numpy(variable), -lr * g / np.sqrt(s + eps), rtol=1e-5)
    assert not np.allclose(keras.ops.convert_to_numpy(variable), -lr * g / (np.sqrt(s) + eps), rtol=1e-3)


@pytest.mark.parametrize("clipnorm", [0.5, 3.0])
def test_clip_by_norm_matches_keras_clipnorm(clipnorm):
    """Does clip_by_norm clip each array as keras.optimizers.SGD(clipnorm=...) does before its step?"""
    rng = np.random.default_rng(8)
    grads = [rng.standard_normal((3, 4)).astype(np.float32), 0.1 * rng.standard_normal(5).astype(np.float32)]
    variables = [keras.Variable(np.zeros(g.shape, np.float32)) for g in grads]
    keras.optimizers.SGD(1.0, clipnorm=clipnorm).apply_gradients(
        [(keras.ops.convert_to_tensor(g), v) for g, v in zip(grads, variables)])
    for ours, v in zip(optim.clip_by_norm(grads, clipnorm), variables):
        np.testing.assert_allclose(ours, -keras.ops.convert_to_numpy(v), rtol=1e-5, atol=1e-7)


def test_clip_by_norm_worked_example_and_bad_input():
    clipped = optim.clip_by_norm([np.array([3.0, 4.0]), np.array([0.3, 0.4])], 1.0)
    np.testing.assert_allclose(clipped[0], [0.6, 0.8])
    np.testing.assert_allclose(clipped[1], [0.3, 0.4])
    with pytest.raises(ValueError, match="clipnorm must be > 0"):
        optim.clip_by_norm([np.ones(2)], 0)
