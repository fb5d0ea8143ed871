"""The process pools that grade submissions and write feedback, and a class graded in one.

Workers are forked from a fork server (where the platform has one) that has imported the grading
code once, so each worker starts ready to grade. Spawned workers would each import nbgrader,
nbconvert and jsonschema again, about 2 s of CPU per worker. Plain ``fork`` is never used,
because the parent runs threads (the progress bar) and holds an open gradebook.

The fork server outlives a pool, so each worker takes the caller's environment variables as
they are when the pool starts, as a spawned worker would. The kernels of ``width`` workers share
the machine's cores: each kernel's numerical libraries (OpenBLAS, OpenMP, TensorFlow) get
``cores // width`` threads unless the caller's environment already says how many, instead of one
thread per core each, which would leave them competing for the same cores.
"""

import concurrent.futures as futures
import multiprocessing
import os
import warnings

from sqlalchemy.exc import SAWarning

from autograder.grading.submission import failed, grade_submission

PRELOAD = ["autograder.grading.submission", "autograder.grading.feedback"]
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS")


def default_width():
    """Workers when the caller does not say: one per CPU core."""
    return os.cpu_count() or 1


def worker_pool(width):
    """A ``ProcessPoolExecutor`` of ``width`` grading workers (fork server, else spawn)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
    else:
        context = multiprocessing.get_context("spawn")
    environment = dict(os.environ)
    threads = str(max(1, default_width() // width))
    for variable in THREAD_VARIABLES:
        environment.setdefault(variable, threads)
    return futures.ProcessPoolExecutor(width, mp_context=context, initializer=_start_worker,
                                       initargs=(environment,))


def _start_worker(environment):
    os.environ.clear()
    os.environ.update(environment)
    # nbgrader's gradebook code trips SQLAlchemy's autoflush notices; the rows are written.
    warnings.filterwarnings("ignore", category=SAWarning)


def run_parallel(job, students, workers):
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
                yield failed(student, job["assignment"], "the submission killed the grading process")


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
        yield failed(student, assignment, f"{type(error).__name__}: {error}")
