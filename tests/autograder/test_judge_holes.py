"""What a submission may get out of the judge: time, hidden inputs, the page's styles, the grader's
memory, and other libraries' answers. One class, graded together: honest students before, beside
and after each attacker (by name, the order the pool takes them in), their exact scores asserted.

The oracle is the sample's points, worked out by hand (``sample_course.POINTS``: relu 1 + 2,
zero_pad 1 + 2), and the hidden tests' inputs, drawn here again from their seeds.
"""

import dataclasses
import json

import nbformat
import numpy as np
import pytest
from helpers import copy_course, scores, write_nb
from variants import answer, prepend

from autograder.course.submissions import import_submissions
from autograder.grading.feedback import generate_feedback
from autograder.grading.pipeline import autograde
from autograder.render import notes

pytestmark = pytest.mark.slow

A, NB = "01-sample", "sample"
PAD = "return np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))"
# What relu's hidden test gives it (sample_course.TEST_RELU_HIDDEN), and what a submission that
# kept it would make of it.
HIDDEN_X = np.random.default_rng(0).normal(size=(2, 3, 4, 5))
LEAK_CODE = "_".join(str(int(abs(v) * 1e6)) for v in HIDDEN_X.ravel()[:3])
SHAPE_CODE = str(int(abs(HIDDEN_X.ravel()[0]) * 1e6) + 1_000_003)
KEEPS = "seen = []"
KEEP_AND_RELU = "seen.append([float(v) for v in np.ravel(x)[:3]])\nreturn np.maximum(x, 0)"
RAISE_KEPT = ("if len(seen) > 1:\n"
              "    code = '_'.join(str(int(abs(v) * 1e6)) for v in seen[-1])\n"
              "    raise type('Leak_' + code, (Exception,), {})(repr(seen))\n" + PAD)
SHAPE_KEPT = ("if len(seen) > 1:\n"
              "    return np.zeros((int(abs(seen[-1][0]) * 1e6) + 1_000_003,))\n" + PAD)
BANNER = ("from IPython.display import HTML, display\n"
          "display(HTML('<div class=\"modal-backdrop navbar-fixed-top\" id=\"fake\" "
          "style=\"opacity:1\" align=\"center\">Score 100%</div>'))")

# student -> (expected score, a fragment of the expected note or None)
EXPECTED = {
    "a_correct": (6, None),
    "b_release": (0, None),
    "hangs_once": (3, "relu was not called again: it ran past the time limit in test_relu"),
    "keeps_hidden_inputs": (4, None),
    "keeps_hidden_inputs_in_a_shape": (4, None),
    "huge_result": (3, "a reply of more than"),
    "imports_keras": (3, "imports keras, which is not allowed while this assignment is graded"),
    "m_relu_wrong": (3, None),
    "relu_through_relu_backward": (3, "calls cnnlib.layers.relu_backward, which is withheld"),
    "modal_banner": (6, None),
    "prints_past_the_grader_memory": (0, "grading failed (MemoryError)"),
    "z_correct": (6, None),
}
GRADER_MB = 1024  # Limits.grader_memory_mb here: an honest grading process needs under 700 MiB
BIG_PRINT = "print('x' * 300 * 2**20)"  # one 300 MiB message, which the grader reads whole


def _submissions(source, release):
    wrong = answer(source, "relu", "return x")
    keeps = prepend(answer(source, "relu", KEEP_AND_RELU), "relu", KEEPS)
    return {
        "a_correct": source,
        "b_release": release,
        "hangs_once": answer(source, "relu", "while True:\n    pass"),
        "keeps_hidden_inputs": answer(keeps, "zero_pad", RAISE_KEPT),
        "keeps_hidden_inputs_in_a_shape": answer(keeps, "zero_pad", SHAPE_KEPT),
        "huge_result": answer(source, "zero_pad", "return np.zeros((30, 1024, 128))"),  # 31 MB
        "imports_keras": answer(source, "relu", "import keras\nreturn keras.ops.convert_to_numpy(keras.ops.relu(x))"),
        "m_relu_wrong": wrong,
        "relu_through_relu_backward": answer(source, "relu", "return layers.relu_backward(x, x)"),
        "modal_banner": prepend(source, "relu", BANNER),
        "prints_past_the_grader_memory": prepend(source, "relu", BIG_PRINT),
        "z_correct": source,
    }


@pytest.fixture(scope="module")
def graded(released_sample, solved_nb, release_nb, tmp_path_factory):
    base = tmp_path_factory.mktemp("judge-holes")
    course = copy_course(released_sample, base / "root", source=base / "source")
    course = dataclasses.replace(course, limits=dataclasses.replace(course.limits, grader_memory_mb=GRADER_MB))
    # The sample's kernel may import NumPy and no function of cnnlib (autograder.judge.allowed).
    path = course.source / A / f"{NB}.ipynb"
    source = nbformat.read(path, 4)
    source.metadata["cnn_course"]["imports"] = ["numpy"]
    nbformat.write(source, path)
    folder = base / "submissions"
    for student, nb in _submissions(solved_nb, release_nb).items():
        write_nb(nb, folder / f"{student}.ipynb")
    import_submissions(course, A, folder)
    autograde(course, A, workers=2, progress=False)
    generate_feedback(course, A, workers=2, progress=False,
                      students=["keeps_hidden_inputs", "keeps_hidden_inputs_in_a_shape", "modal_banner"])
    return course


def _autograded(course, student):
    return nbformat.read(course.step_dir("autograded", student, A) / f"{NB}.ipynb", 4)


def _outputs(course, student):
    """Everything the graded notebook's code cells show, as one text."""
    return json.dumps([c.outputs for c in _autograded(course, student).cells if c.cell_type == "code"])


def _feedback(course, student):
    return (course.root / "feedback" / student / A / f"{NB}.html").read_text()


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_score_and_note(graded, student):
    """Does every student, honest or not, get exactly the points of their intact parts?"""
    expected_score, expected_note = EXPECTED[student]
    assert scores(graded).get(student) == expected_score
    if expected_note:
        lines = notes.read(graded.root, A, student)
        assert any(expected_note in line for line in lines), lines


def test_a_result_far_larger_than_expected_is_refused_unread(graded):
    """zero_pad's 31 MB results: refused by their length, in the visible test (no reference: 16 MiB
    and 4 times the arguments) and the hidden one (4 times the reference's result)?"""
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in _autograded(graded, "huge_result").cells}
    for test, limit in (("test_zero_pad", 16 * 2**20), ("test_zero_pad_hidden", None)):
        (error,) = [o for o in cells[test].outputs if o.output_type == "error"]
        assert "was refused before it was read" in error.evalue, error.evalue
        bound = int(error.evalue.split("more than ")[1].split(" bytes")[0])
        assert bound < 2**20 if limit is None else limit < bound < limit + 2**16


def test_a_grading_process_past_its_memory_limit_fails_alone_in_a_class(graded):
    """One submission whose output makes its grading process pass ``grader_memory_mb``: that one
    fails, scored 0 and marked for a look by hand, and the students graded before, beside and after
    it on the same workers keep their exact scores (``test_score_and_note``)?"""
    assert scores(graded)["prints_past_the_grader_memory"] == 0
    assert [line for line in notes.read(graded.root, A, "prints_past_the_grader_memory")] == [
        "grading failed (MemoryError): scored 0, to be checked by hand"]
    assert {student: scores(graded)[student] for student in ("modal_banner", "relu_through_relu_backward",
                                                             "z_correct")} == {
        "modal_banner": 6, "relu_through_relu_backward": 3, "z_correct": 6}


def test_a_grading_process_past_its_memory_limit_fails_alone():
    """Under ``limit_memory``, does an allocation past the limit raise MemoryError in that process
    (and one within it succeed), so that the submission being graded fails, not the worker's others?"""
    import subprocess
    import sys

    code = ("from autograder.grading.submission import limit_memory\nimport numpy as np\n"
            "limit_memory(1536)\nsmall = np.ones(50 * 2**20 // 8)\n"
            "try:\n    np.ones(3 * 2**30 // 8)\nexcept MemoryError:\n    print('refused')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "refused", done.stderr


def test_a_reference_called_with_huge_arguments_is_refused_within_its_bound():
    """``call_within``: does a computation whose arguments ask for 300 MiB fail with MemoryError under
    a 64 MiB bound, while a small one succeeds and the process's own limit is back afterwards?"""
    import subprocess
    import sys

    code = ("from autograder.judge.bounded import call_within\nimport numpy as np\n"
            "print(int(call_within(64 * 2**20, np.ones, 1000).sum()))\n"
            "try:\n    call_within(64 * 2**20, np.pad, np.ones((2, 5, 7, 4)), ((0, 0), (2828, 2828), (2828, 2828), (0, 0)))\n"
            "except MemoryError:\n    print('refused')\n"
            "print(np.ones(300 * 2**20 // 8).size)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["1000", "refused", str(300 * 2**20 // 8)], done.stderr


def test_a_function_past_the_time_limit_is_not_called_again(graded):
    """Does relu's hidden test fail at once, naming the test where relu ran past the limit?"""
    hidden = next(c for c in _autograded(graded, "hangs_once").cells
                  if c.metadata.get("nbgrader", {}).get("grade_id") == "test_relu_hidden")
    (error,) = [o for o in hidden.outputs if o.output_type == "error"]
    assert "relu: not called again: it ran past the time limit in test_relu." in error.evalue


@pytest.mark.parametrize("student", ["keeps_hidden_inputs", "keeps_hidden_inputs_in_a_shape"])
def test_hidden_inputs_never_come_back_out(graded, student):
    """A function that kept relu's hidden input: is it in no output, message or exception name of
    the graded notebook or the feedback page (while its visible test still passed)?"""
    shown = _outputs(graded, student) + _feedback(graded, student)
    for value in HIDDEN_X.ravel()[:3]:
        assert f"{value:.6f}"[:8] not in shown
    assert LEAK_CODE not in shown and SHAPE_CODE not in shown


def test_a_submissions_html_takes_on_none_of_the_pages_styles(graded):
    """Is the fake score banner shown as a plain ``div``, with no class, id, style or alignment left?"""
    outputs, page = _outputs(graded, "modal_banner"), _feedback(graded, "modal_banner")
    assert "<div>Score 100%</div>" in outputs and "<div>Score 100%</div>" in page
    assert "modal-backdrop" not in outputs and "fake" not in outputs and "opacity" not in outputs
    assert '<div class="modal-backdrop' not in page  # the page's own CSS names the class; no element has it
