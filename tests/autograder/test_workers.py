"""The grading workers: they see the caller's environment as it is now, and share the cores."""

import os

from autograder.grading.workers import THREAD_VARIABLES, worker_pool

PROBE = "CNN_COURSE_WORKER_PROBE"


def test_workers_see_the_environment_of_the_call(monkeypatch):
    """Forked from a long-lived fork server, does a worker still see a variable set later?"""
    monkeypatch.delenv(PROBE, raising=False)
    with worker_pool(1) as pool:  # starts the fork server, if no test did before
        assert pool.submit(os.getenv, PROBE).result() is None
    monkeypatch.setenv(PROBE, "set after the first pool")
    with worker_pool(1) as pool:
        assert pool.submit(os.getenv, PROBE).result() == "set after the first pool"


def test_kernels_of_parallel_workers_share_the_cores(monkeypatch):
    """Two workers: half the cores each for BLAS and TensorFlow, unless the caller chose already."""
    for variable in THREAD_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    with worker_pool(2) as pool:
        seen = {variable: pool.submit(os.getenv, variable).result() for variable in THREAD_VARIABLES}
    share = str(max(1, os.cpu_count() // 2))
    assert seen == {"OMP_NUM_THREADS": "3", **{v: share for v in THREAD_VARIABLES if v != "OMP_NUM_THREADS"}}
