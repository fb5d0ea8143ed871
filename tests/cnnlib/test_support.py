"""cnnlib's small supports: gradient checking, the fast/full switch, quiet TensorFlow."""

import subprocess
import sys

import numpy as np
import pytest

from cnnlib import gradcheck, mode


def test_numerical_gradient_of_a_known_function():
    """Does the centred difference of sum(x**3) give 3x**2, leaving x unchanged?"""
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    before = x.copy()
    np.testing.assert_allclose(gradcheck.numerical_gradient(lambda v: np.sum(v ** 3), x), 3 * x ** 2, rtol=1e-8)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_array_is_a_vector_jacobian_product():
    """For f(x) = A @ x, is the gradient of sum(f(x) * dout) equal to A.T @ dout?"""
    rng = np.random.default_rng(0)
    a, x, dout = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(3)
    np.testing.assert_allclose(gradcheck.numerical_gradient_array(lambda v: a @ v, x, dout), a.T @ dout, rtol=1e-7)
    with pytest.raises(ValueError, match="float array"):
        gradcheck.numerical_gradient(np.sum, np.array([1, 2]))


def test_relative_error():
    """Is the relative error 0 for equal arrays, 1/3 for 1 vs 2, and shape-checked?"""
    assert gradcheck.relative_error(np.ones(3), np.ones(3)) == 0
    assert gradcheck.relative_error(np.array([1.0]), np.array([2.0])) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match=r"\(2,\) and \(3,\)"):
        gradcheck.relative_error(np.ones(2), np.ones(3))


@pytest.mark.parametrize("environ, expected", [
    ({}, "fast"),
    ({"CI": "true"}, "fast"),
    ({"CNN_COURSE_MODE": "full"}, "full"),
    ({"NBGRADER_EXECUTION": "autograde"}, "fast"),
    ({"CI": "true", "CNN_COURSE_MODE": "full"}, "full"),
    ({"CNN_COURSE_MODE": " Fast "}, "fast"),
])
def test_course_mode(environ, expected):
    """Is the mode fast unless CNN_COURSE_MODE chooses full, on a laptop as under CI and autograding?"""
    assert mode.course_mode(environ) == expected
    assert mode.fast_mode(environ) == (expected == "fast")


def test_unknown_mode_is_rejected():
    """Does a typo in CNN_COURSE_MODE fail loudly instead of silently training for hours?"""
    with pytest.raises(ValueError, match=r"Invalid value for CNN_COURSE_MODE: 'quick'. Expected one of \('fast', 'full'\)"):
        mode.course_mode({"CNN_COURSE_MODE": "quick"})


def run_python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_tensorflow_starts_without_noise_but_errors_still_show():
    """Does import_tensorflow write nothing to stderr, while a real TensorFlow error still reaches it?"""
    quiet = run_python("import cnnlib.quiet_tf as q; tf = q.import_tensorflow(); import keras; "
                       "print(float(tf.reduce_sum(tf.ones(3))))")
    assert quiet.returncode == 0 and quiet.stdout.strip() == "3.0"
    assert quiet.stderr == ""

    failing = run_python("import cnnlib.quiet_tf as q; tf = q.import_tensorflow(); "
                         "tf.reshape(tf.ones(3), (2, 2))")
    assert failing.returncode != 0
    assert "InvalidArgumentError" in failing.stderr


def test_keras_imported_anywhere_after_cnnlib_starts_without_noise():
    """Is ``import keras`` (which imports TensorFlow) silent once cnnlib is imported, as in a
    notebook whose own cell imports Keras, while TensorFlow's errors still show?"""
    quiet = run_python("import cnnlib; import keras; import tensorflow as tf; "
                       "print(float(tf.reduce_sum(tf.ones(3))), tf.__spec__.loader.__class__.__name__)")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout.split()[0] == "3.0" and "Quiet" not in quiet.stdout
    assert quiet.stderr == ""
    failing = run_python("import cnnlib; import tensorflow as tf; tf.reshape(tf.ones(3), (2, 2))")
    assert failing.returncode != 0
    assert "InvalidArgumentError" in failing.stderr


def test_importing_cnnlib_does_not_import_tensorflow():
    """Do notebooks 1-3 start fast: is TensorFlow left unimported by cnnlib and its NumPy modules?"""
    result = run_python("import sys, cnnlib, cnnlib.layers, cnnlib.data, cnnlib.gradcheck, cnnlib.mode; "
                        "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    assert result.stdout.strip() == "False False"
