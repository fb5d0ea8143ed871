"""The rules that let test cells run in the grader, checked on every course notebook."""

from pathlib import Path

import nbformat
import pytest

import cnnlib
from autograder.course.config import COURSE_SOURCE
from autograder.judge.testcells import answer_names, contract_problems, free_names
from autograder.judge.withheld import METADATA_KEY, build_library

NOTEBOOKS = sorted(COURSE_SOURCE.glob("[0-9][0-9]-*/*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_course_notebooks_keep_their_tests_self_contained(path):
    """Does every graded test cell use only imports, earlier tests and the student's answers?"""
    assert contract_problems(nbformat.read(path, 4)) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_course_notebooks_withhold_existing_references(path, tmp_path):
    """Does each notebook withhold at least one reference, each a real library function?"""
    withheld = nbformat.read(path, 4).metadata.get(METADATA_KEY, {}).get("withheld", [])
    assert withheld
    build_library(Path(cnnlib.__file__).parent, withheld, tmp_path)


def test_names_are_found_as_python_scopes_see_them():
    """Are a cell's free names those read from outside it, in functions and comprehensions too?"""
    source = "import numpy as np\ny = f(x)\ndef g(a):\n    return a + z\n[w for w in v]\n%time h()"
    assert free_names(source) == {"f", "x", "z", "v"}


def test_contract_problems_name_the_cell_and_the_name():
    """Does a test cell that uses a demo cell's variable, or a demo cell a test's, get reported?"""
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell
    nb.cells = [code("import numpy as np"),
                code("def f(x):\n    return x", metadata={"nbgrader": {"solution": True, "grade": False}}),
                code("data = np.ones(3)"),
                code("helper = 1\nassert f(data) is not None",
                     metadata={"nbgrader": {"grade": True, "solution": False, "grade_id": "t"}}),
                code("print(helper)")]
    assert answer_names(nb) == {"f"}
    assert contract_problems(nb) == ["test cell 't' uses data, bound by no solution cell, earlier test "
                                     "cell or the first cell", "code cell 5 uses helper, bound only by a test cell"]


def test_a_visible_test_may_not_use_what_only_a_hidden_test_binds():
    """Visible tests run before hidden ones while graded: is a visible test that needs a hidden
    test's name reported, and one that rebinds it itself not?"""
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell

    def test(source, grade_id):
        return code(source, metadata={"nbgrader": {"grade": True, "solution": False, "grade_id": grade_id}})

    nb.cells = [code("import numpy as np"),
                code("def f(x):\n    return x", metadata={"nbgrader": {"solution": True, "grade": False}}),
                test("### BEGIN HIDDEN TESTS\ncases = [1]\nshared = 2\n### END HIDDEN TESTS", "hidden"),
                test("shared = 3\nassert f(shared)", "visible_own"),
                test("assert f(cases)", "visible_needs_hidden")]
    assert contract_problems(nb) == ["visible test cell 'visible_needs_hidden' uses cases, bound only by a "
                                     "hidden test cell (visible tests run first while graded)"]


def test_preload_imports_what_the_cells_import_and_binds_nothing():
    """Does the kernel factory's preload import the notebook's modules, not its tests', in a namespace of its own?"""
    from autograder.judge.testcells import preload_code

    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell
    test = code("import json\nassert True")
    test.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "t", "points": 1}
    nb.cells = [code("import numpy as np\nfrom cnnlib import data"), code("x = 1\nimport colorsys"), test,
                code("import numpy as np\nfrom . import nothing\nimport no_such_module")]
    preload = preload_code(nb)
    for statement in ("import numpy as np", "from cnnlib import data", "import colorsys", "import no_such_module"):
        assert statement in preload
    assert "json" not in preload and "nothing" not in preload and preload.count("import numpy") == 1
    namespace = {}
    exec(f"exec({preload!r}, {{}})", namespace)  # as the kernel factory runs it: a missing module is skipped
    assert set(namespace) == {"__builtins__"}
    assert preload_code(nbformat.v4.new_notebook()) == ""
