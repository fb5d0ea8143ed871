"""Copies flagged, never zeroed: each solution compared with the reference and the class's others.

After grading, every submitted notebook's answer cells are compared, function by function, with
the source notebook's solution and with the same answer of every other student of the assignment,
by fingerprints that ignore names, comments and layout (``autograder.judge.fingerprint``). A pair
at or above the threshold is written to ``<course root>/copies/<assignment>.json`` and shown side
by side in ``<course root>/copies/<assignment>/<student>-<function>.html``; the instructor's
summary then says "needs manual review" with a note. No score ever changes.
"""

import html
import json
import re
from pathlib import Path

import nbformat

from autograder.judge.fingerprint import THRESHOLD, fingerprint, similarity
from autograder.judge.testcells import bound_names, is_solution_cell

REFERENCE = "the reference"
_REGION = re.compile(r"^ *### (BEGIN|END) SOLUTION\n", re.M)


def answers(nb):
    """function name -> the source of the answer cell that defines it."""
    return {name: _REGION.sub("", cell.source) for cell in nb.cells
            if is_solution_cell(cell) and "def " in cell.source for name in bound_names(cell.source)}


def flag_copies(course, assignment):
    """Compare the assignment's submissions; write and return {student: [flag, ...]}.

    A flag is a dict: ``function``, ``like`` (another student's id, or "the reference") and
    ``similarity`` (0 to 1).
    """
    (source,) = sorted((course.source / assignment).glob("*.ipynb"))
    reference = {name: (code, fingerprint(code)) for name, code in answers(nbformat.read(source, 4)).items()}
    submitted = {}
    for folder in sorted(course.root.glob(f"submitted/*/{assignment}")):
        for path in sorted(folder.glob("*.ipynb")):
            try:
                nb = nbformat.read(path, 4)
            except Exception:  # not a notebook: import and grading say so
                continue
            submitted[folder.parent.name] = {name: (code, fingerprint(code)) for name, code in answers(nb).items()}
    flags = {}
    for student, functions in submitted.items():
        for function, (code, prints) in functions.items():
            others = [(REFERENCE, reference.get(function))] + [
                (other, submitted[other].get(function)) for other in submitted if other != student]
            for like, found in others:
                if found and similarity(prints, found[1]) >= THRESHOLD:
                    flags.setdefault(student, []).append(
                        {"function": function, "like": like, "similarity": round(similarity(prints, found[1]), 2)})
                    _side_by_side(course.root / "copies" / assignment, student, function, code, like, found[0])
    path = course.root / "copies" / f"{assignment}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(flags, indent=1, sort_keys=True) + "\n")
    return flags


def read_flags(root, assignment):
    path = Path(root) / "copies" / f"{assignment}.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def describe(flag):
    return f"{flag['function']} is {flag['similarity']:.0%} like {flag['like']}'s" if flag["like"] != REFERENCE \
        else f"{flag['function']} is {flag['similarity']:.0%} like the reference solution"


def _side_by_side(folder, student, function, code, like, other):
    folder.mkdir(parents=True, exist_ok=True)
    cells = "".join(f"<td><h2>{html.escape(who)}</h2><pre>{html.escape(text)}</pre></td>"
                    for who, text in ((student, code), (like, other)))
    page = (f"<!doctype html><meta charset='utf-8'><title>{html.escape(student)}: {html.escape(function)}</title>"
            "<style>td{vertical-align:top;padding:0 1em}pre{font-size:13px}</style>"
            f"<p>Needs manual review: {html.escape(function)} of {html.escape(student)} next to {html.escape(like)}'s "
            "(names, comments and layout ignored). The score is unchanged.</p>"
            f"<table><tr>{cells}</tr></table>")
    like_name = "reference" if like == REFERENCE else like
    (folder / f"{student}-{function}-{like_name}.html").write_text(page)
