"""The instructor's round trip through ``cnn-course`` and the guarantees of each step:
release, import, autograde, feedback, export; parallel grading; idempotence; validation."""

import csv
import io
import subprocess
import sys
import zipfile

import pytest
from helpers import copy_course, gradebook_rows, scores, write_nb
from variants import answer

from autograder import cli
from autograder.course.release import (
    INSTRUCTOR_ONLY,
    build_student_tree,
    release_assignments,
)
from autograder.course.submissions import import_submissions
from autograder.course.validate import validate
from autograder.grading.pipeline import autograde

pytestmark = pytest.mark.slow
A, NB = "01-sample", "sample"


def _cli(course, *args):
    common = ["--course-dir", str(course.root), "--source", str(course.source), "--timeout",
              str(course.limits.cell_timeout), "--memory-mb", str(course.limits.memory_mb), "--quiet"]
    command, *rest = args
    return cli.main([command, *common, *rest])


def test_student_tree_has_no_solutions_or_hidden_tests(released_sample, tmp_path):
    """Does build_student_tree write dest/<assignment>/<notebook>.ipynb with stubs and no hidden tests?"""
    (notebook,) = build_student_tree(tmp_path / "student", source=released_sample.source)
    assert notebook == tmp_path / "student" / A / f"{NB}.ipynb"
    text = notebook.read_text()
    assert not any(marker in text for marker in INSTRUCTOR_ONLY)
    assert "raise NotImplementedError()" in text and "np.maximum" not in text


@pytest.mark.parametrize("command", ["release", "import", "autograde", "feedback", "export", "summary",
                                     "grade", "validate"])
def test_every_subcommand_has_help(command, capsys):
    """Does every subcommand answer --help?"""
    with pytest.raises(SystemExit) as exit_:
        cli.main([command, "--help"])
    assert exit_.value.code == 0
    assert "usage: cnn-course " + command in capsys.readouterr().out


def test_round_trip(course, solved_nb, release_nb, tmp_path, capsys):
    """Release, import a zip, autograde, feedback, export, summary: are the grades right everywhere?"""
    folder = tmp_path / "in"
    write_nb(solved_nb, folder / "alice.ipynb")
    write_nb(release_nb, folder / "bob" / f"{NB}.ipynb")
    write_nb(answer(solved_nb, "relu", "return x"), folder / "carol.ipynb")
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*.ipynb")):
            zf.write(path, path.relative_to(folder))

    assert _cli(course, "release") == 0
    assert _cli(course, "grade", A, str(archive)) == 0
    out = capsys.readouterr().out
    assert "alice" in out and "6 / 6" in out and "carol" in out and "3 / 6" in out

    with open(course.root / "grades.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert rows["max"][f"{A}/total"] == "6" and rows["max"][f"{A}/test_relu_hidden"] == "2"
    assert [rows[s][f"{A}/total"] for s in ("alice", "bob", "carol")] == ["6", "0", "3"]
    assert rows["carol"][f"{A}/test_relu"] == "0" and rows["carol"][f"{A}/test_zero_pad_hidden"] == "2"
    assert rows["alice"]["total"] == "6"

    for student in ("alice", "bob", "carol"):
        html = (course.root / "feedback" / student / A / f"{NB}.html").read_text()
        assert "BEGIN HIDDEN TESTS" not in html and "compare_with_reference" not in html


def test_steps_are_idempotent(course, solved_nb, release_nb, tmp_path):
    """Do release, import and autograde, run twice, leave the same files and gradebook?"""
    folder = tmp_path / "in"
    write_nb(solved_nb, folder / "alice.ipynb")
    write_nb(release_nb, folder / "bob.ipynb")
    import_submissions(course, A, folder)
    autograde(course, A, workers=2, progress=False)
    before = gradebook_rows(course)
    submitted = {p: p.read_bytes() for p in (course.root / "submitted").rglob("*") if p.is_file()}

    release_assignments(course)
    import_submissions(course, A, folder)
    assert autograde(course, A, workers=2, progress=False) == {}  # nothing new to grade
    assert gradebook_rows(course) == before
    assert {p: p.read_bytes() for p in (course.root / "submitted").rglob("*") if p.is_file()} == submitted
    autograde(course, A, workers=2, force=True, progress=False)
    assert gradebook_rows(course) == before


def test_parallel_grading_loses_and_duplicates_nothing(released_sample, solved_nb, release_nb, tmp_path):
    """Across three forced parallel runs, is every grade present once, with the same value?"""
    course = copy_course(released_sample, tmp_path / "root")
    folder = tmp_path / "in"
    expected = {}
    for i in range(8):
        nb, score = [(solved_nb, 6), (release_nb, 0), (answer(solved_nb, "relu", "return x"), 3),
                     (answer(solved_nb, "zero_pad", "return x"), 3)][i % 4]
        write_nb(nb, folder / f"s{i}.ipynb")
        expected[f"s{i}"] = score
    import_submissions(course, A, folder)
    runs = []
    for _ in range(3):
        autograde(course, A, workers=2, force=True, progress=False)
        runs.append(gradebook_rows(course))
        assert scores(course) == expected
    assert runs[0] == runs[1] == runs[2]
    assert len(runs[0]) == len(set(runs[0])) == 4 * len(expected)


def test_validate_reports_failing_and_passing_notebooks(solved_nb, release_nb, tmp_path):
    """Does validation pass a solved notebook, fail the release, and does the console script agree?"""
    good = write_nb(solved_nb, tmp_path / "good" / f"{NB}.ipynb")
    bad = write_nb(release_nb, tmp_path / "bad" / f"{NB}.ipynb")
    report = io.StringIO()
    assert validate(good, timeout=10, stream=report) is True
    assert "Success!" in report.getvalue()
    assert validate(bad, timeout=10, stream=io.StringIO()) is False
    script = subprocess.run([sys.executable, "-m", "autograder.cli", "validate", str(bad)],
                            capture_output=True, text=True)
    assert script.returncode == 1 and "VALIDATION FAILED" in script.stdout
