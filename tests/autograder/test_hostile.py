"""Hostile and broken submissions, graded together in one class.

Each case is built here, from the sample's source notebook. The question each test answers: does
this submission end with the score of its intact parts, a note saying what happened, and no harm
to the run or to the other students?
"""

import shutil
import sqlite3

import nbformat
import pytest
from helpers import copy_course, scores, write_nb
from variants import answer, cell, prepend

from autograder.course.reports import summary_table
from autograder.course.submissions import import_submissions
from autograder.grading.feedback import generate_feedback
from autograder.grading.pipeline import autograde
from autograder.render import notes

pytestmark = pytest.mark.slow

A, NB = "01-sample", "sample"

# student id -> (expected score, a fragment of the expected note or None)
EXPECTED = {
    "correct": (6, None),
    "unchanged_release": (0, None),
    "relu_wrong": (3, None),
    "endless_loop": (3, "ran past the time limit"),
    "stubborn_loop": (3, "ran past the time limit"),
    "memory_bomb": (3, "ran out of memory"),
    "import_error": (3, None),
    "sys_exit": (3, None),
    "os_exit": (3, "stopped the kernel"),
    "killed_kernel": (3, "stopped the kernel"),
    "exits_between_plots": (6, "stopped the kernel"),
    "edited_test": (3, "was edited"),
    "deleted_tests": (6, "was deleted"),
    "changed_metadata": (3, "unknown grade id"),
    "duplicated_cells": (6, "appears 2 times"),
    "not_json": (0, "not valid JSON"),
    "empty_file": (0, "empty"),
    "no_cells": (0, "no cells"),
    "missing": (0, "no notebook was submitted"),
    "renamed": (6, "was graded as sample.ipynb"),
    "extra_files": (6, "extra files were ignored"),
    "calls_reference": (3, "calls cnnlib.layers.relu_forward, which is withheld"),
    "monkeypatch": (3, None),
    "writes_course": (6, None),
    "floods_output": (6, "printed too much"),
    "not_utf8": (6, "not valid UTF-8"),
    "twice": (6, "2 submissions were found"),
    "Zoë_O_Brien_2_": (6, "is stored as"),
}


def _submissions(folder, source, release, course):
    """Write every case into ``folder`` as a student would hand it in."""
    wrong_relu = answer(source, "relu", "return x")
    cases = {
        "correct": source,
        "unchanged_release": release,
        "relu_wrong": wrong_relu,
        "endless_loop": answer(source, "relu", "while True:\n    pass"),
        "stubborn_loop": answer(source, "relu", "while True:\n    try:\n        while True:\n"
                                "            pass\n    except KeyboardInterrupt:\n        pass"),
        "memory_bomb": answer(source, "relu", "hog = []\nwhile True:\n    hog.append(bytearray(10**9))"),
        "import_error": prepend(source, "relu", "import a_module_that_does_not_exist"),
        "sys_exit": answer(source, "relu", "import sys\nsys.exit(1)"),
        "os_exit": answer(source, "relu", "import os\nos._exit(0)"),
        "killed_kernel": answer(source, "relu", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"),
    }
    edited = answer(source, "relu", "return x")
    cell(edited, "test_relu").source = "pass  # this test always passes"
    cases["edited_test"] = edited

    deleted = nbformat.from_dict(source)
    deleted.cells = [c for c in deleted.cells if not c.metadata.get("nbgrader", {}).get("grade")]
    cases["deleted_tests"] = deleted

    changed = answer(source, "relu", "return x")
    cell(changed, "test_relu").metadata["nbgrader"]["points"] = 100
    cell(changed, "test_relu_hidden").metadata["nbgrader"]["grade_id"] = "free_points"
    cases["changed_metadata"] = changed

    duplicated = nbformat.from_dict(source)
    extra = nbformat.from_dict(cell(duplicated, "test_zero_pad"))
    extra.source = "pass"
    extra.metadata["nbgrader"]["points"] = 50
    duplicated.cells.insert(2, extra)
    cases["duplicated_cells"] = duplicated

    cases["calls_reference"] = answer(source, "relu", "return layers.relu_forward(x)[0]")
    cases["monkeypatch"] = prepend(answer(source, "relu", "return x"), "relu",
                                   "np.allclose = lambda *a, **k: True\n"
                                   "np.testing.assert_allclose = lambda *a, **k: None\n"
                                   "import builtins\nbuiltins.abs = lambda x: 0")
    cases["writes_course"] = prepend(source, "relu", (
        "import os\n"
        f"for target in ['../../../gradebook.db', '../../gradebook.db', 'gradebook.db', {str(course.gradebook)!r},\n"
        "               '../../../source/01-sample/sample.ipynb']:\n"
        "    try:\n"
        "        with open(target, 'wb') as f:\n"
        "            f.write(b'overwritten by a submission')\n"
        "    except OSError:\n"
        "        pass"))
    cases["floods_output"] = prepend(source, "relu", "print('x' * 100_000_000)")
    cases["exits_between_plots"] = _exits_between_plots(source)
    for student, nb in cases.items():
        write_nb(nb, folder / f"{student}.ipynb")

    (folder / "not_json.ipynb").write_text('{"cells": [ this is not json')
    (folder / "empty_file.ipynb").write_bytes(b"")
    no_cells = nbformat.from_dict(source)
    no_cells.cells = []
    write_nb(no_cells, folder / "no_cells.ipynb")
    (folder / "missing").mkdir()
    (folder / "missing" / "notes.txt").write_text("I forgot the notebook")
    write_nb(source, folder / "renamed" / "sample (1).ipynb")
    write_nb(source, folder / "extra_files" / f"{NB}.ipynb")
    (folder / "extra_files" / "helper.py").write_text("x = 1\n")
    text = nbformat.writes(source).replace("Two small functions.", "Deux petites fonctions \\u00e9t\\u00e9.")
    (folder / "not_utf8.ipynb").write_bytes(text.encode("utf-8").replace(b"\\u00e9", b"\xe9"))
    write_nb(wrong_relu, folder / "twice.ipynb")
    write_nb(source, folder / "twice" / f"{NB}.ipynb")  # written later: the latest one
    write_nb(source, folder / "Zoë O'Brien (2).ipynb")


PLOT = "import matplotlib\nimport matplotlib.pyplot as plt\nplt.plot([0, 1])\nplt.show()\n"


def _exits_between_plots(source):
    """A correct notebook with three cells of the student's own: a plot (which also records the
    backend it was drawn with), a crash, and another plot."""
    nb = nbformat.from_dict(source)
    at = nb.cells.index(cell(nb, "relu")) + 1
    nb.cells[at:at] = [nbformat.v4.new_code_cell(PLOT + "backends = [matplotlib.get_backend()]"),
                       nbformat.v4.new_code_cell("import os\nos._exit(0)"),
                       nbformat.v4.new_code_cell(PLOT + "print('plotted after the crash with', backends)")]
    return nb


@pytest.fixture(scope="module")
def graded(released_sample, solved_nb, release_nb, tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    course = copy_course(released_sample, base / "root")
    folder = base / "submissions"
    folder.mkdir()
    _submissions(folder, solved_nb, release_nb, course)
    import_submissions(course, A, folder)
    results = autograde(course, A, workers=2, progress=False)
    return course, results


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_score_and_note(graded, student):
    """Does the submission get the points of its intact parts, and a note saying what happened?"""
    course, _ = graded
    expected_score, expected_note = EXPECTED[student]
    assert scores(course).get(student) == expected_score
    lines = notes.read(course.root, A, student)
    if expected_note:
        assert any(expected_note in line for line in lines), lines


def test_cells_run_again_after_a_crash_draw_nothing_and_later_plots_are_kept(graded):
    """After a kernel crash, are the cells run again (in the new kernel) drawn with Agg, whose
    figures are never rendered, while the cells after the crash still show their plots?"""
    course, _ = graded
    autograded = course.step_dir("autograded", "exits_between_plots", A) / f"{NB}.ipynb"
    cells = [c for c in nbformat.read(autograded, 4).cells if c.cell_type == "code"]
    first, after = (next(c for c in cells if c.source.startswith(PLOT) and marker in c.source)
                    for marker in ("backends =", "after the crash"))
    for plot in (first, after):
        assert any("image/png" in o.get("data", {}) for o in plot.outputs), plot.outputs
    printed = "".join(o.get("text", "") for o in after.outputs)
    assert "plotted after the crash with ['agg']" in printed, after.outputs


def test_every_student_is_graded_once(graded):
    """Are all submissions in the gradebook, none twice, with the run unharmed?"""
    course, results = graded
    with sqlite3.connect(course.gradebook) as db:
        per_student = dict(db.execute(
            "SELECT student_id, COUNT(*) FROM submitted_assignment GROUP BY student_id").fetchall())
        (grades,) = db.execute("SELECT COUNT(*) FROM grade").fetchone()
    assert per_student == {student: 1 for student in EXPECTED}
    assert grades == 4 * len(EXPECTED)
    assert set(results) == set(EXPECTED)


def test_course_files_survive(graded):
    """Do relative and absolute writes from a submission leave the course's files intact?"""
    course, _ = graded
    assert course.gradebook.read_bytes()[:16] == b"SQLite format 3\x00"
    source = course.source / A / f"{NB}.ipynb"
    assert nbformat.read(source, 4).cells[0].source.startswith("# Sample assignment")


def test_summary_and_feedback_show_the_notes(graded):
    """Does the instructor summary have a line per student, and the feedback the grader's notes?"""
    course, _ = graded
    table = summary_table(course, [A])
    for student in EXPECTED:
        assert student in table
    assert "ran past the time limit" in table
    generate_feedback(course, A, workers=2, progress=False, students=["endless_loop", "correct"])
    html = (course.root / "feedback" / "endless_loop" / A / f"{NB}.html").read_text()
    assert "Notes from the grader" in html and "ran past the time limit" in html
    assert "BEGIN HIDDEN TESTS" not in html and "compare_with_reference" not in html
    shutil.rmtree(course.root / "feedback")
