"""What may cross between the grader and a submission's kernel, and what may not."""

import json

import numpy as np
import pytest

from autograder.judge import wire


@pytest.mark.parametrize("value", [
    None, True, 3, -2.5, float("nan"), float("inf"), 1 + 2j, "text",
    np.arange(6, dtype=np.float32).reshape(2, 3), np.int64(7), np.float32(0.5),
    (1, (2.0, "x")), [np.zeros(2), {"a": np.ones((1, 2)), 3: None}],
])
def test_plain_values_round_trip(value):
    """Does every supported value come back equal, with its type and dtype?"""
    back = wire.loads(wire.dumps(value))
    np.testing.assert_equal(back, value)
    assert type(back) is type(value)
    if isinstance(value, np.ndarray):
        assert back.dtype == value.dtype


@pytest.mark.parametrize("value, message", [
    (object(), "cannot be passed"),
    (np.array([object()]), "dtype object"),
    ({(1, 2): 3}, "dict keys"),
    (lambda x: x, "cannot be passed"),
])
def test_code_and_objects_are_refused(value, message):
    """Can a submission send a function or an arbitrary object instead of data?"""
    with pytest.raises(wire.WireError, match=message):
        wire.dumps(value)


def test_pickled_arrays_and_invented_kinds_are_refused():
    """Does decoding refuse an array that needs unpickling, an unknown kind and oversized text?"""
    import base64
    import io
    import pickle

    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    pickled = json.dumps({"ndarray": base64.b64encode(buffer.getvalue()).decode(), "scalar": False})
    with pytest.raises(ValueError):
        wire.loads(pickled)
    with pytest.raises(wire.WireError, match="unknown value kind"):
        wire.loads(json.dumps({"pickle": base64.b64encode(pickle.dumps(1)).decode()}))
    with pytest.raises(wire.WireError, match="refused"):
        wire.loads("[" * 50 + "]" * 50, max_chars=10)


def test_a_keras_model_arrives_rebuilt_with_its_weights_and_trainable_flags():
    """Is a student's Keras model rebuilt here from config and weights, and a Lambda refused?"""
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(2)])
    model.layers[0].trainable = False
    back = wire.loads(wire.dumps(model))
    assert [type(layer).__name__ for layer in back.layers] == ["Dense", "Dense"]
    assert back.count_params() == model.count_params() == 4 * 3 + 3 + 3 * 2 + 2
    assert [layer.trainable for layer in back.layers] == [False, True]
    x = np.ones((1, 4), np.float32)
    np.testing.assert_allclose(back.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    lam = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda t: t * 2)])
    with pytest.raises(wire.WireError, match="could not be rebuilt"):
        wire.loads(wire.dumps(lam))


def test_a_message_longer_than_the_bound_is_refused_before_it_is_read():
    """A header that announces a gigabyte: refused at once, with nothing more read or waited for?"""
    import socket
    import struct

    grader, kernel = socket.socketpair()
    with grader, kernel:
        kernel.sendall(struct.pack("!Q", 2**30) + b"x" * 10)
        grader.settimeout(5)
        with pytest.raises(wire.WireError, match="more than 1000 bytes was refused before it was read"):
            wire.receive_message(grader, max_chars=1000)
        assert grader.recv(100) == b"x" * 10  # the body was left unread


def test_a_keras_model_over_the_parameter_bound_is_refused_before_it_is_built(monkeypatch):
    """Parameters are counted from the weights' .npy headers: a model over the bound is refused
    without its arrays decoded or the model built; one within it arrives rebuilt."""
    keras = pytest.importorskip("keras")

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(50), keras.layers.Dense(2)])  # 302 parameters
    text = wire.dumps(model)
    assert wire.parameter_count(model) == 302 and wire.size_bound(model) > 302 * 4
    assert wire.loads(text, max_parameters=302).count_params() == 302
    monkeypatch.setattr(wire, "_rebuild_model", lambda *parts: pytest.fail("the model was built"))
    monkeypatch.setattr(np, "load", lambda *a, **k: pytest.fail("an array was decoded"))
    with pytest.raises(wire.WireError, match="more than 301 parameters was refused before it was built"):
        wire.loads(text, max_parameters=301)


def test_a_keras_model_sent_as_a_configuration_alone_is_counted_before_it_is_built():
    """A configuration without weights (a Dense layer of 5 million units, 55 million parameters):
    refused by the parameters its configuration makes, with nothing of their size allocated and no
    variable left for Keras to initialise later; a nested functional model within the bound
    arrives whole."""
    import json
    import resource

    keras = pytest.importorskip("keras")
    from keras.src.backend.common import global_state

    small = keras.Sequential([keras.Input((10,)), keras.layers.Dense(5)])
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(small)))
    config["config"]["layers"][-1]["config"]["units"] = 5_000_000
    text = wire.dumps({"k": 1}).replace('"dict":[["k",1]]', '"keras_model":' + wire.dumps(
        {"config": json.dumps(config), "weights": [], "trainable": [True], "built": True}))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(wire.WireError, match="more than 1000000 parameters was refused before it was built"):
        wire.loads(text, max_parameters=1_000_000)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100 * 1024  # KiB: far below 220 MB
    assert not global_state.get_global_attribute("uninitialized_variables")

    base = keras.Sequential([keras.Input((6, 6, 3)), keras.layers.Conv2D(4, 3), keras.layers.BatchNormalization()],
                            name="base")
    image = keras.Input((6, 6, 3))
    nested = keras.Model(image, keras.layers.Dense(1)(keras.layers.Flatten()(base(image))))
    nested.compile(optimizer="adam", loss="mse")  # a compiled model: its optimizer makes no variable here
    arrived = wire.loads(wire.dumps(nested), max_parameters=nested.count_params())
    assert arrived.count_params() == nested.count_params() == 112 + 16 + 65
    with pytest.raises(wire.WireError, match="more than 192 parameters"):
        wire.loads(wire.dumps(nested), max_parameters=nested.count_params() - 1)
