"""The copy detector, measured: correct solutions written independently are never flagged, a pasted
reference with its names changed and its lines reformatted always is.

    .venv/bin/python tests/test_copies.py      prints both rates and the similarities behind them
"""

import ast
import random
import re
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).parent / "autograder" / "files"))

from independent import INDEPENDENT  # noqa: E402

from autograder.course.config import COURSE_SOURCE  # noqa: E402
from autograder.judge.fingerprint import THRESHOLD, fingerprint, similarity  # noqa: E402
from autograder.judge.testcells import bound_names, is_solution_cell  # noqa: E402


def references():
    """function name -> the course's solution cell, for every function of every assignment."""
    found = {}
    for path in sorted(COURSE_SOURCE.glob("0*/*.ipynb")):
        for cell in nbformat.read(path, 4).cells:
            if is_solution_cell(cell) and "def " in cell.source:
                source = re.sub(r"^ *### (BEGIN|END) SOLUTION\n", "", cell.source, flags=re.M)
                found.update({name: source for name in bound_names(cell.source)})
    return found


WORDS = ["alpha", "beta", "gamma", "delta", "omega", "thing", "stuff", "tmp", "value", "data", "res", "acc"]


class _Renamed(ast.NodeTransformer):
    """Every local name and argument renamed to another word (the functions' own names, which the
    notebook asks for or which its calls name, and attributes kept)."""

    def __init__(self, seed):
        self.random, self.names = random.Random(seed), {}

    def _new(self, name):
        if name in ("np", "keras", "tf", "range", "len", "float", "int", "tuple", "zip", "enumerate", "sum", "max",
                    "min", "abs", "dict", "list", "str", "slice", "ValueError", "isinstance", "sorted"):
            return name
        return self.names.setdefault(name, f"{self.random.choice(WORDS)}_{len(self.names)}")

    def visit_Name(self, node):
        node.id = self._new(node.id)
        return node

    def visit_arg(self, node):
        node.arg = self._new(node.arg)
        return node


def pasted(source, seed=0):
    """The reference as a student who pasted it would hand it in: names changed, comments added, lines
    reformatted (one statement per line, other spacing, blank lines)."""
    tree, renamer = ast.parse(source), _Renamed(seed)
    renamer.names.update({node.name: node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)})
    tree = renamer.visit(tree)
    lines = []
    for number, line in enumerate(ast.unparse(tree).splitlines()):
        lines.append(line.replace(", ", ",").replace(" = ", "="))
        if number % 3 == 1:
            lines += ["", " " * (len(line) - len(line.lstrip())) + "# my own work"]
    return "\n".join(lines)


def library():
    """dotted name -> source (helpers included) of every cnnlib function an assignment withholds."""
    from autograder.course.copies import library_references
    from autograder.judge.withheld import assignment_settings

    return library_references(assignment_settings(sorted(COURSE_SOURCE.glob("0*/*.ipynb")))["withheld"])


def measured():
    """(similarities of independent pairs, similarities of pasted references to theirs).

    Independent pairs: the styles and the course's solution of each function, two by two, and each
    style against every withheld function of cnnlib. Pasted: every solution cell of the course and
    every withheld cnnlib function, against its pasted copy.
    """
    refs, lib = references(), library()
    independent = []
    for function, styles in INDEPENDENT.items():
        prints = [fingerprint(style) for style in styles] + [fingerprint(refs[function])]
        independent += [(function, i, j, similarity(prints[i], prints[j]))
                        for i in range(len(prints)) for j in range(i + 1, len(prints))]
        independent += [(function, i, name, similarity(prints[i], fingerprint(code)))
                        for i in range(len(styles)) for name, code in lib.items()]
    copies = [(function, similarity(fingerprint(source), fingerprint(pasted(source, seed))))
              for seed, (function, source) in enumerate(sorted({**refs, **lib}.items())) if fingerprint(source)]
    return independent, copies


def test_independent_solutions_are_never_flagged():
    independent, _ = measured()
    assert len(independent) == (6 + 3 * len(library())) * len(INDEPENDENT)
    assert [pair for pair in independent if pair[3] >= THRESHOLD] == []


def test_a_pasted_reference_is_always_flagged():
    _, copies = measured()
    assert len(copies) >= 25
    assert [pair for pair in copies if pair[1] < THRESHOLD] == []


@pytest.mark.parametrize("function", sorted(INDEPENDENT))
def test_the_independent_solutions_are_correct(function):
    """The measurement means something only if the independent solutions solve the exercise."""
    import numpy as np

    from cnnlib import layers

    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 7, 6, 3)), rng.standard_normal((3, 2, 3, 4)), rng.standard_normal(4)
    expected = {"correlate2d": lambda f: (f(x[0, :, :, 0], w[:, :, 0, 0]),
                                          layers.conv2d_forward(x[:1, :, :, :1], w[:, :, :1, :1], np.zeros(1))[0][0, :, :, 0]),
                "conv_forward": lambda f: (f(x, w, b, 2, 1), layers.conv2d_forward(x, w, b, 2, 1)[0]),
                "pool_forward": lambda f: (f(x, 2, 2, "avg"), layers.pool2d_forward(x, 2, 2, "avg")[0]),
                "conv_backward": lambda f: (f(np.ones((2, 4, 4, 4)), x, w, 2, 1)[1],
                                            layers.conv2d_backward(np.ones((2, 4, 4, 4)),
                                                                   layers.conv2d_forward(x, w, b, 2, 1)[1])[1])}
    for style in INDEPENDENT[function]:
        namespace = {"np": np}
        exec(style, namespace)
        got, want = expected[function](namespace[function])
        np.testing.assert_allclose(got, want, atol=1e-9)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the project's cnnlib, not tests/cnnlib
    independent, copies = measured()
    print(f"threshold {THRESHOLD}")
    print(f"independent pairs flagged: {sum(s >= THRESHOLD for *_, s in independent)} of {len(independent)}; "
          f"largest similarity {max(s for *_, s in independent):.2f}")
    print(f"pasted references flagged: {sum(s >= THRESHOLD for _, s in copies)} of {len(copies)}; "
          f"smallest similarity {min(s for _, s in copies):.2f}")
    for row in sorted(independent, key=lambda r: -r[3])[:6]:
        print("  independent", row)


def test_copies_are_flagged_with_a_side_by_side_view_and_independent_work_is_not(tmp_path):
    """A class of 01: a pasted reference, one built on cnnlib's conv2d_forward pasted from the
    project's repository, two students sharing one renamed solution, two who wrote their own. Are
    exactly the copies flagged, each with a page that shows both solutions?"""
    from autograder.course.config import Course
    from autograder.course.copies import describe, flag_copies, read_flags

    assignment = "01-edge-detection"
    (path,) = (COURSE_SOURCE / assignment).glob("*.ipynb")
    source = nbformat.read(path, 4)
    reference = references()["correlate2d"]
    shared = INDEPENDENT["correlate2d"][2]
    answers = {"pasted": pasted(reference, 1), "twin_a": pasted(shared, 2), "twin_b": pasted(shared, 3),
               "loops": INDEPENDENT["correlate2d"][0], "vectorised": INDEPENDENT["correlate2d"][1],
               "library": pasted(library()["cnnlib.layers.conv2d_forward"] + "\n\n\ndef correlate2d(image, kernel):\n"
                                 "    out, _ = conv2d_forward(image[None, :, :, None], kernel[:, :, None, None], np.zeros(1))\n"
                                 "    return out[0, :, :, 0]\n", 4)}
    course = Course(root=tmp_path / "root", source=COURSE_SOURCE)
    for student, code in answers.items():
        nb = nbformat.from_dict(source)
        next(c for c in nb.cells if is_solution_cell(c) and "correlate2d" in bound_names(c.source)).source = code
        folder = course.root / "submitted" / student / assignment
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / path.name)
    flags = flag_copies(course, assignment)
    assert flags == read_flags(course.root, assignment)
    flagged = {(student, flag["function"], flag["like"]) for student, found in flags.items() for flag in found}
    assert ("pasted", "correlate2d", "the reference") in flagged
    assert ("library", "correlate2d", "cnnlib.layers.conv2d_forward") in flagged
    assert any(describe(flag).startswith("correlate2d is ") and "like the course library's cnnlib.layers.conv2d_forward"
               in describe(flag) for flag in flags["library"])
    assert {("twin_a", "correlate2d", "twin_b"), ("twin_b", "correlate2d", "twin_a")} <= flagged
    assert not {s for s, function, _ in flagged if function == "correlate2d"} & {"loops", "vectorised"}
    page = (course.root / "copies" / assignment / "twin_a-correlate2d-twin_b.html").read_text()
    assert "Needs manual review" in page and "The score is unchanged" in page and page.count("<pre>") == 2
