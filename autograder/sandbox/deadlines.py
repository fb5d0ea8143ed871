"""Time limits of a notebook's run: per cell, per notebook, and on every wait for the kernel.

:class:`TimedExecute` is nbgrader's ``Execute`` where

- a notebook has ``notebook_timeout`` seconds in all, counted from its first cell (the kernel's
  start is not the submission's doing). A cell's time limit (``timeout``) is cut to what is
  left of them, and once none is left, the cells that remain are not run (:func:`out_of_time`):
  a hundred cells that each stop just short of the cell limit cannot hold a worker for hours;
- a wait for the kernel's reply ends at an absolute deadline. nbclient's own counts only the
  intervals in which the kernel sent nothing, so a kernel that kept sending other messages could
  make it wait for ever;
- a kernel interrupted at a cell's limit gets ``settle_timeout`` seconds to answer again
  (:meth:`TimedExecute._responsive`); the caller replaces one that does not.
"""

import time
from queue import Empty

from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import DeadKernelError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Integer

OUT_OF_TIME = "NotebookTimeout"
MIN_CELL_SECONDS = 1  # the least time limit a cell is given (nbclient reads 0 as none)


class TimedExecute(Execute):
    """nbgrader's ``Execute`` with a time limit per notebook and absolute deadlines."""

    notebook_timeout = Integer(600, help="Seconds for all of a notebook's cells, tests included.").tag(config=True)
    settle_timeout = Integer(
        5, help="Seconds a kernel gets to become responsive after a timed-out cell is interrupted."
    ).tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._time_ends = None  # time.monotonic() when the notebook's time is up
        return super().preprocess(nb, resources, km)

    def time_left(self):
        """Seconds left of the notebook's time (which starts at the first call)."""
        if self._time_ends is None:
            self._time_ends = time.monotonic() + self.notebook_timeout
        return self._time_ends - time.monotonic()

    def _get_timeout(self, cell):
        """A cell's time limit: ``timeout``, or less where less of the notebook's time is left."""
        timeout = super()._get_timeout(cell)
        left = max(self.time_left(), MIN_CELL_SECONDS)
        return left if timeout is None else min(timeout, left)

    async def async_wait_for_reply(self, msg_id, cell=None):
        """The kernel's reply to ``msg_id`` by the cell's deadline, else None (after nbclient's
        timeout handling: the kernel is interrupted)."""
        timeout = self._get_timeout(cell)
        deadline = time.monotonic() + timeout
        while True:
            try:
                wait = min(self.shell_timeout_interval, max(deadline - time.monotonic(), 0))
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=wait))
                if msg["parent_header"].get("msg_id") == msg_id:
                    return msg
            except Empty:
                await self._async_check_alive()
            if time.monotonic() >= deadline:
                await self._async_handle_timeout(timeout, cell)
                return None

    wait_for_reply = run_sync(async_wait_for_reply)

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


def out_of_time(seconds):
    """The output of a cell left unrun because the notebook's time was up."""
    text = f"not run: the notebook had used its whole time limit ({seconds} s)"
    return new_output("error", ename=OUT_OF_TIME, evalue=text, traceback=[f"{OUT_OF_TIME}: {text}"])
