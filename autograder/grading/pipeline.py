"""Autograding a class in parallel, with nbgrader's ``autograde`` doing the grading.

nbgrader's gradebook is one SQLite file, which tolerates one writer at a time. So each worker
process grades one submission in an isolated, temporary course root of its own (a copy of the
assignment's source, the student's submission and a snapshot of the gradebook), and sends back
plain data: the grades, comments and notes. Only the parent process writes the real gradebook,
one submission per transaction, and moves the autograded notebook into place. A worker that
dies cannot leave a half-written grade behind, and a grade cannot be written twice.

A submission whose worker process dies (a student who kills the grader itself) is retried on its
own, so that the students graded alongside it are not blamed; if it kills its worker again it is
recorded as failed, scored 0 and flagged for manual grading.

After each run, the class's solutions are compared for copies (``autograder.course.copies``):
flagged for manual review, never scored.
"""

import os
import shutil
import sqlite3
import tempfile
import warnings
from dataclasses import asdict
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.utils import rmtree
from sqlalchemy.exc import SAWarning

from autograder.course import copies, timings
from autograder.course.config import COURSE_ID, Course
from autograder.course.datasets import require_datasets
from autograder.grading import cluster
from autograder.grading.submission import FAILED, MISSING
from autograder.grading.workers import run_parallel
from autograder.judge.withheld import assignment_settings, build_library
from autograder.render import notes
from autograder.sandbox.kernel_manager import run_folder_base
from autograder.sandbox.namespaces import resolve


def autograde(course, assignment, students=None, workers=None, force=False, progress=True, scheduler=None):
    """Grade the submitted notebooks of one assignment and record the grades.

    Args:
        course: an :class:`autograder.course.config.Course` (assignment released, submissions imported).
        assignment: the assignment id.
        students: student ids to grade, or None for everyone who submitted.
        workers: parallel grading processes (default: the number of CPU cores).
        force: grade again submissions already graded (otherwise only new or changed ones).
        progress: show a progress bar.
        scheduler: a Dask scheduler address (``tcp://HOST:8786``): grade there (autograder.grading.cluster).

    Returns:
        dict student -> result (status, notes, grades), for the submissions graded in this run.
    """
    from tqdm import tqdm

    sandboxed, reason = resolve(course.limits.isolation)
    run_folder_base()  # kernels' sockets need a short folder: say so now if there is none
    course.prepare()
    submitted = course.root / "submitted"
    everyone = sorted(p.parent.name for p in submitted.glob(f"*/{assignment}") if p.is_dir())
    todo = [s for s in everyone if (students is None or s in students)
            and (force or _needs_grading(course, assignment, s))]
    results = {}
    if not todo:
        return results
    settings = assignment_settings(sorted((course.source / assignment).glob("*.ipynb")))
    require_datasets(assignment, settings["datasets"])
    isolation_note = [] if sandboxed else [f"isolation was off while this was graded: {reason}"]
    with tempfile.TemporaryDirectory(prefix="cnn-course-grading-") as tmp:
        import cnnlib

        library = Path(tmp) / "library"
        build_library(Path(cnnlib.__file__).resolve().parent, settings["withheld"], library, settings["imports"])
        # Grades go into a private working copy, put in place when the run ends: a submission
        # that writes into the course's gradebook.db while it runs is overwritten.
        working = Course(root=Path(tmp), source=course.source, limits=course.limits)
        _snapshot(course.gradebook, working.gradebook)
        template = Path(tmp) / "template.db"
        _snapshot(working.gradebook, template)
        job = dict(root=str(course.root), source=str(course.source), limits=asdict(course.limits),
                   template=str(template), assignment=assignment, library=str(library))
        graded = cluster.run_on_dask(job, todo, scheduler) if scheduler else run_parallel(job, todo, workers)
        try:
            with tqdm(total=len(todo), desc=f"autograde {assignment}", unit="submission",
                      disable=not progress) as bar:
                for result in graded:
                    result["notes"] = isolation_note + result["notes"]
                    _record(course, working.db_url, result)
                    results[result["student"]] = result
                    bar.update()
        finally:
            staged = course.root / f".gradebook-{os.getpid()}.db"
            _snapshot(working.gradebook, staged)
            os.replace(staged, course.gradebook)
    copies.flag_copies(course, assignment)
    return results


def _needs_grading(course, assignment, student):
    """nbgrader's rule: not graded yet, or submitted again since (another timestamp.txt)."""
    with Gradebook(course.db_url, COURSE_ID) as gb:
        try:
            gb.find_submission(assignment, student)
        except MissingEntry:
            return True
    stamp = course.step_dir("submitted", student, assignment) / "timestamp.txt"
    graded = course.step_dir("autograded", student, assignment) / "timestamp.txt"
    if not graded.parent.is_dir():
        return True
    return (stamp.read_bytes() if stamp.exists() else None) != (graded.read_bytes() if graded.exists() else None)


def _snapshot(gradebook, dest):
    """A consistent copy of the gradebook (SQLite's online backup), for the workers to start from."""
    source, target = sqlite3.connect(gradebook), sqlite3.connect(dest)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def _record(course, db_url, result):
    """Write one worker's result into the gradebook at ``db_url`` and the course root.

    Runs in the parent process only, one submission per transaction.
    """
    student, assignment, status = result["student"], result["assignment"], result["status"]
    with Gradebook(db_url, COURSE_ID) as gb, warnings.catch_warnings():
        # nbgrader's add_submission trips SQLAlchemy's autoflush notices; the rows are written.
        warnings.simplefilter("ignore", SAWarning)
        gb.update_or_create_student(student)
        extra = {"timestamp": result["timestamp"]} if result["timestamp"] else {}
        submission = gb.update_or_create_submission(assignment, student, **extra)
        for notebook in submission.notebooks:
            worker = result["grades"].get(notebook.name, {})
            for grade in notebook.grades:
                auto, review = worker.get("grades", {}).get(grade.name, [0.0, status == FAILED])
                grade.auto_score = auto
                grade.needs_manual_grade = bool(review or grade.manual_score is not None)
            for comment in notebook.comments:
                comment.auto_comment = worker.get("comments", {}).get(comment.name)
            notebook.late_submission_penalty = worker.get("late_penalty")
        gb.db.commit()

    dest = course.step_dir("autograded", student, assignment)
    if dest.exists():
        rmtree(str(dest))
    if result["autograded"] and Path(result["autograded"]).is_dir():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(result["autograded"], dest)
    if result["work"]:
        shutil.rmtree(result["work"], ignore_errors=True)
    timings.record(course.root, assignment, student, result.get("timings", {}).get("total"))
    lines = result["notes"]
    if status == MISSING and not notes.read(course.root, assignment, student, stages=["import"]):
        lines = ["no notebook was submitted: scored 0"]
    notes.write(course.root, assignment, student, "grading", lines)
