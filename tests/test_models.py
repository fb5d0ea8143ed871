"""Tests of cnnlib.models (Keras builders, batches, training recipe, compact weights) and cnnlib.evaluation."""

import numpy as np
import pytest

from cnnlib import data, evaluation, training

models = pytest.importorskip("cnnlib.models")
keras = models.keras


def test_classic_mnist_network_has_the_published_parameter_counts():
    """Does the spec build Keras' classic MNIST network, 1,199,882 parameters?"""
    model = models.model_from_spec((28, 28, 1), models.MNIST_CLASSIC_SPEC)
    assert [layer.count_params() for layer in model.layers] == [320, 18496, 0, 0, 0, 1179776, 0, 1290]
    assert model.output_shape == (None, 10)
    assert model.layers[-1].activation.__name__ == "softmax"
    assert model.layers[0].activation.__name__ == "relu"


def test_model_from_spec_rejects_unknown_layers():
    with pytest.raises(ValueError, match="Unknown layer kind 'conv3d'"):
        models.model_from_spec((8, 8, 1), [("conv3d", 4, 3)])


@pytest.mark.parametrize("batch_norm, dropout, width, params, n_bn, n_dropout", [
    (False, False, 1, 307_498, 0, 0),
    (True, True, 1, 309_290, 6, 3),
    (True, False, 2, 1_189_962, 6, 0),
])
def test_cifar_net_variants(batch_norm, dropout, width, params, n_bn, n_dropout):
    """Do the switches add batch normalization and dropout layers, and width scale the kernels?"""
    model = models.build_cifar_net(batch_norm=batch_norm, dropout=dropout, width=width)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("BatchNormalization") == n_bn
    assert kinds.count("Dropout") == n_dropout
    assert kinds.count("Conv2D") == 6
    assert model.count_params() == params
    assert model.output_shape == (None, 10)


def test_image_batches_preprocess_shuffle_and_augment():
    """Does ImageBatches cover every image once per epoch, preprocess, and augment only if asked?"""
    x = np.arange(10, dtype=np.uint8).reshape(10, 1, 1) * np.ones((1, 4, 4), dtype=np.uint8)
    y = np.arange(10)
    batches = models.ImageBatches(x, y, lambda b: b.astype(np.float32) / 10, batch_size=4, seed=0)
    assert len(batches) == 3
    seen = np.concatenate([batches[i][1] for i in range(len(batches))])
    assert sorted(seen) == list(range(10)) and list(seen) != list(range(10))
    images, labels = batches[0]
    assert images.shape == (4, 4, 4, 1) and images.dtype == np.float32
    np.testing.assert_allclose(images[:, 0, 0, 0], labels / 10)
    batches.on_epoch_end()
    assert list(np.concatenate([batches[i][1] for i in range(3)])) != list(seen)

    ordered = models.ImageBatches(x, y, lambda b: b, batch_size=4, shuffle=False,
                                  augment=lambda b, rng: b * 0)
    assert list(ordered[2][1]) == [8, 9]
    assert not ordered[0][0].any()


def test_fit_trains_with_cosine_adam_and_records_validation():
    """Does fit compile, train, decay the learning rate to zero and record validation metrics?"""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=64)
    x = (rng.random((64, 8, 8)) * 60 + 100 * y[:, None, None]).astype(np.uint8)
    keras.utils.set_random_seed(0)
    model = models.model_from_spec((8, 8, 1), [("conv", 4, 3), ("flatten",), ("dense", 2)])
    train = models.ImageBatches(x, y, data.scale_to_unit, batch_size=16)
    val = models.ImageBatches(x, y, data.scale_to_unit, batch_size=32, shuffle=False)
    history = models.fit(model, train, val, epochs=3, learning_rate=0.01, verbose=0).history
    assert set(history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history["loss"]) == 3 and history["loss"][-1] < history["loss"][0]
    learning_rate = model.optimizer.learning_rate
    assert float(keras.ops.convert_to_numpy(learning_rate)) == pytest.approx(0, abs=1e-6)
    assert models.predict_proba(model, val).shape == (64, 2)


def test_compact_weights_round_trip(tmp_path):
    """Are reloaded compact weights within max|w| / 254 of the originals, vectors exact?"""
    keras.utils.set_random_seed(1)
    model = models.build_cifar_net(width=1)
    path = tmp_path / "w.npz"
    models.save_compact_weights(model, path)
    copy = models.load_compact_weights(models.build_cifar_net(width=1), path)
    for original, loaded in zip(model.get_weights(), copy.get_weights()):
        if original.ndim >= 2:
            bound = np.abs(original).reshape(-1, original.shape[-1]).max(axis=0) / 254 + 1e-7
            assert np.all(np.abs(original - loaded) <= bound)
        else:
            np.testing.assert_array_equal(original, loaded)
    assert path.stat().st_size < 0.3 * 4 * model.count_params() + 20_000


def test_shipped_mnist_classic_weights_reach_99_percent():
    """Do the shipped Keras MNIST weights still classify at 99% after 8-bit storage?"""
    _, (x_test, y_test) = data.load_mnist(n_test=3000, download=False)
    model = models.model_from_spec((28, 28, 1), models.MNIST_CLASSIC_SPEC)
    models.load_compact_weights(model, training.shipped_weights("mnist_classic"))
    batches = models.ImageBatches(x_test, y_test, data.scale_to_unit, 1000, shuffle=False)
    assert (models.predict_proba(model, batches).argmax(axis=1) == y_test).mean() >= 0.99


def test_shipped_cifar_weights_classify_the_test_set():
    """Do the shipped CIFAR-10 weights (85.6% on the whole test set) load and classify well?

    Measured on these 500 test images, with the 2,000-image subset's statistics: 83.8%.
    """
    model = models.load_compact_weights(models.build_cifar_net(), training.shipped_weights("cifar10_net"))
    (x_train, _), (x_test, y_test) = data.load_cifar10(n_train=2000, n_test=500, download=False)
    mean, std = data.channel_stats(x_train)
    batches = models.ImageBatches(x_test, y_test, lambda b: data.standardize(b, mean, std), 500, shuffle=False)
    assert (models.predict_proba(model, batches).argmax(axis=1) == y_test[:, 0]).mean() >= 0.8


# --------------------------------------------------------------------------- evaluation


def test_confusion_matrix_counts_true_rows_against_predicted_columns():
    matrix = evaluation.confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], n_classes=3)
    np.testing.assert_array_equal(matrix, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert evaluation.confusion_matrix(np.array([[1], [0]]), [1, 1], 2).tolist() == [[0, 1], [0, 1]]
    with pytest.raises(ValueError, match="same length"):
        evaluation.confusion_matrix([0, 1], [0], 2)


def test_most_confident_mistakes_orders_wrong_answers_by_confidence():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.05, 0.95], [0.7, 0.3]])
    y_true = np.array([0, 0, 1, 0, 1])          # wrong: 1 (0.8), 2 (0.6), 3 (0.95), 4 (0.7)
    assert evaluation.most_confident_mistakes(probs, y_true, k=3).tolist() == [3, 1, 4]
    assert evaluation.most_confident_mistakes(probs, y_true, k=10).tolist() == [3, 1, 4, 2]
    assert evaluation.most_confident_mistakes(probs[:1], y_true[:1]).size == 0


def test_plots_draw_without_errors():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    evaluation.plot_confusion_matrix(np.eye(3, dtype=int) * 5, ["a", "b", "c"])
    probs = np.array([[0.2, 0.8], [0.9, 0.1]])
    evaluation.plot_mistakes(np.zeros((2, 4, 4), np.uint8), [0, 1], probs, [0, 1], ["x", "y"])
    ax = evaluation.plot_history({"run": {"accuracy": [0.5, 0.6], "val_accuracy": [0.4, 0.5]}})
    assert len(ax.lines) == 2
    plt.close("all")


def test_layer_sequence_reads_activation_layers_and_arguments_alike():
    """Do Activation layers, activation= arguments, ReLU layers and the functional API give one description?"""
    layers = keras.layers
    by_layers = keras.Sequential([layers.Input((8, 8, 1)), layers.Conv2D(4, 3), layers.Activation("relu"),
                                  layers.Flatten(), layers.Dense(3), layers.Softmax()])
    by_arguments = keras.Sequential([layers.Input((8, 8, 1)), layers.Conv2D(4, 3, activation="relu"),
                                     layers.Flatten(), layers.Dense(3, activation="softmax")])
    inputs = keras.Input((8, 8, 1))
    x = layers.ReLU()(layers.Conv2D(4, 3)(inputs))
    functional = keras.Model(inputs, layers.Dense(3, activation="softmax")(layers.Flatten()(x)))
    expected = [("Conv2D", (None, 6, 6, 4), 40), ("activation:relu", (None, 6, 6, 4), 0),
                ("Flatten", (None, 144), 0), ("Dense", (None, 3), 435), ("activation:softmax", (None, 3), 0)]
    for model in (by_layers, by_arguments, functional):
        assert models.layer_sequence(model) == expected


def test_layer_sequence_keeps_the_order_of_normalization_and_activation():
    layers = keras.layers
    before = keras.Sequential([layers.Input((4, 4, 2)), layers.Conv2D(3, 3, padding="same"),
                               layers.BatchNormalization(), layers.ELU()])
    after = keras.Sequential([layers.Input((4, 4, 2)), layers.Conv2D(3, 3, padding="same", activation="elu"),
                              layers.BatchNormalization()])
    kinds = [kind for kind, _, _ in models.layer_sequence(before)]
    assert kinds == ["Conv2D", "BatchNormalization", "activation:elu"]
    assert [kind for kind, _, _ in models.layer_sequence(after)] == ["Conv2D", "activation:elu", "BatchNormalization"]


@pytest.mark.parametrize("name, params", [("mlp", 3_590_642), ("small cnn", 528_054), ("plain", 307_498),
                                          ("all cures", 309_290)])
def test_experiment_models_have_the_published_sizes(name, params):
    """Deck 004 prints 3,590,642 (MLP) and 528,054 (CNN) parameters; the course's net is 307,498 / 309,290."""
    assert models.build_experiment_model(name).count_params() == params


def test_weight_decay_adds_half_lambda_l2_to_every_kernel():
    model = models.build_cifar_net(batch_norm=False, dropout=False, weight_decay=0.2)
    kernels = [layer for layer in model.layers if type(layer).__name__ in ("Conv2D", "Dense")]
    assert len(kernels) == 7
    assert all(float(layer.kernel_regularizer.l2) == pytest.approx(0.1) for layer in kernels)
    assert len(model.losses) == 7
    expected = sum(0.1 * float((layer.get_weights()[0] ** 2).sum()) for layer in kernels)
    assert float(sum(keras.ops.convert_to_numpy(loss) for loss in model.losses)) == pytest.approx(expected, rel=1e-4)
    assert models.build_cifar_net().layers[0].kernel_regularizer is None


def test_build_experiment_model_rejects_unknown_names():
    with pytest.raises(ValueError, match=r"Unknown experiment 'bogus'. Expected one of \('plain'"):
        models.build_experiment_model("bogus")


def test_split_train_validation_is_a_seeded_shuffle_of_disjoint_parts():
    x = np.arange(20).reshape(20, 1)
    y = np.arange(20) % 2
    (x_train, y_train), (x_val, y_val) = models.split_train_validation(x, y, 0.25, seed=3)
    assert len(x_val) == 5 and len(x_train) == 15
    assert sorted(np.concatenate([x_train, x_val]).ravel()) == list(range(20))
    assert list(x_val.ravel()) != list(range(5))
    np.testing.assert_array_equal(y_val, x_val.ravel() % 2)
    again = models.split_train_validation(x, y, 0.25, seed=3)
    np.testing.assert_array_equal(again[1][0], x_val)
