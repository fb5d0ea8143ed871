"""The course map's table and the README's are generated from the notebooks (tools/course_map.py):
every exercise appears, each notebook's time is the one it states, and a stale table fails here."""

import ast
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "course_map.py"
SOURCES = sorted(ROOT.glob("course/[0-9][0-9]-*/*.ipynb"))
_spec = importlib.util.spec_from_file_location("course_map", SCRIPT)
course_map = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(course_map)


def _exercises(path):
    """The names each solution cell defines (functions, else assigned names), parsed with ast."""
    names = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            tree = ast.parse("".join(cell["source"]))
            functions = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
            assigned = [target.id for node in tree.body if isinstance(node, ast.Assign)
                        for target in node.targets if isinstance(target, ast.Name)]
            names += functions or assigned
    return names


def test_committed_tables_are_up_to_date():
    """Do README.md and course/index.ipynb hold what the notebooks generate now?"""
    done = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.parent.name)
def test_map_lists_every_exercise_and_the_time(source):
    """Does each notebook's row in both tables name every exercise of its solution cells, and its time?"""
    index = json.loads((ROOT / "course" / "index.ipynb").read_text(encoding="utf-8"))
    table = "".join(line for cell in index["cells"] for line in cell["source"])
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    link = source.relative_to(ROOT / "course").as_posix()
    map_row = next(line for line in table.splitlines() if f"]({link})" in line)
    readme_row = next(line for line in readme.splitlines() if f"student/{link})" in line)
    minutes = json.loads(source.read_text(encoding="utf-8"))["metadata"]["cnn_course"]["course_map"]["minutes"]
    for row in (map_row, readme_row):
        for name in _exercises(source):
            assert f"`{name}`" in row, f"{name} missing from {row}"
        assert f"| {course_map.duration(minutes)} |" in row


def test_every_notebook_states_its_time():
    """Does each notebook's introduction say the time its metadata gives (so the map shows the same)?"""
    for source in SOURCES:
        notebook = json.loads(source.read_text(encoding="utf-8"))
        minutes = notebook["metadata"]["cnn_course"]["course_map"]["minutes"]
        intro = " ".join("".join(notebook["cells"][0]["source"]).split())
        assert f"Time: {course_map.duration(minutes)}" in intro, source.name
        # A floor, not a measure: half an hour of reading, a quarter of an hour per exercise at least.
        floor = 30 + 15 * len(_exercises(source))
        assert minutes >= floor, f"{source.name}: {minutes} minutes for {len(_exercises(source))} exercises"


def _copy(tmp_path):
    """A copy of what the generator reads: the notebooks, the README, pyproject.toml."""
    shutil.copytree(ROOT / "course", tmp_path / "course")
    for name in ("README.md", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def test_an_exercise_added_later_appears_and_the_check_sees_it(tmp_path):
    """Does a new solution cell show up in both tables, and is the old table reported stale?"""
    root = _copy(tmp_path)
    path = root / SOURCES[2].relative_to(ROOT)
    notebook = json.loads(path.read_text(encoding="utf-8"))
    notebook["cells"].append({"cell_type": "code", "execution_count": None, "id": "added", "outputs": [],
                              "metadata": {"nbgrader": {"solution": True, "grade": False, "locked": False,
                                                        "grade_id": "global_pool", "schema_version": 3}},
                              "source": ["def global_pool(x):\n", "    ### BEGIN SOLUTION\n",
                                         "    return x.mean(axis=(1, 2))\n", "    ### END SOLUTION\n"]})
    path.write_text(json.dumps(notebook), encoding="utf-8")
    rendered = course_map.render(root)
    assert all("`global_pool`" in text for text in rendered.values())
    assert all(rendered[p] != p.read_text(encoding="utf-8") for p in rendered)


def test_fork_address_rewrites_every_link(tmp_path):
    """After a fork changes the setting, does the generator point the badge, the table and git clone at it?"""
    root = _copy(tmp_path)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('Repository = "https://github.com/cnn-course/cnn-course"',
                                                       'Repository = "https://github.com/someone/my-cnn"'))
    readme = course_map.render(root)[root / "README.md"]
    assert "git clone https://github.com/someone/my-cnn.git\ncd my-cnn\n" in readme
    assert "gh/cnn-course/" not in readme and readme.count("mybinder.org/v2/gh/someone/my-cnn/HEAD") == 8


@pytest.mark.parametrize("change, message", [
    (lambda nb: nb["metadata"]["cnn_course"].pop("course_map"), r"lacks \['learn', 'needs', 'minutes'\]"),
    (lambda nb: nb["metadata"]["cnn_course"]["course_map"].update(minutes=600),
     r"should say 'Time: about 10 hours'"),
])
def test_bad_metadata_names_the_notebook_and_the_problem(tmp_path, change, message):
    """Is a notebook without its map metadata, or whose stated time disagrees, refused by name?"""
    root = _copy(tmp_path)
    path = root / SOURCES[0].relative_to(ROOT)
    notebook = json.loads(path.read_text(encoding="utf-8"))
    change(notebook)
    path.write_text(json.dumps(notebook), encoding="utf-8")
    with pytest.raises(ValueError, match=rf"01-edge-detection/edge_detection.ipynb: .*{message}"):
        course_map.render(root)


def test_a_bad_address_is_refused(tmp_path):
    """Is a Repository setting that is not a GitHub address refused with what was expected?"""
    root = _copy(tmp_path)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("https://github.com/cnn-course/cnn-course", "your-org/cnn"))
    with pytest.raises(ValueError, match=r"Repository = 'your-org/cnn'. Expected .*https://github.com/OWNER/NAME"):
        course_map.render(root)
