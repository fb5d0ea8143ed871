"""Two losses beside softmax cross-entropy (``cnnlib.layers.softmax_cross_entropy``): the multiclass
hinge and the mean squared error, each with its gradient, as Keras defines them."""

import numpy as np

from cnnlib._validate import as_float_array, check_ndim
from cnnlib.layers import _targets

__all__ = ["hinge_loss", "mse_loss"]


def hinge_loss(scores, y):
    """Mean multiclass hinge loss and its gradient.

    For one example with true class t: max(0, 1 + max over j != t of scores[j] - scores[t]). It is 0
    once the true class's score beats every other score by a margin of 1. Keras' ``CategoricalHinge``
    gives the same for scores >= 0; it takes the maximum over (1 - one_hot) * scores, in which the true
    class counts as a score of 0, so it differs where every wrong score is negative.

    Args:
        scores: (N, K) raw class scores (no softmax).
        y: (N,) integer labels in [0, K), or (N, K) one-hot rows.

    Returns:
        loss: float, the mean over the batch.
        dscores: (N, K): where an example's loss is positive, +1/N at its highest wrong score (the
            first one if tied) and -1/N at its true class; 0 elsewhere.
    """
    scores = as_float_array("scores", scores)
    check_ndim("scores", scores, 2, "(N, K)")
    n, k = scores.shape
    targets = _targets(y, n, k)
    true = (scores * targets).sum(axis=1)
    wrong = np.where(targets > 0, -np.inf, scores)
    rival = wrong.argmax(axis=1)
    margins = 1 + wrong[np.arange(n), rival] - true
    active = (margins > 0) / n
    dscores = -targets * active[:, None]
    dscores[np.arange(n), rival] += active
    return float(np.maximum(margins, 0).mean()), dscores.astype(scores.dtype, copy=False)


def mse_loss(probs, y):
    """Mean squared error (Keras' ``MeanSquaredError``) and its gradient.

    Args:
        probs: (N, K) predictions, e.g. softmax probabilities.
        y: the targets: (N,) integer labels in [0, K), taken as one-hot rows, or (N, K) rows.

    Returns:
        loss: float, the mean over all N * K entries of (probs - targets) ** 2.
        dprobs: (N, K), 2 * (probs - targets) / (N * K).
    """
    probs = as_float_array("probs", probs)
    check_ndim("probs", probs, 2, "(N, K)")
    diff = probs - _targets(y, *probs.shape)
    return float((diff ** 2).mean()), (2 * diff / diff.size).astype(probs.dtype, copy=False)
