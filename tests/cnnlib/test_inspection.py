"""Tests of cnnlib.inspection: kernels as tiles, receptive fields, top patches, filter patterns, saliency."""

import numpy as np
import pytest

inspection = pytest.importorskip("cnnlib.inspection")
keras = inspection.keras
tf = inspection.tf

from cnnlib import models, training  # noqa: E402


def _linear_conv_stack():
    """Convolutions and average pooling, no activations, positive weights: every gradient path is non-zero."""
    model = keras.Sequential([
        keras.Input((32, 32, 2)),
        keras.layers.Conv2D(3, 3, padding="same", name="c1"),
        keras.layers.AveragePooling2D(2, name="p1"),   # max pooling would pass gradient to one pixel only
        keras.layers.Conv2D(3, 5, padding="same", name="c2"),
        keras.layers.Conv2D(2, 3, strides=2, padding="valid", name="c3"),
    ])
    rng = np.random.default_rng(0)
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


@pytest.mark.parametrize("layer_name", ["c1", "p1", "c2", "c3"])
def test_receptive_field_matches_the_gradient_footprint(layer_name):
    """Is a unit's receptive field exactly where its gradient with respect to the input is non-zero?"""
    model = _linear_conv_stack()
    size, jump, start = inspection.receptive_field_geometry(model, layer_name)
    probe = keras.Model(model.inputs, model.get_layer(layer_name).output)
    x = tf.Variable(np.random.default_rng(1).uniform(1, 2, (1, 32, 32, 2)).astype(np.float32))
    for i, j in [(1, 2), (3, 3)]:
        with tf.GradientTape() as tape:
            unit = probe(x)[0, i, j, 0]
        touched = np.abs(tape.gradient(unit, x).numpy()[0]).sum(axis=-1) > 0
        rows, cols = np.flatnonzero(touched.any(axis=1)), np.flatnonzero(touched.any(axis=0))
        top, left = start + i * jump, start + j * jump
        assert rows.min() == max(top, 0) and rows.max() == min(top + size - 1, 31)
        assert cols.min() == max(left, 0) and cols.max() == min(left + size - 1, 31)


def test_receptive_fields_of_the_cifar_network():
    """Does the CIFAR-10 network's walk give assignment 3's sizes (3, 5, 10, 14, 24, 32) and jumps?"""
    net = models.build_cifar_net()
    geometry = [inspection.receptive_field_geometry(net, name) for name in inspection.conv_layer_names(net)]
    assert [(size, jump) for size, jump, _ in geometry] == [(3, 1), (5, 1), (10, 2), (14, 2), (24, 4), (32, 4)]


def test_receptive_field_rejects_unknown_layers():
    with pytest.raises(ValueError, match="Invalid layer name 'nope'"):
        inspection.receptive_field_geometry(_linear_conv_stack(), "nope")


def test_kernels_as_rgb_scales_each_kernel_to_its_own_range():
    """Worked example: a kernel's minimum becomes 0, its maximum 1, the rest in between."""
    kernels = np.zeros((2, 2, 3, 2))
    kernels[..., 0] = np.arange(12).reshape(2, 2, 3)
    kernels[..., 1] = -np.arange(12).reshape(2, 2, 3) * 5
    tiles = inspection.kernels_as_rgb(kernels)
    assert tiles.shape == (2, 2, 2, 3)
    np.testing.assert_allclose(tiles[0], np.arange(12).reshape(2, 2, 3) / 11)
    np.testing.assert_allclose(tiles[1], 1 - np.arange(12).reshape(2, 2, 3) / 11)


def test_kernels_as_rgb_needs_three_channels():
    with pytest.raises(ValueError, match=r"3 colour channels.*\(3, 3, 1, 4\)"):
        inspection.kernels_as_rgb(np.zeros((3, 3, 1, 4)))


def test_top_patches_finds_the_brightest_windows():
    """A 3x3 box sum of the red channel: the best images are those with the brightest red 3x3 window."""
    box = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(1, 3, padding="same", use_bias=False,
                                                                        name="box")])
    weights = np.zeros((3, 3, 3, 1), dtype=np.float32)
    weights[:, :, 0, 0] = 1
    box.set_weights([weights])
    rng = np.random.default_rng(3)
    images = rng.integers(0, 50, (20, 8, 8, 3)).astype(np.uint8)
    for n, (i, j) in zip((4, 11, 17), ((0, 0), (3, 5), (7, 2))):
        images[n, i, j, 0] = 250 - n      # one bright red pixel; image 4 brightest
    result = inspection.top_patches(box, "box", images.astype(np.float32), images, [0], k=3)
    sums = np.array([[np.pad(im[..., 0].astype(float), 1)[a:a + 3, b:b + 3].sum() for b in range(8)
                      for a in range(8)] for im in images])
    assert list(result["indices"][0]) == list(np.argsort(-sums.max(axis=1), kind="stable")[:3])
    np.testing.assert_allclose(result["scores"][0], np.sort(sums.max(axis=1))[::-1][:3], rtol=1e-5)
    for patch, n in zip(result["patches"][0], result["indices"][0]):
        best = int(np.argmax(np.pad(images[n, ..., 0].astype(float), 1)[None] if False else
                             [np.pad(images[n, ..., 0].astype(float), 1)[a:a + 3, b:b + 3].sum()
                              for a in range(8) for b in range(8)]))
        a, b = divmod(best, 8)
        padded = np.pad(images[n], ((1, 1), (1, 1), (0, 0)))
        np.testing.assert_array_equal(patch, padded[a:a + 3, b:b + 3])


def test_filter_patterns_climb_a_linear_filter():
    """For a 1x1 linear filter w, every ascent step adds step_size * w / rms(w) to every pixel."""
    w = np.array([[[[1.0, 0.0], [-2.0, 1.0], [0.5, 3.0]]]], dtype=np.float32)   # (1, 1, 3, 2)
    model = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Conv2D(2, 1, use_bias=False, name="lin")])
    model.set_weights([w])
    start = inspection.filter_patterns(model, "lin", [0, 1], steps=0, seed=5)
    moved = inspection.filter_patterns(model, "lin", [0, 1], steps=3, step_size=0.2, seed=5)
    for k in (0, 1):
        direction = w[0, 0, :, k] / np.sqrt(np.mean(w[0, 0, :, k] ** 2))
        np.testing.assert_allclose(moved[k] - start[k], np.broadcast_to(3 * 0.2 * direction, (4, 4, 3)),
                                   rtol=1e-4, atol=1e-5)


def test_class_scores_model_gives_the_softmax_inputs():
    """Is the softmax of the copy's scores the original network's probabilities?"""
    net = models.build_cifar_net()
    models.load_compact_weights(net, training.shipped_weights("cifar10_net"))
    x = np.random.default_rng(0).standard_normal((4, 32, 32, 3)).astype(np.float32)
    scores = inspection.class_scores_model(net).predict(x, verbose=0)
    probs = net.predict(x, verbose=0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(keras.ops.softmax(scores)), probs, atol=1e-5)
    assert net.layers[-1].get_config()["activation"] == "softmax"   # the original is unchanged


def test_class_scores_model_needs_a_dense_top():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Softmax()])
    with pytest.raises(ValueError, match="ending in a Dense layer; its last layer is Softmax"):
        inspection.class_scores_model(model)


def test_saliency_map_of_a_smooth_network_matches_finite_differences():
    """max over channels of |numerical gradient| of the score, for a tanh network."""
    model = keras.Sequential([keras.Input((5, 5, 2)), keras.layers.Conv2D(3, 3, activation="tanh"),
                              keras.layers.Flatten(), keras.layers.Dense(2)])
    rng = np.random.default_rng(4)
    model.set_weights([0.5 * rng.standard_normal(w.shape).astype(np.float32) for w in model.get_weights()])
    image = rng.standard_normal((5, 5, 2))
    weights = [w.astype(np.float64) for w in model.get_weights()]

    def score(x):   # the same network in float64 NumPy
        out = np.zeros((3, 3, 3))
        for i in range(3):
            for j in range(3):
                out[i, j] = np.tanh(np.tensordot(x[i:i + 3, j:j + 3], weights[0], axes=3) + weights[1])
        return (out.reshape(-1) @ weights[2] + weights[3])[1]

    numeric = np.zeros_like(image)
    for index in np.ndindex(image.shape):
        step = np.zeros_like(image)
        step[index] = 1e-5
        numeric[index] = (score(image + step) - score(image - step)) / 2e-5
    np.testing.assert_allclose(inspection.saliency_map(model, image, 1), np.abs(numeric).max(axis=-1),
                               rtol=1e-3, atol=1e-5)


def test_feature_map_explorer_redraws_and_follows_the_layer():
    """Do the controls change the picture, and does the channel slider end at the layer's last channel?"""
    net = models.build_cifar_net()
    images = np.random.default_rng(0).integers(0, 255, (3, 32, 32, 3)).astype(np.uint8)
    box = inspection.feature_map_explorer(net, images.astype(np.float32) / 255, images)
    first = box.view.value
    box.controls["image"].value = 2
    assert box.view.value != first
    last_layer = inspection.conv_layer_names(net)[-1]
    box.controls["layer"].value = last_layer
    assert box.controls["channel"].max == 127
    before = box.view.value
    box.controls["channel"].value = 100
    assert box.view.value != before
