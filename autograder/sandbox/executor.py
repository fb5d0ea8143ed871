"""Executing a submission so that what breaks costs only the points of what broke.

nbgrader's ``Execute`` already interrupts a cell that runs past ``Execute.timeout`` and scores it
0. :class:`GuardedExecute`, the executor of the course's ``autograde``, runs a notebook in two
phases, each readable alone:

1. the kernel runs every cell that is not a graded test, in order: the student's code and the
   notebook's own, in a sandbox, surviving crashes (``autograder.sandbox.kernel_cells``);
2. then the graded test cells run in this (the grader's) process, calling the student's
   functions in the kernel (``autograder.judge.harness``): no verdict depends on what the
   submission's process can change, and the kernel never sees a test's code or its expected
   values. Every visible test runs, in order, before the first hidden one: no visible test's
   output can quote what the kernel was given in a hidden test. A kernel seen to die during a test's call is replaced at once, without first waiting
   for it to answer.
"""

from pathlib import Path

import nbformat
from jupyter_core.utils import run_sync

from autograder.judge.harness import TestHarness
from autograder.judge.testcells import answer_names, first_code_cell, is_hidden, is_test_cell
from autograder.judge.withheld import METADATA_KEY
from autograder.mistakes import by_function, load
from autograder.sandbox.deadlines import out_of_time
from autograder.sandbox.kernel_cells import KernelCells, not_run, timed


class GuardedExecute(KernelCells):
    """nbgrader's ``Execute`` in a sandboxed kernel, tests run outside it, surviving crashes."""

    def preprocess(self, nb, resources=None, km=None):
        self._deferred = []  # indices of graded test cells, run after the others
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        if is_test_cell(cell):
            cell.outputs = []
            self._deferred.append(index)
        else:
            cell, resources = super().preprocess_cell(cell, resources, index)
        if index == len(self.nb.cells) - 1:
            with timed("test cells"):
                self._run_tests()
        return cell, resources

    def _run_tests(self):
        """Phase two: the graded test cells, here, against the kernel's answers."""
        if not self._deferred:
            return
        source = self._source or nbformat.v4.new_notebook()
        first = first_code_cell(source)
        settings = source.metadata.get(METADATA_KEY, {})
        harness = TestHarness(self, first.source if first else "", answer_names(source), settings.get("mutates", {}),
                              self.timeout, self.output_chars, self.settle_timeout, self._mistakes(),
                              settings.get("numpy_only", ()))
        if self._source is None:
            harness.setup_error = "the source notebook of this submission was not found"
        elif self.kc is not None:
            harness.warm_up()
        for index in sorted(self._deferred, key=lambda i: is_hidden(self.nb.cells[i].source)):
            cell = self.nb.cells[index]
            if self.kc is None:
                cell.outputs = [not_run()]
            elif self.time_left() <= 0:
                cell.outputs = [out_of_time(self.notebook_timeout)]
            else:
                harness.cell_timeout = min(self.timeout, self.time_left())
                cell.outputs = harness.run(cell)
        harness.link.close()

    def _mistakes(self):
        """The assignment's catalogue of classic mistakes, beside its source notebook."""
        info = self.resources.get("nbgrader", {}) if self.resources else {}
        root = self.config.CourseDirectory.get("root")
        if not root or "assignment" not in info:
            return {}
        return by_function(load(Path(root) / "source" / info["assignment"]))

    def recover_after_call(self, stopped=False):
        """After a test's call into the kernel timed out or killed it: a responsive kernel again.

        ``stopped``: the kernel died or closed its end of the connection mid-call. It is replaced
        at once: its process may take a moment to be seen as gone, and waiting ``settle_timeout``
        for an answer from it would only cost time.
        """
        if self.kc is None:
            return
        if stopped or not run_sync(self.km.is_alive)() or not self._responsive():
            self._recover()
