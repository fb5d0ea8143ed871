"""Plain data across the boundary between the grader and a submission's kernel.

Arguments go to the student's functions and results come back as JSON text in which NumPy arrays
travel as ``.npy`` bytes (``allow_pickle=False``) and Keras models as their configuration and
weights. Nothing is ever unpickled, imported or executed on decoding: a submission can only send
values, never code, to the grader.

Supported: None, bool, int, float, complex, str, NumPy arrays and scalars (not of dtype object),
lists, tuples, dicts with str or int keys, and Keras models (rebuilt with Keras' safe mode, which
refuses ``Lambda`` layers and classes from outside Keras).

On the socket between the two, a message is that text in UTF-8 after its length in bytes
(:func:`send_message`, :func:`receive_message`). The receiver says how much it takes: a message
longer than ``max_chars`` is refused by its length, before it is read, and a Keras model with more
than ``max_parameters`` parameters (counted from its weights' ``.npy`` headers, and from its
configuration without allocating them) before it is decoded or built; :func:`size_bound` and
:func:`parameter_count` help set both from an expected value.

Used on both sides: imported by the kernel (so kept free of imports beyond NumPy) and by the grader.
"""

import base64
import io
import json
import struct
import time

import numpy as np

MAX_DEPTH = 20
MAX_CHARS = 512 * 2**20
_LENGTH = struct.Struct("!Q")


class WireError(ValueError):
    """A value that cannot cross the boundary, or a message that is not valid."""


def dumps(value):
    """``value`` as JSON text (see the module docstring for what it may hold)."""
    return json.dumps(_encode(value, 0), allow_nan=False, separators=(",", ":"))


def loads(text, max_chars=MAX_CHARS, max_parameters=None):
    """The value that :func:`dumps` wrote; raises :class:`WireError` for anything else, and for a
    Keras model of more than ``max_parameters`` parameters (None: any)."""
    if not isinstance(text, str) or len(text) > max_chars:
        raise WireError(f"a message of {len(text) if isinstance(text, str) else type(text).__name__} "
                        f"characters was refused (the limit is {max_chars}).")
    try:
        return _decode(json.loads(text), 0, max_parameters)
    except (TypeError, KeyError, IndexError, json.JSONDecodeError) as error:
        raise WireError(f"an invalid message was refused ({type(error).__name__}: {error})") from None


def send_message(sock, value):
    """Send ``value`` (see :func:`dumps`) over a connected stream socket."""
    data = dumps(value).encode()
    sock.sendall(_LENGTH.pack(len(data)) + data)


def receive_message(sock, max_chars=MAX_CHARS, on_timeout=None, max_parameters=None):
    """The next value sent by :func:`send_message`, or None when the other side closed.

    Args:
        sock: a connected stream socket.
        max_chars: the largest message accepted.
        max_parameters: the most parameters of a Keras model accepted (None: any).
        on_timeout: for a socket with a timeout: called each time a read runs out, and at least
            once per timeout while the message trickles in, so that a sender cannot hold the
            reader past its deadline by sending little and often. It may raise to stop waiting;
            otherwise the read goes on.
    """
    header = _read_exactly(sock, _LENGTH.size, on_timeout)
    if len(header) < _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack(header)
    if size > max_chars:
        raise WireError(f"a reply of more than {max_chars} bytes was refused before it was read (the limit "
                        "is 4 times the size of what the test expects).")
    data = _read_exactly(sock, size, on_timeout)
    if len(data) < size:
        return None
    try:
        text = data.decode()
    except UnicodeDecodeError:
        raise WireError("a message that is not UTF-8 was refused") from None
    return loads(text, max_chars, max_parameters)


def _read_exactly(sock, size, on_timeout):
    """``size`` bytes from ``sock``, or fewer at the end of the stream."""
    chunks, left = [], size
    every, checked = sock.gettimeout(), time.monotonic()
    while left:
        try:
            chunk = sock.recv(min(left, 1 << 20))
        except TimeoutError:
            chunk = None
        if chunk is None or (every is not None and time.monotonic() - checked >= every):
            on_timeout()
            checked = time.monotonic()
        if chunk is None:
            continue
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _encode(value, depth):
    if depth > MAX_DEPTH:
        raise WireError(f"values nested deeper than {MAX_DEPTH} levels cannot be sent")
    if value is None or type(value) in (bool, int, str):
        return value
    if type(value) is float:
        return value if np.isfinite(value) else {"float": repr(value)}
    if type(value) is complex:
        return {"complex": [repr(value.real), repr(value.imag)]}
    if isinstance(value, (np.ndarray, np.generic)):
        return {"ndarray": _array_bytes(value), "scalar": isinstance(value, np.generic)}
    if type(value) in (list, tuple):
        return {type(value).__name__: [_encode(v, depth + 1) for v in value]}
    if type(value) is dict:
        if not all(type(k) in (str, int) for k in value):
            raise WireError("dict keys must be str or int")
        return {"dict": [[k, _encode(v, depth + 1)] for k, v in value.items()]}
    if _is_keras_model(value):
        return {"keras_model": _encode(_model_parts(value), depth + 1)}
    if hasattr(value, "__array__"):  # a tensor of TensorFlow, JAX or Keras
        return _encode(np.asarray(value), depth)
    raise WireError(f"a value of type {type(value).__name__} cannot be passed to or returned by a "
                    "graded function: use numbers, strings, NumPy arrays, lists, tuples, dicts or a Keras model")


def _decode(data, depth, max_parameters=None):
    if depth > MAX_DEPTH:
        raise WireError(f"values nested deeper than {MAX_DEPTH} levels are refused")
    if data is None or type(data) in (bool, int, str, float):
        return data
    if type(data) is not dict or len(data) not in (1, 2):
        raise WireError(f"unexpected {type(data).__name__} in a message")
    if "float" in data:
        return float(_one_of(data["float"], ("nan", "inf", "-inf")))
    if "complex" in data:
        real, imag = data["complex"]
        return complex(float(real), float(imag))
    if "ndarray" in data:
        array = np.load(io.BytesIO(base64.b64decode(data["ndarray"], validate=True)), allow_pickle=False)
        return array[()] if data.get("scalar") else array
    if "list" in data:
        return [_decode(v, depth + 1, max_parameters) for v in data["list"]]
    if "tuple" in data:
        return tuple(_decode(v, depth + 1, max_parameters) for v in data["tuple"])
    if "dict" in data:
        out = {}
        for key, item in data["dict"]:
            if type(key) not in (str, int):
                raise WireError("dict keys must be str or int")
            out[key] = _decode(item, depth + 1, max_parameters)
        return out
    if "keras_model" in data:
        _check_parameters(data["keras_model"], max_parameters)
        return _rebuild_model(_decode(data["keras_model"], depth + 1), max_parameters)
    raise WireError(f"unknown value kind {sorted(data)}")


def size_bound(value):
    """About how many characters :func:`dumps` writes for ``value``, without encoding it."""
    if isinstance(value, (np.ndarray, np.generic)):
        return np.asarray(value).nbytes * 4 // 3 + 128
    if isinstance(value, (str, bytes)):
        return len(value) + 2
    if isinstance(value, (list, tuple)):
        return sum(size_bound(v) for v in value) + 16 * len(value) + 16
    if isinstance(value, dict):
        return sum(size_bound(k) + size_bound(v) for k, v in value.items()) + 16 * len(value) + 16
    if _is_keras_model(value):
        return parameter_count(value) * 4 * 4 // 3 + 2**16
    return 32


def parameter_count(value):
    """The parameters of the Keras models in ``value`` (0 if none)."""
    if isinstance(value, (list, tuple)):
        return sum(parameter_count(v) for v in value)
    if isinstance(value, dict):
        return sum(parameter_count(v) for v in value.values())
    return int(value.count_params()) if _is_keras_model(value) else 0


def _check_parameters(parts, max_parameters):
    """Refuse an encoded Keras model of more than ``max_parameters`` parameters, counted from the
    ``.npy`` headers of its weights (nothing is decoded or built)."""
    if max_parameters is None:
        return
    fields = dict(parts.get("dict", [])) if type(parts) is dict else {}
    weights = fields.get("weights", {})
    arrays = weights.get("list", []) if type(weights) is dict else []
    count = sum(int(np.prod(_header_shape(array.get("ndarray", "")))) for array in arrays if type(array) is dict)
    _refuse_above(count, max_parameters)


def _refuse_above(count, max_parameters):
    if count > max_parameters:
        raise WireError(f"a Keras model of more than {max_parameters} parameters was refused before it was "
                        "built (the limit is 4 times the parameters of what the test expects).")


def _configured_parameters(config):
    """The parameters of the model that ``config`` describes, counted from their shapes alone: the
    model is rebuilt in a ``keras.StatelessScope`` that leaves its variables uninitialised, so
    nothing of their size is allocated (a configuration may ask for any number of units, and no
    weights come with it to count). Keras keeps such variables on a list, to initialise at the
    next scope's end; they are taken off it again."""
    import keras
    from keras.src.backend.common import global_state

    if isinstance(config, dict):  # a compiled model's optimizer would make variables of its own
        config = {key: value for key, value in config.items() if key != "compile_config"}
    pending = list(global_state.get_global_attribute("uninitialized_variables", []) or [])
    try:
        with keras.StatelessScope(initialize_variables=False):
            model = _rebuild_sequential(config) or keras.saving.deserialize_keras_object(config, safe_mode=True)
            return sum(int(np.prod(weight.shape)) for weight in model.weights)
    except Exception as error:  # the student's model is refused, not the grader stopped
        raise WireError(f"the Keras model could not be rebuilt: {type(error).__name__}: {error}") from None
    finally:
        global_state.set_global_attribute("uninitialized_variables", pending)


def _header_shape(text):
    """The shape in the header of an ``.npy`` file given as base64 text, read from its start only."""
    try:
        head = io.BytesIO(base64.b64decode(text[:1024], validate=True))
        version = np.lib.format.read_magic(head)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, _ = read(head)
    except Exception:  # noqa: BLE001 - not an .npy file: refused as such
        raise WireError("an array arrived without a valid .npy header") from None
    return shape


def _one_of(value, allowed):
    if value not in allowed:
        raise WireError(f"{value!r} is not one of {allowed}")
    return value


def _array_bytes(value):
    array = np.asarray(value)
    if array.dtype.hasobject:
        raise WireError("arrays of Python objects (dtype object) cannot be sent")
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _is_keras_model(value):
    return any(cls.__module__.startswith("keras") and cls.__name__ in ("Model", "Sequential", "Functional")
               for cls in type(value).__mro__)


def _model_parts(model):
    import keras

    config = keras.saving.serialize_keras_object(model)
    trainable = [layer.trainable for layer in model.layers]
    return {"config": json.dumps(config), "weights": [np.asarray(w) for w in model.get_weights()],
            "trainable": trainable, "built": bool(model.built)}


def _rebuild_model(parts, max_parameters=None):
    """A Keras model from its configuration and weights, in Keras' safe mode; one whose
    configuration makes more than ``max_parameters`` parameters is refused before it is built."""
    import keras

    if type(parts) is not dict or not isinstance(parts.get("config"), str):
        raise WireError("a Keras model arrived without its configuration")
    try:
        config = json.loads(parts["config"])
    except ValueError as error:
        raise WireError(f"the Keras model's configuration is not JSON ({error})") from None
    if max_parameters is not None:
        _refuse_above(_configured_parameters(json.loads(parts["config"])), max_parameters)  # Keras consumes a config
    try:
        model = _rebuild_sequential(config) or keras.saving.deserialize_keras_object(config, safe_mode=True)
        if parts.get("weights"):
            model.set_weights(parts["weights"])
    except Exception as error:  # the student's model is refused, not the grader stopped
        raise WireError(f"the Keras model could not be rebuilt: {type(error).__name__}: {error}") from None
    for layer, trainable in zip(model.layers, parts.get("trainable", [])):
        layer.trainable = bool(trainable)
    return model


def _rebuild_sequential(config):
    """A ``keras.Sequential`` rebuilt layer by layer (in safe mode) and built once, or None for other models.

    Keras' own ``Sequential.from_config`` rebuilds the model after every layer it adds, which makes a
    20-layer model take a third of a second; the result is the same.
    """
    import keras

    if not (isinstance(config, dict) and config.get("module") == "keras" and config.get("class_name") == "Sequential"
            and isinstance(config.get("config"), dict) and isinstance(config["config"].get("layers"), list)):
        return None
    inner = config["config"]
    layers = [keras.saving.deserialize_keras_object(layer, safe_mode=True) for layer in inner["layers"]]
    model = keras.Sequential(layers, name=inner.get("name"), trainable=inner.get("trainable", True))
    if not model.built and inner.get("build_input_shape"):
        model.build(inner["build_input_shape"])
    return model
