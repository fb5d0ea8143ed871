"""The course in a real browser: Debian's Chromium, driven by Playwright, in the JupyterLab that
``make lab`` starts (headless), with a fresh Jupyter profile and browser profile: no settings but the
course's own, as a newcomer sees it.

A learner lands on the course map, looks at the menus and the assignment list, opens assignment 1's
release notebook, runs it, types a wrong answer and then the solutions into the stubs, and uses the
kernel explorer; an instructor opens the formgrader. Each step checks what the user sees.
Screenshots go to build/screenshots/.
"""

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01-edge-detection"
NOTEBOOK = f"{ASSIGNMENT}/edge_detection.ipynb"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = ROOT / "build" / "screenshots"
RUN_TIMEOUT_MS = 90_000

def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_server(runtime_dir, make, timeout=180):
    """The running server's info (url, token, pid), from the file it writes in its runtime dir."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for info_file in runtime_dir.glob("jpserver-*.json"):
            info = json.loads(info_file.read_text())
            try:
                urllib.request.urlopen(f"{info['url']}api/status?token={info['token']}", timeout=2)
                return info
            except OSError:
                pass
        if make.poll() is not None:
            break
        time.sleep(0.5)
    raise RuntimeError("`make lab` did not start JupyterLab; see its output in lab.log")


@contextlib.contextmanager
def _make_lab(base, **variables):
    """JupyterLab started by ``make lab`` with a fresh profile and the given make variables, as a
    user starts it; stopped by the server's process id. Yields (base url, token). The Jupyter profile
    (settings, workspaces, runtime) is new and empty, and nothing of this machine's Jupyter or course
    variables reaches the server: what the learner sees comes from the course's files alone."""
    config_dir, runtime_dir = base / "config", base / "runtime"
    token = secrets.token_hex(16)
    variables["LAB_ARGS"] = (f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={_free_port()} "
                             f"--ServerApp.port_retries=0 --IdentityProvider.token={token}")
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("JUPYTER", "CNN_COURSE", "NBGRADER"))}
    env.update(JUPYTER_CONFIG_DIR=str(config_dir), JUPYTER_RUNTIME_DIR=str(runtime_dir),
               JUPYTER_DATA_DIR=str(base / "data"))
    with open(base / "lab.log", "w") as log:
        make = subprocess.Popen(
            ["make", "--no-print-directory", "lab", *(f"{k}={v}" for k, v in variables.items())],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            info = _wait_for_server(runtime_dir, make)
            yield info["url"].rstrip("/"), token
        finally:
            if make.poll() is None:
                for info_file in runtime_dir.glob("jpserver-*.json"):
                    os.kill(json.loads(info_file.read_text())["pid"], signal.SIGTERM)
                try:
                    make.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    make.kill()
                    make.wait()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def _open(browser, url):
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.set_default_timeout(RUN_TIMEOUT_MS)
    page.goto(url)
    return page


@pytest.fixture
def student_lab(tmp_path):
    """``make lab`` on a new student tree holding assignment 1; yields (base url, token)."""
    with _make_lab(tmp_path, STUDENT=tmp_path / "student", ASSIGNMENTS=ASSIGNMENT) as lab:
        yield lab


@pytest.fixture
def student_page(browser, tmp_path):
    """Assignment 1's release notebook, open in the JupyterLab a learner gets from ``make lab``."""
    with _make_lab(tmp_path, STUDENT=tmp_path / "student", ASSIGNMENTS=ASSIGNMENT) as (url, token):
        yield _open(browser, f"{url}/lab/tree/{NOTEBOOK}?token={token}")


@pytest.fixture
def instructor_page(browser, tmp_path):
    """JupyterLab as an instructor starts it: ``make lab LAB_DIR=<course root>`` after a release."""
    root = tmp_path / "instructor"
    subprocess.run([str(Path(sys.executable).parent / "cnn-course"), "release", "--quiet",
                    "--course-dir", str(root), ASSIGNMENT], check=True, capture_output=True)
    with _make_lab(tmp_path, LAB_DIR=root) as (url, token):
        yield _open(browser, f"{url}/lab?token={token}")


# --------------------------------------------------------------------------- driving JupyterLab


def _cell(page, index):
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(index)


BUSY_JS = ("() => [...document.querySelectorAll('.jp-InputArea-prompt')]"
           ".some(p => p.textContent.includes('*'))")


def _wait_until_idle(page):
    """Wait for the cells just started to run: [*] prompts appear, then all are gone and the status
    bar says the kernel is idle."""
    try:
        page.wait_for_function(BUSY_JS, timeout=5_000)
    except PlaywrightTimeout:
        pass  # finished before we looked
    page.wait_for_function(f"() => !({BUSY_JS})() && document.body.innerText.includes('| Idle')")


def _menu(page, menu, item):
    page.locator(".lm-MenuBar-itemLabel", has_text=menu).first.click()
    page.locator(".lm-Menu-itemLabel", has_text=item).first.click()


def _type_into(page, index, text):
    """Replace cell ``index``'s code by ``text``, as if typed (without the editor's auto-indent)."""
    editor = _cell(page, index).locator(".cm-content")
    editor.click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.insert_text(text)
    page.keyboard.press("Escape")


def _run_cell(page, index):
    _cell(page, index).locator(".jp-InputArea-prompt").click()
    page.keyboard.press("Shift+Enter")
    _wait_until_idle(page)


def _error_text(page, index):
    # JupyterLab renders only the cells near the view (its default windowing): look at the cell first.
    _cell(page, index).scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    errors = _cell(page, index).locator('[data-mime-type="application/vnd.jupyter.stderr"]')
    return errors.inner_text() if errors.count() else ""


def _snap(locator, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    locator.screenshot(path=SCREENSHOTS / f"{name}.png")


def _solution(source_cell):
    """The source notebook's solution, as a learner would type it (nbgrader markers left out)."""
    return "\n".join(line for line in source_cell.source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def _graded_cells(path):
    """{grade_id: (index, cell)} for a notebook's nbgrader cells."""
    notebook = nbformat.read(path, as_version=4)
    return {cell.metadata["nbgrader"]["grade_id"]: (index, cell)
            for index, cell in enumerate(notebook.cells)
            if "grade_id" in cell.metadata.get("nbgrader", {})}


NEWS_PROMPT = "get notified about official Jupyter news"


def _status(url):
    try:
        return urllib.request.urlopen(url, timeout=30).status
    except urllib.error.HTTPError as error:
        return error.code


def test_newcomer_lands_on_the_course_map_with_a_students_tools(browser, student_lab):
    """In a fresh profile, does ``make lab`` open the course map with no pop-up over it, and offer the
    hub students' tools only: the assignment list (with its feedback) and Validate, no Formgrader,
    Create Assignment or course list?"""
    url, token = student_lab
    page = _open(browser, f"{url}/lab/tree/index.ipynb?token={token}")
    table = page.locator(".jp-RenderedMarkdown table", has_text="Edge detection and convolution")
    table.wait_for()
    page.wait_for_function("() => document.body.innerText.includes('| Idle')")
    page.wait_for_timeout(5000)   # JupyterLab asks about news a few seconds after it starts
    assert NEWS_PROMPT not in page.locator("body").inner_text()
    assert page.locator(".jp-toast-message, .Toastify__toast").count() == 0
    assert table.is_visible()
    _snap(page, "00-course-map")

    # The server: no formgrader's pages; the assignment list answers without an exchange error.
    assert _status(f"{url}/formgrader?token={token}") == 404
    listed = json.loads(urllib.request.urlopen(f"{url}/assignments?course_id=cnn-course&token={token}").read())
    assert listed["success"], listed

    # The menus and sidebars: the assignment list, no instructor's tool.
    assert page.locator(".lm-TabBar-tabLabel, .lm-TabBar-tab", has_text="Create Assignment").count() == 0
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.click()
    items = page.locator(".lm-Menu:visible .lm-Menu-itemLabel").all_inner_texts()
    _snap(page, "00-student-menus")
    assert "Assignment List" in items, items
    for instructors in ("Formgrader", "Course List", "Create Assignment"):
        assert not [item for item in items if instructors in item], items
    page.locator(".lm-Menu-itemLabel", has_text="Assignment List").first.click()
    assignments = page.locator("#nbgrader-assignment-list")
    assignments.wait_for()
    page.wait_for_timeout(2000)
    text = assignments.inner_text()
    assert "exchange directory does not exist" not in text and "Released assignments" in text, text
    _snap(page, "00-student-assignments")


def test_learner_session_in_jupyterlab(student_page):
    """Does a learner see figures, a working explorer, readable test failures and passing tests?"""
    page = student_page
    source = _graded_cells(ROOT / "course" / NOTEBOOK)
    exercises = [grade_id for grade_id, (_, cell) in source.items()
                 if cell.metadata["nbgrader"].get("solution")]
    functions = [grade_id for grade_id in exercises if source[grade_id][1].source.lstrip().startswith("def ")]
    first = functions[0]
    stub_index = source[first][0]
    test_index = source[f"test_{first}"][0]

    # The notebook opens with a kernel. With the predictions before it answered, Run All stops at
    # the first function's test, which fails on the stub.
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
    page.wait_for_function("() => document.body.innerText.includes('| Idle')")
    _snap(page, "00-notebook")
    assert page.locator(".jp-NotebookPanel-toolbar", has_text="Validate").count() == 1
    for grade_id in exercises[:exercises.index(first)]:
        _type_into(page, source[grade_id][0], _solution(source[grade_id][1]))
    _menu(page, "Run", "Run All Cells")
    _wait_until_idle(page)
    figures = page.locator('.jp-OutputArea-output[data-mime-type="image/png"] img')
    assert figures.count() >= 1, "no matplotlib figure is displayed before the first exercise"
    _snap(figures.first, "01-figure")
    assert "NotImplementedError" in _error_text(page, test_index)
    _snap(_cell(page, test_index), "02-test-fails-on-stub")

    # A wrong answer gets the course's readable message: what was expected, what came back.
    stub = _cell(page, stub_index).locator(".cm-content").inner_text()
    _type_into(page, stub_index, stub.replace("raise NotImplementedError()", "return 0.0"))
    _run_cell(page, stub_index)
    _run_cell(page, test_index)
    message = _error_text(page, test_index)
    assert "CheckFailed" in message and "expected" in message and "got 0" in message, message
    _snap(_cell(page, test_index), "03-test-explains-wrong-answer")

    # Every solution typed into its stub: the whole notebook runs and every test passes.
    for grade_id in exercises:
        _type_into(page, source[grade_id][0], _solution(source[grade_id][1]))
    _menu(page, "Kernel", "Restart Kernel and Run All Cells")
    page.locator(".jp-Dialog-button.jp-mod-accept").click()
    page.wait_for_timeout(1000)
    _wait_until_idle(page)
    for grade_id, (index, _) in source.items():
        if grade_id.startswith("test_"):
            assert _error_text(page, index) == "", f"{grade_id} fails: {_error_text(page, index)}"
            prompt = _cell(page, index).locator(".jp-InputArea-prompt").inner_text()
            assert prompt.strip() not in ("[ ]:", ""), f"{grade_id} did not run"
    _snap(_cell(page, test_index), "04-test-passes")

    # The kernel explorer renders; its picture changes with the preset menu and with a typed number.
    explorer = page.locator(".jp-OutputArea-output", has=page.locator(".widget-image")).last
    explorer.wait_for()
    picture = explorer.locator(".widget-image")
    before = picture.get_attribute("src")
    _snap(explorer, "05-explorer")
    explorer.locator(".widget-dropdown select").select_option(label="sharpen")
    page.wait_for_function("([img, old]) => img.getAttribute('src') !== old",
                           arg=[picture.element_handle(), before])
    _snap(explorer, "06-explorer-sharpen")
    before = picture.get_attribute("src")
    number = explorer.locator(".widget-text input").nth(4)
    number.fill("9")
    number.press("Enter")
    page.wait_for_function("([img, old]) => img.getAttribute('src') !== old",
                           arg=[picture.element_handle(), before])
    _snap(explorer, "07-explorer-edited")


def test_instructor_lab_has_nbgrader_tools(instructor_page):
    """Does an instructor's JupyterLab offer Create Assignment and a formgrader listing the course?"""
    page = instructor_page
    page.wait_for_selector(".lm-MenuBar-itemLabel")
    assert page.locator(".lm-TabBar-tabLabel, .lm-TabBar-tab", has_text="Create Assignment").count() >= 1
    _menu(page, "Nbgrader", "Formgrader")
    formgrader = page.frame_locator("iframe").first
    formgrader.locator("td", has_text=ASSIGNMENT).first.wait_for()
    _snap(page, "08-instructor-formgrader")


def test_validate_button_opens_with_the_summary(student_page):
    """Does the Lab's Validate button (nbgrader's own, with the student tree's nbgrader_config.py)
    open with "N of M checks fail: ..." once and show one line per failure, no traceback and no
    header repeated for each failed test?"""
    page = student_page
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
    page.wait_for_function("() => document.body.innerText.includes('| Idle')")
    page.locator(".jp-NotebookPanel-toolbar").get_by_text("Validate").click()
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_text("checks fail:").wait_for(timeout=RUN_TIMEOUT_MS * 3)
    text = dialog.inner_text()
    assert re.search(r"\d+ of \d+ checks fail: dense_layer_weights, conv_single_step, correlate2d", text), text
    assert "not written yet" in text and "Traceback" not in text and "checks.assert" not in text
    assert text.count("The following cell failed") == 1, text  # nbgrader's header once, not once per check
    assert text.count("checks fail:") == 1, text
    assert re.search(r"^correlate2d: NotImplementedError: not written yet", text, re.M), text
    _snap(dialog.locator(".jp-Dialog-content"), "validate-summary")
