"""The process pools that grade submissions and write feedback.

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

PRELOAD = ["autograder.grading.pipeline", "autograder.course.reports"]
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
