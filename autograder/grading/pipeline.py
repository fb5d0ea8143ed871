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
"""

import concurrent.futures as futures
import os
import re
import shutil
import sqlite3
import tempfile
import time
import warnings
from dataclasses import asdict
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.utils import rmtree
from sqlalchemy.exc import SAWarning

from autograder.course.config import COURSE_ID, Course, Limits
from autograder.grading import cluster
from autograder.grading.workers import default_width, worker_pool
from autograder.judge.withheld import assignment_settings, build_library
from autograder.render import notes
from autograder.sandbox.isolation import resolve

GRADED, MISSING, FAILED = "graded", "missing", "failed"


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
    course.prepare()
    submitted = course.root / "submitted"
    everyone = sorted(p.parent.name for p in submitted.glob(f"*/{assignment}") if p.is_dir())
    todo = [s for s in everyone if (students is None or s in students)
            and (force or _needs_grading(course, assignment, s))]
    results = {}
    if not todo:
        return results
    isolation_note = [] if sandboxed else [f"isolation was off while this was graded: {reason}"]
    with tempfile.TemporaryDirectory(prefix="cnn-course-grading-") as tmp:
        import cnnlib

        settings = assignment_settings(sorted((course.source / assignment).glob("*.ipynb")))
        library = Path(tmp) / "library"
        build_library(Path(cnnlib.__file__).resolve().parent, settings["withheld"], library)
        # Grades go into a private working copy, put in place when the run ends: a submission
        # that writes into the course's gradebook.db while it runs is overwritten.
        working = Course(root=Path(tmp), source=course.source, limits=course.limits)
        _snapshot(course.gradebook, working.gradebook)
        template = Path(tmp) / "template.db"
        _snapshot(working.gradebook, template)
        job = dict(root=str(course.root), source=str(course.source), limits=asdict(course.limits),
                   template=str(template), assignment=assignment, library=str(library))
        graded = cluster.run_on_dask(job, todo, scheduler) if scheduler else _run_parallel(job, todo, workers)
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


def _run_parallel(job, students, workers):
    """Yield one result per student, grading ``workers`` submissions at a time.

    When a worker process dies, the pool breaks and every submission in flight fails with it:
    those are graded again one at a time, so the one that kills its worker is found and the
    others get their grades.
    """
    pending = list(students)
    while pending:
        broken, pending = yield from _run_pool(job, pending, workers or default_width())
        for student in broken:
            again, _ = yield from _run_pool(job, [student], 1)
            if again:
                yield _failed(student, job["assignment"], "the submission killed the grading process")


def _run_pool(job, students, width):
    """Grade ``students`` in one process pool until done or until the pool breaks.

    Returns (via ``yield from``): (students in flight when the pool broke, students not started).
    """
    queue, running, broken = list(students), {}, []
    with worker_pool(width) as pool:
        while (queue or running) and not broken:
            while queue and len(running) < width:
                student = queue.pop(0)
                running[pool.submit(grade_submission, student=student, more_to_come=bool(queue), **job)] = student
            done, _ = futures.wait(running, return_when=futures.FIRST_COMPLETED)
            for future in done:
                yield from _collect(future, running.pop(future), job["assignment"], broken)
        for future, student in running.items():
            yield from _collect(future, student, job["assignment"], broken)
    return broken, queue


def _collect(future, student, assignment, broken):
    """Yield a finished worker's result; a broken pool puts ``student`` on ``broken`` instead."""
    try:
        yield future.result()
    except futures.process.BrokenProcessPool:
        broken.append(student)
    except Exception as error:  # a bug of ours must not stop the class
        yield _failed(student, assignment, f"{type(error).__name__}: {error}")


def _failed(student, assignment, reason):
    return dict(student=student, assignment=assignment, status=FAILED, grades={}, timestamp=None,
                notes=[f"grading failed ({reason}): scored 0, to be checked by hand"],
                autograded=None, work=None)


def grade_submission(root, source, limits, template, assignment, student, library="", more_to_come=True):
    """Grade one submission in a temporary course root (runs in a worker process).

    ``more_to_come``: whether this process may grade another submission of the assignment after
    this one, so that its kernel factory is worth keeping (``autograder.sandbox.forking``).

    Returns:
        dict with student, assignment, status (graded, missing or failed), grades
        ({notebook: {"grades": {id: [auto_score, needs_manual_grade]}, "comments": {...},
        "late_penalty": x}}), timestamp, notes, autograded (folder to move into place) and
        work (temporary folder to delete) and, once graded, timings (seconds per phase: copying,
        kernel start, notebook cells, test cells, total).
    """
    from autograder.sandbox import executor

    try:
        return _grade(root, source, limits, template, assignment, student, library)
    finally:
        if not more_to_come:
            executor.close_factories()


def _grade(root, source, limits, template, assignment, student, library):
    from autograder.sandbox import executor

    began = time.perf_counter()
    for phase in executor.timings:
        executor.timings[phase] = 0.0
    limits = Limits(**limits)
    work = Path(tempfile.mkdtemp(prefix="cnn-course-worker-"))
    local = Course(root=work, source=work / "source", limits=limits, library=library)
    shutil.copytree(Path(source) / assignment, local.source / assignment)
    shutil.copytree(Path(root) / "submitted" / student / assignment,
                    local.step_dir("submitted", student, assignment))
    shutil.copy(template, local.gradebook)
    copying = time.perf_counter() - began
    result = dict(student=student, assignment=assignment, status=GRADED, grades={}, timestamp=None,
                  notes=[], autograded=str(local.step_dir("autograded", student, assignment)),
                  work=str(work))

    submitted = sorted(local.step_dir("submitted", student, assignment).glob("*.ipynb"))
    if not submitted:
        result.update(status=MISSING, autograded=None)
        return result
    with Gradebook(local.db_url, COURSE_ID) as gb:
        for path in submitted:
            result["notes"] += notes.metadata_problems(nbformat.read(path, 4), gb, path.stem, assignment)

    outcome = local.api().autograde(assignment, student, force=True, create=True)
    result["timings"] = dict(executor.timings, copying=copying, total=time.perf_counter() - began)
    if not outcome["success"]:
        failed = _failed(student, assignment, _cause(outcome.get("log", "")))
        result.update(failed, notes=result["notes"] + failed["notes"], work=str(work))
        return result
    for path in sorted(Path(result["autograded"]).glob("*.ipynb")):
        result["notes"] += notes.execution_problems(nbformat.read(path, 4), limits.memory_mb)
    with Gradebook(local.db_url, COURSE_ID) as gb:
        submission = gb.find_submission(assignment, student)
        result["timestamp"] = submission.timestamp.isoformat() if submission.timestamp else None
        for notebook in submission.notebooks:
            result["grades"][notebook.name] = {
                "grades": {g.name: [g.auto_score, g.needs_manual_grade] for g in notebook.grades},
                "comments": {c.name: c.auto_comment for c in notebook.comments},
                "late_penalty": notebook.late_submission_penalty,
            }
    return result


def _cause(log):
    """The exception line of the traceback in nbgrader's log, or its first error line."""
    lines = [line.strip() for line in log.splitlines()]
    exceptions = [line for line in lines if re.match(r"^[\w.]+(Error|Exception)\b", line)]
    errors = [line for line in lines if line.startswith("[ERROR]")]
    return ((exceptions or errors or ["unknown error"])[-1 if exceptions else 0])[:200]


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
    lines = result["notes"]
    if status == MISSING and not notes.read(course.root, assignment, student, stages=["import"]):
        lines = ["no notebook was submitted: scored 0"]
    notes.write(course.root, assignment, student, "grading", lines)
