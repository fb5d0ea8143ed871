"""Checks used by the notebooks' test cells, visible and hidden.

A failed check raises ``CheckFailed`` (an ``AssertionError``, so nbgrader scores the cell 0) whose
message speaks to the student: what was expected, what came back, where they differ.

The module keeps its own references to the NumPy and built-in functions it relies on, taken when
it is imported (in a notebook's first, locked cell, before any student code runs), and refuses to
grade if a submission has replaced them or the checks themselves.
"""

import builtins
import contextlib
import types

import numpy as np

import cnnlib.layers


class CheckFailed(AssertionError):
    """A test cell's check failed; the message says what differs."""


# --------------------------------------------------------------------------- comparisons


def assert_close(name, got, expected, rtol=1e-5, atol=1e-6):
    """Check that ``got`` is an array of ``expected``'s shape with values within tolerance.

    Args:
        name: what is compared, as the student knows it (e.g. "conv_forward output").
        got: the student's value.
        expected: the reference value (array or scalar).
        rtol, atol: tolerances as in ``numpy.allclose``.

    Raises:
        CheckFailed: naming the first of: not an array, wrong shape, NaN/inf, values that differ
            (with how many, the largest error and where).
    """
    verify_untampered()
    expected = _ORIGINAL["np.asarray"](expected)
    if got is None:
        raise CheckFailed(f"{name}: expected an array of shape {expected.shape}, got None "
                          "(did the function forget to `return`?).")
    try:
        got = _ORIGINAL["np.asarray"](got, dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckFailed(f"{name}: expected an array of numbers of shape {expected.shape}, "
                          f"got {type(got).__name__}.") from None
    if got.shape != expected.shape:
        raise CheckFailed(f"{name}: expected shape {expected.shape}, got shape {got.shape}.")
    if not _ORIGINAL["np.isfinite"](got).all():
        bad = int((~_ORIGINAL["np.isfinite"](got)).sum())
        raise CheckFailed(f"{name}: {bad} of {got.size} values are NaN or infinite.")
    expected = expected.astype(np.float64)
    error = _ORIGINAL["np.abs"](got - expected)
    allowed = atol + rtol * _ORIGINAL["np.abs"](expected)
    wrong = error > allowed
    if wrong.any():
        where = _ORIGINAL["np.unravel_index"](int((error - allowed).argmax()), got.shape)
        where = tuple(int(i) for i in where)
        raise CheckFailed(
            f"{name}: {int(wrong.sum())} of {got.size} values differ from the expected ones. "
            f"Largest error {float(error[where]):.3g} at index {where}: "
            f"expected {float(expected[where]):.6g}, got {float(got[where]):.6g}.")


def assert_equal(name, got, expected):
    """Check a plain value (an int, a tuple of ints, a string) for equality."""
    verify_untampered()
    if type(got) is not type(expected) and not (
            isinstance(expected, int) and isinstance(got, (int, np.integer))):
        raise CheckFailed(f"{name}: expected {expected!r} ({type(expected).__name__}), "
                          f"got {got!r} ({type(got).__name__}).")
    if got != expected:
        raise CheckFailed(f"{name}: expected {expected!r}, got {got!r}.")


def compare_with_reference(name, student_fn, reference_fn, cases, rtol=1e-5, atol=1e-6,
                           outputs=None, substitute=None):
    """Run the student's function and the reference on every case and compare their outputs.

    The reference runs first; the student's function then runs with ``cnnlib.layers`` disabled,
    so calling the reference instead of implementing it fails with a clear message.

    Args:
        name: the student's function name, for messages.
        student_fn: the student's function.
        reference_fn: callable with the same arguments returning the expected output, or a tuple
            of outputs (compared one by one).
        cases: list of dicts of keyword arguments; arrays in them are copied for each call.
        rtol, atol: tolerances; float32 cases get at least 1e-4 relative tolerance.
        outputs: names of the parts of a tuple result, for messages (e.g. ("dA_prev", "dW", "db")).
        substitute: dict name -> callable: while the student's function runs, the other student
            functions it calls by these names are replaced, so one bug costs one function's points.
    """
    for case in cases:
        expected = reference_fn(**_copied(case))
        with reference_disabled(), _substituted(student_fn, substitute or {}):
            try:
                got = student_fn(**_copied(case))
            except NotImplementedError:
                raise CheckFailed(f"{name} is not implemented yet (it raised NotImplementedError).") from None
            except Exception as error:  # the student's bug: report it with the case that caused it
                raise CheckFailed(f"{name}({describe(case)}) raised {type(error).__name__}: {error}") from error
        float32 = any(getattr(v, "dtype", None) == np.float32 for v in case.values())
        tol = (max(rtol, 1e-4), max(atol, 1e-4)) if float32 else (rtol, atol)
        if _exact(expected):
            assert_equal(f"{name}({describe(case)})", got, expected)
            continue
        expected_parts = expected if isinstance(expected, tuple) else (expected,)
        got_parts = got if isinstance(got, tuple) else (got,)
        if len(got_parts) != len(expected_parts):
            raise CheckFailed(f"{name}({describe(case)}): expected {len(expected_parts)} return "
                              f"value(s), got {len(got_parts)}.")
        for i, (g, e) in enumerate(zip(got_parts, expected_parts)):
            if len(expected_parts) == 1:
                label = name
            else:
                label = f"{name} {outputs[i]}" if outputs else f"{name} return value {i + 1}"
            assert_close(f"{label} for {describe(case)}", g, e, *tol)


def _exact(value):
    """Ints, bools, strings and tuples of ints are compared exactly, type included."""
    if isinstance(value, tuple):
        return len(value) > 0 and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                      for v in value)
    return isinstance(value, (bool, int, str, np.integer))


@contextlib.contextmanager
def _substituted(student_fn, replacements):
    """Swap the names in ``replacements`` in the student function's globals for the block."""
    scope = getattr(student_fn, "__globals__", {})
    missing = object()
    saved = {key: scope.get(key, missing) for key in replacements}
    try:
        scope.update({key: _with_reference(fn) for key, fn in replacements.items()})
        yield
    finally:
        for key, value in saved.items():
            if value is missing:
                scope.pop(key, None)
            else:
                scope[key] = value


def describe(case):
    """A short description of a test case: arrays by shape and dtype, other values as they are."""
    parts = []
    for key, value in case.items():
        if isinstance(value, np.ndarray):
            parts.append(f"{key}: shape {value.shape} {value.dtype}")
        else:
            parts.append(f"{key}={value!r}")
    return ", ".join(parts)


def _copied(case):
    return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in case.items()}


# --------------------------------------------------------------------------- no calling the reference

def _blocked(*args, **kwargs):
    # Runs with the blocked function's globals: refer to builtins only.
    raise RuntimeError("The reference implementation (cnnlib.layers) is switched off while your "
                       "function is graded: implement it yourself instead of calling cnnlib.layers.")


_DISABLED = []  # (function, original code) pairs while reference_disabled is active


def _with_reference(fn):
    """``fn``, run with ``cnnlib.layers`` switched back on (a substitute is a reference)."""
    def call(*args, **kwargs):
        blocked = [(f, f.__code__) for f, _ in _DISABLED]
        for f, code in _DISABLED:
            f.__code__ = code
        try:
            return fn(*args, **kwargs)
        finally:
            for f, code in blocked:
                f.__code__ = code
    return call


@contextlib.contextmanager
def reference_disabled():
    """Make every function of ``cnnlib.layers`` raise inside the block.

    The functions' code is swapped rather than the module's attributes, so a name the student
    imported earlier (``from cnnlib.layers import conv2d_forward``) is switched off too.
    """
    functions = [f for f in vars(cnnlib.layers).values()
                 if isinstance(f, types.FunctionType) and f.__module__ == cnnlib.layers.__name__]
    saved = [(f, f.__code__) for f in functions]
    try:
        _DISABLED[:] = saved
        for f in functions:
            f.__code__ = _blocked.__code__
        yield
    finally:
        for f, code in saved:
            f.__code__ = code
        _DISABLED.clear()


# --------------------------------------------------------------------------- tamper evidence

_WATCHED = {
    "np.asarray": (np, "asarray"),
    "np.abs": (np, "abs"),
    "np.isfinite": (np, "isfinite"),
    "np.unravel_index": (np, "unravel_index"),
    "np.allclose": (np, "allclose"),
    "np.isclose": (np, "isclose"),
    "np.array_equal": (np, "array_equal"),
    "np.testing.assert_allclose": (np.testing, "assert_allclose"),
    "np.testing.assert_array_equal": (np.testing, "assert_array_equal"),
    "np.testing.assert_almost_equal": (np.testing, "assert_almost_equal"),
    "builtins.isinstance": (builtins, "isinstance"),
    "builtins.len": (builtins, "len"),
    "builtins.abs": (builtins, "abs"),
    "builtins.max": (builtins, "max"),
    "builtins.all": (builtins, "all"),
    "builtins.any": (builtins, "any"),
    "builtins.AssertionError": (builtins, "AssertionError"),
}
_ORIGINAL = {key: getattr(owner, attr) for key, (owner, attr) in _WATCHED.items()}


def verify_untampered():
    """Raise ``CheckFailed`` if NumPy's comparisons, built-ins or these checks were replaced."""
    changed = [key for key, (owner, attr) in _WATCHED.items()
               if getattr(owner, attr, None) is not _ORIGINAL[key]]
    changed += [f"autograder.checks.{name}" for name, code in _OWN_CODE.items()
                if globals().get(name) is None or getattr(globals()[name], "__code__", None) is not code]
    if changed:
        raise CheckFailed("The grading checks cannot run: this notebook replaced "
                          + ", ".join(changed) + ". Remove the code that changes them.")


_OWN_CODE = {name: f.__code__ for name, f in list(globals().items())
             if isinstance(f, types.FunctionType) and f.__module__ == __name__}
