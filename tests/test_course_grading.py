"""Every assignment in course/ survives the grading round trip.

For each ``course/NN-*/`` folder: ``generate_assignment`` gives a release without solutions or
hidden tests; autograding the source notebook (which runs it top to bottom in fast mode, as
nbgrader's autograde switches fast mode on) gives full marks with no error in any cell, graded or
not; the unchanged release gives 0;
and a submission with one answer replaced by nbgrader's stub loses exactly the points of the
test cells that name that function, or name an exercise whose solution calls it (a stubbed
``correlate2d`` also fails the tests of ``apply_kernel_bank``, which is built on it).
"""

import re
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).parent / "autograder" / "files"))

from styles import GRADER_BOUND, HANDED_OFF, STYLES  # noqa: E402
from variants import (  # noqa: E402
    STUB,
    answer,
    answer_cells,
    graded_cells,
    points_naming,
)

from autograder.course.config import COURSE_SOURCE, Course, Limits  # noqa: E402
from autograder.course.release import INSTRUCTOR_ONLY, release_assignments  # noqa: E402
from autograder.course.submissions import import_submissions  # noqa: E402
from autograder.grading.pipeline import autograde  # noqa: E402
from autograder.render import notes  # noqa: E402

pytestmark = pytest.mark.slow
ASSIGNMENTS = Course().assignments()
# Assignments in NumPy alone: their comparisons with Keras earn no points and are skipped while
# grading, so that no grading kernel spends seconds importing TensorFlow.
NUMPY_ONLY = [a for a in ASSIGNMENTS if int(a[:2]) <= 4]
PROBE = ('import sys\n'
         'print("frameworks loaded:", sorted(m for m in ("jax", "keras", "tensorflow") if m in sys.modules))')


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request, tmp_path_factory):
    """One assignment released and graded: source, release and one stubbed answer per function."""
    assignment = request.param
    base = tmp_path_factory.mktemp(assignment)
    # Generous limits: a busy CI machine is slow, and this grades the course, not a hostile class.
    course = Course(root=base / "root", source=COURSE_SOURCE, limits=Limits(cell_timeout=300, notebook_timeout=3600))
    (release_dir,) = release_assignments(course, [assignment])
    (source_path,) = (COURSE_SOURCE / assignment).glob("*.ipynb")
    source = nbformat.read(source_path, 4)
    release = nbformat.read(release_dir / source_path.name, 4)
    folder = base / "submissions"
    folder.mkdir()
    nbformat.write(source, folder / "source.ipynb")
    nbformat.write(release, folder / "release.ipynb")
    functions = sorted(answer_cells(source))
    for function in functions:
        nbformat.write(answer(source, function, STUB), folder / f"stub_{function}.ipynb")
    for style, bodies in STYLES.get(assignment, {}).items():
        styled = source
        for function, body in bodies.items():
            styled = answer(styled, function, body)
        nbformat.write(styled, folder / f"style_{style}.ipynb")
    for name, (function, body, _) in HANDED_OFF.get(assignment, {}).items():
        nbformat.write(answer(source, function, body), folder / f"handed_{name}.ipynb")
    for name, (function, body, _) in GRADER_BOUND.get(assignment, {}).items():
        nbformat.write(answer(source, function, body), folder / f"bound_{name}.ipynb")
    if assignment in NUMPY_ONLY:
        probe = nbformat.from_dict(source)
        probe.cells.append(nbformat.v4.new_code_cell(PROBE))
        nbformat.write(probe, folder / "probe.ipynb")
    import_submissions(course, assignment, folder)
    results = autograde(course, assignment, progress=False)
    return course, assignment, source, release, functions, results


def _dependents(source, function):
    """The function and every exercise whose solution calls it, directly or not."""
    answers = answer_cells(source)
    found, todo = {function}, [function]
    while todo:
        called = re.compile(rf"\b{re.escape(todo.pop())}\s*\(")
        for name, cell in answers.items():
            body = cell.source.split("\n", 1)[-1]  # not its own def line
            if name not in found and called.search(body):
                found.add(name)
                todo.append(name)
    return found


_SUBSTITUTE = re.compile(r"substitute=\{([^{}]*)\}")


def _points_lost(source, function):
    """Points of the test cells naming ``function`` or one of its dependents (each cell once).

    A test cell that substitutes a reference for ``function`` (``substitute={"name": ...}``) keeps
    its points: only the visible tests of a dependent exercise use the stubbed function.
    """
    names = _dependents(source, function)
    words = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, names)) + r")\b")  # not layers.<name>
    lost = 0
    for c in graded_cells(source).values():
        substituted = " ".join(_SUBSTITUTE.findall(c.source))
        text = _SUBSTITUTE.sub("", c.source)
        if c.cell_type != "code" or not words.search(text):
            continue
        if re.search(rf"[\"']{re.escape(function)}[\"']\s*:", substituted) and \
                not re.search(rf"(?<![\w.]){re.escape(function)}\b", text):
            continue
        lost += c.metadata["nbgrader"]["points"]
    return lost


def _cells_short(source, result):
    """The test cells that scored below their points: cell -> (score, points)."""
    points = {cell: c.metadata["nbgrader"]["points"] for cell, c in graded_cells(source).items()}
    return {cell: (score, points[cell]) for nb in result["grades"].values()
            for cell, (score, _) in nb["grades"].items() if score != points[cell]}


def _total(result):
    return sum(score for nb in result["grades"].values() for score, _ in nb["grades"].values())


def test_release_has_no_solutions_or_hidden_tests(graded):
    """Does the release keep nbgrader's stub in every answer cell and no instructor-only text?"""
    _, _, _, release, functions, _ = graded
    text = nbformat.writes(release)
    assert not any(marker in text for marker in INSTRUCTOR_ONLY)
    for function in functions:
        assert "raise NotImplementedError()" in answer_cells(release)[function].source


def test_source_gets_full_marks_and_release_zero(graded):
    """Does the solution earn every point, and the untouched release none?"""
    _, _, source, _, _, results = graded
    maximum = sum(c.metadata["nbgrader"]["points"] for c in graded_cells(source).values())
    assert maximum > 0
    assert results["source"]["status"] == "graded", results["source"]["notes"]
    assert _total(results["source"]) == maximum, results["source"]["notes"]
    assert _total(results["release"]) == 0


def test_source_runs_without_errors(graded):
    """Does every cell of the solution run, ungraded ones too (nbgrader scores only graded cells)?"""
    course, assignment, _, _, _, _ = graded
    (path,) = course.step_dir("autograded", "source", assignment).glob("*.ipynb")
    nb = nbformat.read(path, 4)
    errors = [f"code cell {number}: {output.ename}: {output.evalue}\n{cell.source[:300]}"
              for number, cell in enumerate(nb.cells, start=1) if cell.cell_type == "code"
              for output in cell.outputs if output.output_type == "error"]
    assert not errors, f"{path.name} raised in fast mode:\n" + "\n\n".join(errors)


def test_one_stubbed_function_loses_exactly_its_tests(graded):
    """Does stubbing one function cost exactly the points of the test cells naming it (or its users)?"""
    _, _, source, _, functions, results = graded
    maximum = sum(c.metadata["nbgrader"]["points"] for c in graded_cells(source).values())
    for function in functions:
        assert points_naming(source, function) > 0, f"no test cell names {function}"
        lost = _points_lost(source, function)
        result = results[f"stub_{function}"]
        assert _total(result) == maximum - lost, (function, _cells_short(source, result), result["notes"])


def test_numpy_assignments_grade_without_loading_tensorflow(graded):
    """Does a grading kernel of 01-04 end its notebook without Keras, TensorFlow or JAX loaded
    (importing them costs about 4.5 s of CPU per submission)?"""
    course, assignment, _, _, _, results = graded
    if assignment not in NUMPY_ONLY:
        pytest.skip("this assignment's exercises use Keras")
    assert results["probe"]["status"] == "graded", results["probe"]["notes"]
    (path,) = course.step_dir("autograded", "probe", assignment).glob("*.ipynb")
    last = nbformat.read(path, 4).cells[-1]
    assert "".join(o.get("text", "") for o in last.outputs) == "frameworks loaded: []\n", last.outputs


def test_answers_in_other_styles_keep_full_marks(graded):
    """Loops, vectorised and CS231n-style answers of the NumPy exercises (06's under the watch of
    its NumPy-only exercises), and Keras builders with activation= arguments, Activation layers or
    the functional API: every point, no note?"""
    _, assignment, source, _, _, results = graded
    maximum = sum(c.metadata["nbgrader"]["points"] for c in graded_cells(source).values())
    for style in STYLES.get(assignment, {}):
        result = results[f"style_{style}"]
        assert _total(result) == maximum, (style, result["notes"])


def test_an_exercise_handed_to_another_library_loses_its_points(graded):
    """02's conv_forward through TensorFlow or cnnlib's private window helper, 04's
    softmax_cross_entropy through Keras' losses, dense_backward through tf.GradientTape and
    dense_forward through conv2d_forward, 05's count_params through cnnlib.models or Keras, 06's l2_penalty
    through Keras' regularizer, 07's bottleneck_features through cnnlib.inspection: exactly the
    points of that exercise's tests (and of the exercises built on it) lost, with a note naming
    the culprit?"""
    course, assignment, source, _, _, results = graded
    maximum = sum(c.metadata["nbgrader"]["points"] for c in graded_cells(source).values())
    for name, (function, _, note) in HANDED_OFF.get(assignment, {}).items():
        result = results[f"handed_{name}"]
        assert _total(result) == maximum - _points_lost(source, function), \
            (name, _cells_short(source, result), result["notes"])
        lines = notes.read(course.root, assignment, f"handed_{name}")
        assert any(note in line for line in lines), (name, lines)


def test_a_reference_asked_for_on_huge_arguments_costs_only_those_tests(graded):
    """conv_forward that, only while the grader computes zero_pad for it, asks for zero_pad with
    pad=1500 (half a gigabyte): refused within the test's memory bound, losing exactly the points
    of the test that substitutes zero_pad?"""
    _, assignment, source, _, _, results = graded
    maximum = sum(c.metadata["nbgrader"]["points"] for c in graded_cells(source).values())
    for name, (_, _, tests) in GRADER_BOUND.get(assignment, {}).items():
        lost = sum(graded_cells(source)[test].metadata["nbgrader"]["points"] for test in tests)
        result = results[f"bound_{name}"]
        assert result["status"] == "graded" and _total(result) == maximum - lost, (name, result["notes"])
