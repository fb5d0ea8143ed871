"""The small nbgrader preprocessors the course adds to nbgrader's own.

- :class:`DropUnknownCells` (autograde, before ``DeduplicateIds``): a cell's nbgrader metadata is
  the student's to edit. Metadata naming a grade id the gradebook does not know is removed (the
  cell stays, as an ordinary cell), and the flags and points of known cells are restored from the
  gradebook, so that invented or edited metadata can neither earn points nor crash the grading.
- :class:`AddGradingNotes` (feedback): puts the grader's notes about a submission (see
  ``autograder.render.notes``) in a Markdown cell at the top of the feedback.
- :class:`HideHiddenTracebacks` (feedback): a failed hidden test shows its message only.
- :class:`ClearHiddenTestCells` (feedback): nbgrader's ``ClearHiddenTests`` on test cells only,
  so that a student's own cell that mentions the markers is just text.
- :class:`SanitizeNotebook` (autograde and feedback): nothing from a submission left live
  (``autograder.render.sanitize``).
"""

import html

from nbformat.v4 import new_markdown_cell
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor

from autograder.judge.testcells import is_test_cell
from autograder.render import notes
from autograder.render.sanitize import sanitize_notebook


class DropUnknownCells(NbGraderPreprocessor):
    """Restore known cells' nbgrader metadata from the gradebook; strip it from unknown ones."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            self._known = _known_cells(gb, info["notebook"], info["assignment"])
        # Of cells sharing a grade id, the last is graded (nbgrader's DeduplicateIds keeps the last
        # too, but leaves an empty metadata dict that its OverwriteCells then trips over).
        self._last = {}
        for index, cell in enumerate(nb.cells):
            metadata = cell.metadata.get("nbgrader")
            if isinstance(metadata, dict) and metadata.get("grade_id") in self._known:
                self._last[metadata["grade_id"]] = index
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        metadata = cell.metadata.get("nbgrader")
        if metadata is None:
            return cell, resources
        grade_id = metadata.get("grade_id") if isinstance(metadata, dict) else None
        if self._last.get(grade_id) != index:
            del cell.metadata["nbgrader"]
        else:
            cell.metadata["nbgrader"] = dict(metadata, **self._known[grade_id])
        return cell, resources


def _known_cells(gb, notebook, assignment):
    """grade_id -> the nbgrader flags (and points) the release gave that cell."""
    known = {}
    for source in gb.find_notebook(notebook, assignment).source_cells:
        flags = {"grade_id": source.name, "locked": bool(source.locked), "grade": False,
                 "solution": False, "task": False, "schema_version": 3}
        try:
            graded = gb.find_graded_cell(source.name, notebook, assignment)
        except MissingEntry:
            pass
        else:
            flags["grade" if graded.type == "GradeCell" else "task"] = True
            flags["points"] = float(graded.max_score)
        try:
            gb.find_solution_cell(source.name, notebook, assignment)
            flags["solution"] = True
        except MissingEntry:
            pass
        known[source.name] = flags
    return known


class AddGradingNotes(NbGraderPreprocessor):
    """Show the notes recorded for this submission at the top of its feedback."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        root = self.config.CourseDirectory.root
        lines = notes.read(root, info["assignment"], info["student"])
        if lines:
            text = "**Notes from the grader**\n\n" + "\n".join(f"- {_plain(line)}" for line in lines)
            nb.cells.insert(0, new_markdown_cell(text))
        return nb, resources


def _plain(line):
    """A note as markdown that shows its text literally (it may quote what a student wrote)."""
    return "".join(f"\\{c}" if c in "\\`*_{}[]()#+-.!|<>~$" else c for c in html.escape(line, quote=False))


class ClearHiddenTestCells(ClearHiddenTests):
    """Remove hidden test regions from the test cells; leave every other cell as it is."""

    def preprocess_cell(self, cell, resources, index):
        if is_test_cell(cell):
            return super().preprocess_cell(cell, resources, index)
        return cell, resources


class SanitizeNotebook(NbGraderPreprocessor):
    """Keep only inert outputs, markdown, attachments and metadata (``autograder.render.sanitize``)."""

    def preprocess(self, nb, resources):
        return sanitize_notebook(nb), resources


class HideHiddenTracebacks(NbGraderPreprocessor):
    """In feedback, reduce a hidden test's error to its message: the traceback quotes its code.

    Runs before nbgrader's ``ClearHiddenTests``, which removes the code but not the outputs.
    """

    def preprocess_cell(self, cell, resources, index):
        if is_test_cell(cell) and "BEGIN HIDDEN TESTS" in cell.source:
            for output in cell.outputs:
                if output.output_type == "error":
                    shown = "" if output.ename == "CheckFailed" else f"{output.ename}: "
                    output.traceback = [shown + str(output.evalue)]
        return cell, resources
