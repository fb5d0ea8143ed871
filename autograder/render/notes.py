"""Notes about a submission: what was wrong with it, in one line each.

The same lines appear in the student's feedback (``AddGradingNotes``) and in the instructor's
summary. They are kept per submission in ``<course root>/notes/<assignment>/<student>.json``,
one list per stage (``import``, ``grading``, ``feedback``); re-running a stage replaces its list.
"""

import json
import re
from pathlib import Path

from nbformat import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests

from autograder.sandbox.deadlines import OUT_OF_TIME
from autograder.sandbox.kernel_cells import (
    KERNEL_DIED,
    NOT_RUN,
    TIMEOUT_ERROR,
    TRUNCATED,
)

STAGES = ("import", "grading", "feedback")
OUT_OF_TIME_NOTE = "the notebook ran past its time limit"  # said once, for the first cell not run


def _path(root, assignment, student):
    return Path(root) / "notes" / assignment / f"{student}.json"


def write(root, assignment, student, stage, lines):
    """Replace the notes of one stage for one submission."""
    path = _path(root, assignment, student)
    stored = json.loads(path.read_text()) if path.exists() else {}
    stored[stage] = list(lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stored, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def read(root, assignment, student, stages=STAGES):
    """The notes of ``stages`` (default: all, import notes first) for one submission."""
    path = _path(root, assignment, student)
    if not path.exists():
        return []
    stored = json.loads(path.read_text())
    return [line for stage in stages for line in stored.get(stage, [])]


def metadata_problems(nb, gb, notebook, assignment):
    """What the student changed in the nbgrader cells of ``nb`` (the notebook as submitted).

    Args:
        nb: the submitted notebook (``NotebookNode``).
        gb: an open ``nbgrader.api.Gradebook`` holding the released assignment.
        notebook, assignment: names in the gradebook.

    Returns:
        list of one-line notes; empty when the nbgrader cells are as released.
    """
    lines = []
    source = {cell.name: cell for cell in gb.find_notebook(notebook, assignment).source_cells}
    graded = {cell.name: cell for cell in gb.find_notebook(notebook, assignment).grade_cells}
    seen = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader")
        if not isinstance(meta, dict) or "grade_id" not in meta:
            continue
        grade_id = meta["grade_id"]
        seen[grade_id] = seen.get(grade_id, 0) + 1
        if grade_id not in source:
            lines.append(f"a cell claims the unknown grade id {grade_id!r}: it was graded as an ordinary cell")
            continue
        if grade_id in graded and "points" in meta and _as_float(meta["points"]) != float(graded[grade_id].max_score):
            lines.append(f"the points of {grade_id!r} were changed to {meta['points']!r}: "
                         f"the released {graded[grade_id].max_score:g} were used")
        if source[grade_id].locked and cell.get("source", "").strip() != _released_source(source[grade_id]):
            lines.append(f"the locked cell {grade_id!r} was edited: the released version was graded")
    for grade_id, count in seen.items():
        if count > 1 and grade_id in source:
            lines.append(f"the cell {grade_id!r} appears {count} times: only the last one was graded")
    for grade_id in graded:
        if grade_id not in seen:
            lines.append(f"the test cell {grade_id!r} was deleted: the released version was put back and graded")
    return lines


def _released_source(source_cell):
    """The cell's text as the student received it: hidden test regions removed."""
    cell = NotebookNode(source=source_cell.source, cell_type=source_cell.cell_type)
    ClearHiddenTests()._remove_hidden_test_region(cell)
    return cell.source.strip()


def execution_problems(nb, memory_mb):
    """What went wrong while the autograded notebook ``nb`` ran, cell by cell.

    Returns:
        list of one-line notes naming the cell (its grade id, or its number).
    """
    lines = []
    for number, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        name = f"cell {grade_id!r}" if grade_id else f"code cell {number}"
        for output in cell.get("outputs", []):
            line = _describe(output, name, memory_mb)
            if line and not (output.get("ename") == OUT_OF_TIME and any(OUT_OF_TIME_NOTE in ln for ln in lines)):
                lines.append(line)
    return lines


def _describe(output, name, memory_mb):
    if output.output_type == "stream":
        truncated = TRUNCATED.split("{")[0]
        return f"{name} printed too much: its output was cut" if truncated in output.text else None
    if output.output_type != "error":
        return None
    ename, evalue = output.get("ename", ""), str(output.get("evalue", ""))
    if ename == TIMEOUT_ERROR:
        return f"{name} ran past the time limit and was stopped (an endless loop?)"
    if ename == KERNEL_DIED:
        return f"{name} stopped the kernel (exit, kill or out of memory); later cells ran in a fresh kernel"
    if ename == NOT_RUN:
        return f"{name} was not run: the kernel crashed too often"
    if ename == OUT_OF_TIME:
        limit = re.search(r"\((\d+ s)\)", evalue)
        return f"{name} and the cells after it were not run: {OUT_OF_TIME_NOTE}" + (
            f" ({limit.group(1)})" if limit else "")
    if ename == "MemoryError" or "raised MemoryError" in evalue:
        return f"{name} ran out of memory (limit {memory_mb} MiB)"
    again = re.search(r"(\w+): not called again: it ran past the time limit in ([\w-]+)", evalue)
    if again:
        return (f"{name}: {again.group(1)} was not called again: it ran past the time limit in "
                f"{again.group(2)} (0 for this test)")
    refused = re.search(r"(a reply of more than \d+ bytes|a Keras model of more than \d+ parameters) was refused", evalue)
    if refused:
        return (f"{name}: {refused.group(1)} came back from the function and was refused before it was "
                "read (0 for this test)")
    numpy_only = re.search(r"(\w+) is a NumPy exercise, and it used ([\w' ]+?)(?::| while)", evalue)
    if numpy_only:
        return (f"{name}: {numpy_only.group(1)} is a NumPy exercise, and it used {numpy_only.group(2)} while it "
                "was graded (0 for this test: the grade is for your own NumPy code)")
    blocked = re.search(r"(\w+) cannot be imported while this assignment is graded", evalue)
    if blocked:
        return (f"{name}: the code imports {blocked.group(1)}, which is not allowed while this assignment "
                "is graded (0 for this test: the grade is for your own code)")
    withheld = re.search(r"(cnnlib\.[\w.]+) is withheld", evalue)
    if withheld:
        return (f"{name}: the function calls {withheld.group(1)}, which is withheld while this "
                "assignment is graded (0 for this test: the grade is for your own implementation)")
    return None


def _as_float(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
