"""The kernel's side of the graded tests: look up an answer, call a student's function.

The grader (``autograder.judge.harness``) listens on a Unix socket in the kernel's own folder and runs
``serve(path, token)`` in the kernel once; ``serve`` connects, sends the token (which only the
grader and this kernel know, so that no other process can pose as it), and then answers one
request after another, each a message of ``autograder.judge.wire``, until the grader sends
``{"op": "stop"}`` or closes the connection. One round trip costs well under a millisecond, where
a request sent as code to execute costs about ten.

Everything here runs in the submission's kernel, so nothing here is trusted: a submission that
changes it only changes what it answers for itself. What a reply holds is plain data, and the
grader decides.

Requests:

- ``{"op": "lookup", "name": N}``: ``{"kind": "function"}``, ``{"kind": "value", "value": V}`` or
  ``{"kind": "missing"}``;
- ``{"op": "call", "name": N, "args": [...], "kwargs": {...}, "substitute": [names]}``:
  ``{"result": R, "changed": {argument: value after the call}, "positional": [parameter names
  of the positional arguments]}`` or ``{"error": [exception name, message]}``. Arguments are
  matched to parameter names, and those the function changed in place come back. While the call
  runs, each name in ``substitute`` is rebound to a function that asks the grader for the
  reference: it sends ``{"callback": name, "args": [...], "kwargs": {...}}`` and reads
  ``{"value": V}`` or ``{"error": message}``. With ``"numpy_only": [modules]``, the call runs
  under ``autograder.judge.numpy_only.Watch``: entering those modules' code fails it, with
  ``{"error": ["FrameworkUsed", what]}``. With ``"seed": n``, Python's, NumPy's and (where
  loaded) Keras' random number generators are seeded with ``n`` before the call.
"""

import hashlib
import inspect
import random
import socket
import sys

import numpy as np

from autograder.judge import wire
from autograder.judge.numpy_only import Watch

_watches = {}  # frameworks -> the Watch of this kernel (it keeps what it learnt of each code object)


def serve(path, token):
    """Answer the grader's requests over the socket at ``path`` (see the module docstring)."""
    from IPython import get_ipython

    namespace = get_ipython().user_ns
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.connect(path)
        wire.send_message(connection, {"token": token})
        while True:
            request = wire.receive_message(connection)
            if request is None or request.get("op") == "stop":
                return
            reply = _answer(namespace, request, connection)
            try:
                wire.send_message(connection, reply)
            except Exception as error:  # noqa: BLE001 - a result that cannot be sent is the function's error
                wire.send_message(connection, {"error": [type(error).__name__, str(error)[:2000]]})


def _answer(namespace, request, connection):
    try:
        if request["op"] == "lookup":
            return _lookup(namespace, request["name"])
        return _call(namespace, request, connection)
    except BaseException as error:  # noqa: BLE001 - every failure becomes an answer
        return {"error": [type(error).__name__, str(error)[:2000]]}


def _lookup(namespace, name):
    if name not in namespace:
        return {"kind": "missing"}
    value = namespace[name]
    if callable(value) and not isinstance(value, type):
        return {"kind": "function"}
    return {"kind": "value", "value": value}


def _call(namespace, request, connection):
    function = namespace.get(request["name"])
    if not callable(function):
        raise NameError(f"name {request['name']!r} is not defined")
    args, kwargs = request["args"], request["kwargs"]
    try:
        bound = inspect.signature(function).bind(*args, **kwargs).arguments
    except (TypeError, ValueError):
        bound = {}
    mutable = {name: value for name, value in bound.items() if isinstance(value, (np.ndarray, dict, list))}
    before = {name: _fingerprint(value) for name, value in mutable.items()}
    saved = {name: namespace.get(name) for name in request.get("substitute", [])}
    for name in saved:
        namespace[name] = _callback(name, connection)
    frameworks = tuple(request.get("numpy_only") or ())
    if "seed" in request:
        _seed(request["seed"])
    try:
        if frameworks:
            if frameworks not in _watches:
                _watches[frameworks] = Watch(frameworks)
            result = _watches[frameworks].run(function, *args, **kwargs)
        else:
            result = function(*args, **kwargs)
    finally:
        for name, value in saved.items():
            namespace[name] = value
    changed = {name: value for name, value in mutable.items() if _fingerprint(value) != before[name]}
    return {"result": result, "changed": changed, "positional": list(bound)[:len(args)]}


def _seed(seed):
    """Seed every random number generator a function may draw from without being given one."""
    random.seed(seed)
    np.random.seed(seed)
    keras = sys.modules.get("keras")
    if keras is not None:
        keras.utils.set_random_seed(seed)  # also its backend's (TensorFlow, JAX or PyTorch)


def _fingerprint(value):
    """A digest of ``value``'s contents (arrays by their raw bytes), to tell whether a call changed it."""
    digest = hashlib.blake2b(digest_size=16)
    _feed(digest, value)
    return digest.digest()


def _feed(digest, value):
    if isinstance(value, np.ndarray):
        digest.update(f"array {value.dtype.str} {value.shape}".encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, (dict, list, tuple)):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        digest.update(f"{type(value).__name__} {len(value)}".encode())
        for key, item in items:
            digest.update(repr(key).encode())
            _feed(digest, item)
    else:
        digest.update(f"{type(value).__name__} {value!r}".encode())


def _callback(name, connection):
    """A stand-in for the student's function ``name`` that asks the grader for the reference."""

    def reference(*args, **kwargs):
        wire.send_message(connection, {"callback": name, "args": list(args), "kwargs": kwargs})
        answer = wire.receive_message(connection)
        if answer is None:
            raise ConnectionError("the grader closed the connection")
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer["value"]

    reference.__name__ = name
    return reference
