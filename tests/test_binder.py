"""Binder: the image a learner lands in, built the way repo2docker builds it (without Docker).

repo2docker installs environment.yml (checked against constraints.txt by test_environment.py), then
runs ``postBuild`` in the repository root, and ``start`` before every session. These tests run the
same two scripts in a copy of the repository, with a throw-away home folder, and inspect the result.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.course.release import INSTRUCTOR_ONLY

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SOURCES = sorted(ROOT.glob("course/[0-9][0-9]-*/*.ipynb"))


def _repository_files():
    """What Binder copies into the image: tracked files and untracked ones git does not ignore."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                            cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def _binder_env(home):
    """The environment of a Binder build: the course's Python first on PATH, a fresh home, and no
    Jupyter or course settings from this machine."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("JUPYTER", "CNN_COURSE", "NBGRADER")) and name != "CI"}
    env.update(HOME=str(home), PATH=f"{BIN}{os.pathsep}{env['PATH']}")
    return env


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    """A copy of the repository after Binder's postBuild ran in it; returns (repo, env). The copy's
    own packages are imported, not the editable install that points at this checkout."""
    base = tmp_path_factory.mktemp("binder")
    repo, home = base / "repo", base / "home"
    home.mkdir()
    for name in _repository_files():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, repo / name)
    env = dict(_binder_env(home), PYTHONPATH=str(repo))
    built = subprocess.run(["bash", "postBuild"], cwd=repo, env=env, capture_output=True, text=True)
    assert built.returncode == 0, f"postBuild failed:\n{built.stdout}\n{built.stderr}"
    return repo, env


def _cells_by_id(notebook):
    return {cell.metadata["nbgrader"]["grade_id"]: cell for cell in notebook.cells
            if "grade_id" in cell.metadata.get("nbgrader", {})}


def test_binder_files_are_where_repo2docker_reads_them():
    """Does repo2docker see the root-level files (a binder/ folder would hide them)?"""
    assert not (ROOT / "binder").exists() and not (ROOT / ".binder").exists()
    for name in ("environment.yml", "postBuild", "start"):
        assert (ROOT / name).is_file(), name
    for script in ("postBuild", "start"):
        assert os.access(ROOT / script, os.X_OK), f"{script} must be executable"


@pytest.mark.slow
def test_student_tree_has_every_notebook_and_the_course_map(image):
    """Does the image hold the release version of every assignment, and the course map?"""
    repo, _ = image
    expected = {source.relative_to(ROOT / "course") for source in SOURCES}
    student = {path.relative_to(repo / "student") for path in (repo / "student").rglob("*.ipynb")}
    assert expected <= student
    assert student - expected == {Path("index.ipynb")}


@pytest.mark.slow
def test_course_map_links_every_notebook(image):
    """Does the course map link each assignment's notebook, by a path that works in student/?"""
    repo, _ = image
    index = nbformat.read(repo / "student" / "index.ipynb", as_version=4)
    text = "\n".join(cell.source for cell in index.cells if cell.cell_type == "markdown")
    links = {Path(link) for link in re.findall(r"\]\(([^)\s]+\.ipynb)\)", text)}
    assert links == {source.relative_to(ROOT / "course") for source in SOURCES}
    assert all((repo / "student" / link).is_file() for link in links)


@pytest.mark.slow
def test_no_solution_or_hidden_test_anywhere_in_the_image(image):
    """Can a learner on Binder find a solution or a hidden test in any notebook of the image?"""
    repo, _ = image
    assert not (repo / "course").exists(), "the nbgrader sources should be removed from the image"
    for notebook in repo.rglob("*.ipynb"):
        text = notebook.read_text(encoding="utf-8")
        leaked = [marker for marker in INSTRUCTOR_ONLY if marker in text]
        assert not leaked, f"{notebook.relative_to(repo)} contains {leaked}"


@pytest.mark.slow
@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.parent.name)
def test_release_has_stubs_and_visible_tests(image, source):
    """Is each exercise a stub, each visible test kept as written, each notebook without outputs?"""
    repo, _ = image
    released_path = repo / "student" / source.relative_to(ROOT / "course")
    released = nbformat.read(released_path, as_version=4)
    original = _cells_by_id(nbformat.read(source, as_version=4))
    cells = _cells_by_id(released)
    assert cells.keys() == original.keys()
    for grade_id, cell in original.items():
        nbgrader = cell.metadata["nbgrader"]
        if nbgrader.get("solution"):
            assert "raise NotImplementedError()" in cells[grade_id].source, grade_id
        elif nbgrader.get("grade") and "### BEGIN HIDDEN TESTS" not in cell.source:
            assert cells[grade_id].source == cell.source, f"visible test {grade_id} changed"
    for cell in released.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def _jupyter(env, *args):
    return subprocess.run([str(BIN / "jupyter"), *args], env=env, capture_output=True, text=True,
                          check=True)


@pytest.mark.slow
def test_learner_lab_keeps_validate_and_hides_instructor_tools(image):
    """In a learner's JupyterLab, is nbgrader's Validate on and the formgrader off?"""
    _, env = image
    labextensions = _jupyter(env, "labextension", "list")
    disabled = labextensions.stdout + labextensions.stderr
    disabled = disabled[disabled.index("Disabled extensions:"):]
    for plugin in ("formgrader", "create-assignment", "assignment-list", "course-list"):
        assert f"@jupyter/nbgrader:{plugin}" in disabled
    assert "@jupyter/nbgrader:validate-assignment" not in disabled
    listed = _jupyter(env, "server", "extension", "list")
    text = re.sub(r"\x1b\[[0-9;]*m", "", listed.stdout + listed.stderr)
    user_config = text[text.index(f"Config dir: {env['HOME']}"):].split("Config dir:")[1]
    assert "nbgrader.server_extensions.formgrader disabled" in user_config
    assert "nbgrader.server_extensions.validate_assignment disabled" not in text


@pytest.mark.parametrize("preset, expected", [(None, "fast"), ("full", "full")])
def test_start_makes_binder_sessions_fast_unless_chosen(tmp_path, preset, expected):
    """Does Binder's start script choose fast mode, and respect a learner's own choice?"""
    env = _binder_env(tmp_path)
    if preset:
        env["CNN_COURSE_MODE"] = preset
    mode = subprocess.run(
        ["bash", str(ROOT / "start"), str(BIN / "python"), "-c",
         "from cnnlib.mode import course_mode; print(course_mode())"],
        env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert mode == expected


@pytest.mark.slow
def test_binder_badge_opens_the_course_map(image):
    """Does the README's Binder badge open student/index.ipynb, and each of its Binder links a student
    notebook, all of which postBuild creates?"""
    repo, _ = image
    links = re.findall(r"https://mybinder\.org/v2/gh/[^)\s]+", (ROOT / "README.md").read_text())
    assert links, "README.md has no Binder link"
    assert links[0].endswith("?urlpath=lab/tree/student/index.ipynb"), links[0]
    for link in links:
        opened = link.partition("?urlpath=lab/tree/")[2]
        assert opened.startswith("student/") and (repo / opened).is_file(), link
