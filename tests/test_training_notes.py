"""Fast mode is the default everywhere; each training notebook says, before its first training cell,
how long full mode takes and how to switch, and the course map says the same."""

import json
import re
from pathlib import Path

import pytest

from cnnlib import mode

ROOT = Path(__file__).resolve().parents[1]
TRAINING = [path for path in sorted(ROOT.glob("course/[0-9][0-9]-*/*.ipynb"))
            if "fast_mode()" in path.read_text(encoding="utf-8")]
DURATION = re.compile(r"about (?:\d+(?:\.\d+)? (?:minutes|hours?)|a quarter of an hour)")


def _source(cell):
    return "".join(cell["source"])


def test_training_notebooks_are_found():
    """Are notebooks 5 to 7 the ones that train (the selection below is not empty)?"""
    assert [path.parent.name[:2] for path in TRAINING] == ["05", "06", "07"]


@pytest.mark.parametrize("environ", [{}, {"CI": ""}, {"HOME": "/home/learner"}])
def test_fast_is_the_default_on_a_learners_machine(environ):
    """Unset, is the mode fast, without CI or nbgrader in sight?"""
    assert mode.course_mode(environ) == "fast"


@pytest.mark.parametrize("path", TRAINING, ids=lambda path: path.parent.name)
def test_note_before_the_first_training_cell(path):
    """Before the cell that reads the mode (and so before any training), does a markdown cell say how long
    full mode takes and how to switch to it; and does the course map give the same duration?"""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    first = next(i for i, cell in enumerate(cells) if cell["cell_type"] == "code" and "fast_mode()" in _source(cell))
    assert not any("fit(" in _source(cell) for cell in cells[:first])
    note = _source(cells[first - 1])
    assert cells[first - 1]["cell_type"] == "markdown"
    assert "%env CNN_COURSE_MODE=full" in note and "fast" in note
    full = note[note.index("Full mode"):]
    stated = DURATION.findall(full)
    assert stated, note
    course_map = _source(json.loads((ROOT / "course" / "index.ipynb").read_text(encoding="utf-8"))["cells"][3])
    row = next(line for line in course_map.splitlines() if line.startswith(f"| {int(path.parent.name[:2])},"))
    assert stated[-1].replace(" in all", "") in row, (stated, row)


def test_course_map_no_longer_promises_minutes_for_hours():
    """Does the map's mode section give the hours notebook 6 takes, and call fast the default?"""
    text = _source(json.loads((ROOT / "course" / "index.ipynb").read_text(encoding="utf-8"))["cells"][3])
    assert "minutes to tens of minutes" not in text
    assert "about 2.5 hours" in text and "By default they run in **fast** mode" in text
