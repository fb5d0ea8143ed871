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


def _mean_at(curve, size, approach):
    values = [run["test_accuracy"] for run in curve["runs"] if run["size"] == size and run["approach"] == approach]
    return sum(values) / len(values)


def test_07_quotes_the_base_and_the_three_approaches_as_recorded():
    """Do 07's base (accuracy, kB) and its table of the three approaches at 1,000 images per class give
    the figures of the recorded learning curve (the means over its seeds)?"""
    curve = _recorded("transfer_curve")
    text = _markdown(ROOT / "course/07-transfer-learning/transfer_learning.ipynb")
    base = re.search(r"eight classes with ([\d.]+)% accuracy; its weights, stored as 8-bit integers, take (\d+) kB",
                     text)
    assert base, "07 no longer quotes the base's accuracy and size"
    assert float(base.group(1)) == round(100 * curve["base"]["test_accuracy"], 1)
    assert int(base.group(2)) == round(curve["base"]["bytes"] / 1000)
    for approach, label in (("from scratch", "from scratch"), ("bottleneck features", "bottleneck features"),
                            ("fine-tuned", "fine-tuned top block")):
        quoted = re.search(rf"^\| {label} [^|]*\| ([\d.]+)% \|", text, re.M)
        assert quoted, f"07's table has no row for {label!r}"
        assert float(quoted.group(1)) == round(100 * _mean_at(curve, 1000, approach), 1), approach


def test_07_says_where_the_recorded_curve_puts_the_largest_lead_of_bottleneck_features():
    """Does 07's reading of the curve name the size where bottleneck features lead training from scratch
    by the most, with that lead in points, and the sizes where from scratch catches up, as recorded?"""
    curve = _recorded("transfer_curve")
    text = _markdown(ROOT / "course/07-transfer-learning/transfer_learning.ipynb")
    gains = {size: 100 * (_mean_at(curve, size, "bottleneck features") - _mean_at(curve, size, "from scratch"))
             for size in curve["sizes"]}
    lead = re.search(r"bottleneck features grows to ([\d.]+) points at (\d+) images per class", text)
    assert lead, "07 no longer says where the lead of bottleneck features is largest"
    assert int(lead.group(2)) == max(gains, key=gains.get)
    assert float(lead.group(1)) == round(gains[int(lead.group(2))], 1)
    behind = re.search(r"([\d.]+)% at 500 and ([\d.]+)% at 1,000 images per class, ([\d.]+) points behind", text)
    assert behind, "07 no longer gives from scratch's catching up"
    assert float(behind.group(1)) == round(100 * _mean_at(curve, 500, "from scratch"), 1)
    assert float(behind.group(2)) == round(100 * _mean_at(curve, 1000, "from scratch"), 1)
    assert float(behind.group(3)) == round(gains[1000], 1)
