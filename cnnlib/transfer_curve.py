"""Notebook 7's learning curve: the three approaches' test accuracy against the size of the training set.

``benchmarks/train_transfer.py --curve`` trains each approach (from scratch, bottleneck features,
fine-tuning) in full mode (``transfer.TRANSFER_RECIPE["full"]``) on ``CURVE_SIZES`` training images per
class, once per seed, scores it on CIFAR-10's 2,000 test cats and dogs, and writes the results to
``CURVE_FILE``. The notebook plots that recorded curve beside its own live run.
"""

import json

import numpy as np

from cnnlib.evaluation import HISTORIES_DIR

CURVE_SIZES = (25, 50, 100, 250, 500, 1000)   # training images per class
CURVE_VALIDATION = 200                         # validation images per class, as in the notebook
APPROACHES = ("from scratch", "bottleneck features", "fine-tuned")
CURVE_FILE = HISTORIES_DIR / "transfer_curve.json"


def recorded_curve(path=CURVE_FILE):
    """The learning curve recorded with the course.

    Returns:
        dict with "sizes" (images per class), "approaches", "seeds", "runs" (one dict per size,
        approach and seed: "size", "approach", "seed", "test_accuracy", "seconds"), "recipe" (the
        full-mode recipe), "validation_per_class", "test_images", "base" (the pretrained base's
        filters, 8-class test accuracy, file size and SHA-256), "device", "keras" and "command".
    """
    return json.loads(path.read_text())


def mean_accuracies(record):
    """Each approach's test accuracy per size, averaged over the seeds.

    Args:
        record: a dict as returned by ``recorded_curve``.

    Returns:
        dict approach -> (S,) float array, S = len(record["sizes"]), in the order of the sizes.

    Raises:
        ValueError: if a (size, approach) pair has no run.
    """
    sums = {(size, approach): [] for size in record["sizes"] for approach in record["approaches"]}
    for run in record["runs"]:
        sums[run["size"], run["approach"]].append(run["test_accuracy"])
    missing = [pair for pair, values in sums.items() if not values]
    if missing:
        raise ValueError(f"The curve has no run for (size, approach) {missing}.")
    return {approach: np.array([np.mean(sums[size, approach]) for size in record["sizes"]])
            for approach in record["approaches"]}


def plot_curve(record, live=None, live_size=None, live_label="live run", ax=None):
    """Mean test accuracy against images per class (log axis), one line per approach; the range over
    seeds shaded; optionally a live run's accuracies as large markers at ``live_size``.

    Args:
        record: a dict as returned by ``recorded_curve``.
        live: dict approach -> test accuracy of a run made elsewhere (the notebook's), or None.
        live_size: training images per class of that run.
        live_label: its legend entry.
        ax: Matplotlib axes to draw on (a new figure when None).

    Returns:
        the axes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.5))
    sizes = np.array(record["sizes"])
    means = mean_accuracies(record)
    for i, approach in enumerate(record["approaches"]):
        per_size = [[run["test_accuracy"] for run in record["runs"] if run["size"] == size
                     and run["approach"] == approach] for size in sizes]
        ax.fill_between(sizes, [min(r) for r in per_size], [max(r) for r in per_size], color=f"C{i}", alpha=0.15)
        ax.plot(sizes, means[approach], "-o", color=f"C{i}", label=f"{approach} (recorded, full mode)")
        if live and approach in live:
            ax.plot([live_size], [live[approach]], "*", color=f"C{i}", markersize=16, markeredgecolor="k",
                    label=f"{approach} ({live_label})")
    ax.set_xscale("log")
    ax.set_xticks(sizes, [str(size) for size in sizes])   # whole numbers, not 10^2
    ax.minorticks_off()
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set(xlabel="training images per class", ylabel="test accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))   # beside the plot, never over a line
    return ax
