"""Are the course's source notebooks clean and well-formed for nbgrader?

Generic over every ``course/NN-topic/*.ipynb``: whoever adds an assignment gets these checks for free.
Each source notebook runs top to bottom in a plain kernel, as a student runs it in JupyterLab,
without an error or a line on stderr; test_course_grading.py autogrades it.
"""

import ast
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(ROOT.glob("course/[0-9][0-9]-*/*.ipynb"))


def _nbgrader(cell):
    return cell.metadata.get("nbgrader", {})


def _bound_names(node):
    """Names a top-level statement binds: a function, or the targets of a plain assignment."""
    if isinstance(node, ast.FunctionDef):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    return []


def _answer_functions(nb):
    """grade_id -> the names (functions, or a predicted value) bound at the top level of each solution cell.

    A prediction binds its name twice, to its stub's None and to the answer: it is listed once.
    """
    return {_nbgrader(c)["grade_id"]: list(dict.fromkeys(name for node in ast.parse(c.source).body
                                                         for name in _bound_names(node)))
            for c in nb.cells if _nbgrader(c).get("solution")}


# A hidden test may name other answers inside `substitute={...}` (the references that stand in for
# them while the tested function runs), or a reference of the same name (`layers.dense_forward`);
# that does not make it their test.
SUBSTITUTE = re.compile(r"substitute=\{[^{}]*\}")


def _ids(paths):
    return [path.parent.name for path in paths]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_source_notebook_runs_in_a_plain_kernel_without_errors_or_stderr(path):
    """Does the solution run top to bottom in fast mode as a student runs it (the tests in the
    kernel too), with no error and nothing on stderr: no cell that nbgrader would score 0, and no
    red text a student reads as an error?"""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    problems = [f"cell {number} ({_nbgrader(cell).get('grade_id', 'ungraded')}): "
                + (f"{output.ename}: {output.evalue}" if output.output_type == "error" else output.text)[:500]
                for number, cell in enumerate(nb.cells, start=1) if cell.cell_type == "code"
                for output in cell.outputs
                if output.output_type == "error" or (output.output_type == "stream" and output.name == "stderr")]
    assert not problems, "\n".join(problems)


def test_course_has_notebooks():
    """Is there at least one assignment to check?"""
    assert NOTEBOOKS, f"no notebooks found under {ROOT / 'course'}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_source_notebook_is_stripped(path):
    """Is the source notebook committed without outputs and execution counts?"""
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert not dirty, f"{path.name}: code cells {dirty} have outputs or execution counts; strip them"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_source_notebook_follows_the_grading_conventions(path):
    """Imports first; one function (or one predicted value) per answer cell, named by its grade_id; test cells name their answer."""
    nb = nbformat.read(path, as_version=4)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    first = _nbgrader(code_cells[0])
    assert first.get("grade_id") == "imports" and first.get("locked") and not first.get("grade"), \
        f"{path.name}: the first code cell must be the locked, ungraded 'imports' cell"
    assert "from autograder import checks" in code_cells[0].source

    grade_ids = [_nbgrader(c)["grade_id"] for c in nb.cells if _nbgrader(c)]
    assert len(grade_ids) == len(set(grade_ids)), f"{path.name}: duplicate grade_ids in {grade_ids}"

    answers = _answer_functions(nb)
    for grade_id, functions in answers.items():
        assert functions == [grade_id], \
            f"{path.name}: answer cell {grade_id!r} must define exactly one function (or value) named {grade_id!r}, defines {functions}"

    for cell in nb.cells:
        meta = _nbgrader(cell)
        if not meta.get("grade"):
            continue
        assert meta.get("locked") and meta.get("points", 0) > 0, f"{path.name}: {meta['grade_id']} needs points and a lock"
        named = [f for f in answers if re.search(rf"(?<![\w.]){f}\b", SUBSTITUTE.sub("", cell.source))]
        assert len(named) == 1 and meta["grade_id"].startswith(f"test_{named[0]}"), \
            f"{path.name}: test cell {meta['grade_id']!r} must name exactly one answer function and be called test_<function>..., names {named}"
        assert cell.source.count("### BEGIN HIDDEN TESTS") == cell.source.count("### END HIDDEN TESTS")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_ordinary_cells_do_not_call_withheld_references(path):
    """Are the withheld names real cnnlib functions, and does no demo cell call one (it raises under grading)?"""
    import importlib

    nb = nbformat.read(path, as_version=4)
    withheld = nb.metadata.get("cnn_course", {}).get("withheld")
    if withheld is None:
        pytest.skip(f"{path.name} declares no withheld references")
    answers = {name for names in _answer_functions(nb).values() for name in names}
    for dotted in withheld:
        module, name = dotted.rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), name, None)), f"{path.name}: {dotted} is not a function"
    names = {dotted.rsplit(".", 1)[1] for dotted in withheld}
    first = next(c for c in nb.cells if c.cell_type == "code")
    imported = {alias.asname or alias.name for node in ast.walk(ast.parse(first.source))
                if isinstance(node, ast.ImportFrom) for alias in node.names}
    for cell in nb.cells:
        if cell.cell_type != "code" or _nbgrader(cell).get("grade"):
            continue
        for name in names:
            # module.name(...) is the reference, and so is a bare name(...) the imports cell imported
            bare = name in imported and name not in answers
            pattern = rf"(?<![\w.]){name}\s*\(|\.{name}\s*\(" if bare else rf"\.{name}\s*\("
            assert not re.search(pattern, cell.source), \
                f"{path.name}: an ordinary cell calls the withheld {name}: {cell.source[:120]!r}"
