"""The student's check before submitting: ``cnn-course validate NOTEBOOK``.

This is nbgrader's own validation (the same as the Validate button of JupyterLab's nbgrader
extension): it runs the notebook from top to bottom with the visible tests and reports test
cells that fail and locked cells that were edited. Hidden tests are not in a student's notebook,
so passing validation is necessary for full marks, not sufficient.

Two changes to nbgrader's report: lines are printed whole (nbgrader cuts them at 90 characters,
which loses the "expected ..., got ..." end of a check's message), and the kernel's own console
(its start-up notices, native libraries' logs) is discarded, so that the report is all there is.
"""

import io
import subprocess
import sys
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from nbconvert.filters import strip_ansi
from nbgrader.validator import Validator

from autograder.course.config import Limits, execute_config


class QuietKernelManager(AsyncKernelManager):
    """A kernel whose standard output and error go nowhere: what a cell prints reaches the
    notebook through the kernel's channels, not through these."""

    async def _async_pre_start_kernel(self, **kw):
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        return await super()._async_pre_start_kernel(**kw)


class WholeLineValidator(Validator):
    """nbgrader's validator, printing code and errors without cutting their lines."""

    def _indent(self, val):
        return "\n".join(self.indent + strip_ansi(line) for line in val.split("\n"))


def validate(notebook, timeout=None, stream=None):
    """Validate one notebook and print nbgrader's report.

    Args:
        notebook: path of the notebook.
        timeout: seconds per cell (default: the grading limit).
        stream: where to print (default: standard output).

    Returns:
        True if every test cell passes and no locked cell was changed.
    """
    stream = stream or sys.stdout
    path = Path(notebook)
    if not path.is_file():
        raise FileNotFoundError(f"No notebook at {path}.")
    config = execute_config(Limits(cell_timeout=timeout) if timeout else Limits())
    config.Execute.kernel_manager_class = QuietKernelManager
    validator = WholeLineValidator(config=config)
    validator.stream = io.StringIO()
    validator.validate_and_print(str(path))
    report = validator.stream.getvalue()
    stream.write(f"{path}:\n{report}")
    return report.startswith("Success!")
