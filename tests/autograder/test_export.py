"""The class's grades as files: every student of the class in every export, a missing submission
scored 0 with its status, per assignment or for the course, as CSV for the instructor, Canvas or
Moodle."""

import csv
import shutil
import warnings

import nbformat
import pytest
from helpers import write_nb
from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from autograder import cli
from autograder.course.config import COURSE_ID, Course
from autograder.course.release import release_assignments
from autograder.course.reports import export_grades, summary_table

pytestmark = pytest.mark.slow
A, B, C, NB = "01-sample", "02-other", "03-later", "sample"
CELLS = ("test_relu", "test_relu_hidden", "test_zero_pad", "test_zero_pad_hidden")  # 1, 2, 1, 2 points


def _record(course, assignment, student, scores, review=(), autograded=True, submitted=True):
    """Put a student's grading in place as the grader leaves it: the submitted notebook, the
    autograded one (absent when grading failed) and the grades in the gradebook."""
    release = nbformat.read(course.root / "release" / assignment / f"{NB}.ipynb", 4)
    if submitted:
        write_nb(release, course.step_dir("submitted", student, assignment) / f"{NB}.ipynb")
    if autograded:
        write_nb(release, course.step_dir("autograded", student, assignment) / f"{NB}.ipynb")
    if scores is None:
        return
    with Gradebook(course.db_url, COURSE_ID) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        gb.update_or_create_student(student)
        for notebook in gb.update_or_create_submission(assignment, student).notebooks:
            for grade in notebook.grades:
                grade.auto_score = scores[CELLS.index(grade.name)]
                grade.needs_manual_grade = grade.name in review
        gb.db.commit()


@pytest.fixture(scope="module")
def graded_class(released_sample, tmp_path_factory):
    """Three released assignments and five students, one of each status in the first.

    01-sample: alice graded 6; bob 2 with a cell to grade by hand; carol's grading failed (0);
    dave handed in no notebook (0); erin imported, not autograded yet. 02-other: alice 3, the
    others nothing (missing, 0). 03-later: released, nothing collected yet.
    """
    base = tmp_path_factory.mktemp("export")
    source = base / "course"
    shutil.copytree(released_sample.source, source)
    shutil.copytree(source / A, source / B)
    shutil.copytree(source / A, source / C)
    course = Course(root=base / "root", source=source, limits=released_sample.limits)
    release_assignments(course)
    _record(course, A, "alice", [1, 2, 1, 2])
    _record(course, A, "bob", [1, 0, 1, 0], review={"test_relu_hidden"})
    _record(course, A, "carol", [0, 0, 0, 0], autograded=False)
    _record(course, A, "dave", [0, 0, 0, 0], autograded=False, submitted=False)
    _record(course, A, "erin", None, autograded=False)
    _record(course, B, "alice", [1, 2, 0, 0])
    return course


def _read(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_course_csv_scores_missing_work_0_with_a_status(graded_class):
    """Does grades.csv hold a row per student, 0 and 'missing' for no submission, a status each?"""
    path = export_grades(graded_class)
    assert path == graded_class.root / "grades.csv"
    rows = _read(path)
    assert rows[0] == ["student_id", *(f"{A}/{c}" for c in CELLS), f"{A}/total", f"{A}/status",
                       *(f"{B}/{c}" for c in CELLS), f"{B}/total", f"{B}/status", "total"]
    assert rows[1] == ["max", "1", "2", "1", "2", "6", "", "1", "2", "1", "2", "6", "", "12"]
    assert rows[2:] == [
        ["alice", "1", "2", "1", "2", "6", "graded", "1", "2", "0", "0", "3", "graded", "9"],
        ["bob", "1", "0", "1", "0", "2", "needs manual review", "0", "0", "0", "0", "0", "missing", "2"],
        ["carol", "0", "0", "0", "0", "0", "failed", "0", "0", "0", "0", "0", "missing", "0"],
        ["dave", "0", "0", "0", "0", "0", "missing", "0", "0", "0", "0", "0", "missing", "0"],
        ["erin", "", "", "", "", "", "not graded", "0", "0", "0", "0", "0", "missing", "0"],
    ]


def test_one_assignment_csv(graded_class, tmp_path):
    """Does --assignment B export only B's columns, for the whole class, into the file asked for?"""
    path = export_grades(graded_class, tmp_path / "b.csv", assignment=B)
    rows = _read(path)
    assert rows[0] == ["student_id", *(f"{B}/{c}" for c in CELLS), f"{B}/total", f"{B}/status", "total"]
    assert [row[0] for row in rows[2:]] == ["alice", "bob", "carol", "dave", "erin"]
    assert [row[-3:] for row in rows[2:]] == [["3", "graded", "3"]] + [["0", "missing", "0"]] * 4


def test_canvas_gradebook_import_form(graded_class):
    """Canvas: its five identity columns, a column per assignment, the Points Possible row?"""
    rows = _read(export_grades(graded_class, form="canvas"))
    assert rows == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", A, B],
        ["Points Possible", "", "", "", "", "6", "6"],
        ["alice", "", "", "alice", "", "6", "3"],
        ["bob", "", "", "bob", "", "2", "0"],
        ["carol", "", "", "carol", "", "0", "0"],
        ["dave", "", "", "dave", "", "0", "0"],
        ["erin", "", "", "erin", "", "", "0"],
    ]


def test_canvas_uses_the_gradebook_names(graded_class, tmp_path):
    """Does Canvas' Student column show "Last, First" for a student the gradebook has names for?"""
    root = tmp_path / "root"
    shutil.copytree(graded_class.root, root, symlinks=True)
    course = Course(root=root, source=graded_class.source, limits=graded_class.limits)
    with Gradebook(course.db_url, COURSE_ID) as gb:
        gb.update_or_create_student("alice", first_name="Alice", last_name="Liddell")
    path = export_grades(course, assignment=A, form="canvas")
    assert path == course.root / f"grades-{A}-canvas.csv"
    assert _read(path)[2] == ["Liddell, Alice", "", "", "alice", "", "6"]


def test_moodle_grade_import_form(graded_class):
    """Moodle: a username column, a column per assignment, no row that is not a student?"""
    path = export_grades(graded_class, assignment=A, form="moodle")
    assert path == graded_class.root / f"grades-{A}-moodle.csv"
    assert _read(path) == [["username", A], ["alice", "6"], ["bob", "2"], ["carol", "0"], ["dave", "0"],
                           ["erin", ""]]


def test_unknown_format_is_refused(graded_class, capsys):
    """Does `export --format` name the forms it knows, writing nothing?"""
    before = sorted(graded_class.root.iterdir())
    assert cli.main(["export", "--course-dir", str(graded_class.root), "--source", str(graded_class.source),
                     "--format", "blackboard"]) == 2
    assert "Unknown export format 'blackboard'. Expected one of csv, canvas, moodle." in capsys.readouterr().err
    assert sorted(graded_class.root.iterdir()) == before


def test_summary_lists_the_whole_class_with_statuses(graded_class):
    """Does the summary have a line per student and assignment, with score and status?"""
    table = summary_table(graded_class)
    lines = {tuple(part.strip() for part in line.split("|")[:4]) for line in table.splitlines()}
    assert ("bob", A, "2 / 6", "needs manual review") in lines
    assert ("erin", A, "- / 6", "not graded") in lines
    assert ("dave", B, "0 / 6", "missing") in lines
    assert len([line for line in table.splitlines() if "|" in line]) == 1 + 5 * 2


def test_exports_and_summary_hold_the_collected_assignments_only(graded_class, tmp_path):
    """With 03-later released but nothing collected, do the exports and the summary leave it out
    (no column of zeros that would create a zero-graded assignment on Canvas), unless asked?"""
    assert not [name for name in _read(export_grades(graded_class))[0] if name.startswith(C)]
    canvas = _read(export_grades(graded_class, tmp_path / "canvas.csv", form="canvas"))
    assert canvas[0][5:] == [A, B]
    assert C not in summary_table(graded_class)
    everything = _read(export_grades(graded_class, tmp_path / "all.csv", form="canvas", everything=True))
    assert everything[0][5:] == [A, B, C] and {row[7] for row in everything[2:]} == {"0"}
    assert len([line for line in summary_table(graded_class, everything=True).splitlines() if "|" in line]) == 1 + 5 * 3
    assert C in summary_table(graded_class, [C])
    common = ["--course-dir", str(graded_class.root), "--source", str(graded_class.source)]
    assert cli.main(["export", *common, "--format", "moodle", "--all", "--to", str(tmp_path / "m.csv")]) == 0
    assert _read(tmp_path / "m.csv")[0] == ["username", A, B, C]


def test_nothing_collected_yet_is_said(released_sample, tmp_path, capsys):
    """Released but nothing imported: do export and summary say what to run first, writing nothing?"""
    course = Course(root=tmp_path / "root", source=released_sample.source, limits=released_sample.limits)
    release_assignments(course)
    for command in ("export", "summary"):
        assert cli.main([command, "--course-dir", str(course.root), "--source", str(course.source)]) == 2
        assert "no submission has been imported or graded" in capsys.readouterr().err
    assert not (course.root / "grades.csv").exists()


def test_exports_of_a_graded_class(course, solved_nb, tmp_path, capsys):
    """Graded for real through the command line: the solved notebook, the untouched release and no
    notebook at all: are the exports' scores and statuses right?"""
    folder = tmp_path / "in"
    write_nb(solved_nb, folder / "alice.ipynb")
    shutil.copy(course.root / "release" / A / f"{NB}.ipynb", folder / "bob.ipynb")
    (folder / "carol").mkdir()
    (folder / "carol" / "notes.txt").write_text("I ran out of time.")
    common = ["--course-dir", str(course.root), "--source", str(course.source), "--quiet",
              "--timeout", str(course.limits.cell_timeout), "--memory-mb", str(course.limits.memory_mb)]
    assert cli.main(["grade", *common, A, str(folder)]) == 0
    said = capsys.readouterr().out.splitlines()
    # Each student's import says "imported", not "ok" (bob's untouched release scores 0); the summary
    # then gives the scores, and the run ends with what it did and the next step.
    assert "bob: imported" in said and not [line for line in said if line.endswith(": ok")]
    assert [line for line in said if line.startswith("bob ") and "0 / 6" in line and "graded" in line]
    assert said[-2].startswith(f"Graded {A}") and said[-1].startswith("Next: ") and "export" in said[-1]
    assert sum(line.startswith("Next: ") for line in said) == 1
    rows = {row[0]: row for row in _read(course.root / "grades.csv")}
    assert [rows[s][-3:] for s in ("alice", "bob", "carol")] == [
        ["6", "graded", "6"], ["0", "graded", "0"], ["0", "missing", "0"]]
    assert cli.main(["export", *common, "--assignment", A, "--format", "moodle"]) == 0
    assert _read(course.root / f"grades-{A}-moodle.csv")[1:] == [["alice", "6"], ["bob", "0"], ["carol", "0"]]
