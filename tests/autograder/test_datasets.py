"""The datasets an assignment's graded cells load are found before any submission is graded.

Grading kernels have no network: without a local copy every submission would lose the points of
the cells that load the data. The run stops first, with a message that says what to do.
"""

import re
from pathlib import Path

import nbformat
import pytest
from helpers import copy_course, gradebook_rows, write_nb

import cnnlib.data
from autograder import cli
from autograder.judge.withheld import METADATA_KEY

COURSE = Path(__file__).resolve().parents[2] / "course"
A, NB = "01-sample", "sample"
LOADERS = {"load_mnist": "mnist", "load_cifar10": "cifar10", "load_cats_and_dogs": "cifar10",
           "head_test_features": "cifar10"}


def _graded_loads(notebook):
    """The datasets that the code cells load outside ``if run_ungraded(...)`` blocks (or ``if FLAG:``
    after ``FLAG = run_ungraded(...)``)."""
    found, flags = set(), set()
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        ungraded_indent = None
        for line in cell.source.splitlines():
            indent = len(line) - len(line.lstrip())
            if ungraded_indent is not None and line.strip() and indent <= ungraded_indent:
                ungraded_indent = None
            flag = re.match(r"\s*(\w+) = run_ungraded\(", line)
            if flag:
                flags.add(flag.group(1))
            condition = re.match(r"\s*if (.*):\s*$", line)
            if condition and (condition.group(1).startswith("run_ungraded(") or condition.group(1) in flags):
                ungraded_indent = indent
            elif ungraded_indent is None:
                found.update(name for loader, name in LOADERS.items() if re.search(rf"\b{loader}\(", line))
    return found


@pytest.mark.parametrize("path", sorted(COURSE.glob("*/*.ipynb")), ids=lambda p: p.parent.name)
def test_each_notebook_declares_the_datasets_its_graded_cells_load(path):
    notebook = nbformat.read(path, 4)
    declared = set(notebook.metadata.get(METADATA_KEY, {}).get("datasets", []))
    assert declared == _graded_loads(notebook)


@pytest.fixture
def no_local_data(tmp_path, monkeypatch):
    """A machine with no copy of any dataset: every folder the loaders search is empty."""
    empty = tmp_path / "nowhere"
    empty.mkdir()
    monkeypatch.delenv(cnnlib.data.DATA_VARIABLE, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(empty / "keras"))
    monkeypatch.setattr(cnnlib.data, "OFFLINE_DIR", empty / "offline")
    return empty


@pytest.mark.slow
def test_grading_stops_before_any_submission_when_a_dataset_is_missing(released_sample, tmp_path, no_local_data,
                                                                        capsys):
    course = copy_course(released_sample, tmp_path / "root", source=tmp_path / "course")
    source = course.source / A / f"{NB}.ipynb"
    notebook = nbformat.read(source, 4)
    notebook.metadata[METADATA_KEY] = {**notebook.metadata.get(METADATA_KEY, {}), "datasets": ["mnist"]}
    nbformat.write(notebook, source)
    folder = tmp_path / "subs"
    write_nb(nbformat.read(course.root / "release" / A / f"{NB}.ipynb", 4), folder / "alice.ipynb")

    common = ["--course-dir", str(course.root), "--source", str(course.source), "--quiet"]
    assert cli.main(["grade", A, str(folder), *common]) == 2
    error = capsys.readouterr().err
    assert f"{A} loads mnist in its graded cells" in error
    assert "nothing was graded" in error
    assert str(no_local_data / "keras" / "datasets") in error and str(no_local_data / "offline") in error
    assert f"set {cnnlib.data.DATA_VARIABLE}=/that/folder" in error
    assert gradebook_rows(course) == []

    notebook.metadata[METADATA_KEY]["datasets"] = []
    nbformat.write(notebook, source)
    assert cli.main(["autograde", A, *common]) == 0
    assert {row[0] for row in gradebook_rows(course)} == {"alice"}
