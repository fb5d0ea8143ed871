"""Submissions made from a source notebook: correct, stubbed, wrong, hostile.

Each helper takes a notebook (``NotebookNode``) and returns a changed copy; ``answer(nb, name,
body)`` replaces the solution region of the answer cell whose grade id is ``name``.
"""

import copy
import re

STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
_REGION = re.compile(r"( *)### BEGIN SOLUTION\n.*?### END SOLUTION", re.S)


def cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def answer(nb, name, body):
    """Replace the solution of answer cell ``name`` with ``body`` (indented like the solution)."""
    nb = copy.deepcopy(nb)
    target = cell(nb, name)
    indent = _REGION.search(target.source).group(1)
    code = "\n".join(indent + line for line in body.splitlines())
    target.source = _REGION.sub(lambda m: code, target.source, count=1)
    return nb


def prepend(nb, name, code):
    """Put ``code`` at the top of the cell ``name`` (it runs when the cell runs)."""
    nb = copy.deepcopy(nb)
    target = cell(nb, name)
    target.source = code + "\n" + target.source
    return nb


def answer_cells(nb):
    """grade id -> cell, for every answer (solution, not graded) cell."""
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("solution") and not c.metadata["nbgrader"].get("grade")}


def graded_cells(nb):
    """grade id -> cell, for every graded cell (tests, and any graded answer)."""
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade")}


def points_naming(nb, function):
    """Points of the test cells whose source names ``function``."""
    word = re.compile(rf"\b{re.escape(function)}\b")
    return sum(c.metadata["nbgrader"]["points"] for c in graded_cells(nb).values()
               if c.cell_type == "code" and word.search(c.source))
