"""The hub students' cnnlib: the references of unopened assignments withheld until ``cnn-course open``."""

import importlib.util
import inspect

import pytest
import sample_course

import cnnlib.layers
from autograder import cli
from autograder.course.students_library import build_students_library, open_assignment, opened

A = sample_course.ASSIGNMENT


def _zero_pad(library):
    """``zero_pad`` as the students' build defines it (loaded from its file, not this process's cnnlib)."""
    spec = importlib.util.spec_from_file_location("students_layers", library / "cnnlib" / "layers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.zero_pad


@pytest.fixture
def source(tmp_path):
    sample_course.write_sample_source(tmp_path / "course")
    return tmp_path / "course"


def test_withheld_until_opened(source, tmp_path):
    """Before open: the sample's withheld functions are stubs; after: the real ones, whole?"""
    library = tmp_path / "library"
    assert build_students_library(source, library) == sorted(sample_course.WITHHELD)
    stub = _zero_pad(library)
    assert inspect.getsource(stub) != inspect.getsource(cnnlib.layers.zero_pad)
    with pytest.raises(RuntimeError, match="zero_pad is withheld"):
        stub(None, 1)
    assert open_assignment(source, library, A) == [] and opened(library) == [A]
    assert inspect.getsource(_zero_pad(library)) == inspect.getsource(cnnlib.layers.zero_pad)


def test_open_names_the_assignments_there_are(source, tmp_path):
    with pytest.raises(ValueError, match=f"no assignment '99-nothing' in .*expected one of {A}"):
        open_assignment(source, tmp_path / "library", "99-nothing")


def test_open_without_a_library_says_where_to_set_it(source, capsys, monkeypatch):
    monkeypatch.delenv("CNN_STUDENTS_LIBRARY", raising=False)
    assert cli.main(["open", A, "--source", str(source), "--library", ""]) == 2
    assert "--library DIR or $CNN_STUDENTS_LIBRARY" in capsys.readouterr().err
