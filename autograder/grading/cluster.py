"""Grading a class on a Dask distributed cluster: one task per submission.

``cnn-course autograde ASSIGNMENT --scheduler tcp://HOST:8786`` (or ``$CNN_COURSE_SCHEDULER``)
sends each submission's grading to the cluster's workers instead of the local process pool, with
the same guarantees:

- a task is one call of :func:`autograder.grading.submission.grade_submission`, in a private temporary course
  root on the worker, inside the same sandbox as local grading;
- a task's input and result are plain data: the submission's files, the assignment's source files
  and the gradebook snapshot travel as bytes, and the autograded notebooks come back as bytes, so
  the workers need no shared file system;
- only the instructor's process writes the gradebook (``pipeline._record``, as for the local pool);
- a worker that dies has its submissions graded again elsewhere (Dask's scheduler reschedules
  them); a submission in flight on a dying worker more often than the scheduler's
  ``distributed.scheduler.allowed-failures`` allows (set it to 1: a second death) is recorded as
  failed, scored 0 and flagged for manual grading, like a submission that kills a local worker twice;
- each submission's result is yielded once, however often its task ran.

A dead worker costs only the submission it was grading. The scheduler charges a worker's death to
every task *assigned* to it, and a finished result still on it is lost with it. So each task
carries all it needs (no data scattered to workers, which two deaths can lose), is
marked as one that the scheduler keeps in its own queue until a worker has a free thread for it
(a "data producer", root-ish whatever the size of the class), and a result is fetched from its
worker as soon as it is finished, not when the gradebook gets to it. Run the workers with one
thread each (``dask worker ... --nthreads 1``: a grading task runs a kernel of its own) and the
scheduler with ``worker-saturation: 1.0`` (a worker is sent only the task it runs) and
``allowed-failures: 1``, as ``deploy/dask.yaml`` does: a death then counts against the one
submission that was being graded, and a second one fails it. A finished result lost before it was
fetched is graded again and charged nothing. :func:`run_on_dask` warns when the scheduler is set
otherwise.
"""

import io
import os
import shutil
import tarfile
import tempfile
import uuid
import warnings
from pathlib import Path

from autograder.grading.submission import failed, grade_submission
from autograder.judge.withheld import assignment_settings, build_library

SCHEDULER_VARIABLE = "CNN_COURSE_SCHEDULER"
KILLED = "the submission's grading worker died {times} (the submission killed it, or its machine was lost)"
# The scheduler settings under which a worker's death is charged to the one submission it graded.
RECOMMENDED = {"allowed-failures": 1, "worker-saturation": 1.0}


def run_on_dask(job, students, address):
    """Yield one result per student, grading each submission as a task on a Dask cluster.

    Args:
        job: the grading job of :func:`autograder.grading.pipeline.autograde`: root, source, limits (a dict),
            template (gradebook snapshot), assignment.
        students: student ids whose ``<root>/submitted/<student>/<assignment>`` is graded.
        address: the scheduler, e.g. ``tcp://10.0.0.5:8786``, or a ``distributed.Client``.

    Yields:
        the result dicts of ``grade_submission`` (plain data), with ``autograded`` and ``work``
        pointing at local temporary folders for ``pipeline._record`` to move and delete; a
        submission whose workers kept dying, or whose task raised, gets ``submission.failed``'s result.
    """
    from dask.task_spec import Task
    from distributed import Client, as_completed
    from distributed.scheduler import KilledWorker

    assignment = job["assignment"]
    client = address if isinstance(address, Client) else Client(address, set_as_default=False)
    try:
        settings = _scheduler_settings(client)
        if settings != RECOMMENDED:
            warnings.warn(f"The Dask scheduler at {client.scheduler.address} runs with {settings}; with "
                          f"{RECOMMENDED} (deploy/dask.yaml) a worker's death is charged to the submission "
                          "it was grading only, and a second death fails that submission.", stacklevel=2)
        deaths = settings["allowed-failures"] + 1
        times = "once" if deaths == 1 else "twice" if deaths == 2 else f"{deaths} times"
        # Each task carries its own copy of the assignment and the gradebook snapshot (small): a
        # task with no data on other workers can run anywhere, whichever workers have died.
        source, template = pack(Path(job["source"]) / assignment), Path(job["template"]).read_bytes()
        settings = assignment_settings(sorted((Path(job["source"]) / assignment).glob("*.ipynb")))
        withheld = {"withheld": settings["withheld"], "imports": settings["imports"]}
        run = uuid.uuid4().hex[:8]
        tasks = {}
        for student in students:
            key = task_key(assignment, student, run)
            submission = pack(Path(job["root"]) / "submitted" / student / assignment)
            task = Task(key, grade_task, student, assignment, job["limits"], submission,
                        source, template, withheld, _data_producer=True)
            (future,) = client.get({key: task}, [key], sync=False)
            tasks[future] = student
        # with_results: each result is fetched as soon as its task ends, while earlier ones are recorded.
        for future, result in as_completed(tasks, with_results=True, raise_errors=False):
            student = tasks.pop(future)
            error = None if future.status == "finished" else result[1] if isinstance(result, tuple) else result
            if isinstance(error, KilledWorker):
                result = failed(student, assignment, KILLED.format(times=times))
            elif error is not None:  # a bug of ours, or a worker without the course installed
                result = failed(student, assignment, f"{type(error).__name__}: {error}")
            future.release()
            yield unpack_result(result)
    finally:
        if client is not address:
            client.close()


def task_key(assignment, student, run):
    """The Dask key of one submission's task (shown on the cluster's dashboard)."""
    return f"grade-{assignment}-{student}-{run}"


def grade_task(student, assignment, limits, submission, source, template, withheld):
    """One submission's grading on a worker: unpack, ``grade_submission``, pack the result.

    Args:
        submission: the files of ``submitted/<student>/<assignment>`` (:func:`pack`'s bytes).
        source: the files of the assignment's source folder (:func:`pack`'s bytes).
        template: the gradebook snapshot (SQLite file bytes).
        withheld: ``{"withheld": [...], "imports": [...] or None}``, what is kept from the kernel
            (``autograder.judge.withheld``, ``autograder.judge.allowed``); the worker makes its own
            withheld copy of its ``cnnlib`` and stubs of its environment's modules.

    Returns:
        ``grade_submission``'s result with ``autograded`` replaced by the autograded folder's
        bytes (or None) and ``work`` by None: nothing of the worker's file system is left behind.
    """
    import cnnlib
    scratch = Path(tempfile.mkdtemp(prefix="cnn-course-task-"))
    try:
        root, sources = scratch / "root", scratch / "source"
        unpack(submission, root / "submitted" / student / assignment)
        unpack(source, sources / assignment)
        (scratch / "template.db").write_bytes(template)
        library = scratch / "library"
        build_library(Path(cnnlib.__file__).resolve().parent, withheld["withheld"], library, withheld["imports"])
        # The task's kernel factory ends with it: it is bound to this task's library.
        result = grade_submission(str(root), str(sources), limits, str(scratch / "template.db"),
                                          assignment, student, library=str(library), more_to_come=False)
        autograded = result["autograded"]
        result["autograded"] = pack(Path(autograded)) if autograded and Path(autograded).is_dir() else None
        if result["work"]:
            shutil.rmtree(result["work"], ignore_errors=True)
        result["work"] = None
        return result
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def unpack_result(result):
    """A task's result as ``pipeline._record`` takes it: the autograded bytes in a local folder."""
    if not isinstance(result.get("autograded"), bytes):
        return dict(result, autograded=None)
    work = Path(tempfile.mkdtemp(prefix="cnn-course-result-"))
    folder = work / "autograded"
    unpack(result["autograded"], folder)
    return dict(result, autograded=str(folder), work=str(work))


def pack(folder):
    """The files under ``folder`` as a tar archive in bytes (symbolic links left out)."""
    folder = Path(folder)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    archive.add(path, arcname=str(path.relative_to(folder)), recursive=False)
    return buffer.getvalue()


def unpack(data, folder):
    """Write :func:`pack`'s bytes into ``folder`` (created); only regular files, inside it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as archive:
        archive.extractall(folder, filter="data")


def _scheduler_settings(client):
    """The scheduler's allowed-failures and worker-saturation, as in ``RECOMMENDED``."""
    return client.run_on_scheduler(lambda dask_scheduler: {
        "allowed-failures": int(dask_scheduler.allowed_failures),
        "worker-saturation": float(dask_scheduler.WORKER_SATURATION)})


def default_scheduler():
    """The scheduler address in ``$CNN_COURSE_SCHEDULER``, or None (grade on this machine)."""
    return os.environ.get(SCHEDULER_VARIABLE) or None
