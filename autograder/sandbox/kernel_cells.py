"""Phase one of grading a notebook: its cells, in order, in a sandboxed kernel that survives crashes.

:class:`KernelCells` is nbgrader's ``Execute`` with what a class of a few hundred students needs:

- the kernel runs in a sandbox under resource limits (``autograder.sandbox.kernel_manager``),
  with the assignment's graded references withheld from its copy of ``cnnlib``
  (``autograder.judge.withheld``); in the sandbox it is forked from a process that has already
  imported what the assignment's cells import (``autograder.sandbox.factory``), which saves most
  of a kernel's start. Without the sandbox (no bubblewrap), each kernel boots on its own;
- a kernel that dies (``os._exit``, killed, out of memory) or ignores the interrupt after a
  timeout costs the cell that did it: the kernel is restarted, the cells that had run fine before
  are run again (their outputs are kept from the first run, so Matplotlib draws nothing while
  they run again), and grading goes on;
- each cell keeps at most ``output_chars`` characters of text and ``image_chars`` characters of
  images (base64), so 100 MB of prints cannot swamp the grader or the feedback, and plots stay;
- the kernel's working directory is a scratch copy of the assignment's files outside the course
  directory, which is all of the disk it may write.

Phase two, the graded test cells run in the grader, is ``autograder.sandbox.executor``.
"""

import contextlib
import copy
import shutil
import time
from pathlib import Path

import nbformat
import zmq
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Integer

from autograder.judge.testcells import preload_code
from autograder.sandbox.factory import end_unkept_factories, thread_factory
from autograder.sandbox.kernel_manager import SandboxedKernelManager

TIMEOUT_ERROR = "CellTimeoutError"  # nbgrader's Execute.error_on_timeout ename
KERNEL_DIED = "KernelDied"
NOT_RUN = "CellNotRun"
TRUNCATED = "[output truncated: this cell printed more than {limit} characters]"
IMAGE_DROPPED = "[image left out: this cell's images exceeded {limit} characters]"
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml")
# Run in the kernel around a replay, each in a namespace of its own: Matplotlib's Agg backend
# draws nothing, then the backend from before comes back, unless a replayed cell chose another
# (the kernel's inline backend through IPython's own magic, which also restores its display).
PLOTS_OFF = """
import matplotlib
matplotlib._backend_before_replay = matplotlib.get_backend()
matplotlib.use("agg")
"""
PLOTS_ON = """
import matplotlib, matplotlib.pyplot
from IPython import get_ipython
matplotlib.pyplot.close("all")
if matplotlib.get_backend() == "agg":
    if matplotlib._backend_before_replay == "module://matplotlib_inline.backend_inline":
        get_ipython().run_line_magic("matplotlib", "inline")
    else:
        matplotlib.use(matplotlib._backend_before_replay)
"""


class KernelCells(Execute):
    """nbgrader's ``Execute`` in a sandboxed kernel that survives crashes, with output limits."""

    output_chars = Integer(100_000, help="Characters of text output kept per cell.").tag(config=True)
    image_chars = Integer(8_000_000, help="Characters of images (base64) kept per cell.").tag(config=True)
    max_restarts = Integer(3, help="Kernel restarts per notebook before the rest is not run.").tag(config=True)
    settle_timeout = Integer(
        5, help="Seconds a kernel gets to become responsive after a timed-out cell is interrupted."
    ).tag(config=True)

    def __init__(self, **kwargs):
        kwargs["kernel_manager_class"] = SandboxedKernelManager
        super().__init__(**kwargs)

    def preprocess(self, nb, resources=None, km=None):
        resources = resources if resources is not None else {}
        metadata = resources.setdefault("metadata", {})
        original_path = metadata.get("path")
        self._restarts = 0
        self._replayable = []  # indices of code cells that ran without error, in order
        self._printed = {}  # characters of text output kept so far, per cell index
        self._drawn = {}  # characters of images kept so far, per cell index
        self._source = _source_notebook(self.config, resources)
        self._preload = preload_code(self._source) if self._source is not None else ""
        self._files = Path(original_path) if original_path else None
        # The kernel's working directory is its own scratch folder (see create_kernel_manager).
        metadata["path"] = None
        try:
            return super().preprocess(nb, resources, km)
        finally:
            metadata["path"] = original_path
            end_unkept_factories()

    def create_kernel_manager(self):
        """A kernel manager with a copy of the assignment's files in its scratch folder, whose
        kernel is forked from this process's factory when it is sandboxed."""
        name = self.kernel_name or self.nb.metadata.get("kernelspec", {}).get("name", "python3")
        settings = dict(self.config.get("SandboxedKernelManager", {}))
        factory = thread_factory(name, settings, self.config, self._preload) if settings.get("sandboxed") else None
        self.km = self.kernel_manager_class(kernel_name=name, config=self.config, factory=factory)
        if self._files is not None:
            _copy_files(self._files, self.km.scratch)
        return self.km

    def start_new_kernel(self, **kwargs):
        with timed("kernel start"):
            super().start_new_kernel(cwd=str(self.km.scratch), **kwargs)

    def start_new_kernel_client(self):
        with timed("kernel start"):
            return super().start_new_kernel_client()

    async def _async_cleanup_kernel(self):
        if self.kc is not None:
            _drop_unsent(self.kc)
        await super()._async_cleanup_kernel()

    _cleanup_kernel = run_sync(_async_cleanup_kernel)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and cell.source.strip():
            with timed("notebook cells"):
                cell = self._run_in_kernel(cell, resources, index)
        return cell, resources

    def _run_in_kernel(self, cell, resources, index):
        if self.kc is None:  # gave up after too many restarts
            cell.outputs = [not_run()]
            return cell
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except CellTimeoutError:  # interrupted, but the kernel never went idle
            cell.outputs.append(_error(TIMEOUT_ERROR, "the cell ran past the time limit and did "
                                       "not stop when interrupted; the kernel was restarted"))
            self._recover()
            return cell
        except DeadKernelError:
            cell.outputs.append(_error(
                KERNEL_DIED, "the kernel stopped while running this cell (it exited, was killed "
                "or ran out of memory); it was restarted and the cells before this one run again"))
            self._recover()
            return cell
        if _has_error(cell, TIMEOUT_ERROR):
            if not self._responsive():
                self._recover()
        elif not _has_error(cell):
            self._replayable.append(index)
        return cell

    def output(self, outs, msg, display_id, cell_index):
        text, images = _output_size(msg)
        used_text, used_images = self._printed.get(cell_index, 0), self._drawn.get(cell_index, 0)
        self._printed[cell_index], self._drawn[cell_index] = used_text + text, used_images + images
        if msg["msg_type"] == "error":
            return super().output(outs, msg, display_id, cell_index)
        if used_images + images > self.image_chars:
            msg = copy.deepcopy(msg)
            data = msg["content"].get("data", {})
            for mime in IMAGE_TYPES:
                data.pop(mime, None)
            data["text/plain"] = IMAGE_DROPPED.format(limit=self.image_chars)
        if used_text + text <= self.output_chars:
            return super().output(outs, msg, display_id, cell_index)
        if used_text <= self.output_chars:  # the first output over the limit: say so, once
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
            except DeadKernelError:
                continue
            return

    def _replay(self):
        """Run again, in a new kernel, the cells that ran fine. Their new outputs are dropped, so
        Matplotlib draws no figure meanwhile (Agg backend, figures closed after)."""
        _run_aside(self.kc, PLOTS_OFF)
        for index in self._replayable:
            original = self.nb.cells[index]
            try:
                self.execute_cell(copy.deepcopy(original), index, store_history=False)
            finally:
                self.nb.cells[index] = original
        _run_aside(self.kc, PLOTS_ON)

    def _stop_kernel(self):
        if self.km is not None:
            try:
                run_sync(self.km.shutdown_kernel)(now=True)
            except RuntimeError:  # already gone
                pass
        self._cleanup_kernel()


# Seconds this process spent, per phase, since grading.submission.grade_submission last reset it.
timings = {"kernel start": 0.0, "notebook cells": 0.0, "test cells": 0.0}


@contextlib.contextmanager
def timed(phase):
    """Add the seconds the ``with`` block takes to ``timings[phase]``."""
    began = time.perf_counter()
    try:
        yield
    finally:
        timings[phase] += time.perf_counter() - began


def _run_aside(client, code):
    """Send ``code`` to the client's kernel to run in a namespace of its own; its outcome is not
    awaited, and an error in it cancels nothing queued after it."""
    client.execute(f"exec({code!r}, {{}})", silent=True, store_history=False, stop_on_error=False)


def _drop_unsent(client):
    """Let the client's channels close at once: messages still queued for a kernel that is going
    away are dropped, instead of holding the channels open for a second while zmq waits."""
    for channel in (client.shell_channel, client.iopub_channel, client.stdin_channel, client.control_channel):
        if channel.socket is not None and not channel.socket.closed:
            channel.socket.setsockopt(zmq.LINGER, 0)


def _copy_files(source, dest):
    """Copy the assignment's non-notebook files (data, helpers) into the kernel's directory."""
    for path in source.iterdir():
        if path.suffix == ".ipynb" or path.is_symlink():
            continue
        if path.is_dir():
            shutil.copytree(path, dest / path.name, symlinks=False)
        else:
            shutil.copy(path, dest / path.name)


def not_run():
    """The output of a cell left unrun because the kernel crashed too often."""
    return _error(NOT_RUN, "not run: the kernel crashed too often before this cell")


def _error(ename, evalue):
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _has_error(cell, ename=None):
    return any(o.output_type == "error" and (ename is None or o.get("ename") == ename)
               for o in cell.outputs)


def _output_size(msg):
    """(characters of text, characters of images) in one output message."""
    content = msg.get("content", {})
    if "text" in content:
        return len(content["text"]), 0
    data = content.get("data", {})
    images = sum(len(str(value)) for mime, value in data.items() if mime in IMAGE_TYPES)
    text = sum(len(str(value)) for mime, value in data.items() if mime not in IMAGE_TYPES)
    return text, images


def _source_notebook(config, resources):
    """The instructor's source notebook of the one being graded (its tests and solutions)."""
    info = resources.get("nbgrader", {})
    root = config.CourseDirectory.get("root")
    if not root or "assignment" not in info or "notebook" not in info:
        return None
    path = Path(root) / "source" / info["assignment"] / f"{info['notebook']}.ipynb"
    return nbformat.read(str(path), 4) if path.is_file() else None
