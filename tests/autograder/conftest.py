"""Fixtures that build temporary course roots around the sample assignment in files/."""

import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).parent / "files"))

import sample_course  # noqa: E402  (files/ is not a package)
from helpers import TEST_LIMITS, copy_course, solved  # noqa: E402

from autograder.course.config import Course  # noqa: E402
from autograder.course.release import release_assignments  # noqa: E402


@pytest.fixture(scope="session")
def released_sample(tmp_path_factory):
    """A course root with the sample assignment released (built once per test session)."""
    base = tmp_path_factory.mktemp("sample-course")
    source = base / "course"
    sample_course.write_sample_source(source)
    course = Course(root=base / "root", source=source, limits=TEST_LIMITS)
    release_assignments(course)
    return course


@pytest.fixture
def course(released_sample, tmp_path):
    """A fresh copy of the released sample course, for one test."""
    return copy_course(released_sample, tmp_path / "root")


@pytest.fixture(scope="session")
def source_nb(released_sample):
    return nbformat.read(released_sample.source / sample_course.ASSIGNMENT / f"{sample_course.NOTEBOOK}.ipynb", 4)


@pytest.fixture(scope="session")
def release_nb(released_sample):
    return nbformat.read(released_sample.root / "release" / sample_course.ASSIGNMENT
                         / f"{sample_course.NOTEBOOK}.ipynb", 4)


@pytest.fixture(scope="session")
def solved_nb(source_nb, release_nb):
    """What a student who solved everything hands in: the release with the answers filled in."""
    return solved(release_nb, source_nb)
