"""What a student reads on the feedback page, and sees in their own JupyterLab."""

import re

import pytest
from helpers import write_nb
from sample_course import ASSIGNMENT as A
from sample_course import NOTEBOOK as NB
from variants import answer

from autograder.checks import CheckFailed, assert_close, compare_with_reference
from autograder.course.submissions import import_submissions
from autograder.grading.feedback import generate_feedback
from autograder.grading.pipeline import autograde


@pytest.mark.slow
def test_feedback_names_each_test_and_shows_the_message_alone(course, solved_nb, tmp_path):
    """Does the score table name the function each test checks, and a failure show the course's
    message, expected against got first, with no traceback into the grader?"""
    write_nb(answer(solved_nb, "relu", "return x"), tmp_path / "subs" / "bob.ipynb")
    import_submissions(course, A, tmp_path / "subs")
    autograde(course, A, progress=False)
    generate_feedback(course, A, progress=False)
    page = (course.root / "feedback" / "bob" / A / f"{NB}.html").read_text()
    assert ">Test cell<" not in page
    for label in ("relu: visible tests", "relu: hidden tests", "zero_pad: visible tests", "zero_pad: hidden tests"):
        assert label in page
    assert "relu([-1, 0, 2]): expected 0, got -1 at index (0,)" in page
    assert "Traceback (most recent call last)" not in page and "checks.py" not in page and "harness.py" not in page
    assert "white-space: pre-wrap" in page
    # each test's result in words and in colour, relu's failed and zero_pad's passed
    assert re.search(r'relu: visible tests</a> <span class="verdict failed">failed</span> \(Score: 0', page)
    assert re.search(r'zero_pad: visible tests</a> <span class="verdict passed">passed</span> \(Score: ', page)
    assert ".verdict.failed { background: #b3261e; }" in page and "div.prompt, .jp-InputPrompt" in page


def test_a_failed_check_renders_as_its_message_in_jupyterlab():
    """Does IPython show a CheckFailed as the message alone, its first line named?"""
    try:
        assert_close("f(x)", [1.0, 2.0], [1.0, 3.0])
    except CheckFailed as failure:
        lines = failure._render_traceback_()
    assert len(lines) == 1 and lines[0].endswith("f(x): expected 3, got 2 at index (1,). "
                                                 "1 of 2 values differ (largest error 1).")


def test_a_function_that_changes_its_input_is_named_in_the_message():
    """Is `x *= 2` reported as changing the argument, not as a wrong value?"""
    import numpy as np

    def doubles_in_place(x):
        x *= 2
        return x

    with pytest.raises(CheckFailed, match="changed its argument `x` in place"):
        compare_with_reference("double", doubles_in_place, lambda x: 2 * x, [{"x": np.ones(3)}])


def test_ints_are_compared_strictly_and_tuple_parts_by_name():
    """Does 3.0 fail where 3 is expected, and a tuple part carry its docstring name?"""
    with pytest.raises(CheckFailed, match=r"expected 3 \(int\), got 3.0 \(float\)"):
        compare_with_reference("size", lambda n: n / 1, lambda n: n, [{"n": 3}])
    import numpy as np

    with pytest.raises(CheckFailed, match="grads's db for"):
        compare_with_reference("grads", lambda a: (a, a + 1), lambda a: (a, a), [{"a": np.zeros(2)}],
                               outputs=("dW", "db"))


def test_substitute_puts_the_reference_in_place_of_the_students_helper():
    """Does a bug in a helper cost nothing in the hidden test of the function that calls it?"""
    import numpy as np

    namespace = {}
    exec("def helper(x):\n    return x * 0\n\ndef outer(x):\n    return helper(x) + 1", namespace)
    cases = [{"x": np.arange(3.0)}]
    with pytest.raises(CheckFailed):
        compare_with_reference("outer", namespace["outer"], lambda x: x + 1, cases)
    compare_with_reference("outer", namespace["outer"], lambda x: x + 1, cases, substitute={"helper": lambda x: x})
    assert namespace["helper"](np.ones(1))[0] == 0  # the student's own again afterwards


def test_hidden_tests_quote_no_values():
    """Does a hidden test's message say what kind of difference there is, but nothing computed from
    the student's result (value, place, count, shape), which could encode the hidden inputs?"""
    import numpy as np

    from autograder.checks import assert_equal, values_hidden

    secret = np.array([0.123456, 0.5])
    with values_hidden(), pytest.raises(CheckFailed) as failure:
        assert_close("f(x)", secret, np.zeros(2))
    assert "values differ" in str(failure.value)
    assert "0.123456" not in str(failure.value) and "index" not in str(failure.value)
    with values_hidden(), pytest.raises(CheckFailed, match=r"expected shape \(2,\), got another shape\.$"):
        assert_close("f(x)", np.zeros(123457), np.zeros(2))
    with values_hidden(), pytest.raises(CheckFailed, match="expected 3, got another value"):
        assert_equal("size", 4, 3)


def test_an_unanswered_prediction_says_to_replace_none():
    """Does a prediction left at its stub's None ask for an answer, rather than report a wrong type?"""
    from autograder.checks import assert_equal

    with pytest.raises(CheckFailed, match="replace None with your answer"):
        assert_equal("dense_layer_weights", None, 3_000_000_000)
    with pytest.raises(CheckFailed, match="replace None with your answer"):
        assert_close("dW12_by_hand", None, 3.0)
    with pytest.raises(CheckFailed, match=r"expected 3 \(int\), got 3.0"):
        assert_equal("size", 3.0, 3)
