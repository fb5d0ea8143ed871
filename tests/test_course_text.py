"""Does what the notebooks say hold: numbered sections, prediction stubs, quoted figures?

The figures are checked against their source, the histories recorded in ``cnnlib/histories/``.
"""

import json
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(ROOT.glob("course/[0-9][0-9]-*/*.ipynb"))
HISTORIES = ROOT / "cnnlib" / "histories"
CURES = ["plain", "dropout", "batch_norm", "augmentation", "weight_decay", "all_cures"]
_PREDICTION = re.compile(r"^### BEGIN SOLUTION\n(\w+) = [^\n]*\n### END SOLUTION$", re.M)


def _ids(paths):
    return [path.parent.name for path in paths]


def _markdown(path):
    return "\n".join(c.source for c in nbformat.read(path, 4).cells if c.cell_type == "markdown")


def _recorded(stem):
    return json.loads((HISTORIES / f"{stem}.json").read_text())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_sections_are_numbered_without_gaps(path):
    """Do the numbered sections (## 1. ...) count up by one?"""
    numbers = [int(n) for n in re.findall(r"^## (\d+)\. ", _markdown(path), re.M)] or [1]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), numbers


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_a_prediction_stub_defines_its_name(path):
    """Does each predicted value start as None above its solution, so that an unanswered prediction's
    test says "replace None with your answer" rather than raising NameError?"""
    for cell in nbformat.read(path, 4).cells:
        meta = cell.metadata.get("nbgrader", {})
        match = _PREDICTION.search(cell.source)
        if meta.get("solution") and not meta.get("grade") and match:
            assert f"{match.group(1)} = None\n### BEGIN SOLUTION" in cell.source, cell.source


def test_06_quotes_batch_norms_epochs_as_recorded():
    """Does 06 give the epochs at which batch norm's training accuracy reaches 99.8% and 100% as recorded?"""
    accuracy = _recorded("batch_norm")["history"]["accuracy"]
    match = re.search(r"\(([\d.]+)% at epoch (\d+), 100% from epoch (\d+)\)", _markdown(
        ROOT / "course/06-cifar10/cifar10.ipynb"))
    assert match, "06 no longer quotes batch norm's epochs"
    percent, epoch, full = float(match.group(1)), int(match.group(2)), int(match.group(3))
    assert round(100 * accuracy[epoch - 1], 1) == percent
    assert full == 1 + next(i for i, a in enumerate(accuracy) if a == 1.0)
    assert all(a == 1.0 for a in accuracy[full - 1:])


def test_06_quotes_one_range_of_minutes_the_recorded_runs_took():
    """Do 06's intro and section 6 give the same minutes per experiment, as the recorded seconds say?"""
    text = _markdown(ROOT / "course/06-cifar10/cifar10.ipynb")
    quoted = re.findall(r"(\d+) to (\d+) minutes[^.]*?about ([\d.]+) for the MLP and the small CNN", text)
    assert len(quoted) == 2 and quoted[0] == quoted[1], quoted
    low, high, small = (float(n) for n in quoted[0])
    seconds = [_recorded(stem)["seconds"] / 60 for stem in CURES]
    assert (low, high) == (int(min(seconds)), round(max(seconds)))
    small_seconds = [_recorded(stem)["seconds"] / 60 for stem in ("mlp", "small_cnn")]
    assert all(abs(s - small) <= 0.15 for s in small_seconds), small_seconds


# Each deck error, named where its topic is taught: (notebook folder, words the note must hold).
DECK_ERRORS = [
    ("02-padding-and-stride", r"Deck 002 computes .*\(28 − 3\)/2 \+ 1 = 13"),
    ("05-mnist", r"Deck 003 writes ELU"),
    ("05-mnist", r"25 · 8,000 = 200,000"),
    ("06-cifar10", r"Deck 001 drops .*\s.*\s.*must be \*\*1 − p\*\*"),
    ("06-cifar10", r"`x_tests`"),
    ("07-transfer-learning", r"`model.layers\[:25\]` freezes all three"),
]


@pytest.mark.parametrize("folder, words", DECK_ERRORS, ids=[f"{f}:{w[:20]}" for f, w in DECK_ERRORS])
def test_each_deck_error_is_named_where_its_topic_is_taught(folder, words):
    (path,) = (ROOT / "course" / folder).glob("*.ipynb")
    text = re.sub(r"\n> ", "\n", _markdown(path))
    assert re.search(words, text), f"{folder} does not name the deck error {words!r}"
