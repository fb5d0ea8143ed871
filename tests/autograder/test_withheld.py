"""The course library as a graded kernel sees it: answers out, everything else intact."""

import importlib.util
import inspect
from pathlib import Path

import pytest

import cnnlib
import cnnlib.layers
from autograder.judge.allowed import build_stubs
from autograder.judge.withheld import ReferenceWithheld, build_library


def _load(copy, module):
    spec = importlib.util.spec_from_file_location(f"withheld_copy_{module}", copy / f"{module}.py")
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def test_withheld_functions_and_their_private_helpers_only_raise(tmp_path):
    """Are conv2d_forward and the private helpers it uses stubs, while other functions work?"""
    copy = build_library(Path(cnnlib.__file__).parent, ["cnnlib.layers.conv2d_forward"], tmp_path)
    layers = _load(copy, "layers")
    with pytest.raises(ReferenceWithheld, match="cnnlib.layers.conv2d_forward is withheld"):
        layers.conv2d_forward(None, None, None)
    import numpy as np

    out, _ = layers.relu_forward(np.array([-1.0, 2.0]))
    assert out.tolist() == [0.0, 2.0]
    text = (copy / "layers.py").read_text()
    real = inspect.getsource(cnnlib.layers.conv2d_forward)
    assert real.splitlines()[-1].strip() not in text
    assert inspect.signature(layers.conv2d_forward) == inspect.signature(cnnlib.layers.conv2d_forward)
    assert (copy / "weights").is_dir() and not list(copy.rglob("__pycache__"))


@pytest.mark.parametrize("name, message", [
    ("cnnlib.layers.no_such_function", "not defined"),
    ("cnnlib.nowhere.f", "not a module"),
    ("numpy.sum", "expected cnnlib"),
])
def test_a_wrong_withheld_name_is_refused(tmp_path, name, message):
    """Does a typo in a notebook's withheld list stop grading with a message naming it?"""
    with pytest.raises(ValueError, match=message):
        build_library(Path(cnnlib.__file__).parent, [name], tmp_path)


def test_stubs_bind_only_the_folders_found_on_the_module_path(tmp_path):
    """Once imported, TensorFlow adds its own ``_api/v2`` to its package path; a stub bound there,
    inside the stub of ``tensorflow`` itself, would stop the sandbox from starting. Are the stubs'
    places the module path's folders, none inside another, whatever the grader imported?"""
    import tensorflow

    places = build_stubs(["tensorflow"], tmp_path)
    assert len(tensorflow.__path__) > 1
    assert list(places) == [str(Path(tensorflow.__file__).resolve().parent)]
