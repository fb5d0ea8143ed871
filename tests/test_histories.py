"""The recorded training histories in cnnlib/histories/ against their source, benchmarks/train.py.

Each file must come from a full run of the experiments' recipe as it is now (models.CIFAR_EXPERIMENT_RECIPE
and the experiment's setup in models.CIFAR_EXPERIMENTS), name the command that wrote it, and hold numbers
that agree with each other. The notebook's full mode must run exactly that recipe.

Notebook 7's learning curve (transfer_curve.json, benchmarks/train_transfer.py --curve) must hold one run
per size, approach and seed, of today's full-mode recipe, with the base that ships today.
"""

import hashlib
import itertools
import math
from pathlib import Path

import nbformat
import pytest

from cnnlib import evaluation

models = pytest.importorskip("cnnlib.models")
ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "course/06-cifar10/cifar10.ipynb"
KEYS = ("accuracy", "loss", "val_accuracy", "val_loss")


def test_every_experiment_has_a_recorded_history_and_nothing_else_is_there():
    recorded = sorted(p.stem for p in evaluation.HISTORIES_DIR.glob("*.json"))
    expected = [evaluation.history_file_stem(name) for name in models.CIFAR_EXPERIMENTS] + ["transfer_curve"]
    assert recorded == sorted(expected)


@pytest.mark.parametrize("name", list(models.CIFAR_EXPERIMENTS))
def test_recorded_history_matches_its_source(name):
    """Is the file a full run of today's recipe and setup, with one value per epoch and metric?"""
    record = evaluation.recorded_history(name)
    assert record["experiment"] == name
    assert record["recipe"] == models.CIFAR_EXPERIMENT_RECIPE
    assert record["setup"] == models.CIFAR_EXPERIMENTS[name]
    assert record["epochs"] == models.CIFAR_EXPERIMENT_RECIPE["epochs"]
    assert record["command"] == f"benchmarks/train.py --record-histories {name!r}"
    assert record["parameters"] == models.build_experiment_model(name).count_params()
    for key in KEYS:
        values = record["history"][key]
        assert len(values) == record["epochs"], key
        assert all(math.isfinite(v) for v in values), key
    for key in ("accuracy", "val_accuracy"):
        assert all(0 <= v <= 1 for v in record["history"][key])
    # Accuracies on n images are multiples of 1 / n: the validation split has n_train * fraction images.
    n_val = int(record["recipe"]["n_train"] * record["recipe"]["validation_fraction"])
    for v in record["history"]["val_accuracy"]:
        assert v * n_val == pytest.approx(round(v * n_val), abs=1e-2)
    assert record["test_accuracy"] * record["recipe"]["n_test"] == pytest.approx(
        round(record["test_accuracy"] * record["recipe"]["n_test"]), abs=1e-2)
    assert record["seconds"] > 0


def test_recorded_history_names_missing_files():
    with pytest.raises(FileNotFoundError, match=r"No recorded history named 'bogus'; available: \[.*'plain'"):
        evaluation.recorded_history("bogus")


def test_notebook_full_mode_runs_the_recorded_recipe():
    """Does notebook 6 train its experiments with models.CIFAR_EXPERIMENT_RECIPE unchanged outside fast mode,
    through the same models.train_experiment that benchmarks/train.py uses?"""
    source = "\n".join(c.source for c in nbformat.read(NOTEBOOK, 4).cells if c.cell_type == "code")
    assert "recipe = dict(models.CIFAR_EXPERIMENT_RECIPE)\nif FAST:\n    recipe.update(" in source
    assert source.count("models.train_experiment(") == 2
    assert "recipe[\"epochs\"], recipe)" in source
    train_py = (ROOT / "benchmarks/train.py").read_text()
    assert "models.train_experiment(" in train_py and "models.CIFAR_EXPERIMENT_RECIPE" in train_py



def test_transfer_curve_has_one_run_per_size_approach_and_seed():
    """Is every (size, approach, seed) of the recorded curve there exactly once, with a possible accuracy?"""
    from cnnlib import transfer_curve

    record = transfer_curve.recorded_curve()
    assert record["sizes"] == list(transfer_curve.CURVE_SIZES)
    assert record["approaches"] == list(transfer_curve.APPROACHES)
    assert len(record["seeds"]) >= 2 and record["seeds"] == list(range(len(record["seeds"])))
    keys = [(run["size"], run["approach"], run["seed"]) for run in record["runs"]]
    assert sorted(keys) == sorted(itertools.product(record["sizes"], record["approaches"], record["seeds"]))
    for run in record["runs"]:
        # an accuracy on n test images is a multiple of 1 / n
        n = record["test_images"]
        assert 0 <= run["test_accuracy"] <= 1
        assert run["test_accuracy"] * n == pytest.approx(round(run["test_accuracy"] * n), abs=1e-2)
        assert run["seconds"] > 0
    assert record["command"] == f"benchmarks/train_transfer.py --curve --seeds {len(record['seeds'])}"


def test_transfer_curve_matches_todays_recipe_and_shipped_base():
    """Was the curve recorded with the full-mode recipe and validation of notebook 7, and with the base
    whose weights ship today (same filters, same file)?"""
    from cnnlib import transfer, transfer_curve

    record = transfer_curve.recorded_curve()
    assert record["recipe"] == transfer.TRANSFER_RECIPE["full"]
    assert record["validation_per_class"] == transfer.DECK_SIZES["validation"] == transfer_curve.CURVE_VALIDATION
    assert record["test_images"] == 2 * transfer.TRANSFER_RECIPE["full"]["test_per_class"] == 2000
    assert max(record["sizes"]) == transfer.DECK_SIZES["train"]    # the notebook's own size is on the curve
    weights = transfer.WEIGHTS_FILE.read_bytes()
    assert record["base"]["filters"] == list(transfer.BASE_FILTERS)
    assert record["base"]["bytes"] == len(weights) <= 1_000_000
    assert record["base"]["sha256"] == hashlib.sha256(weights).hexdigest()
    # the shipped base on CIFAR-10's 8,000 test images that are neither cats nor dogs: the target is 85%
    assert 0.85 <= record["base"]["test_accuracy"] <= 1
