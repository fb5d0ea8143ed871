"""The kernel's side of a graded test: look up an answer, call a student's function.

The grader (``autograder.harness``) sends ``serve(request)`` as code to execute; the reply comes
back as one display message of type :data:`REPLY_MIME`. Everything here runs in the submission's
kernel, so nothing here is trusted: a submission that changes it only changes what it answers
for itself. What a reply holds is plain data (``autograder.wire``), and the grader decides.

Requests (``autograder.wire`` text of a dict):

- ``{"op": "lookup", "name": N}``: ``{"kind": "function"}``, ``{"kind": "value", "value": V}`` or
  ``{"kind": "missing"}``;
- ``{"op": "call", "name": N, "args": [...], "kwargs": {...}, "substitute": [names]}``:
  ``{"result": R, "changed": {argument: value after the call}, "positional": [parameter names
  of the positional arguments]}`` or
  ``{"error": [exception name, message]}``. Arguments are matched to parameter names, and those
  the function changed in place come back. While the call runs, each name in ``substitute`` is
  rebound to a function that asks the grader (over the kernel's stdin channel) for the reference.
"""

import hashlib
import inspect

import numpy as np

from autograder import wire

REPLY_MIME = "application/vnd.cnn-course.reply+json"
CALLBACK_PROMPT = "cnn-course-callback:"


def serve(request):
    """Answer one request from the grader (see the module docstring)."""
    from IPython import get_ipython
    from IPython.display import publish_display_data

    namespace = get_ipython().user_ns
    try:
        request = wire.loads(request)
        reply = _lookup(namespace, request["name"]) if request["op"] == "lookup" else _call(namespace, request)
        text = wire.dumps(reply)
    except BaseException as error:  # noqa: BLE001 - every failure becomes an answer
        text = wire.dumps({"error": [type(error).__name__, str(error)[:2000]]})
    publish_display_data({REPLY_MIME: text})


def _lookup(namespace, name):
    if name not in namespace:
        return {"kind": "missing"}
    value = namespace[name]
    if callable(value) and not isinstance(value, type):
        return {"kind": "function"}
    return {"kind": "value", "value": value}


def _call(namespace, request):
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
        namespace[name] = _callback(name)
    try:
        result = function(*args, **kwargs)
    finally:
        for name, value in saved.items():
            namespace[name] = value
    changed = {name: value for name, value in mutable.items() if _fingerprint(value) != before[name]}
    return {"result": result, "changed": changed, "positional": list(bound)[:len(args)]}


def _fingerprint(value):
    return hashlib.blake2b(wire.dumps(value).encode(), digest_size=16).digest()


def _callback(name):
    """A stand-in for the student's function ``name`` that asks the grader for the reference."""

    def reference(*args, **kwargs):
        answer = wire.loads(input(CALLBACK_PROMPT + wire.dumps({"name": name, "args": list(args),
                                                                 "kwargs": kwargs})))
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer["value"]

    reference.__name__ = name
    return reference
