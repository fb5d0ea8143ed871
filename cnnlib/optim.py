"""Reference NumPy versions of what optimizers do to the weights: Adam's update and L2 weight decay.

- ``adam_step``: one Adam update of one parameter array, in the form Keras uses (epsilon added to
  the square root of the uncorrected second moment, the bias corrections folded into the step size).
- ``l2_penalty``: the weight-decay term (lambda / 2) * sum(w ** 2) of the loss and its gradient
  lambda * w, so that gradient descent on the penalised loss is w <- w - eta * (dJ/dw + lambda * w).
- ``clip_by_norm``: gradient clipping as Keras' ``clipnorm`` does it, each array on its own.
"""

import numpy as np


def adam_step(param, grad, m, v, t, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """One Adam update; the arguments are not changed.

    m <- beta_1 * m + (1 - beta_1) * grad,  v <- beta_2 * v + (1 - beta_2) * grad ** 2,
    param <- param - alpha_t * m / (sqrt(v) + epsilon),
    alpha_t = learning_rate * sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t).

    Args:
        param, grad, m, v: arrays of one shape: the parameter, its gradient, the first and second
            moment estimates (zeros before the first step).
        t: int >= 1, the number of this step (1 for the first).
        learning_rate, beta_1, beta_2, epsilon: floats, Keras' defaults.

    Returns:
        (param, m, v): new arrays of the same shape.
    """
    if int(t) < 1:
        raise ValueError(f"Invalid value for argument `t`. Expected the step number, an int >= 1. Received t={t!r}")
    m = beta_1 * m + (1 - beta_1) * grad
    v = beta_2 * v + (1 - beta_2) * grad ** 2
    alpha = learning_rate * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
    return param - alpha * m / (np.sqrt(v) + epsilon), m, v


def l2_penalty(weights, weight_decay):
    """The L2 weight-decay term of the loss and its gradient.

    Args:
        weights: list of arrays (the kernels that are decayed; biases usually are not).
        weight_decay: float lambda >= 0.

    Returns:
        (penalty, grads): penalty = (lambda / 2) * sum of w ** 2 over every array, a float;
        grads = [lambda * w for each array], arrays of the weights' shapes.
    """
    penalty = 0.5 * weight_decay * sum(float(np.sum(np.square(w))) for w in weights)
    return penalty, [weight_decay * np.asarray(w) for w in weights]


def clip_by_norm(grads, clipnorm):
    """Scale down each gradient array whose L2 norm exceeds ``clipnorm`` to norm ``clipnorm``.

    This is what a Keras optimizer built with ``clipnorm=`` does before its update: each array
    (one per variable) is clipped on its own, keeping its direction. (``global_clipnorm=`` clips
    the norm of all arrays together instead.)

    Args:
        grads: list of arrays, any shapes.
        clipnorm: float > 0.

    Returns:
        list of float arrays of the same shapes: g * min(1, clipnorm / ||g||).
    """
    if not clipnorm > 0:
        raise ValueError(f"clipnorm must be > 0, got {clipnorm!r}.")
    clipped = []
    for g in grads:
        g = np.asarray(g, dtype=np.float64)
        norm = float(np.sqrt(np.sum(g ** 2)))
        clipped.append(g * clipnorm / norm if norm > clipnorm else g.copy())
    return clipped
