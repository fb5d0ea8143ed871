"""One submission graded in a worker process, in a temporary course root of its own.

:func:`grade_submission` copies the assignment's source, the student's submission and a snapshot
of the gradebook into a private course root, runs nbgrader's ``autograde`` there (in the sandbox:
``autograder.sandbox``) and returns plain data: the grades, comments, notes and timings. It
writes nothing outside its own folder; the instructor's process records the result
(``autograder.grading.pipeline``).
"""

import re
import resource
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from autograder.course.config import COURSE_ID, Course, Limits
from autograder.render import notes
from autograder.sandbox.factory import close_factories, keeping_factories
from autograder.sandbox.kernel_cells import timings

GRADED, MISSING, FAILED = "graded", "missing", "failed"


def failed(student, assignment, reason):
    """The result of a submission whose grading failed: scored 0, to be checked by hand."""
    return dict(student=student, assignment=assignment, status=FAILED, grades={}, timestamp=None,
                notes=[f"grading failed ({reason}): scored 0, to be checked by hand"],
                autograded=None, work=None)


def grade_submission(root, source, limits, template, assignment, student, library="", more_to_come=True):
    """Grade one submission in a temporary course root (runs in a worker process).

    ``more_to_come``: whether this process may grade another submission of the assignment after
    this one, so that its kernel factory is worth keeping (``autograder.sandbox.factory``).

    Returns:
        dict with student, assignment, status (graded, missing or failed), grades
        ({notebook: {"grades": {id: [auto_score, needs_manual_grade]}, "comments": {...},
        "late_penalty": x}}), timestamp, notes, autograded (folder to move into place) and
        work (temporary folder to delete) and, once graded, timings (seconds per phase: copying,
        kernel start, notebook cells, test cells, total).
    """
    limit_memory(limits.get("grader_memory_mb"))
    try:
        with keeping_factories():
            return _grade(root, source, limits, template, assignment, student, library)
    finally:
        if not more_to_come:
            close_factories()


def limit_memory(megabytes):
    """Put this (grading) process under an address-space limit of ``megabytes`` MiB (its soft
    limit only: a kernel it starts sets its own). Past it, an allocation fails with MemoryError and
    costs the submission being graded, not the others of this worker."""
    if megabytes:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        soft = megabytes * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))


def _grade(root, source, limits, template, assignment, student, library):
    began = time.perf_counter()
    for phase in timings:
        timings[phase] = 0.0
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
    result["timings"] = dict(timings, copying=copying, total=time.perf_counter() - began)
    if not outcome["success"]:
        failure = failed(student, assignment, _cause(outcome.get("log", "")))
        result.update(failure, notes=result["notes"] + failure["notes"], work=str(work))
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
