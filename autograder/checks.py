"""Checks used by the notebooks' test cells, visible and hidden.

A failed check raises ``CheckFailed`` (an ``AssertionError``, so nbgrader scores the cell 0) whose
message speaks to the student: what was expected and what came back first, then where they
differ. IPython shows the message alone (``_render_traceback_``), with no traceback into this file.

While an assignment is graded, the test cells and these checks run in the grader's own process,
with the student's functions called in the submission's kernel (``autograder.judge.harness``); in a
student's own JupyterLab they run in the notebook's kernel, for instant feedback.
"""

import contextlib
import os
import traceback
import types
from pathlib import Path

import numpy as np

import cnnlib.layers
from autograder import mistakes

MAX_SHOWN = 80  # characters of a student's value quoted in a message
_values_hidden = False  # True while the grader runs a hidden test (see values_hidden)
_watch = None  # in a student's own JupyterLab, the notebook's mistakes.NotebookWatch


class CheckFailed(AssertionError):
    """A test cell's check failed; the message says what differs (and, in a student's own
    JupyterLab, which classic mistake the result matches, if one does)."""

    def _render_traceback_(self):
        lines = str(self).splitlines()
        mistake = _watch.named() if _watch is not None else None
        return ["\x1b[0;31mCheckFailed\x1b[0m: " + lines[0], *lines[1:], *([mistake.message()] if mistake else [])]


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
    expected = np.asarray(expected)
    if got is None:
        raise CheckFailed(f"{name}: expected an array of shape {expected.shape}, got None: replace None "
                          "with your answer (or, in a function, `return` the result).")
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckFailed(f"{name}: expected an array of numbers of shape {expected.shape}, "
                          f"got {type(got).__name__}.") from None
    if got.shape != expected.shape:
        shape = "another shape" if _values_hidden else f"shape {got.shape}"
        raise CheckFailed(f"{name}: expected shape {expected.shape}, got {shape}.")
    if not np.isfinite(got).all():
        if _values_hidden:
            raise CheckFailed(f"{name}: expected finite values, got NaN or infinite ones.")
        bad = int((~np.isfinite(got)).sum())
        raise CheckFailed(f"{name}: expected finite values, got {bad} of {got.size} values NaN or infinite.")
    expected = expected.astype(np.float64)
    error = np.abs(got - expected)
    allowed = atol + rtol * np.abs(expected)
    wrong = error > allowed
    if wrong.any():
        where = tuple(int(i) for i in np.unravel_index(int((error - allowed).argmax()), got.shape))
        at = f" at index {where}" if where else ""
        if _values_hidden:
            raise CheckFailed(f"{name}: values differ from the expected ones (hidden tests do not "
                              "show values, counts or places).")
        raise CheckFailed(
            f"{name}: expected {float(expected[where]):.6g}, got {float(got[where]):.6g}{at}. "
            f"{int(wrong.sum())} of {got.size} values differ (largest error {float(error[where]):.3g}).")


def assert_equal(name, got, expected):
    """Check a plain value (an int, a tuple of ints, a string) for equality, type included.

    An int is expected as an int (or a NumPy integer), never as 3.0; a tuple as a tuple of equal
    items, each checked the same way.
    """
    shown = "a value" if _values_hidden else _shown(got)
    if got is None and expected is not None:
        raise CheckFailed(f"{name}: got None: replace None with your answer (or, in a function, "
                          "`return` the result).")
    if not _same_kind(got, expected):
        raise CheckFailed(f"{name}: expected {expected!r} ({type(expected).__name__}), "
                          f"got {shown} ({type(got).__name__}).")
    if got != expected:
        raise CheckFailed(f"{name}: expected {expected!r}, got {'another value' if _values_hidden else shown}.")


@contextlib.contextmanager
def values_hidden(hidden=True):
    """Inside, messages quote nothing computed from the student's result (no value, shape, count or
    place), only what kind of difference there is: it could carry a hidden test's inputs into the
    feedback."""
    global _values_hidden
    saved, _values_hidden = _values_hidden, hidden
    try:
        yield
    finally:
        _values_hidden = saved


def _same_kind(got, expected):
    if isinstance(expected, bool) or isinstance(got, bool):
        return isinstance(got, (bool, np.bool_)) and isinstance(expected, (bool, np.bool_))
    if isinstance(expected, (int, np.integer)):
        return isinstance(got, (int, np.integer))
    if isinstance(expected, (tuple, list)):
        return (type(got) is type(expected) and len(got) == len(expected)
                and all(_same_kind(g, e) for g, e in zip(got, expected)))
    return type(got) is type(expected)


def _shown(value):
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…"


def _is_exact(value):
    """Results compared for equality rather than closeness: ints, bools, strings, tuples of them."""
    if isinstance(value, (bool, int, str, np.integer, np.bool_)):
        return True
    return isinstance(value, (tuple, list)) and len(value) > 0 and all(_is_exact(v) for v in value)


def compare_with_reference(name, student_fn, reference_fn, cases, rtol=1e-5, atol=1e-6,
                           outputs=None, substitute=None):
    """Run the student's function and the reference on every case and compare their outputs.

    Args:
        name: the student's function name, for messages.
        student_fn: the student's function.
        reference_fn: callable with the same arguments returning the expected output, or a tuple
            of outputs (compared one by one).
        cases: list of dicts of keyword arguments; arrays in them are copied for each call.
        rtol, atol: tolerances; float32 cases get at least 1e-4 relative tolerance. Results that
            are ints, bools, strings or tuples of them are compared exactly, type included.
        outputs: names of the parts of a tuple result, for messages (e.g. ("dA_prev", "dW", "db")).
        substitute: {name: reference} for the other student functions that ``student_fn`` calls:
            while it runs, those names stand for the reference, so that a bug in one of them
            costs only that function's points.

    Raises:
        CheckFailed: on the first case whose result differs, that raises, or that changes its
            arguments in place; the case is described by shapes, dtypes and parameters.
    """
    for case in cases:
        expected = reference_fn(**_copied(case))
        arguments = _copied(case)
        try:
            with _running(student_fn, substitute) as function:
                if hasattr(function, "bounded_by"):  # graded: a result far larger than expected is refused
                    function = function.bounded_by(expected)
                got = function(**arguments)
        except CheckFailed:
            raise
        except NotImplementedError:
            raise CheckFailed(f"{name} is not implemented yet (it raised NotImplementedError).") from None
        except Exception as error:  # the student's bug: report it with the case that caused it
            raise CheckFailed(f"{name}({describe(case)}) raised {_exception(error)}") from None
        for key, value in arguments.items():
            if not _unchanged(value, case[key]):
                raise CheckFailed(f"{name} changed its argument `{key}` in place ({describe(case)}): "
                                  f"work on a copy (`{key} = {key}.copy()`) or build a new array.")
        float32 = any(getattr(v, "dtype", None) == np.float32 for v in case.values())
        tol = (max(rtol, 1e-4), max(atol, 1e-4)) if float32 else (rtol, atol)
        expected_parts = expected if isinstance(expected, tuple) and not _is_exact(expected) else (expected,)
        got_parts = got if len(expected_parts) > 1 and isinstance(got, tuple) else (got,)
        if len(got_parts) != len(expected_parts):
            count = "another number" if _values_hidden else len(got_parts)
            raise CheckFailed(f"{name}({describe(case)}): expected {len(expected_parts)} return "
                              f"values, got {count}.")
        names = outputs or [f"return value {i + 1}" for i in range(len(expected_parts))]
        for part, g, e in zip(names, got_parts, expected_parts):
            label = name if len(expected_parts) == 1 else f"{name}'s {part}"
            if _is_exact(e):
                assert_equal(f"{label} for {describe(case)}", g, e)
            else:
                assert_close(f"{label} for {describe(case)}", g, e, *tol)


def describe(case):
    """A short description of a test case: arrays by shape and dtype, other values as they are."""
    return ", ".join(f"{key}={_describe_value(value)}" if not isinstance(value, np.ndarray)
                     else f"{key}: {_describe_value(value)}" for key, value in case.items())


def _describe_value(value):
    if isinstance(value, np.ndarray):
        return f"shape {value.shape} {value.dtype}"
    if isinstance(value, (tuple, list)):
        inner = ", ".join(_describe_value(v) for v in value)
        return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_describe_value(v)}" for k, v in value.items()) + "}"
    return _shown(value)


def _copied(case):
    return {k: _copy(v) for k, v in case.items()}


def _copy(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy(v) for v in value)
    return value


def _unchanged(value, original):
    if isinstance(original, np.ndarray):
        return (isinstance(value, np.ndarray) and value.shape == original.shape
                and np.array_equal(value, original, equal_nan=True))
    if isinstance(original, dict):
        return (isinstance(value, dict) and value.keys() == original.keys()
                and all(_unchanged(value[k], original[k]) for k in original))
    if isinstance(original, list):
        return (isinstance(value, list) and len(value) == len(original)
                and all(_unchanged(v, o) for v, o in zip(value, original)))
    return True


def _exception(error):
    """``ValueError: message (line 7 of your cell: `code`)``, for an exception of the student's."""
    text = f"{getattr(error, 'ename', type(error).__name__)}: {error}"
    grader = str(Path(__file__).parent)
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if not frame.filename.startswith(grader)]
    if frames and frames[-1].line:
        text += f" (line {frames[-1].lineno}: `{frames[-1].line.strip()[:MAX_SHOWN]}`)"
    return text


@contextlib.contextmanager
def _running(student_fn, substitute):
    """The student's function, ready to call: with ``substitute`` in place of their functions
    and, in their own kernel, with ``cnnlib.layers`` switched off."""
    if hasattr(student_fn, "with_substitutes"):  # graded: the call goes to the kernel
        yield student_fn.with_substitutes(substitute or {})
        return
    if not substitute:
        with reference_disabled():
            yield student_fn
        return
    namespace = student_fn.__globals__
    saved = {key: namespace[key] for key in substitute if key in namespace}
    namespace.update(substitute)
    try:
        yield student_fn
    finally:
        for key in substitute:
            namespace.pop(key, None)
        namespace.update(saved)


# --------------------------------------------------------------------------- no calling the reference
# In the student's own kernel only: while graded, the reference is not in the kernel at all.

def _blocked(*args, **kwargs):
    # Runs with the blocked function's globals: refer to builtins only.
    raise RuntimeError("The reference implementation (cnnlib.layers) is switched off while your "
                       "function is graded: implement it yourself instead of calling cnnlib.layers.")


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
        for f in functions:
            f.__code__ = _blocked.__code__
        yield
    finally:
        for f, code in saved:
            f.__code__ = code


def _watch_notebook():
    """Imported in a notebook's kernel, a watch for mistakes (not while nbgrader autogrades: then
    the grader runs the tests, and names mistakes, itself)."""
    global _watch
    if os.environ.get("NBGRADER_EXECUTION") == "autograde":
        return
    try:
        shell = get_ipython()  # noqa: F821 (a built-in in IPython only)
    except NameError:
        return
    if shell is not None and _watch is None:
        _watch = mistakes.watch_notebook(shell)


_watch_notebook()
