"""Executing a submission so that what breaks costs only the points of what broke.

nbgrader's ``Execute`` already interrupts a cell that runs past ``Execute.timeout`` and scores it
0. :class:`GuardedExecute` adds what a class of a few hundred students needs:

- the kernel runs under a memory limit (:class:`LimitedKernelManager`, through
  ``autograder.launcher``): a memory bomb raises ``MemoryError`` in its own cell;
- a kernel that dies (``os._exit``, killed, out of memory) or ignores the interrupt after a
  timeout costs the cell that did it: the kernel is restarted, the cells that had run fine before
  are run again (their outputs are kept from the first run), and grading goes on;
- each cell keeps at most ``output_chars`` characters of output, so 100 MB of prints cannot
  swamp the grader or the feedback;
- the kernel's working directory is a scratch copy of the assignment's files outside the course
  directory, so a submission's relative writes (``../../gradebook.db``) reach nothing of the
  grader's.
"""

import copy
import shutil
import sys
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Integer

TIMEOUT_ERROR = "CellTimeoutError"  # nbgrader's Execute.error_on_timeout ename
KERNEL_DIED = "KernelDied"
NOT_RUN = "CellNotRun"
TRUNCATED = "[output truncated: this cell printed more than {limit} characters]"


class LimitedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels start under an address-space limit."""

    memory_mb = Integer(8192, help="Address-space limit of the kernel process in MiB.").tag(config=True)

    def format_kernel_cmd(self, extra_arguments=None):
        command = super().format_kernel_cmd(extra_arguments)
        return [sys.executable, "-m", "autograder.launcher", str(self.memory_mb), *command]


class GuardedExecute(Execute):
    """nbgrader's ``Execute`` in a limited kernel that survives crashes, hangs and floods."""

    output_chars = Integer(100_000, help="Characters of output kept per cell.").tag(config=True)
    max_restarts = Integer(3, help="Kernel restarts per notebook before the rest is not run.").tag(config=True)
    settle_timeout = Integer(
        5, help="Seconds a kernel gets to become responsive after a timed-out cell is interrupted."
    ).tag(config=True)

    def __init__(self, **kwargs):
        kwargs["kernel_manager_class"] = LimitedKernelManager
        super().__init__(**kwargs)

    def preprocess(self, nb, resources=None, km=None):
        resources = resources if resources is not None else {}
        metadata = resources.setdefault("metadata", {})
        original_path = metadata.get("path")
        self._restarts = 0
        self._replayable = []  # indices of code cells that ran without error, in order
        self._printed = {}  # characters of output kept so far, per cell index
        with tempfile.TemporaryDirectory(prefix="cnn-course-kernel-") as scratch:
            if original_path:
                _copy_files(Path(original_path), Path(scratch))
            metadata["path"] = scratch
            try:
                return super().preprocess(nb, resources, km)
            finally:
                metadata["path"] = original_path

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, resources
        if self.kc is None:  # gave up after too many restarts
            cell.outputs = [_error(NOT_RUN, "not run: the kernel crashed too often before this cell")]
            return cell, resources
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except CellTimeoutError:  # interrupted, but the kernel never went idle
            cell.outputs.append(_error(TIMEOUT_ERROR, "the cell ran past the time limit and did "
                                       "not stop when interrupted; the kernel was restarted"))
            self._recover()
            return cell, resources
        except DeadKernelError:
            cell.outputs.append(_error(
                KERNEL_DIED, "the kernel stopped while running this cell (it exited, was killed "
                "or ran out of memory); it was restarted and the cells before this one run again"))
            self._recover()
            return cell, resources
        if _has_error(cell, TIMEOUT_ERROR):
            if not self._responsive():
                self._recover()
        elif not _has_error(cell):
            self._replayable.append(index)
        return cell, resources

    def output(self, outs, msg, display_id, cell_index):
        size = _output_size(msg)
        used = self._printed.get(cell_index, 0)
        self._printed[cell_index] = used + size
        if used + size <= self.output_chars or msg["msg_type"] == "error":
            return super().output(outs, msg, display_id, cell_index)
        if used <= self.output_chars:  # the first output over the limit: say so, once
            note = new_output("stream", name="stdout", text="\n" + TRUNCATED.format(limit=self.output_chars) + "\n")
            outs.append(note)
        return None

    # ------------------------------------------------------------------ recovery

    def _responsive(self):
        """After an interrupt: does the kernel answer within ``settle_timeout`` seconds?"""
        saved = self.timeout, self.interrupt_on_timeout
        self.timeout, self.interrupt_on_timeout = self.settle_timeout, True
        try:
            reply = self.wait_for_reply(self.kc.execute("", silent=True, store_history=False))
        except DeadKernelError:
            return False
        finally:
            self.timeout, self.interrupt_on_timeout = saved
        return reply is not None

    def _recover(self):
        """Replace the kernel and replay the cells that ran fine; give up after max_restarts."""
        while True:
            self._restarts += 1
            self._stop_kernel()
            if self._restarts > self.max_restarts:
                self.log.warning("Kernel crashed %d times: the remaining cells are not run", self._restarts)
                return
            self.km = self.create_kernel_manager()
            self.start_new_kernel()
            self.start_new_kernel_client()
            try:
                self._replay()
                return
            except DeadKernelError:
                continue

    def _replay(self):
        for index in self._replayable:
            original = self.nb.cells[index]
            try:
                self.execute_cell(copy.deepcopy(original), index, store_history=False)
            finally:
                self.nb.cells[index] = original

    def _stop_kernel(self):
        if self.km is not None:
            try:
                run_sync(self.km.shutdown_kernel)(now=True)
            except RuntimeError:  # already gone
                pass
        self._cleanup_kernel()


def _copy_files(source, dest):
    """Copy the assignment's non-notebook files (data, helpers) into the kernel's directory."""
    for path in source.iterdir():
        if path.suffix == ".ipynb" or path.is_symlink():
            continue
        if path.is_dir():
            shutil.copytree(path, dest / path.name, symlinks=False)
        else:
            shutil.copy(path, dest / path.name)


def _error(ename, evalue):
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _has_error(cell, ename=None):
    return any(o.output_type == "error" and (ename is None or o.get("ename") == ename)
               for o in cell.outputs)


def _output_size(msg):
    content = msg.get("content", {})
    if "text" in content:
        return len(content["text"])
    return sum(len(str(value)) for value in content.get("data", {}).values())
