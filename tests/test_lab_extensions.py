"""The instructor's JupyterLab (the project's .venv) has nbgrader's and ipywidgets' extensions on.

Checked with the commands an instructor would type, in a fresh Jupyter profile so that a
developer's own ~/.jupyter settings do not count. test_browser.py opens the same Lab in Chromium.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

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
