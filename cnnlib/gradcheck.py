"""Numerical gradients and relative errors: how the course checks a backward pass.

Centred differences, (f(x + h) - f(x - h)) / 2h, one element at a time. Slow on purpose: use
small arrays, and float64 so that a correct backward pass shows a relative error around 1e-8.
"""

import numpy as np


def numerical_gradient(f, x, h=1e-5):
    """Gradient of a scalar function by centred differences.

    Args:
        f: callable taking an array shaped like x and returning a scalar.
        x: float array of any shape; changed during the computation and restored afterwards.
        h: the step.

    Returns:
        array shaped like x: d f / d x.
    """
    return numerical_gradient_array(lambda v: np.asarray(f(v), dtype=np.float64), x, 1.0, h)


def numerical_gradient_array(f, x, dout, h=1e-5):
    """Gradient of sum(f(x) * dout) with respect to x: the vector-Jacobian product a backward pass computes.

    Args:
        f: callable taking an array shaped like x and returning an array shaped like dout.
        x: float array of any shape; changed during the computation and restored afterwards.
        dout: upstream gradient, the shape of f(x) (a scalar for scalar functions).
        h: the step.

    Returns:
        array shaped like x.
    """
    if not np.issubdtype(np.asarray(x).dtype, np.floating):
        raise ValueError(f"numerical gradients need a float array; received x.dtype={np.asarray(x).dtype}.")
    grad = np.zeros_like(x, dtype=np.float64)
    with np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]]) as it:
        for _ in it:
            i = it.multi_index
            original = x[i]
            x[i] = original + h
            plus = np.array(f(x), dtype=np.float64, copy=True)
            x[i] = original - h
            minus = np.array(f(x), dtype=np.float64, copy=True)
            x[i] = original
            grad[i] = np.sum((plus - minus) * dout) / (2 * h)
    return grad


def relative_error(a, b):
    """Largest element-wise relative error, max |a - b| / max(1e-8, |a| + |b|).

    Args:
        a, b: arrays of the same shape.

    Returns:
        float: about 1e-8 or less for a correct float64 gradient, 1e-2 or more for a wrong one.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"relative_error needs arrays of one shape; received {a.shape} and {b.shape}.")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))
