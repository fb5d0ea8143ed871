"""Argument checks shared by cnnlib's layers: one place for the wording of every error.

Each check raises ``ValueError`` with a message that quotes the bad value and the expected form.
"""

import numpy as np


def fail(message):
    """Raise the ValueError that every cnnlib check raises."""
    raise ValueError(message)


def check_int(name, value, minimum):
    """Return ``value`` as an int, or raise if it is not an integer >= minimum."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        fail(f"Invalid value for argument `{name}`. Expected an integer >= {minimum}. "
             f"Received {name}={value!r}")
    if value < minimum:
        fail(f"Invalid value for argument `{name}`. Expected an integer >= {minimum}. "
             f"Received {name}={value!r}")
    return int(value)


def check_ndim(name, array, ndim, layout):
    """Raise unless ``array`` has ``ndim`` dimensions; ``layout`` names them, e.g. "(N, H, W, C)"."""
    if array.ndim != ndim:
        fail(f"Expected `{name}` with {ndim} dimensions {layout}; received {name}.shape="
             f"{array.shape} with {array.ndim}.")


def check_same_shape(name, shape, expected_name, expected_shape):
    """Raise unless ``shape`` equals ``expected_shape``."""
    if tuple(shape) != tuple(expected_shape):
        fail(f"Shape mismatch: `{name}` must have the shape of {expected_name}, "
             f"{tuple(expected_shape)}; received {tuple(shape)}.")


def as_float_array(name, value):
    """``value`` as a floating NumPy array: floats keep their dtype, integers become float64.

    Raises ValueError for anything that is not numeric (strings, objects, complex numbers).
    """
    array = np.asarray(value)
    if np.issubdtype(array.dtype, np.floating):
        return array
    if np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_:
        return array.astype(np.float64)
    fail(f"Expected `{name}` to hold real numbers; received dtype {array.dtype}.")
