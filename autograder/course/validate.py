"""The student's check before submitting: ``cnn-course validate NOTEBOOK``.

This is nbgrader's own validation (the same as the Validate button of JupyterLab's nbgrader
extension): it runs the notebook from top to bottom with the visible tests and reports test
cells that fail and locked cells that were edited. Hidden tests are not in a student's notebook,
so passing validation is necessary for full marks, not sufficient.

The report opens with a summary, "3 of 8 checks fail: correlate2d, apply_kernel_bank, ...", then
one clean line per failed test ("correlate2d: expected ..."), without tracebacks or cells' code.
The Lab's Validate button is nbgrader's own validator, which cannot be swapped: the course's
``nbgrader_config.py`` in the student tree (:func:`lab_config`) gives its ``Execute`` a hook,
:class:`FailureSummary`, that gathers the failed test cells, after they ran, into one failed cell
holding the summary and those lines, so that nbgrader's dialog shows its "The following cell
failed:" header once. A long line wraps onto indented lines rather than being cut (nbgrader cuts
lines at 90 characters, which loses the "expected ..., got ..." end of a check's message), and the
kernel's own console (its start-up
notices, native libraries' logs) is discarded, so that the report is all there is.
"""

import io
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
import nbformat
from nbconvert.filters import strip_ansi
from nbgrader.utils import compute_checksum
from nbgrader.validator import Validator

from autograder.course.config import Limits, execute_config
from autograder.judge.testcells import is_test_cell, test_labels

CONFIG_FILE = """# The course's settings for nbgrader's Validate button (written by cnn-course release --to).
from autograder.course.validate import lab_config

c.merge(lab_config())
"""
WIDTH = 100  # characters a report line takes before it wraps: the Lab's dialog shows about 110


class QuietKernelManager(AsyncKernelManager):
    """A kernel whose standard output and error go nowhere: what a cell prints reaches the
    notebook through the kernel's channels, not through these."""

    async def _async_pre_start_kernel(self, **kw):
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        return await super()._async_pre_start_kernel(**kw)


class FailureSummary:
    """Hooks of nbgrader's ``Execute`` that gather the failed test cells into one report.

    ``started`` (``on_cell_start``) sees every cell as it starts; ``failed`` (``on_cell_error``)
    each cell that raised, once its outputs are in. nbgrader's Lab dialog shows each failed cell
    under its own "The following cell failed:" header, with its source and its error: so the first
    failed test cell becomes the whole report, its source the summary ("3 of 8 checks fail: ...")
    and its error one line per failed check ("relu: relu([-1, 0, 2]): expected ...", wrapped at
    :data:`WIDTH` with an indent, as the dialog does not wrap), brought up to
    date as cells start and fail, its checksum following its new source; the other failed cells
    lose their error, so that the dialog lists the report once. A test cell that the student edited
    is left as it is, so that nbgrader reports the edit.
    """

    def __init__(self):
        self.cells = {}   # index -> code cell of the notebook being validated
        self.labels = {}  # index -> "relu: visible tests", for its test cells
        self.errors = {}  # index -> the one line of a failed test cell
        self.edited = set()

    def __deepcopy__(self, memo):
        return self  # traitlets copies each configured value: both hooks must share one state

    def started(self, cell, cell_index, **_):
        if self.cells and cell_index <= max(self.cells):  # another notebook, or a run again
            self.__init__()
        if cell.cell_type != "code":
            return
        self.cells[cell_index] = cell
        if is_test_cell(cell):
            answers = [c for _, c in sorted(self.cells.items()) if not is_test_cell(c)]
            notebook = nbformat.v4.new_notebook(cells=[*answers, cell])
            grade_id = cell.metadata.nbgrader.get("grade_id", "")
            label = test_labels(notebook).get(grade_id, "the notebook")
            if label.startswith("the notebook"):  # a test of a value whose stub does not bind it yet
                label = re.sub(r"^test_|_hidden$", "", grade_id) + label[len("the notebook"):]
            self.labels[cell_index] = label
            if cell.metadata.nbgrader.get("checksum") not in (None, compute_checksum(cell)):
                self.edited.add(cell_index)
        self.summarise()

    def failed(self, cell, cell_index, **_):
        if cell_index in self.labels and cell_index not in self.edited:
            self.errors[cell_index] = failure_line(cell)
            self.summarise()

    def summarise(self):
        names = list(dict.fromkeys(self.labels[i].split(":")[0] for i in sorted(self.errors)))
        summary = f"{len(self.errors)} of {len(self.labels)} checks fail: {', '.join(names)}"
        lines = [wrapped for i in sorted(self.errors) for line in
                 f"{self.labels[i].split(':')[0]}: {_without_name(self.errors[i])}".split("\n")
                 for wrapped in textwrap.wrap(line, WIDTH, subsequent_indent="    ", break_long_words=False,
                                              break_on_hyphens=False)]
        first, *others = sorted(self.errors) or [None]
        for index in others:
            self.cells[index].outputs = []
        if first is not None:
            cell = self.cells[first]
            cell.source = textwrap.fill(summary, WIDTH, subsequent_indent="    ")
            cell.outputs = [nbformat.v4.new_output("error", ename="CheckFailed", evalue=summary, traceback=lines)]
            if "checksum" in cell.metadata.nbgrader:
                cell.metadata.nbgrader.checksum = compute_checksum(cell)


def _without_name(line):
    """A check's message without the "CheckFailed: " before it (other exceptions keep their name)."""
    return line[len("CheckFailed: "):] if line.startswith("CheckFailed: ") else line


def failure_line(cell):
    """What a failed cell says, in one line (two when a classic mistake is named): the check's
    message, or the last line of another exception's traceback."""
    for output in cell.get("outputs", []):
        if output.get("output_type") != "error":
            continue
        lines = [strip_ansi(line) for line in output.get("traceback", []) for line in line.split("\n")]
        lines = [line.strip() for line in lines if line.strip()]
        if output.get("ename") == "CheckFailed" or lines[:1] and lines[0].startswith("CheckFailed"):
            return "\n".join(line for line in lines if not line.startswith("-----"))
        if output.get("ename") == "NotImplementedError":
            return "NotImplementedError: not written yet (the function still raises NotImplementedError)"
        return lines[-1] if lines else f"{output.get('ename')}: {output.get('evalue')}"
    return ""


def lab_config(limits=None):
    """nbgrader's settings for the Lab's Validate button: the grading limits and the summary."""
    config = execute_config(limits or Limits())
    summary = FailureSummary()
    config.Execute.on_cell_start = summary.started
    config.Execute.on_cell_error = summary.failed
    return config


class WholeLineValidator(Validator):
    """nbgrader's validator, printing the summary and one line per failed test (as the Lab's dialog
    shows them, from the one failed cell that :class:`FailureSummary` leaves)."""

    def _indent(self, val):
        return "\n".join(self.indent + strip_ansi(line) for line in val.split("\n"))

    def _print_num_failed(self, num_failed):
        if not num_failed:  # "Success! ..."; otherwise the first failed cell opens with the summary
            super()._print_num_failed(num_failed)

    def _print_error(self, source, error):
        self.stream.write(f"{source.strip()}\n\n{self._indent(error)}\n")


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
    config = lab_config(Limits(cell_timeout=timeout) if timeout else Limits())
    config.Execute.kernel_manager_class = QuietKernelManager
    validator = WholeLineValidator(config=config)
    validator.stream = io.StringIO()
    validator.validate_and_print(str(path))
    report = validator.stream.getvalue()
    stream.write(f"{path}:\n{report}")
    return report.startswith("Success!")
