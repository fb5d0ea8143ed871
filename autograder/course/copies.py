"""Copies flagged, never zeroed: each solution compared with the reference and the class's others.

After grading, every submitted notebook's answer cells are compared, function by function, with
the source notebook's solution and with the same answer of every other student of the assignment,
and each with every function of the course library that the assignment withholds
(``cnn_course.withheld``: ``cnnlib.layers.conv2d_forward`` and the like, which anyone can read in
the project's repository), by fingerprints that ignore names, comments and layout
(``autograder.judge.fingerprint``). A pair
at or above the threshold is written to ``<course root>/copies/<assignment>.json`` and shown side
by side in ``<course root>/copies/<assignment>/<student>-<function>.html``; the instructor's
summary then says "needs manual review" with a note. No score ever changes.
"""

import ast
import html
import json
import re
from pathlib import Path

import nbformat

from autograder.judge.fingerprint import THRESHOLD, fingerprint, similarity
from autograder.judge.testcells import bound_names, is_solution_cell
from autograder.judge.withheld import assignment_settings, reachable

REFERENCE = "the reference"
_REGION = re.compile(r"^ *### (BEGIN|END) SOLUTION\n", re.M)


def answers(nb):
    """function name -> the source of the answer cell that defines it."""
    return {name: _REGION.sub("", cell.source) for cell in nb.cells
            if is_solution_cell(cell) and "def " in cell.source for name in bound_names(cell.source)}


def flag_copies(course, assignment):
    """Compare the assignment's submissions; write and return {student: [flag, ...]}.

    A flag is a dict: ``function``, ``like`` (another student's id, "the reference", or the dotted
    name of a withheld ``cnnlib`` function) and ``similarity`` (0 to 1).
    """
    (source,) = sorted((course.source / assignment).glob("*.ipynb"))
    reference = {name: (code, fingerprint(code)) for name, code in answers(nbformat.read(source, 4)).items()}
    library = {name: (code, fingerprint(code))
               for name, code in library_references(assignment_settings([source])["withheld"]).items()}
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
            others = [(REFERENCE, reference.get(function)), *library.items()] + [
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


def library_references(withheld):
    """dotted name -> source of each withheld ``cnnlib`` function with the private helpers it
    calls (what a student would paste), read from the library's files: nothing is imported, as a
    module that loads Keras would cost seconds."""
    import cnnlib

    package = Path(cnnlib.__file__).parent
    modules, found = {}, {}  # module file -> (its text, name -> its top-level function)
    for dotted in withheld:
        _, *module, name = dotted.split(".")
        path = package.joinpath(*module).with_suffix(".py")
        if path not in modules:
            text = path.read_text()
            functions = [node for node in ast.parse(text).body if isinstance(node, ast.FunctionDef)]
            modules[path] = text, {node.name: node for node in functions}
        text, defined = modules[path]
        if name in defined:
            found[dotted] = "\n\n".join(ast.get_source_segment(text, defined[helper])
                                         for helper in [name, *sorted(reachable([name], defined) - {name})])
    return found


def read_flags(root, assignment):
    path = Path(root) / "copies" / f"{assignment}.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def describe(flag):
    like = flag["like"]
    if like == REFERENCE:
        return f"{flag['function']} is {flag['similarity']:.0%} like the reference solution"
    if like.startswith("cnnlib."):
        return f"{flag['function']} is {flag['similarity']:.0%} like the course library's {like}"
    return f"{flag['function']} is {flag['similarity']:.0%} like {like}'s"


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
