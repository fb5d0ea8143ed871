"""Grading inside a long-lived process (the Formgrader's Autograde button runs nbgrader's autograde
in the instructor's Jupyter server): no kernel factory outlives the grading. The grading workers
keep theirs between submissions (``keeping_factories``) and close it after their last."""

import os
import signal
from pathlib import Path

import pytest
import sample_course
from helpers import write_nb

from autograder.course.submissions import import_submissions
from autograder.sandbox import factory as kernel_factory
from autograder.sandbox import namespaces

A = sample_course.ASSIGNMENT
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not namespaces.probe()[0], reason="bubblewrap cannot run here")]


def _children(pid):
    """Process ids whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_autograde_in_a_server_leaves_no_factory_running(course, solved_nb, tmp_path):
    """nbgrader's autograde, called in this process as the Formgrader calls it: once it returns,
    has its kernel factory (a sandboxed process of about 200 MB) ended?"""
    write_nb(solved_nb, tmp_path / "subs" / "alice.ipynb")
    import_submissions(course, A, tmp_path / "subs")
    before = set(_children(os.getpid()))
    started = []
    real_init = kernel_factory.KernelFactory.__init__

    def recording_init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        started.append(self.process.pid)

    kernel_factory.KernelFactory.__init__ = recording_init
    try:
        outcome = course.api().autograde(A, "alice", force=True, create=True)
    finally:
        kernel_factory.KernelFactory.__init__ = real_init
        left = [pid for pid in started if pid in _children(os.getpid())]
        for pid in left:
            os.kill(pid, signal.SIGKILL)
    assert outcome["success"], outcome.get("log")
    assert started, "no kernel factory was started: the test checks nothing"
    assert not left and not kernel_factory._factories()
    assert set(_children(os.getpid())) <= before


def test_grading_workers_keep_their_factory_until_their_last_submission(course, solved_nb, tmp_path):
    """Inside ``keeping_factories`` (a grading worker), the factory stays for the next submission."""
    write_nb(solved_nb, tmp_path / "subs" / "alice.ipynb")
    import_submissions(course, A, tmp_path / "subs")
    try:
        with kernel_factory.keeping_factories():
            assert course.api().autograde(A, "alice", force=True, create=True)["success"]
            (made,) = kernel_factory._factories().values()
            assert made.alive
    finally:
        kernel_factory.close_factories()
    assert not made.alive
