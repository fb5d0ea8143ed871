"""Tests of cnnlib.training (the NumPy CNN and its training loop), cnnlib.augment and cnnlib.mode's grading switch."""

import numpy as np
import pytest

from cnnlib import augment, mode, training
from cnnlib.gradcheck import numerical_gradient, relative_error


def tiny_network(seed=0):
    """A float64 CNN on 8x8 images with 2 kernels of 3x3 and 3 classes, and a batch for it."""
    params = {k: v.astype(np.float64) for k, v in
              training.init_cnn((8, 8, 1), n_kernels=2, kernel_size=3, n_classes=3, seed=seed).items()}
    rng = np.random.default_rng(seed)
    return params, rng.standard_normal((5, 8, 8, 1)), rng.integers(0, 3, size=5)


def test_init_cnn_shapes_follow_the_pooled_size():
    """Does init_cnn size the dense layer from the pooled feature maps?"""
    params = training.init_cnn((28, 28, 1), n_kernels=16, kernel_size=5)
    assert params["conv_w"].shape == (5, 5, 1, 16)
    assert params["dense_w"].shape == (12 * 12 * 16, 10)
    assert all(v.dtype == np.float32 for v in params.values())


@pytest.mark.parametrize("name", ["conv_w", "conv_b", "dense_w", "dense_b"])
def test_backward_matches_numerical_gradient(name):
    """Are cnn_backward's gradients those of the loss that cnn_forward defines?"""
    from cnnlib.layers import softmax_cross_entropy

    params, x, y = tiny_network()
    logits, caches = training.cnn_forward(params, x)
    _, dlogits = softmax_cross_entropy(logits, y)
    analytic = training.cnn_backward(dlogits, caches)[name]

    def loss(value):
        return softmax_cross_entropy(training.cnn_forward({**params, name: value}, x)[0], y)[0]

    assert relative_error(analytic, numerical_gradient(loss, params[name].copy())) < 1e-6


def test_train_step_is_sgd_with_momentum():
    """Does a step set v = mu * v - lr * g and p = p + v, and return the loss before the update?"""
    from cnnlib.layers import softmax_cross_entropy

    params, x, y = tiny_network()
    logits, caches = training.cnn_forward(params, x)
    loss, dlogits = softmax_cross_entropy(logits, y)
    grads = training.cnn_backward(dlogits, caches)
    velocity = {k: np.full_like(v, 0.01) for k, v in params.items()}
    new_params = {k: v.copy() for k, v in params.items()}
    new_velocity = {k: v.copy() for k, v in velocity.items()}
    returned = training.train_step(new_params, new_velocity, x, y, learning_rate=0.1, momentum=0.9)
    assert returned == pytest.approx(loss)
    for k in params:
        expected_v = 0.9 * velocity[k] - 0.1 * grads[k]
        np.testing.assert_allclose(new_velocity[k], expected_v, rtol=1e-12)
        np.testing.assert_allclose(new_params[k], params[k] + expected_v, rtol=1e-12)


def test_fit_learns_a_separable_toy_problem_and_is_repeatable():
    """Does fit drive the loss down, run exactly `steps` steps, and repeat exactly with the same seed?"""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=200)
    x = rng.normal(0, 0.1, size=(200, 8, 8, 1)).astype(np.float32)
    x[y == 1, 2:6, 2:6] += 1                     # class 1 has a bright square
    runs = []
    for _ in range(2):
        params = training.init_cnn((8, 8, 1), n_kernels=2, kernel_size=3, n_classes=2, seed=1)
        losses = training.fit(params, x, y, steps=60, batch_size=32, seed=3, progress=False)
        runs.append((losses, params))
    assert len(runs[0][0]) == 60
    assert np.mean(runs[0][0][-10:]) < 0.5 * np.mean(runs[0][0][:5])
    assert training.accuracy(runs[0][1], x, y) > 0.95
    assert runs[0][0] == runs[1][0]


def test_fit_accepts_another_step_function():
    """Does fit call the step it is given (the notebook passes the student's)?"""
    calls = []

    def step(params, velocity, x, y, learning_rate, momentum):
        calls.append(len(x))
        return 1.0

    params = training.init_cnn((8, 8, 1), n_kernels=1, kernel_size=3, n_classes=2)
    x = np.zeros((10, 8, 8, 1), dtype=np.float32)
    losses = training.fit(params, x, np.zeros(10, dtype=int), steps=4, batch_size=4, step=step, progress=False)
    assert losses == [1.0] * 4 and calls == [4, 4, 4, 4]


def test_params_round_trip(tmp_path):
    """Do save_params and load_params give back the same arrays?"""
    params = training.init_cnn(seed=3)
    training.save_params(tmp_path / "p.npz", params)
    loaded = training.load_params(tmp_path / "p.npz")
    assert loaded.keys() == params.keys()
    for k in params:
        np.testing.assert_array_equal(loaded[k], params[k])


def test_shipped_numpy_weights_reach_97_percent():
    """Do the shipped NumPy CNN weights classify MNIST test digits at 97% or better?"""
    from cnnlib import data

    _, (x_test, y_test) = data.load_mnist(n_test=2000, download=False)
    params = training.load_params(training.shipped_weights())
    assert training.accuracy(params, data.scale_to_unit(x_test)[..., None], y_test) >= 0.97


def test_shipped_weights_names_the_available_files():
    """Does asking for a missing weight file list the ones that exist?"""
    with pytest.raises(FileNotFoundError, match="mnist_numpy_cnn"):
        training.shipped_weights("no_such_model")


# --------------------------------------------------------------------------- augmentation


def test_random_crop_is_a_shift_with_zero_fill():
    """Is every crop the image shifted by at most `pad` pixels, with zeros coming in?"""
    rng = np.random.default_rng(0)
    x = rng.integers(1, 255, size=(50, 6, 7, 3), dtype=np.uint8)
    out = augment.random_crop(x, 2, np.random.default_rng(1))
    assert out.shape == x.shape and out.dtype == x.dtype
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)))
    shifts = set()
    for i in range(len(x)):
        matches = [(t, l) for t in range(5) for l in range(5)
                   if np.array_equal(out[i], padded[i, t:t + 6, l:l + 7])]
        assert matches, f"crop {i} is not a window of the padded image"
        shifts.add(matches[0])
    assert len(shifts) > 10                      # offsets really vary


def test_random_crop_with_zero_pad_is_identity():
    x = np.arange(2 * 4 * 4 * 1).reshape(2, 4, 4, 1)
    np.testing.assert_array_equal(augment.random_crop(x, 0, np.random.default_rng(0)), x)


def test_random_flip_mirrors_about_half_the_images():
    """Is each image either unchanged or mirrored left-right, about half of them mirrored?"""
    x = np.random.default_rng(0).random((400, 5, 6, 3))
    out = augment.random_flip(x, np.random.default_rng(2))
    same = np.all(out == x, axis=(1, 2, 3))
    mirrored = np.all(out == x[:, :, ::-1], axis=(1, 2, 3))
    assert np.all(same | mirrored)
    assert 150 < mirrored.sum() < 250


def test_crop_and_flip_is_reproducible_and_validates():
    x = np.random.default_rng(0).integers(0, 255, size=(8, 32, 32, 3), dtype=np.uint8)
    a = augment.crop_and_flip(x, np.random.default_rng(5))
    b = augment.crop_and_flip(x, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="4 dimensions"):
        augment.crop_and_flip(x[0], np.random.default_rng(0))
    with pytest.raises(ValueError, match="pad"):
        augment.random_crop(x, -1, np.random.default_rng(0))


def test_rotate_and_shift_without_change_is_the_identity_and_shifts_by_whole_pixels():
    x = np.random.default_rng(0).integers(0, 255, size=(3, 6, 6, 2), dtype=np.uint8)
    np.testing.assert_array_equal(augment.rotate_and_shift(x, np.random.default_rng(0), 0, 0), x)


def test_rotate_and_shift_quarter_turn_matches_rot90():
    """A rotation by exactly 90 degrees (a range of [90, 90]) is numpy's rot90, clockwise or not."""

    class Fixed:
        def __init__(self, values):
            self.values = list(values)

        def uniform(self, low, high, n):
            return np.full(n, self.values.pop(0))

    x = np.arange(2 * 5 * 5).reshape(2, 5, 5, 1)
    turned = augment.rotate_and_shift(x, Fixed([90.0, 0.0, 0.0]), max_degrees=90, max_shift=0)
    assert any(np.array_equal(turned, np.rot90(x, k, axes=(1, 2))) for k in (1, 3))
    shifted = augment.rotate_and_shift(x, Fixed([0.0, 0.0, 0.2]), max_degrees=0, max_shift=0.2)
    np.testing.assert_array_equal(shifted[:, :, 1:], x[:, :, :-1])      # one column (0.2 * 5) to the right
    np.testing.assert_array_equal(shifted[:, :, 0], x[:, :, 0])         # the edge repeats (fill "nearest")


def test_rotate_and_shift_validates():
    with pytest.raises(ValueError, match=r"Expected a fraction in \[0, 1\). Received max_shift=1.5"):
        augment.rotate_and_shift(np.zeros((1, 4, 4, 1)), np.random.default_rng(0), max_shift=1.5)


def test_run_ungraded_skips_while_grading_and_says_so(capsys):
    assert mode.run_ungraded("the experiments", environ={}) is True
    assert capsys.readouterr().out == ""
    assert mode.run_ungraded("the experiments", environ={"NBGRADER_EXECUTION": "autograde"}) is False
    assert capsys.readouterr().out == "Skipped while grading: the experiments.\n"
    assert mode.grading({"CI": "1"}) is False
