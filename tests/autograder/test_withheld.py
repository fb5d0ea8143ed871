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


def _cnnlib_calls(package_dir, name):
    """The public functions of the course library that ``cnnlib.<module>.<function>`` calls, directly
    or through the module's private helpers: names of its module, and names it imports from another."""
    import ast

    _, module, function = name.split(".")
    tree = ast.parse((package_dir / f"{module}.py").read_text())
    defined = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    imported = {alias.asname or alias.name: f"cnnlib.{node.module.split('.', 1)[1]}.{alias.name}"
                for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cnnlib.")
                for alias in node.names}
    found, seen, todo = set(), set(), [function]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for node in ast.walk(defined[current]):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                called = node.func.id
                if called in defined and called not in seen:
                    todo.append(called)
                    if not called.startswith("_"):
                        found.add(f"cnnlib.{module}.{called}")
                elif called in imported and not called.startswith("_"):
                    found.add(imported[called])
    return found


@pytest.mark.parametrize("notebook", sorted(Path(__file__).parents[2].glob("course/*/*.ipynb")), ids=lambda p: p.parent.name)
def test_every_function_a_notebook_allows_can_run(notebook):
    """An allowed function of cnnlib that calls another public one (recorded_history calls
    history_file_stem): is that one allowed too, so that the allowed function is not withheld
    through it while the notebook is graded?"""
    import nbformat

    from autograder.judge.allowed import cnnlib_not_allowed

    imports = nbformat.read(str(notebook), 4).metadata.get("cnn_course", {}).get("imports")
    if imports is None:
        pytest.skip("no allow-list")
    package_dir = Path(cnnlib.__file__).parent
    withheld = set(cnnlib_not_allowed(package_dir, imports))
    allowed = [name for name in imports if name.count(".") == 2 and name.startswith("cnnlib.")]
    missing = {name: sorted(_cnnlib_calls(package_dir, name) & withheld) for name in allowed}
    assert {name: calls for name, calls in missing.items() if calls} == {}
