"""Tests of cnnlib.transfer_curve on a small made-up curve (the recorded one: tests/test_histories.py)."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cnnlib import transfer_curve  # noqa: E402


def _record():
    """Two sizes, two approaches, two seeds; accuracies chosen so that the means are easy to check."""
    accuracies = {(10, "a", 0): 0.50, (10, "a", 1): 0.60, (10, "b", 0): 0.70, (10, "b", 1): 0.70,
                  (100, "a", 0): 0.80, (100, "a", 1): 0.90, (100, "b", 0): 0.75, (100, "b", 1): 0.85}
    return {"sizes": [10, 100], "approaches": ["a", "b"], "seeds": [0, 1],
            "runs": [{"size": size, "approach": approach, "seed": seed, "test_accuracy": accuracy, "seconds": 1.0}
                     for (size, approach, seed), accuracy in accuracies.items()]}


def test_mean_accuracies_average_over_seeds_in_the_order_of_the_sizes():
    means = transfer_curve.mean_accuracies(_record())
    assert list(means) == ["a", "b"]
    np.testing.assert_allclose(means["a"], [0.55, 0.85])
    np.testing.assert_allclose(means["b"], [0.70, 0.80])


def test_mean_accuracies_name_a_missing_run():
    record = _record()
    record["runs"] = [run for run in record["runs"] if (run["size"], run["approach"]) != (100, "b")]
    with pytest.raises(ValueError, match=r"no run for \(size, approach\) \[\(100, 'b'\)\]"):
        transfer_curve.mean_accuracies(record)


def test_plot_curve_draws_the_means_on_a_log_axis_with_whole_number_ticks_and_the_live_points():
    ax = transfer_curve.plot_curve(_record(), live={"a": 0.65, "b": 0.72}, live_size=100, live_label="live")
    assert ax.get_xscale() == "log"
    assert [tick.get_text() for tick in ax.get_xticklabels()] == ["10", "100"]
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(lines["a (recorded, full mode)"].get_ydata(), [0.55, 0.85])
    np.testing.assert_allclose(lines["b (recorded, full mode)"].get_xdata(), [10, 100])
    assert list(lines["b (live)"].get_xdata()) == [100] and list(lines["b (live)"].get_ydata()) == [0.72]
    # the band of each approach spans its seeds: a at size 10 from 0.50 to 0.60
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx(0.50) and band[:, 1].max() == pytest.approx(0.90)


def test_run_curve_writes_one_run_per_size_approach_and_seed_with_its_settings(monkeypatch, tmp_path, capsys):
    """benchmarks/train_transfer.py --curve, its training replaced by fixed accuracies: is the file what
    transfer_curve reads, with the full-mode recipe, the seeds and the base's hash, and one JSON line per run?"""
    import hashlib
    import json
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import train_transfer

    from cnnlib import transfer

    calls = []

    def fake_three_approaches(splits, recipe, seed=0, verbose=0):
        size = len(splits["train"][1]) // 2
        calls.append((size, len(splits["validation"][1]) // 2, len(splits["test"][1]), seed, recipe))
        return ({approach: size / 2000 + seed / 1000 + i / 100 for i, approach in enumerate(transfer_curve.APPROACHES)},
                dict.fromkeys(transfer_curve.APPROACHES, 1.5))

    monkeypatch.setattr(train_transfer, "three_approaches", fake_three_approaches)
    monkeypatch.setattr(train_transfer, "shipped_base_accuracy", lambda: 0.8675)
    monkeypatch.setattr(transfer_curve, "CURVE_FILE", tmp_path / "curve.json")
    monkeypatch.setattr(transfer_curve, "CURVE_SIZES", (2, 3))
    train_transfer.run_curve(range(2))
    record = transfer_curve.recorded_curve(tmp_path / "curve.json")
    assert [c[:4] for c in calls] == [(2, 200, 2000, 0), (2, 200, 2000, 1), (3, 200, 2000, 0), (3, 200, 2000, 1)]
    assert all(c[4] == transfer.TRANSFER_RECIPE["full"] for c in calls)
    assert record["sizes"] == [2, 3] and record["seeds"] == [0, 1] and len(record["runs"]) == 12
    assert record["recipe"] == transfer.TRANSFER_RECIPE["full"] and record["test_images"] == 2000
    assert record["base"]["sha256"] == hashlib.sha256(transfer.WEIGHTS_FILE.read_bytes()).hexdigest()
    assert record["base"]["test_accuracy"] == 0.8675
    assert record["command"] == "benchmarks/train_transfer.py --curve --seeds 2"
    np.testing.assert_allclose(transfer_curve.mean_accuracies(record)["fine-tuned"], [0.0215, 0.022])
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line for line in printed if "approach" in line] == record["runs"]
    # other sizes than the curve's are a shortened run: printed, not saved
    (tmp_path / "curve.json").unlink()
    train_transfer.run_curve(range(1), sizes=[2])
    assert not (tmp_path / "curve.json").exists()


def test_run_curve_keeps_the_runs_printed_before_and_trains_only_the_missing_ones(monkeypatch, tmp_path):
    """--resume: runs printed by other processes are kept as they are; only missing (size, seed) pairs train."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import train_transfer

    trained = []

    def fake_three_approaches(splits, recipe, seed=0, verbose=0):
        trained.append((len(splits["train"][1]) // 2, seed))
        return dict.fromkeys(transfer_curve.APPROACHES, 0.75), dict.fromkeys(transfer_curve.APPROACHES, 2.0)

    monkeypatch.setattr(train_transfer, "three_approaches", fake_three_approaches)
    monkeypatch.setattr(train_transfer, "shipped_base_accuracy", lambda: 0.87)
    monkeypatch.setattr(transfer_curve, "CURVE_FILE", tmp_path / "curve.json")
    monkeypatch.setattr(transfer_curve, "CURVE_SIZES", (2, 3))
    done = [{"size": 3, "approach": approach, "seed": 1, "test_accuracy": 0.5, "seconds": 9.0}
            for approach in transfer_curve.APPROACHES]
    record = train_transfer.run_curve(range(2), done=done)
    assert trained == [(2, 0), (2, 1), (3, 0)]
    assert [run for run in record["runs"] if run["size"] == 3 and run["seed"] == 1] == done
    np.testing.assert_allclose(transfer_curve.mean_accuracies(record)["fine-tuned"], [0.75, 0.625])
