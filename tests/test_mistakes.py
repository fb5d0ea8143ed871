"""The catalogue of classic mistakes, the catch matrix and the naming of a mistake.

Each assignment's ``course/NN-*/mistakes.py`` holds at least three mistakes for every graded
function; each one, graded as a student's answer, loses points in its own function's hidden tests
and nowhere outside that function (and the visible tests of the exercises built on it), and the
failed hidden test names it.
"""

import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder.course.config import COURSE_SOURCE, Course, Limits
from autograder.course.release import release_assignments
from autograder.grading.catch import catch_matrix, groups, table
from autograder.judge.testcells import bound_names, is_solution_cell
from autograder.mistakes import CallLog, Mistake, by_function, load, named, same


CATALOGUED = ["01-edge-detection", "02-padding-and-stride", "03-pooling", "04-backpropagation", "05-mnist",
              "06-cifar10", "07-transfer-learning"]


def _source(assignment):
    (path,) = (COURSE_SOURCE / assignment).glob("*.ipynb")
    return nbformat.read(path, 4)


def _graded_functions(nb):
    """Functions the student writes: solution cells that define a function."""
    return {name for cell in nb.cells if is_solution_cell(cell) and "def " in cell.source
            for name in bound_names(cell.source)}


@pytest.mark.parametrize("assignment", CATALOGUED)
def test_every_graded_function_has_three_mistakes(assignment):
    mistakes = load(COURSE_SOURCE / assignment)
    counts = {name: len(found) for name, found in by_function(mistakes).items()}
    functions = _graded_functions(_source(assignment))
    assert set(counts) <= functions, f"mistakes of functions the notebook lacks: {set(counts) - functions}"
    assert {f: counts.get(f, 0) for f in functions if counts.get(f, 0) < 3} == {}
    assert all(m.says and m.section for m in mistakes)
    assert len({m.key for m in mistakes}) == len(mistakes)


def _headings(nb):
    """The notebook's headings as a mistake names them: "## 2. Zero padding" is "2, Zero padding",
    code marks left out."""
    return {re.sub(r"^(\d+)\. ", r"\1, ", line.lstrip("#").strip().replace("`", ""))
            for cell in nb.cells if cell.cell_type == "markdown"
            for line in cell.source.splitlines() if line.startswith("#")}


@pytest.mark.parametrize("assignment", CATALOGUED)
def test_every_section_to_reread_is_a_heading_of_the_notebook(assignment):
    headings = _headings(_source(assignment))
    assert "2, Zero padding" in _headings(_source("02-padding-and-stride"))
    assert {m.key: m.section for m in load(COURSE_SOURCE / assignment) if m.section not in headings} == {}


@pytest.mark.parametrize("assignment", CATALOGUED)
def test_variants_run_alone_as_a_students_cell(assignment):
    """Does each variant's source, run with only the names the notebook's imports give (its first code
    cell, and Keras where the notebook builds models), define the function?"""
    mistakes = load(COURSE_SOURCE / assignment)
    first = next(cell.source for cell in _source(assignment).cells if cell.cell_type == "code")
    imports = {}
    exec(compile(first, "imports", "exec"), imports)
    if "keras" in mistakes[0].variant.__globals__:
        imports |= {"keras": mistakes[0].variant.__globals__["keras"]}
        imports |= {"tf": mistakes[0].variant.__globals__["tf"]} if "tf" in mistakes[0].variant.__globals__ else {}
    for mistake in mistakes:
        namespace = dict(imports)
        exec(compile(mistake.source(), mistake.key, "exec"), namespace)
        assert callable(namespace[mistake.function]), mistake.key
        assert namespace[mistake.function].__name__ == mistake.function


def _flipped(image, kernel):
    return _correct(image, kernel[::-1, ::-1])


def _correct(image, kernel):
    f_h, f_w = kernel.shape
    return np.array([[np.sum(image[i:i + f_h, j:j + f_w] * kernel) for j in range(image.shape[1] - f_w + 1)]
                     for i in range(image.shape[0] - f_h + 1)])


FLIPPED = Mistake("correlate2d", _flipped, "the kernel is flipped", "4, Cross-correlation or convolution?")
CATALOGUE = by_function([FLIPPED])
IMAGE = np.arange(16.0).reshape(4, 4)
KERNEL = np.array([[1.0, 0.0], [0.0, -1.0]])


def test_a_result_the_mistake_reproduces_is_named():
    log = CallLog()
    student = log.wrap("correlate2d", _flipped)
    student(IMAGE, KERNEL)
    student(IMAGE * 2, KERNEL)
    assert named(log, CATALOGUE) is FLIPPED
    assert "the kernel is flipped" in FLIPPED.message() and "section 4" in FLIPPED.message()


def test_a_result_no_mistake_reproduces_is_not_named():
    log = CallLog()
    log.wrap("correlate2d", lambda image, kernel: _correct(image, kernel) + 1)(IMAGE, KERNEL)
    assert named(log, CATALOGUE) is None


def test_the_mistake_must_agree_on_every_call():
    """A function that agrees with the mistake on one call and not on the next is not named."""
    answers = iter([_flipped(IMAGE, KERNEL), _correct(IMAGE, KERNEL) * 3])
    log = CallLog()
    student = log.wrap("correlate2d", lambda image, kernel: next(answers))
    student(IMAGE, KERNEL)
    student(IMAGE, KERNEL)
    assert named(log, CATALOGUE) is None


def test_a_call_that_raised_names_nothing():
    log = CallLog()
    student = log.wrap("correlate2d", _flipped)
    student(IMAGE, KERNEL)
    with pytest.raises(IndexError):
        student(IMAGE, np.ones(3))
    assert named(log, CATALOGUE) is None


def test_calls_are_logged_with_copies_of_their_arguments():
    """A function that changes its argument in place is matched on the argument it was given."""
    def changing(image, kernel):
        result = _flipped(image, kernel)
        image[...] = 0
        return result
    log = CallLog()
    log.wrap("correlate2d", changing)(IMAGE.copy(), KERNEL)
    assert named(log, CATALOGUE) is FLIPPED


def _step(params, learning_rate):
    params["w"] = params["w"] - learning_rate
    return 0.5


def _step_doubled(params, learning_rate):
    params["w"] = params["w"] - 2 * learning_rate
    return 0.5


def test_a_mistake_is_named_only_if_it_changes_the_arguments_as_the_student_did():
    """train_step returns the loss and changes params in place: two mistakes with the same loss are
    told apart by what they leave in params."""
    wrong_way = Mistake("train_step", _step_doubled, "doubled", "Exercise 1: one training step")
    right_way = Mistake("train_step", _step, "as the student did", "Exercise 1: one training step")
    log = CallLog()
    log.wrap("train_step", _step)({"w": np.ones(3)}, 0.1)
    assert named(log, by_function([wrong_way, right_way])) is right_way
    assert named(log, by_function([wrong_way])) is None


def test_a_mistake_not_told_by_its_result_is_never_named():
    """A variant that trains (by_result=False) is never run to name a failure, even where it would agree."""
    trains = Mistake("correlate2d", _flipped, "the kernel is flipped", "4, Cross-correlation or convolution?",
                     by_result=False)
    log = CallLog()
    log.wrap("correlate2d", _flipped)(IMAGE, KERNEL)
    assert named(log, by_function([trains])) is None
    assert named(log, by_function([trains, FLIPPED])) is FLIPPED


def test_a_variant_without_arguments_is_built_once():
    """A model builder's variant (no arguments) runs once per grading process, not once per failed
    test, nor once per notebook (whose grading loads the catalogue anew)."""
    built = []
    for _ in range(3):
        catalogue = {"built": built}
        exec(compile("def build_twice_as_wide():\n    built.append(1)\n    return [64, 64]\n", "catalogue",
                     "exec"), catalogue)
        wide = Mistake("build_net", catalogue["build_twice_as_wide"], "twice as wide", "Exercise 3")
        for _ in range(2):
            log = CallLog()
            log.wrap("build_net", lambda: [64, 64])()
            assert named(log, by_function([wide])) is wide
    assert len(built) == 1


def test_same_compares_results_by_value_and_structure():
    assert same((np.ones(3), 2), (np.ones(3) + 1e-9, 2))
    assert not same(np.ones(3), np.ones(4))
    assert not same({"a": (1, 2)}, {"a": (1, 3)})
    assert same({"a": ((4, 4), 10)}, {"a": ((4, 4), 10)})
    assert not same(np.ones(2), np.full(2, np.nan))


def test_a_model_around_a_base_is_the_same_after_the_trip_to_the_grader():
    """A model that holds a whole base model (07's build_transfer_model) comes back from the
    student's kernel with the base's settings rebuilt from JSON; it must still match the variant
    that built the same model in the grader, and a different head must not."""
    import keras

    from autograder.judge.wire import dumps, loads

    base = keras.Sequential([keras.Input((6, 6, 2)), keras.layers.Conv2D(3, 3)], name="tiny_base")

    def build(base, activation):
        image = keras.Input(shape=tuple(base.input_shape[1:]))
        return keras.Model(image, keras.layers.Dense(1, activation=activation)(keras.layers.Flatten()(base(image))))

    sent = build(loads(dumps(base)), "sigmoid")
    assert same(loads(dumps(sent)), build(base, "sigmoid"))
    assert not same(loads(dumps(sent)), build(base, None))


def test_a_catalogue_without_mistakes_is_refused(tmp_path):
    (tmp_path / "mistakes.py").write_text("MISTAKES = [1, 2]\n")
    with pytest.raises(ValueError, match="MISTAKES"):
        load(tmp_path)


def test_mistakes_that_could_fail_the_same_cell_are_graded_apart():
    nb = _source("01-edge-detection")
    mistakes = load(COURSE_SOURCE / "01-edge-detection")
    found = groups(nb, mistakes)
    for group in found:
        assert len({m.function for m in group}) == len(group)
        # correlate2d's mistakes fail apply_kernel_bank's visible test: never together
        assert not {"correlate2d", "apply_kernel_bank"} <= {m.function for m in group}
    assert sum(map(len, found)) == len(mistakes)


@pytest.mark.slow
def test_the_catalogue_is_never_released(tmp_path):
    course = Course(root=tmp_path / "root", source=COURSE_SOURCE)
    (folder,) = release_assignments(course, ["01-edge-detection"])
    assert (COURSE_SOURCE / "01-edge-detection" / "mistakes.py").is_file()
    assert not (folder / "mistakes.py").exists()


# Mistakes no result can name: the check says what happened itself (an argument changed in place,
# an exception with its line), or the result is random (dropout left on).
# Mistakes that train a network (by_result=False) are never named.
UNNAMED = {"numerical_dlogits_not_restored", "dense_forward_not_flattened", "correlate2d_square_kernel",
           "bottleneck_features_training_mode", "dropout_backward_inference_left_out", "split_validation_seed_ignored"}


@pytest.mark.slow
@pytest.mark.parametrize("assignment", CATALOGUED)
def test_every_mistake_is_caught_by_its_own_hidden_tests_and_named(assignment):
    """Does every catalogued mistake lose points in its function's hidden tests, and nowhere outside
    its function, and does a failed test name it?"""
    catches = catch_matrix(assignment, COURSE_SOURCE, Limits(cell_timeout=300), workers=2)
    print(table(assignment, catches))
    assert catches
    assert [c.mistake.key for c in catches if not c.caught] == [], table(assignment, catches)
    assert [c.mistake.key for c in catches if not c.named_in and c.mistake.key not in UNNAMED
            and c.mistake.by_result] == [], table(assignment, catches)
    assert [c.mistake.key for c in catches if c.named_in and not c.mistake.by_result] == []


CHECKED_CELL = """
x6 = np.array([[3, 0, 1, 2, 7, 4], [1, 5, 8, 9, 3, 1], [2, 7, 2, 5, 1, 3],
               [0, 1, 3, 1, 7, 8], [4, 2, 1, 6, 2, 8], [2, 4, 5, 2, 3, 9]], dtype=float)
edge = np.array([[1, 0, -1]] * 3, dtype=float)
checks.assert_close("correlate2d(6x6 example, vertical edge)", correlate2d(x6, edge),
                    [[-5, -4, 0, 8], [-10, -2, 2, 3], [0, -2, -4, -7], [-3, -2, -3, -16]])
"""


@pytest.fixture
def lab_shell(tmp_path, monkeypatch):
    """An IPython shell as a student's notebook of 01 has it, with the checks watching it."""
    from IPython.core.interactiveshell import InteractiveShell

    from autograder import checks, mistakes

    folder = tmp_path / "01-edge-detection"
    folder.mkdir()
    shell = InteractiveShell.instance()
    watch = mistakes.watch_notebook(shell, folder)
    monkeypatch.setattr(checks, "_watch", watch)
    shell.run_cell("import numpy as np\nfrom autograder import checks")
    yield shell, watch
    shell.events.unregister("pre_run_cell", watch.before)
    shell.events.unregister("post_run_cell", watch.after)
    InteractiveShell.clear_instance()


def test_the_students_own_notebook_names_the_mistake(lab_shell, capsys):
    """In JupyterLab, a visible test that a flipped kernel fails says so, and the student's
    function is theirs again after the test cell."""
    shell, watch = lab_shell
    flipped = load(COURSE_SOURCE / "01-edge-detection")[3]
    assert flipped.key == "correlate2d_flipped"
    shell.run_cell(flipped.source())
    capsys.readouterr()
    result = shell.run_cell(CHECKED_CELL)
    shown = capsys.readouterr().out
    assert isinstance(result.error_in_exec, AssertionError)
    assert "expected -16, got 16 at index (3, 3)" in shown
    assert flipped.says in shown and "reread section 4" in shown
    assert shell.user_ns["correlate2d"].__name__ == "correlate2d"
    assert not hasattr(shell.user_ns["correlate2d"], "log")


def test_the_students_own_notebook_names_nothing_unknown(lab_shell, capsys):
    shell, _ = lab_shell
    shell.run_cell("def correlate2d(image, kernel):\n    return np.zeros((image.shape[0] - 2, image.shape[1] - 2))")
    capsys.readouterr()
    shell.run_cell(CHECKED_CELL)
    shown = capsys.readouterr().out
    assert "CheckFailed" in shown and "values differ" in shown and "classic mistake" not in shown


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """01 graded for a small class: a flipped kernel, the solution, its copy with names changed, the
    untouched release, and a student who handed in no notebook."""
    from autograder.course.submissions import import_submissions
    from autograder.grading.catch import with_mistakes
    from autograder.grading.pipeline import autograde

    tmp = tmp_path_factory.mktemp("class")
    assignment = "01-edge-detection"
    flipped = next(m for m in load(COURSE_SOURCE / assignment) if m.key == "correlate2d_flipped")
    course = Course(root=tmp / "root", source=COURSE_SOURCE, limits=Limits(cell_timeout=120))
    (release,) = release_assignments(course, [assignment])
    folder = tmp / "in"
    (folder / "nobody").mkdir(parents=True)
    (folder / "nobody" / "notes.txt").write_text("no time")
    source = _source(assignment)
    nbformat.write(with_mistakes(source, [flipped]), folder / "flip.ipynb")
    nbformat.write(source, folder / "solved.ipynb")
    copied = nbformat.from_dict(source)
    for cell in copied.cells:
        if is_solution_cell(cell) and "def correlate2d" in cell.source:
            cell.source = cell.source.replace("Z", "result").replace("f_h", "rows").replace("# ", "#  ")
    nbformat.write(copied, folder / "copier.ipynb")
    nbformat.write(nbformat.read(next(release.glob("*.ipynb")), 4), folder / "blank.ipynb")
    import_submissions(course, assignment, folder)
    autograde(course, assignment, workers=2, progress=False)
    return course, assignment, flipped


@pytest.mark.slow
def test_summary_lists_failed_tests_mistakes_and_copies(graded_class):
    """Does the summary list the failed tests and the named mistake of a student, and put a copy
    up for manual review with its score unchanged?"""
    from autograder.course.reports import summary_table

    course, assignment, flipped = graded_class
    lines = {line.split("|")[0].strip(): line for line in summary_table(course, [assignment]).splitlines()}
    assert "failed: test_correlate2d, test_correlate2d_hidden, test_apply_kernel_bank" in lines["flip"]
    assert f"mistakes: {flipped.says}" in lines["flip"]
    copier = [part.strip() for part in lines["copier"].split("|")]
    assert copier[2] == "13 / 13" and copier[3] == "needs manual review"
    assert "possible copy: correlate2d is 100% like the reference solution" in lines["copier"]
    assert "failed:" not in lines["solved"]
    for step in ("release", "submitted", "autograded"):  # the catalogue is never beside a student's notebook
        assert not list((course.root / step).glob("**/mistakes.py")), step


@pytest.mark.slow
def test_feedback_names_the_mistake_without_values_in_hidden_tests(graded_class):
    from autograder.grading.feedback import generate_feedback

    course, assignment, flipped = graded_class
    generate_feedback(course, assignment, workers=1, progress=False, students=["flip"])
    (page,) = (course.root / "feedback" / "flip" / assignment).glob("*.html")
    html = page.read_text()
    assert html.count("This looks like a classic mistake") >= 2  # the visible and the hidden test
    hidden = html[html.index("hidden tests do not show values"):][:2000]
    assert "This looks like a classic mistake" in hidden and "got" not in hidden.split("classic")[0]


@pytest.mark.slow
def test_class_report(graded_class, tmp_path):
    """Does the report show each part the instructor needs: plots as images, the mistake with its
    count, failed and missing submissions, the copy flag and grading times?"""
    from autograder import cli

    course, assignment, flipped = graded_class
    path = tmp_path / "report.html"
    assert cli.main(["report", "--course-dir", str(course.root), "--to", str(path), assignment]) == 0
    page = path.read_text()
    alts = re.findall(r"<img alt='([^']*)' src='data:image/png;base64,", page)
    assert len(alts) == 3  # scores, pass rates, times
    # the missing notebook scores 0 too; the flipped kernel's 7 is the median
    assert alts[0] == "Histogram of 5 scores out of 13: lowest 0, median 7, highest 13.", alts[0]
    assert alts[1].startswith("Bar chart of the share of graded submissions with full points on each of ")
    assert "test_correlate2d_hidden 50%" in alts[1]  # the flipped kernel and the blank notebook fail it
    assert f"<td class=''>{flipped.says}</td><td class='n'>1</td>" in page.replace("&#x27;", "'")
    assert "<td class=''>nobody</td><td class=''>missing</td>" in page
    assert "correlate2d is 100% like the reference solution" in page
    assert "Median" in page and "5 students" in page


def test_report_plots_say_what_they_show():
    """Does each plot's alt text say what it shows, with its numbers where they are few?"""
    from autograder.course import report

    histogram = report._histogram([2.0, 7.5, 13.0, 13.0], "score", "scores out of 13", 13)
    assert "alt='Histogram of 4 scores out of 13: lowest 2, median 13, highest 13.'" in histogram
    bars = report._bars([("test_a", 1.0), ("test_b", 0.25)])
    assert "alt='Bar chart of the share of graded submissions with full points on each of 2 tests: " \
           "test_a 100%, test_b 25%.'" in bars
    many = report._bars([(f"test_{i:02d}", i / 20) for i in range(20)])
    alt = re.search(r"alt='([^']*)'", many).group(1)
    assert "each of 20 tests: the 12 lowest are test_00 0%, test_01 5%" in alt and "test_12" not in alt
    assert report._histogram([], "seconds", "grading times in seconds") == "<p class='none'>None yet.</p>"


@pytest.mark.slow
@pytest.mark.browser
def test_report_and_feedback_in_chromium(graded_class, tmp_path):
    """The report and a feedback page with a named mistake, as Chromium shows them (screenshots in
    build/screenshots/): the plots are drawn and the mistake is on the page."""
    from playwright.sync_api import sync_playwright

    from autograder.course.report import write_report
    from autograder.grading.feedback import generate_feedback

    course, assignment, flipped = graded_class
    shots = Path(__file__).resolve().parents[1] / "build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    report = write_report(course, tmp_path / "report.html", [assignment])
    generate_feedback(course, assignment, workers=1, progress=False, students=["flip"])
    (feedback,) = (course.root / "feedback" / "flip" / assignment).glob("*.html")
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                         args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
        page.goto(report.as_uri())
        images = page.locator("img")
        assert images.count() == 3
        assert all(images.nth(i).evaluate("img => img.naturalWidth > 100") for i in range(3))
        assert flipped.says in page.inner_text("body")
        page.screenshot(path=shots / "report.png", full_page=True)
        refused = []  # the feedback page with no network: its maths from the course's own MathJax
        page.route("http*://**", lambda route: (refused.append(route.request.url), route.abort()))
        page.goto(feedback.as_uri())
        page.wait_for_function("() => document.querySelectorAll('.MathJax, .MathJax_Display').length > 0",
                               timeout=30000)
        assert not [url for url in refused if "mathjax" in url.lower()]
        hidden = page.get_by_text("This looks like a classic mistake").last
        hidden.scroll_into_view_if_needed()
        assert flipped.says in page.inner_text("body")
        page.screenshot(path=shots / "feedback-named-mistake.png")
        page.locator(".MathJax").first.scroll_into_view_if_needed()
        page.screenshot(path=shots / "feedback-maths-offline.png")
        browser.close()
