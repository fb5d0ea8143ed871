"""Tests of cnnlib.transfer: the pretrained base and its weights, the cats-and-dogs folders, and reuse."""

import sys
from pathlib import Path

import numpy as np
import pytest

transfer = pytest.importorskip("cnnlib.transfer")
keras = transfer.keras

from cnnlib import data  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import train_transfer  # noqa: E402


def test_base_has_vgg_style_names_and_the_hand_counted_parameters():
    """Block b: two 3x3 convolutions (9 c_in c_out + c_out) and two batch normalizations (4 c_out)."""
    base = transfer.build_cifar8_base()
    assert base.output_shape == (None, 4, 4, 128)
    assert [layer.name for layer in base.layers[:7]] == ["rescale", "block1_conv1", "block1_bn1", "block1_conv2",
                                                         "block1_bn2", "block1_pool", "block1_dropout"]
    expected, c_in = 0, 3
    for c_out in (32, 64, 128):
        expected += 9 * c_in * c_out + c_out + 9 * c_out * c_out + c_out + 2 * 4 * c_out
        c_in = c_out
    assert base.count_params() == expected


def test_shipped_base_is_small_and_classifies_the_eight_classes():
    """Is the weight file at most 1 MB, and does it classify the 8 classes of 800 test images well?
    (benchmarks/train_transfer.py --base measured it on all 8,000: at least 85% is the target.)"""
    assert transfer.WEIGHTS_FILE.stat().st_size <= 1_000_000
    _, (x_test, y_test) = data.load_cifar10(n_train=10, n_test=1000)
    x8, y8 = train_transfer.cifar8_split(x_test, y_test)
    classifier = transfer.build_cifar8_classifier(transfer.load_cifar8_base())
    from cnnlib.models import load_compact_weights
    load_compact_weights(classifier, transfer.WEIGHTS_FILE)
    accuracy = (classifier.predict(x8.astype(np.float32), verbose=0).argmax(axis=1) == y8).mean()
    assert len(y8) == 800 and accuracy > 0.8


def test_cifar8_split_drops_cats_and_dogs_and_renumbers():
    x = np.arange(10)[:, None, None, None] * np.ones((10, 2, 2, 3), dtype=np.uint8)
    x8, y8 = train_transfer.cifar8_split(x, np.arange(10).reshape(-1, 1))
    assert list(x8[:, 0, 0, 0]) == [0, 1, 2, 4, 6, 7, 8, 9]
    assert list(y8) == list(range(8))
    assert [transfer.CIFAR8_CLASSES[i] for i in y8] == [data.CIFAR10_CLASSES[c] for c in (0, 1, 2, 4, 6, 7, 8, 9)]


def test_cats_and_dogs_are_balanced_disjoint_and_really_cats_and_dogs():
    splits = transfer.load_cats_and_dogs(train=30, validation=10, test=20)
    (x_all, y_all), (x_test, y_test) = data.load_cifar10(n_train=400, n_test=200)
    for split, n, (x_source, y_source) in (("train", 30, (x_all, y_all)), ("validation", 10, (x_all, y_all)),
                                           ("test", 20, (x_test, y_test))):
        x, y = splits[split]
        assert x.shape == (2 * n, 32, 32, 3) and x.dtype == np.uint8 and np.bincount(y).tolist() == [n, n]
        source = {image.tobytes(): int(label) for image, label in zip(x_source, y_source[:, 0])}
        assert [source[image.tobytes()] for image in x] == [5 if label else 3 for label in y]
    seen = {image.tobytes() for image in splits["train"][0]}
    assert not seen & {image.tobytes() for image in splits["validation"][0]}


def test_cats_and_dogs_reject_sizes_beyond_cifar():
    with pytest.raises(ValueError, match="train=4900, validation=200"):
        transfer.load_cats_and_dogs(train=4900, validation=200)
    with pytest.raises(ValueError, match="Invalid value for argument `train`"):
        transfer.load_cats_and_dogs(train=0)


def test_class_folders_round_trip_through_image_dataset_from_directory(tmp_path):
    """Are the PNG files read back, losslessly, with cats as 0 and dogs as 1, and rewritten cleanly?"""
    rng = np.random.default_rng(0)
    splits = {split: (rng.integers(0, 256, (6, 32, 32, 3)).astype(np.uint8), np.array([0, 1, 1, 0, 1, 1]))
              for split in transfer.SPLITS}
    counts = transfer.write_class_folders(tmp_path, splits)
    assert counts == {"train/cats": 2, "train/dogs": 4, "validation/cats": 2, "validation/dogs": 4}
    train, validation = transfer.image_datasets(tmp_path, batch_size=4)
    assert train.class_names == ["cats", "dogs"]
    for dataset, split in ((train, "train"), (validation, "validation")):
        x, y = transfer.dataset_arrays(dataset)
        written = {image.tobytes(): label for image, label in zip(*splits[split])}
        assert x.dtype == np.float32 and y.dtype == np.int32
        assert sorted(written[image.astype(np.uint8).tobytes()] for image in x) == sorted(y)
        assert [written[image.astype(np.uint8).tobytes()] for image in x] == list(y)
    smaller = {"train": (splits["train"][0][:2], np.array([0, 1]))}
    assert transfer.write_class_folders(tmp_path, smaller) == {"train/cats": 1, "train/dogs": 1}
    assert len(list((tmp_path / "train" / "dogs").glob("*.png"))) == 1


def test_deck_augmentation_changes_images_only_while_training():
    x = np.random.default_rng(1).uniform(0, 255, (4, 32, 32, 3)).astype(np.float32)
    augmentation = transfer.deck_augmentation()
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(augmentation(x, training=False)), x)
    changed = keras.ops.convert_to_numpy(augmentation(x, training=True))
    assert changed.shape == x.shape and not np.allclose(changed, x)


def test_bottleneck_features_equal_keras_predict_for_every_image():
    """Batches that do not divide N, dropout off: the same rows as Keras' own predict."""
    base = transfer.load_cifar8_base()
    images = np.random.default_rng(2).uniform(0, 255, (11, 32, 32, 3)).astype(np.float32)
    features = transfer.bottleneck_features(base, images, batch_size=4)
    assert features.shape == (11, 4, 4, 128) and features.dtype == np.float32
    np.testing.assert_allclose(features, base.predict(images, batch_size=11, verbose=0), rtol=1e-4, atol=1e-5)


def test_bottleneck_features_reject_a_bad_batch_size():
    with pytest.raises(ValueError, match="Expected an integer >= 1. Received batch_size=0"):
        transfer.bottleneck_features(transfer.build_cifar8_base(), np.zeros((2, 32, 32, 3)), 0)


def test_freeze_up_to_freezes_below_and_unfreezes_from_the_named_layer():
    model = transfer.build_cifar8_base()
    model.trainable = False
    transfer.freeze_up_to(model, "block3_conv1")
    names = [layer.name for layer in model.layers]
    assert [layer.trainable for layer in model.layers] == [i >= names.index("block3_conv1") for i in range(len(names))]
    # block3: 3*3*64*128 + 128 = 73,856 and 3*3*128*128 + 128 = 147,584 convolution parameters, and
    # 2 * (128 + 128) batch-normalization scales and shifts
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == 73856 + 147584 + 512


def test_freeze_up_to_names_the_layers_when_the_name_is_unknown():
    with pytest.raises(ValueError, match=r"no layer is called 'block4_conv1'.*'block3_dropout'"):
        transfer.freeze_up_to(transfer.build_cifar8_base(), "block4_conv1")


def test_a_frozen_batch_normalization_runs_in_inference_mode():
    """Keras 3: trainable=False makes BatchNormalization use its moving averages even when training."""
    bn = keras.layers.BatchNormalization()
    x = np.random.default_rng(3).normal(5, 2, (16, 3)).astype(np.float32)
    bn.build(x.shape)
    bn.trainable = False
    np.testing.assert_allclose(keras.ops.convert_to_numpy(bn(x, training=True)),
                               keras.ops.convert_to_numpy(bn(x, training=False)))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(bn.moving_mean), np.zeros(3))


def test_stack_shares_the_layers_of_base_and_head():
    base = transfer.build_cifar8_base()
    head = transfer.build_head(base.output_shape[1:])
    model = transfer.stack(base, head)
    assert model.layers == base.layers + head.layers
    x = np.random.default_rng(4).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0), head.predict(base.predict(x, verbose=0), verbose=0),
                               rtol=1e-5, atol=1e-6)



def test_the_lectures_loop_over_a_nested_models_layers_freezes_the_head_too():
    """07's note on deck 003: a model of input, base and head has three layers, so layers[:25] freezes all."""
    base = transfer.build_cifar8_base()
    head = transfer.build_head(base.output_shape[1:])
    image = keras.Input((32, 32, 3))
    nested = keras.Model(image, head(base(image)))
    assert [layer.name for layer in nested.layers][1:] == [base.name, head.name]
    for layer in nested.layers[:25]:
        layer.trainable = False
    assert nested.trainable_weights == [] and len(base.layers) > 3
    for layer in nested.layers:
        layer.trainable = True
    for layer in base.layers[:5]:      # the base's own layers: the head stays trainable
        layer.trainable = False
    assert {id(w) for w in head.trainable_weights} <= {id(w) for w in nested.trainable_weights}

@pytest.mark.parametrize("builder, shape, rows", [
    (transfer.build_head, (4, 4, 64), [("Flatten", (1024,), 0, ""), ("Dense", (256,), 262400, "relu"),
                                       ("Dropout", (256,), 0, "rate 0.5"), ("Dense", (1,), 257, "sigmoid")]),
    (transfer.build_small_convnet, (32, 32, 3), [
        ("Rescaling", (32, 32, 3), 0, "scale 0.00392157"),
        ("Conv2D", (30, 30, 32), 896, "(3, 3) valid relu"), ("MaxPooling2D", (15, 15, 32), 0, "pool (2, 2)"),
        ("Conv2D", (13, 13, 32), 9248, "(3, 3) valid relu"), ("MaxPooling2D", (6, 6, 32), 0, "pool (2, 2)"),
        ("Conv2D", (4, 4, 64), 18496, "(3, 3) valid relu"), ("MaxPooling2D", (2, 2, 64), 0, "pool (2, 2)"),
        ("Flatten", (256,), 0, ""), ("Dense", (64,), 16448, "relu"), ("Dropout", (64,), 0, "rate 0.5"),
        ("Dense", (1,), 65, "sigmoid")]),
])
def test_reference_networks_have_the_lecture_layers(builder, shape, rows):
    """The lecture's networks, counted by hand (3*3*c_in*F + F per convolution, n_in*n_out + n_out per dense)."""
    assert transfer.layer_table(builder(shape)) == rows


def test_binary_accuracy_thresholds_the_sigmoid_at_one_half():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, activation="sigmoid")])
    model.set_weights([np.ones((1, 1), dtype=np.float32), np.zeros(1, dtype=np.float32)])
    x = np.array([[-2.0], [-0.1], [0.3], [4.0]])
    assert transfer.binary_accuracy(model, x, np.array([0, 1, 1, 1])) == 0.75


def test_compile_and_fit_learns_a_separable_problem():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((200, 2)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int32)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    history = transfer.compile_and_fit(model, (x, y), epochs=30, batch_size=32, optimizer=keras.optimizers.Adam(0.05))
    assert set(history) == {"loss", "accuracy"} and history["loss"][-1] < history["loss"][0]
    assert transfer.binary_accuracy(model, x, y) > 0.95


def test_vgg16_base_maps_32x32_images_to_3x3x512():
    base = transfer.vgg16_base(size=96, weights=None)
    assert base.output_shape == (None, 3, 3, 512)


def test_vgg16_available_offline_says_why(monkeypatch, tmp_path):
    import socket

    def refuse(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(socket, "create_connection", refuse)
    available, reason = transfer.vgg16_available()
    assert not available and "network unreachable" in reason and "cannot be downloaded" in reason
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / transfer.VGG16_WEIGHTS).write_bytes(b"")
    assert transfer.vgg16_available() == (True, "VGG16's weights are in Keras' cache")


def _head_spelled_out(shape):
    """build_head's network with Activation layers, in the functional API."""
    inputs = keras.Input(shape)
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Activation("relu")(keras.layers.Dense(256)(x))
    x = keras.layers.Dropout(0.5)(x)
    outputs = keras.layers.Activation("sigmoid")(keras.layers.Dense(1)(x))
    return keras.Model(inputs, outputs)


def _small_convnet_with_relu_layers(shape):
    stack = [keras.Input(shape), keras.layers.Rescaling(1 / 255)]
    for filters in (32, 32, 64):
        stack += [keras.layers.Conv2D(filters, 3), keras.layers.ReLU(), keras.layers.MaxPooling2D(2)]
    stack += [keras.layers.Flatten(), keras.layers.Dense(64), keras.layers.Activation("relu"),
              keras.layers.Dropout(0.5), keras.layers.Dense(1), keras.layers.Activation("sigmoid")]
    return keras.Sequential(stack)


@pytest.mark.parametrize("spelled, reference, shape", [
    (_head_spelled_out, transfer.build_head, (4, 4, 64)),
    (_small_convnet_with_relu_layers, transfer.build_small_convnet, (32, 32, 3)),
])
def test_layer_table_does_not_depend_on_how_the_network_is_spelled(spelled, reference, shape):
    """Separate activation layers and the functional API give the table of ``activation=`` in a Sequential."""
    assert transfer.layer_table(spelled(shape)) == transfer.layer_table(reference(shape))


def test_layer_table_keeps_an_activation_that_follows_one():
    """An activation layer after a layer that has its own is a layer of its own in the table."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="relu"),
                              keras.layers.Activation("sigmoid")])
    assert transfer.layer_table(model) == [("Dense", (2,), 8, "relu"), ("Activation", (2,), 0, "sigmoid")]


def test_build_transfer_model_shares_the_base_and_computes_head_of_base():
    """Is the functional model input -> base -> the lecture's classifier, with the base's own weights?"""
    base = transfer.build_cifar8_base()
    model = transfer.build_transfer_model(base)
    assert model.layers[1] is base and not isinstance(model, keras.Sequential)
    assert [type(layer).__name__ for layer in model.layers[2:]] == ["Flatten", "Dense", "Dropout", "Dense"]
    assert model.count_params() == base.count_params() + 4 * 4 * 128 * 256 + 256 + 257
    x = np.random.default_rng(5).uniform(0, 255, (3, 32, 32, 3)).astype(np.float32)
    features = keras.ops.convert_to_numpy(base(x, training=False)).reshape(3, -1)
    (w1, b1), (w2, b2) = model.layers[3].get_weights(), model.layers[5].get_weights()
    expected = 1 / (1 + np.exp(-(np.maximum(features @ w1 + b1, 0) @ w2 + b2)))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x, training=False)), expected, rtol=1e-4, atol=1e-5)


def test_fine_tuning_trains_block3_and_the_head_746753_parameters():
    """07's prediction finetuned_parameters: the stacked base and head, frozen up to block3_conv1."""
    model = transfer.stack(transfer.build_cifar8_base(), transfer.build_head((4, 4, 128)))
    transfer.freeze_up_to(model, "block3_conv1")
    # block 3: 73,856 + 147,584 + 512; the head on 2,048 features: 2,048 * 256 + 256 + 257 = 524,801
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == 221_952 + 524_801
