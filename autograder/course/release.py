"""Releasing assignments: nbgrader's ``generate_assignment`` on the course's source notebooks.

- :func:`release_assignments` releases into an instructor's course root (``release/`` and the
  gradebook, which records the cells and points that grading checks against).
- :func:`build_student_tree` produces the student version of the course in any folder, through a
  throw-away course root (for Binder images, a student's download, tests). It records nothing in
  a course root: grading needs :func:`release_assignments`.
- :func:`released` is what every grading step checks first: an assignment that is not in the
  gradebook cannot be graded, and nothing is written for it.
"""

import contextlib
import shutil
import sqlite3
import tempfile
from pathlib import Path

from autograder.course.config import (
    COURSE_SOURCE,
    DEFAULT_COURSE_ROOT,
    Course,
    check_step,
)

# Text that must never reach a student: nbgrader removes the regions these markers open.
INSTRUCTOR_ONLY = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


def release_assignments(course, assignments=None, progress=False):
    """Run ``generate_assignment --force`` for each assignment (all when ``assignments`` is None).

    Idempotent: releasing again rebuilds the same release and leaves the gradebook as it was.

    Args:
        course: an :class:`autograder.course.config.Course`.
        assignments: assignment ids, or None for every assignment in the course source.
        progress: show a progress bar.

    Returns:
        the release folders, ``<root>/release/<assignment>``, in teaching order.

    Raises:
        ValueError: for an unknown assignment. NbgraderFailed: if nbgrader fails.
    """
    from tqdm import tqdm

    course.prepare()
    api = course.api()
    released = []
    for assignment in tqdm(course.assignments(assignments), desc="release", unit="assignment",
                           disable=not progress):
        check_step(api.generate_assignment(assignment, force=True, create=True),
                   f"generate_assignment {assignment}")
        folder = course.root / "release" / assignment
        _check_student_safe(folder)
        released.append(folder)
    return released


def build_student_tree(dest, assignments=None, source=None):
    """Write the student version of the course: ``dest/<assignment>/<notebook>.ipynb``.

    Solutions become nbgrader's stub and hidden tests are removed; other files of an assignment
    folder are copied as they are. An existing ``dest/<assignment>`` is replaced.

    Args:
        dest: folder to write into (created if needed).
        assignments: assignment ids, or None for every assignment in ``course/``.
        source: folder of source assignments (the project's ``course/`` by default).

    Returns:
        the paths of the student notebooks written, in teaching order.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    notebooks = []
    with tempfile.TemporaryDirectory(prefix="cnn-course-release-") as tmp:
        course = Course(root=Path(tmp) / "root", **({"source": Path(source)} if source else {}))
        for folder in release_assignments(course, assignments):
            target = dest / folder.name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(folder, target)
            notebooks += sorted(target.glob("*.ipynb"))
    return notebooks


class NotReleased(ValueError):
    """A grading step was asked for an assignment that the course root's gradebook does not hold."""


def released_assignments(course):
    """The assignments released into ``course.root`` (recorded in its gradebook), in teaching order.

    Reads the gradebook without changing it: an absent, empty or unreadable gradebook holds none.
    """
    if not course.gradebook.is_file():
        return []
    uri = f"{course.gradebook.resolve().as_uri()}?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
            rows = db.execute("SELECT DISTINCT assignment.name FROM assignment "
                              "JOIN notebook ON notebook.assignment_id = assignment.id").fetchall()
    except sqlite3.DatabaseError:
        return []
    return sorted(name for (name,) in rows)


def released(course, assignments=None):
    """The assignments a grading step works on: ``assignments``, each checked, or every released one.

    Args:
        course: an :class:`autograder.course.config.Course`.
        assignments: assignment ids, or None (or empty) for every assignment released so far.

    Returns:
        the assignment ids, in the order given (teaching order when ``assignments`` is None).

    Raises:
        ValueError: for an assignment that is not in the course source, naming the ones that are.
        NotReleased: for an assignment that has not been released into ``course.root`` (or, when
            ``assignments`` is None, if none has), naming the command that releases it.
    """
    done = released_assignments(course)
    if not assignments:
        if not done:
            raise NotReleased(f"no assignment has been released in {course.root}: "
                              f"run `{_release_command(course)}` first")
        return done
    course.assignments(assignments)
    for assignment in assignments:
        if assignment not in done:
            raise NotReleased(f"assignment {assignment} has not been released in {course.root}: "
                              f"run `{_release_command(course, assignment)}` first")
    return list(assignments)


def _release_command(course, assignment=None):
    words = ["cnn-course"]
    if course.root.resolve() != DEFAULT_COURSE_ROOT.resolve():
        words += ["--course-dir", str(course.root)]
    if course.source.resolve() != COURSE_SOURCE.resolve():
        words += ["--source", str(course.source)]
    return " ".join(words + ["release"] + ([assignment] if assignment else []))


def _check_student_safe(folder):
    for notebook in folder.glob("*.ipynb"):
        text = notebook.read_text(encoding="utf-8")
        leaked = [marker for marker in INSTRUCTOR_ONLY if marker in text]
        if leaked:
            raise RuntimeError(f"{notebook} still contains {leaked}: check its nbgrader cell metadata "
                               "(solution and hidden-test regions must be in nbgrader cells).")
