"""The recorded training histories in cnnlib/histories/ against their source, benchmarks/train.py.

Each file must come from a full run of the experiments' recipe as it is now (models.CIFAR_EXPERIMENT_RECIPE
and the experiment's setup in models.CIFAR_EXPERIMENTS), name the command that wrote it, and hold numbers
that agree with each other. The notebook's full mode must run exactly that recipe.
"""

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
    assert recorded == sorted(evaluation.history_file_stem(name) for name in models.CIFAR_EXPERIMENTS)


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

