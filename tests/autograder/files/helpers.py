"""Helpers for the autograder tests: course copies, notebooks on disk, gradebook contents, and a
grading kernel to call into."""

import copy
import shutil
import sqlite3
from pathlib import Path

import nbformat
import sample_course
from jupyter_core.utils import run_sync

from autograder.course.config import Course, Limits, kernel_config
from autograder.sandbox.kernel_manager import SandboxedKernelManager

# Small limits keep hostile submissions quick: an endless loop costs 5 s per cell.
TEST_LIMITS = Limits(cell_timeout=5, memory_mb=2048, output_chars=20_000)


def copy_course(course, root, source=None):
    """A copy of a course root at ``root`` (same limits; same source, or a copy of it at ``source``)."""
    shutil.copytree(course.root, root, symlinks=True)
    if source is not None:
        shutil.copytree(course.source, source)
    return Course(root=Path(root), source=Path(source or course.source), limits=course.limits).prepare()


def write_nb(nb, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def gradebook_rows(course):
    """Every grade in the gradebook as sorted (student, assignment, cell, auto_score) tuples."""
    with sqlite3.connect(course.gradebook) as db:
        rows = db.execute(
            "SELECT sa.student_id, a.name, c.name, g.auto_score FROM grade g "
            "JOIN submitted_notebook sn ON g.notebook_id = sn.id "
            "JOIN submitted_assignment sa ON sn.assignment_id = sa.id "
            "JOIN assignment a ON sa.assignment_id = a.id "
            "JOIN base_cell c ON g.cell_id = c.id").fetchall()
    return sorted(rows)


def scores(course, assignment=sample_course.ASSIGNMENT):
    """student -> total auto score for one assignment."""
    totals = {}
    for student, name, _, score in gradebook_rows(course):
        if name == assignment:
            totals[student] = totals.get(student, 0) + (score or 0)
    return totals


def solved(release_nb, source_nb):
    """The release notebook with the answer cells of the source (a student's perfect work)."""
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source_nb.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    nb = copy.deepcopy(release_nb)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return nb


class KernelExecutor:
    """What ``link.KernelLink`` needs of ``GuardedExecute``: a kernel (limits only, no sandbox),
    its client, and recovery, which here only records that it was asked for."""

    def __init__(self):
        self.km = SandboxedKernelManager(kernel_name="python3", config=kernel_config(Limits(isolation="off")))
        run_sync(self.km.start_kernel)(cwd=str(self.km.scratch))
        self.kc = self.km.client()
        self.kc.start_channels()
        run_sync(self.kc.wait_for_ready)(timeout=60)
        self.recoveries = []  # per recovery: whether the link saw the kernel stop

    def run(self, code):
        """Run ``code`` in the kernel; it must succeed."""
        reply = run_sync(self.kc.execute_interactive)(code, timeout=60)
        assert reply["content"]["status"] == "ok", reply["content"]

    def recover_after_call(self, stopped=False):
        self.recoveries.append(stopped)

    def stop(self):
        self.kc.stop_channels()
        run_sync(self.km.shutdown_kernel)(now=True)
