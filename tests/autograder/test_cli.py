"""``cnn-course`` as an instructor types it: global options in either place, an assignment that
was never released into the course root, the console script run by its path."""

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from helpers import write_nb
from variants import answer

from autograder import checks, cli
from autograder.course.config import Course
from autograder.course.validate import validate
from autograder.judge.testcells import is_test_cell

A, NB = "01-sample", "sample"
# The console script of this environment, run by its path with a PATH that does not hold it.
SCRIPT = Path(sys.executable).parent / "cnn-course"
BARE_PATH = os.pathsep.join(p for p in ("/usr/bin", "/bin") if Path(p).is_dir())

# The smallest command line of each command, after the command name.
COMMANDS = {
    "release": [], "import": [A, "subs"], "autograde": [], "feedback": [], "export": [],
    "summary": [], "grade": [A, "subs"], "validate": ["nb.ipynb"], "report": [], "mistakes": [],
}
GLOBAL = ["--course-dir", "/elsewhere/root", "--source", "/elsewhere/course", "--timeout", "7",
          "--memory-mb", "999", "--quiet"]
GLOBAL_VALUES = dict(course_dir="/elsewhere/root", source="/elsewhere/course", timeout=7, memory_mb=999,
                     progress=False)


@pytest.mark.parametrize("command", COMMANDS)
def test_global_options_go_before_or_after_the_command(command):
    """Does `cnn-course OPTIONS COMMAND` read the options as `cnn-course COMMAND OPTIONS` does?"""
    parser = cli.build_parser()
    before = vars(parser.parse_args([*GLOBAL, command, *COMMANDS[command]]))
    after = vars(parser.parse_args([command, *COMMANDS[command], *GLOBAL]))
    assert before == after
    assert {name: before[name] for name in GLOBAL_VALUES} == GLOBAL_VALUES


def test_an_option_after_the_command_wins():
    """Given in both places, is the one after the command used (and are defaults kept otherwise)?"""
    args = cli.build_parser().parse_args(["--course-dir", "first", "summary", "--course-dir", "second"])
    assert args.course_dir == "second" and args.progress is True and args.timeout is None


def _unreleased_course(tmp_path, released_sample):
    """A course root that holds the sample source but no release, and a folder of submissions."""
    source = tmp_path / "course"
    shutil.copytree(released_sample.source, source)
    folder = tmp_path / "subs"
    folder.mkdir()
    shutil.copy(released_sample.root / "release" / A / f"{NB}.ipynb", folder / "alice.ipynb")
    return Course(root=tmp_path / "root", source=source, limits=released_sample.limits), folder


def _main(course, command, *args):
    return cli.main([command, "--course-dir", str(course.root), "--source", str(course.source), "--quiet", *args])


@pytest.mark.slow
@pytest.mark.parametrize("command", ["import", "autograde", "grade", "feedback", "export", "summary"])
def test_steps_after_no_release_say_what_to_run_and_write_nothing(command, released_sample, tmp_path, capsys):
    """After no release into the course root, does each grading step fail, name the command to run
    and leave no gradebook, submission or report behind?"""
    course, folder = _unreleased_course(tmp_path, released_sample)
    course.root.mkdir()  # as `release --to DIR` run inside it would leave it: nothing of nbgrader's
    args = {"import": [A, str(folder)], "grade": [A, str(folder)], "autograde": [A], "feedback": [A],
            "export": ["--assignment", A], "summary": [A]}[command]
    assert _main(course, command, *args) == 2
    error = capsys.readouterr().err
    assert f"assignment {A} has not been released in {course.root}: run `cnn-course" in error
    assert f"release {A}` first" in error
    assert list(course.root.iterdir()) == []


@pytest.mark.slow
def test_steps_with_no_assignment_named_need_a_release_too(released_sample, tmp_path, capsys):
    """With no assignment named and none released, does `export` say to run `release`, writing nothing?"""
    course, _ = _unreleased_course(tmp_path, released_sample)
    assert _main(course, "export") == 2
    assert f"no assignment has been released in {course.root}: run `cnn-course" in capsys.readouterr().err
    assert not course.root.exists()


@pytest.mark.slow
def test_an_assignment_released_elsewhere_is_refused(course, tmp_path, capsys):
    """Another assignment released, this one not: is it refused with the gradebook left as it was?"""
    source = tmp_path / "course"
    shutil.copytree(course.source, source)
    shutil.copytree(source / A, source / "02-other")
    other = Course(root=course.root, source=source, limits=course.limits).prepare()
    gradebook = other.gradebook.read_bytes()
    folder = tmp_path / "subs"
    write_nb(nbformat.read(source / A / f"{NB}.ipynb", 4), folder / "alice.ipynb")
    assert _main(other, "grade", "02-other", str(folder)) == 2
    assert "assignment 02-other has not been released" in capsys.readouterr().err
    assert other.gradebook.read_bytes() == gradebook
    assert not (other.root / "submitted").exists()


def _run(*args, cwd):
    """The console script by its path, with neither it nor its environment on PATH."""
    env = {**os.environ, "PATH": BARE_PATH}
    return subprocess.run([str(SCRIPT), *args], cwd=cwd, env=env, capture_output=True, text=True)


@pytest.mark.slow
def test_the_readme_flow_works_by_path(released_sample, solved_nb, tmp_path):
    """Run as `.venv/bin/cnn-course` without .venv/bin on PATH: does `grade` after a handout-only
    release refuse cleanly, and after `release` grade the class?"""
    course, folder = _unreleased_course(tmp_path, released_sample)
    write_nb(solved_nb, folder / "bob.ipynb")
    options = ["--course-dir", "root", "--source", str(course.source), "--quiet",
               "--timeout", str(course.limits.cell_timeout), "--memory-mb", str(course.limits.memory_mb)]

    handout = _run("release", *options, "--to", "handout", cwd=tmp_path)
    assert handout.returncode == 0, handout.stderr
    assert (tmp_path / "handout" / A / f"{NB}.ipynb").is_file()
    refused = _run("grade", *options, A, "subs", cwd=tmp_path)
    assert refused.returncode == 2 and refused.stdout == ""
    assert f"assignment {A} has not been released in {course.root}" in refused.stderr
    assert not course.gradebook.exists() and not (course.root / "submitted").exists()

    assert _run("release", *options, cwd=tmp_path).returncode == 0
    graded = _run("grade", *options, A, "subs", cwd=tmp_path)
    assert graded.returncode == 0, graded.stderr
    lines = {line.split("|")[0].strip(): line for line in graded.stdout.splitlines() if "|" in line}
    assert "0 / 6" in lines["alice"] and "6 / 6" in lines["bob"]
    assert (course.root / "grades.csv").is_file()


@pytest.mark.slow
def test_validate_prints_whole_messages_and_nothing_else(solved_nb, tmp_path):
    """Does validation print a failed check's whole message, and nothing from the kernel's console?"""
    wrong = write_nb(answer(solved_nb, "relu", "return x"), tmp_path / f"{NB}.ipynb")
    with pytest.raises(checks.CheckFailed) as expected:  # the same check, run here: its message
        checks.assert_close("relu([-1, 0, 2])", [-1.0, 0.0, 2.0], [0.0, 0.0, 2.0])
    message = f"CheckFailed: {expected.value}"
    assert len(message) > 90

    report = io.StringIO()
    assert validate(wrong, timeout=10, stream=report) is False
    unwrapped = " ".join(line.strip() for line in report.getvalue().splitlines())
    assert f"relu: {expected.value}" in unwrapped, report.getvalue()
    assert not any(line.endswith("...") for line in report.getvalue().splitlines())

    script = _run("validate", str(wrong), cwd=tmp_path)
    assert script.returncode == 1
    assert str(expected.value) in script.stdout
    assert script.stderr == ""


@pytest.mark.slow
def test_validate_opens_with_a_summary_and_one_line_per_failure(solved_nb, tmp_path):
    """Does validation say first how many checks fail and which, then one line each, with no
    traceback and no cell's code?"""
    wrong = answer(answer(solved_nb, "relu", "return x"), "zero_pad", "return x")
    path = write_nb(wrong, tmp_path / f"{NB}.ipynb")
    tests = sum(1 for cell in wrong.cells if is_test_cell(cell))
    report = io.StringIO()
    assert validate(path, timeout=10, stream=report) is False
    lines = report.getvalue().splitlines()
    assert lines[1] == f"2 of {tests} checks fail: relu, zero_pad", lines
    failures = [line for line in lines if line.startswith("    ") and not line.startswith("        ")]
    assert [line.split(":")[0].strip() for line in failures] == ["relu", "zero_pad"], lines
    assert all(len(line) <= 104 for line in lines[1:]), lines  # long lines wrap, none is cut
    text = report.getvalue()
    assert "Traceback" not in text and "def " not in text and "checks.assert" not in text
    assert "The following cell failed" not in text


@pytest.mark.slow
def test_the_lab_validate_button_shows_the_summary(solved_nb, tmp_path, monkeypatch):
    """nbgrader's own validator, configured as the Lab button's handler configures it in a Lab run
    in the student tree (whose nbgrader_config.py release --to writes): the first failed cell it
    reports opens with the summary, and each error is one line."""
    from nbgrader.server_extensions.validate_assignment.handlers import ValidateAssignmentHandler
    from nbgrader.validator import Validator

    from autograder.course.release import build_student_tree

    build_student_tree(tmp_path, [], source=tmp_path / "no-assignments")
    monkeypatch.chdir(tmp_path)  # where the Lab server runs
    path = write_nb(answer(answer(solved_nb, "relu", "return x"), "zero_pad", "return x"), tmp_path / f"{NB}.ipynb")
    config = ValidateAssignmentHandler.load_config(None)
    failed = Validator(config=config).validate(str(path))["failed"]
    assert len(failed) == 1  # the dialog's "The following cell failed:" header once, not once per check
    assert re.fullmatch(r"2 of \d+ checks fail: relu, zero_pad", failed[0]["source"]), failed[0]["source"]
    lines = failed[0]["raw_error"].split("\n")
    assert [line.split(":")[0] for line in lines if not line.startswith(" ")] == ["relu", "zero_pad"], lines
    assert lines[0].startswith("relu: relu(") and "Traceback" not in failed[0]["raw_error"], lines
    assert all(len(line) <= 100 for line in lines), lines  # the dialog does not wrap: the lines do


@pytest.mark.slow
def test_each_command_ends_with_what_it_did_and_the_next_step(released_sample, tmp_path, capsys):
    """Do release, import, autograde, feedback, export and summary each end with a line of what they
    did and a `Next:` line naming a command?"""
    course, folder = _unreleased_course(tmp_path, released_sample)
    common = ["--course-dir", str(course.root), "--source", str(course.source), "--quiet",
              "--timeout", str(released_sample.limits.cell_timeout)]
    steps = [(["release"], "Released 1 assignment(s)", "grade"),
             (["import", A, str(folder)], f"Imported 1 submission(s) of {A}", "autograde"),
             (["autograde"], f"Autograded 1 submission(s) of {A}", "feedback"),
             (["feedback"], "Wrote 1 feedback page folder(s)", "export"),
             (["export"], "Wrote ", "--format canvas"),
             (["summary"], "alice", "export")]
    for words, did, then in steps:
        assert cli.main([*words, *common]) == 0, words
        lines = capsys.readouterr().out.strip().splitlines()
        assert did in lines[-2], (words, lines)
        assert lines[-1].startswith("Next: ") and then in lines[-1], (words, lines)
        assert f"--course-dir {course.root}" in lines[-1]


@pytest.mark.slow
def test_the_formgrader_sees_a_release_as_released_and_the_students_by_name(released_sample, tmp_path):
    """On one machine, after `release` and `roster`, does nbgrader's API (what the Formgrader shows)
    call the assignment released, not a draft, and name the students as the roster does?"""
    course, _ = _unreleased_course(tmp_path, released_sample)
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name,email\nalice,Alice van Dijk,alice@example.org\nbob,Bob\n")
    assert _main(course, "release") == 0
    assert _main(course, "roster", str(roster)) == 0
    api = course.api()
    assert api.get_assignment(A)["status"] == "released"
    names = {s["id"]: (s["first_name"], s["last_name"], s["email"]) for s in api.get_students()}
    assert names == {"alice": ("Alice van", "Dijk", "alice@example.org"), "bob": ("Bob", "", None)}


@pytest.mark.slow
def test_on_a_hub_release_hands_nothing_to_the_students_exchange(released_sample, tmp_path):
    """Where the course's exchange is the hub's (a link), does a plain `release` leave it alone, so
    that the Formgrader truthfully shows a draft until `release --exchange`?"""
    course, _ = _unreleased_course(tmp_path, released_sample)
    shared = tmp_path / "hub-exchange"
    shared.mkdir()
    course.root.mkdir()
    (course.root / "exchange").symlink_to(shared)
    assert _main(course, "release") == 0
    assert course.api().get_assignment(A)["status"] == "draft"
    assert not (shared / "cnn-course" / "outbound").exists()
