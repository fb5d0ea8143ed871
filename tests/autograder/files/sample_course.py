"""A tiny source assignment in the course's conventions, written by the tests that need one.

``01-sample/sample.ipynb``: a locked imports cell, two exercises (``relu`` and ``zero_pad``), each
with a visible test (1 point) and a hidden test (2 points); 6 points in all.
"""

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ASSIGNMENT = "01-sample"
NOTEBOOK = "sample"
FUNCTIONS = ("relu", "zero_pad")
# The references of the two exercises: not in the kernel while the sample is graded.
WITHHELD = ("cnnlib.layers.relu_forward", "cnnlib.layers.zero_pad")
POINTS = {"test_relu": 1, "test_relu_hidden": 2, "test_zero_pad": 1, "test_zero_pad_hidden": 2}

IMPORTS = """\
import numpy as np
from cnnlib import layers
from autograder import checks"""

RELU = '''\
def relu(x):
    """Rectified linear unit: max(x, 0) elementwise. x: array of any shape; returns the same shape."""
    ### BEGIN SOLUTION
    return np.maximum(x, 0)
    ### END SOLUTION'''

ZERO_PAD = '''\
def zero_pad(x, pad):
    """Pad a batch of NHWC images with ``pad`` zeros on each side of H and W.

    x: (N, H, W, C); returns (N, H + 2 pad, W + 2 pad, C).
    """
    ### BEGIN SOLUTION
    return np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    ### END SOLUTION'''

TEST_RELU = """\
# Tests relu on a worked example.
checks.assert_close("relu([-1, 0, 2])", relu(np.array([-1.0, 0.0, 2.0])), np.array([0.0, 0.0, 2.0]))"""

# Text that only the hidden tests hold: it must never reach a kernel or a feedback page.
HIDDEN_SECRET = "hidden-test-secret-5f1c0de"

TEST_RELU_HIDDEN = """\
# Tests relu against the reference.
### BEGIN HIDDEN TESTS
# """ + HIDDEN_SECRET + """
rng = np.random.default_rng(0)
checks.compare_with_reference("relu", relu, lambda x: layers.relu_forward(x)[0],
                              [{"x": rng.normal(size=(2, 3, 4, 5))}])
### END HIDDEN TESTS"""

TEST_ZERO_PAD = """\
# Tests zero_pad on a worked example.
checks.assert_equal("zero_pad shape", zero_pad(np.ones((1, 2, 3, 1)), 1).shape, (1, 4, 5, 1))"""

TEST_ZERO_PAD_HIDDEN = """\
# Tests zero_pad against the reference.
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(1)
checks.compare_with_reference("zero_pad", zero_pad, layers.zero_pad,
                              [{"x": rng.normal(size=(2, 3, 4, 2)), "pad": 2}])
### END HIDDEN TESTS"""


def _nbgrader(grade_id, *, solution=False, points=None, locked=False):
    meta = {"grade": points is not None, "grade_id": grade_id, "locked": locked,
            "schema_version": 3, "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def sample_notebook():
    """The source notebook (solutions and hidden tests included)."""
    cells = [
        new_markdown_cell("# Sample assignment\nTwo small functions."),
        new_code_cell(IMPORTS, metadata=_nbgrader("imports", locked=True)),
        new_code_cell(RELU, metadata=_nbgrader("relu", solution=True)),
        new_code_cell(TEST_RELU, metadata=_nbgrader("test_relu", points=1)),
        new_code_cell(TEST_RELU_HIDDEN, metadata=_nbgrader("test_relu_hidden", points=2)),
        new_code_cell(ZERO_PAD, metadata=_nbgrader("zero_pad", solution=True)),
        new_code_cell(TEST_ZERO_PAD, metadata=_nbgrader("test_zero_pad", points=1)),
        new_code_cell(TEST_ZERO_PAD_HIDDEN, metadata=_nbgrader("test_zero_pad_hidden", points=2)),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["cnn_course"] = {"withheld": list(WITHHELD)}
    return nb


def write_sample_source(source_dir):
    """Write ``<source_dir>/01-sample/sample.ipynb`` and return its path."""
    path = source_dir / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(sample_notebook(), path)
    return path
