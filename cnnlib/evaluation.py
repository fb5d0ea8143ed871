"""Looking at a trained classifier: confusion matrix, most confident mistakes, training curves.

The computations take NumPy arrays and work for any model; the ``plot_*`` functions draw them
with matplotlib (imported only when a plot is drawn).
"""

import json
from pathlib import Path

import numpy as np

# Training histories recorded by ``benchmarks/train.py --record-histories`` from full-mode runs.
HISTORIES_DIR = Path(__file__).resolve().parent / "histories"


def confusion_matrix(y_true, y_pred, n_classes=10):
    """Count how often each true class was predicted as each class.

    Args:
        y_true: (N,) or (N, 1) integer labels.
        y_pred: (N,) integer predictions.
        n_classes: K.

    Returns:
        (K, K) int array; entry [i, j] counts images of class i predicted as class j, so the
        diagonal holds the correct predictions and each row sums to the number of images of class i.
    """
    y_true = np.asarray(y_true).reshape(-1)
    y_pred = np.asarray(y_pred).reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same length; received {y_true.size} "
                         f"and {y_pred.size}.")
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def most_confident_mistakes(probs, y_true, k=10):
    """Indices of the k misclassified images to which the model gave the highest probability.

    Args:
        probs: (N, K) predicted class probabilities.
        y_true: (N,) or (N, 1) integer labels.
        k: how many to return (fewer if there are fewer mistakes).

    Returns:
        (min(k, mistakes),) int array of indices, most confident first.
    """
    probs = np.asarray(probs)
    y_true = np.asarray(y_true).reshape(-1)
    predicted = probs.argmax(axis=1)
    wrong = np.flatnonzero(predicted != y_true)
    confidence = probs[wrong, predicted[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")[:k]]


def plot_confusion_matrix(matrix, class_names=None, ax=None):
    """Draw a confusion matrix with its counts written in the cells; returns the axes."""
    import matplotlib.pyplot as plt

    matrix = np.asarray(matrix)
    n = len(matrix)
    names = class_names if class_names is not None else [str(i) for i in range(n)]
    if ax is None:
        _, ax = plt.subplots(figsize=(0.6 * n + 2, 0.6 * n + 1.5))
    ax.imshow(matrix, cmap="Blues")
    for i in range(n):
        for j in range(n):
            ax.text(j, i, int(matrix[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    ax.set(xticks=range(n), yticks=range(n), xlabel="predicted", ylabel="true")
    named = class_names is not None
    ax.set_xticklabels(names, rotation=45 if named else 0, ha="right" if named else "center")
    ax.set_yticklabels(names)
    return ax


def plot_mistakes(images, y_true, probs, indices, class_names=None):
    """Show the images at ``indices`` titled "true -> predicted (probability)"; returns the figure.

    Args:
        images: (N, H, W) or (N, H, W, 3) uint8 images.
        y_true: (N,) or (N, 1) labels.
        probs: (N, K) predicted probabilities.
        indices: which images to show, e.g. from ``most_confident_mistakes``.
        class_names: optional names of the K classes.
    """
    from cnnlib.viz import show_images

    y_true = np.asarray(y_true).reshape(-1)
    name = (lambda c: class_names[c]) if class_names is not None else str
    titles = []
    for i in indices:
        predicted = int(probs[i].argmax())
        titles.append(f"{name(int(y_true[i]))} -> {name(predicted)} ({probs[i, predicted]:.2f})")
    return show_images([images[i] for i in indices], titles, ncols=min(len(indices), 5))


def plot_history(histories, metric="accuracy", ax=None):
    """Overlay training (dashed) and validation (solid) curves of several runs; returns the axes.

    Args:
        histories: dict mapping a run's name to a Keras ``History.history`` dict (lists per epoch
            under ``metric`` and ``"val_" + metric``).
        metric: "accuracy" or "loss".
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.5))
    for i, (name, history) in enumerate(histories.items()):
        color = f"C{i}"
        epochs = np.arange(1, len(history[metric]) + 1)
        ax.plot(epochs, history[metric], "--", marker=".", color=color, label=f"{name} (training)")
        if "val_" + metric in history:
            ax.plot(epochs, history["val_" + metric], "-", marker=".", color=color, label=f"{name} (validation)")
    ax.set(xlabel="epoch", ylabel=metric)
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))   # whole epochs: no tick at 1.5
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def history_file_stem(name):
    """The file name (without .json) of an experiment's recorded history: "batch norm" -> "batch_norm"."""
    return name.replace(" ", "_")


def recorded_history(name):
    """The history of a full-mode run recorded with the course (see ``HISTORIES_DIR``).

    Args:
        name: an experiment of ``cnnlib.models.CIFAR_EXPERIMENTS``, e.g. "plain" or "batch norm".

    Returns:
        dict with "experiment", "setup", "recipe", "epochs", "history" (a ``History.history`` dict:
        "accuracy", "loss", "val_accuracy", "val_loss", one value per epoch), "test_accuracy",
        "parameters", "seconds", "device", "keras" and "command" (what recorded it).

    Raises:
        FileNotFoundError: listing the recorded experiments.
    """
    path = HISTORIES_DIR / f"{history_file_stem(name)}.json"
    if not path.exists():
        available = sorted(p.stem.replace("_", " ") for p in HISTORIES_DIR.glob("*.json"))
        raise FileNotFoundError(f"No recorded history named {name!r}; available: {available}.")
    return json.loads(path.read_text())
