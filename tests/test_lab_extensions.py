"""The instructor's JupyterLab (the project's .venv) has nbgrader's and ipywidgets' extensions on.

Checked with the commands an instructor would type, in a fresh Jupyter profile so that a
developer's own ~/.jupyter settings do not count. test_browser.py opens the same Lab in Chromium.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
JUPYTER = Path(sys.executable).parent / "jupyter"
NBGRADER_PLUGINS = ("formgrader", "create-assignment", "assignment-list", "validate-assignment",
                    "course-list")
NBGRADER_SERVER_EXTENSIONS = ("formgrader", "validate_assignment", "assignment_list", "course_list")


@pytest.fixture(scope="module")
def listing(tmp_path_factory):
    """The output of ``jupyter labextension list`` and ``jupyter server extension list``."""
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path_factory.mktemp("jupyter-config")))

    def run(*args):
        done = subprocess.run([str(JUPYTER), *args], env=env, capture_output=True, text=True,
                              check=True)
        return re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)  # no colours

    return {"lab": run("labextension", "list"), "server": run("server", "extension", "list")}


@pytest.mark.parametrize("package", ["@jupyter/nbgrader", "@jupyter-widgets/jupyterlab-manager"])
def test_lab_extension_is_enabled(listing, package):
    """Is the JupyterLab extension installed, enabled and OK?"""
    assert re.search(rf"^\s*{re.escape(package)} v\S+ enabled OK", listing["lab"], re.M), listing["lab"]


@pytest.mark.parametrize("plugin", NBGRADER_PLUGINS)
def test_no_nbgrader_plugin_is_disabled(listing, plugin):
    """Are the formgrader, create-assignment toolbar, assignment list and Validate button all on?"""
    disabled = listing["lab"].partition("Disabled extensions:")[2]
    assert f"@jupyter/nbgrader:{plugin}" not in disabled


@pytest.mark.parametrize("name", NBGRADER_SERVER_EXTENSIONS)
def test_nbgrader_server_extension_is_enabled(listing, name):
    """Does the Jupyter server load nbgrader's server extension?"""
    module = f"nbgrader.server_extensions.{name}"
    assert re.search(rf"^\s*{re.escape(module)} enabled$", listing["server"], re.M), listing["server"]
    assert not re.search(rf"^\s*{re.escape(module)} disabled$", listing["server"], re.M)


# --------------------------------------------------------------------------- the student's JupyterLab

STUDENT_OFF = ("formgrader", "create-assignment", "course-list")
STUDENT_ON = ("assignment-list", "validate-assignment")


def _make_lab_config_path():
    """The JUPYTER_CONFIG_PATH that ``make lab`` gives the student tree (read from its dry run)."""
    dry_run = subprocess.run(["make", "-n", "--no-print-directory", "lab"], cwd=ROOT, capture_output=True,
                             text=True, check=True, env={k: v for k, v in os.environ.items()
                                                         if k != "JUPYTER_CONFIG_PATH"}).stdout
    found = re.search(r"JUPYTER_CONFIG_PATH=(\S+)", dry_run)
    assert found, dry_run
    return found.group(1)


@pytest.fixture(scope="module")
def student_listing(tmp_path_factory):
    """``jupyter labextension list`` as ``make lab``'s student tree sees it. (``jupyter server extension
    list`` ignores JUPYTER_CONFIG_PATH: test_browser.py asks the running server instead.)"""
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path_factory.mktemp("student-config")),
               JUPYTER_CONFIG_PATH=_make_lab_config_path())

    def run(*args):
        done = subprocess.run([str(JUPYTER), *args], env=env, capture_output=True, text=True, check=True)
        return re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)

    return {"lab": run("labextension", "list")}


def test_make_lab_and_the_hub_share_the_students_settings():
    """Do ``make lab``'s student tree and the hub's students read the same settings folder?"""
    sys.path.insert(0, str(ROOT / "deploy"))
    try:
        import setup_hub
    finally:
        sys.path.remove(str(ROOT / "deploy"))
    assert str(setup_hub.STUDENT_SETTINGS) in _make_lab_config_path().split(os.pathsep)


@pytest.mark.parametrize("plugin", STUDENT_OFF + STUDENT_ON)
def test_student_lab_has_the_hub_students_tools_only(student_listing, plugin):
    """Is a student's JupyterLab without the Formgrader, Create Assignment and the course list, and
    with the assignment list (and its feedback) and Validate?"""
    disabled = student_listing["lab"].partition("Disabled extensions:")[2]
    assert (f"@jupyter/nbgrader:{plugin}" in disabled) == (plugin in STUDENT_OFF), student_listing["lab"]


def test_course_settings_switch_off_jupyter_news():
    """Does the environment's JupyterLab carry the course's defaults: no news pop-up, no update check?"""
    overrides = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.d" / "cnn-course.json"
    settings = json.loads(overrides.read_text())
    assert settings == json.loads((ROOT / "jupyter" / "lab-overrides.json").read_text())
    assert settings["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"


def test_make_lab_writes_the_validate_config_without_generating(tmp_path):
    """Does ``make lab``'s student tree get the Validate button's nbgrader_config.py even when every
    assignment is already there (a tree from before, so nothing is generated), and is it the course's?"""
    from autograder.course.validate import CONFIG_FILE

    student = tmp_path / "student"
    (student / "01-edge-detection").mkdir(parents=True)
    done = subprocess.run(["make", "--no-print-directory", "student", f"STUDENT={student}",
                           "ASSIGNMENTS=01-edge-detection"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "cnn-course release" not in done.stdout  # nothing generated
    assert (student / "nbgrader_config.py").read_text() == CONFIG_FILE
    assert list((student / "01-edge-detection").iterdir()) == []  # the student's folder untouched
