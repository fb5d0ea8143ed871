"""Classic mistakes in assignment 6, each a runnable variant of one graded function.

The instructor's file: never released. ``cnn-course mistakes 06-cifar10`` grades each variant as a
student's answer and shows which tests catch it; a failed test whose result one of them reproduces
names the mistake to the student.
"""

import keras
import numpy as np

from autograder.mistakes import Mistake

DROPOUT = "Exercise 1: dropout_forward"
DROPOUT_BACK = "Exercise 2: dropout_backward"
BN = "Exercise 3: batchnorm_forward"
BN_BACK = "Exercise 4: batchnorm_backward"
NETWORK = "Exercise 5: build_cifar_deck_net"
SPLIT = "Exercise 6: split_validation"
STANDARDIZE = "Exercise 7: standardize_with_training_stats"
AUGMENT = "Exercise 8: augment_batch"
L2 = "Exercise 9: l2_penalty"
CURVES = "Predict, then run"


def dropout_forward_not_inverted(x, rate, training, rng=None):
    if not training or rate == 0:
        return x, None
    mask = (np.random.default_rng(rng).random(x.shape) >= rate).astype(float)
    return x * mask, mask


def dropout_forward_scaled_at_test(x, rate, training, rng=None):
    if not training or rate == 0:
        return x * (1 - rate), None
    mask = (np.random.default_rng(rng).random(x.shape) >= rate) / (1 - rate)
    return x * mask, mask


def dropout_forward_rate_kept(x, rate, training, rng=None):
    if not training or rate == 0:
        return x, None
    mask = (np.random.default_rng(rng).random(x.shape) < rate) / rate
    return x * mask, mask


def dropout_backward_scale_left_out(dout, cache):
    if cache is None:
        return dout
    return dout * (cache > 0)


def dropout_backward_mask_ignored(dout, cache):
    return dout


def dropout_backward_inference_left_out(dout, cache):
    return dout * cache


def _batchnorm(x, gamma, beta, running, training, momentum, eps, at_inference_batch=False, eps_outside=False,
               momentum_swapped=False):
    """Not a mistake: batchnorm_forward, with the choices the variants get wrong."""
    axes = tuple(range(x.ndim - 1))
    if training or at_inference_batch:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
    else:
        mean, var = running["mean"], running["var"]
    if training:
        old = 1 - momentum if momentum_swapped else momentum
        running["mean"] = old * running["mean"] + (1 - old) * mean
        running["var"] = old * running["var"] + (1 - old) * var
    inv_std = 1 / (np.sqrt(var) + eps) if eps_outside else 1 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    return gamma * x_hat + beta, (x_hat, gamma, inv_std, training)


def batchnorm_forward_batch_statistics_at_inference(x, gamma, beta, running, training, momentum=0.99, eps=1e-3):
    return _batchnorm(x, gamma, beta, running, training, momentum, eps, at_inference_batch=True)


def batchnorm_forward_eps_outside_root(x, gamma, beta, running, training, momentum=0.99, eps=1e-3):
    return _batchnorm(x, gamma, beta, running, training, momentum, eps, eps_outside=True)


def batchnorm_forward_momentum_swapped(x, gamma, beta, running, training, momentum=0.99, eps=1e-3):
    return _batchnorm(x, gamma, beta, running, training, momentum, eps, momentum_swapped=True)


def batchnorm_backward_statistics_constant(dout, cache):
    x_hat, gamma, inv_std, training = cache
    axes = tuple(range(dout.ndim - 1))
    return dout * gamma * inv_std, (dout * x_hat).sum(axis=axes), dout.sum(axis=axes)


def batchnorm_backward_gamma_left_out(dout, cache):
    x_hat, gamma, inv_std, training = cache
    axes = tuple(range(dout.ndim - 1))
    dbeta, dgamma = dout.sum(axis=axes), (dout * x_hat).sum(axis=axes)
    if not training:
        return dout * inv_std, dgamma, dbeta
    m = dout.size // dout.shape[-1]
    dx = inv_std / m * (m * dout - dout.sum(axis=axes) - x_hat * (dout * x_hat).sum(axis=axes))
    return dx, dgamma, dbeta


def batchnorm_backward_batch_axis_only(dout, cache):
    x_hat, gamma, inv_std, training = cache
    dbeta, dgamma = dout.sum(axis=0), (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    if not training:
        return dx_hat * inv_std, dgamma, dbeta
    m = dout.shape[0]
    dx = inv_std / m * (m * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0))
    return dx, dgamma, dbeta


def _deck_net(activation="elu", paddings=("same", "same", "valid"), norm_after_activation=False):
    """Not a mistake: the lecture's network, with the choices the variants get wrong."""
    model = keras.Sequential([keras.Input(shape=(32, 32, 3))])
    for filters, padding, rate in zip((32, 64, 128), paddings, (0.2, 0.2, 0.5)):
        for _ in range(2):
            model.add(keras.layers.Conv2D(filters, (3, 3), padding=padding))
            pair = [keras.layers.BatchNormalization(), keras.layers.Activation(activation)]
            for layer in (pair[::-1] if norm_after_activation else pair):
                model.add(layer)
        model.add(keras.layers.MaxPooling2D((2, 2)))
        model.add(keras.layers.Dropout(rate))
    model.add(keras.layers.Flatten())
    model.add(keras.layers.Dense(10, activation="softmax"))
    return model


def build_cifar_deck_net_relu():
    return _deck_net(activation="relu")


def build_cifar_deck_net_all_same_padding():
    return _deck_net(paddings=("same", "same", "same"))


def build_cifar_deck_net_norm_after_activation():
    return _deck_net(norm_after_activation=True)


def split_validation_not_shuffled(x, y, fraction, seed):
    n_val = int(len(x) * fraction)
    return (x[n_val:], y[n_val:]), (x[:n_val], y[:n_val])


def split_validation_labels_shuffled_apart(x, y, fraction, seed):
    rng = np.random.default_rng(seed)
    x, y = x[rng.permutation(len(x))], y[rng.permutation(len(y))]
    n_val = int(len(x) * fraction)
    return (x[n_val:], y[n_val:]), (x[:n_val], y[:n_val])


def split_validation_seed_ignored(x, y, fraction, seed):
    order = np.random.default_rng().permutation(len(x))
    n_val = int(len(x) * fraction)
    return (x[order[n_val:]], y[order[n_val:]]), (x[order[:n_val]], y[order[:n_val]])


def standardize_with_training_stats_test_leaked(x_train, x_other):
    everything = np.concatenate([x_train, x_other]).astype(np.float64)
    mean, std = everything.mean(axis=(0, 1, 2)), everything.std(axis=(0, 1, 2))
    return (x_train - mean) / std, (x_other - mean) / std


def standardize_with_training_stats_each_its_own(x_train, x_other):
    scores = []
    for x in (np.asarray(x_train, dtype=np.float64), np.asarray(x_other, dtype=np.float64)):
        scores.append((x - x.mean(axis=(0, 1, 2))) / x.std(axis=(0, 1, 2)))
    return scores[0], scores[1]


def standardize_with_training_stats_channels_pooled(x_train, x_other):
    x_train = np.asarray(x_train, dtype=np.float64)
    mean, std = x_train.mean(), x_train.std()
    return (x_train - mean) / std, (np.asarray(x_other, dtype=np.float64) - mean) / std


def augment_batch_one_draw_for_all(x, seed, max_shift):
    rng = np.random.default_rng(seed)
    n, h, w, _ = x.shape
    dy, dx = rng.integers(-max_shift, max_shift + 1, size=2)
    flip = rng.random() < 0.5
    padded = np.pad(x, ((0, 0), (max_shift, max_shift), (max_shift, max_shift), (0, 0)))
    out = padded[:, max_shift + dy:max_shift + dy + h, max_shift + dx:max_shift + dx + w]
    return (out[:, :, ::-1] if flip else out).astype(x.dtype)


def augment_batch_wrapped_around(x, seed, max_shift):
    rng = np.random.default_rng(seed)
    out = np.empty_like(x)
    for i in range(len(x)):
        dy, dx = rng.integers(-max_shift, max_shift + 1, size=2)
        moved = np.roll(x[i], (dy, dx), axis=(0, 1))
        out[i] = moved[:, ::-1] if rng.random() < 0.5 else moved
    return out


def augment_batch_flipped_upside_down(x, seed, max_shift):
    rng = np.random.default_rng(seed)
    n, h, w, _ = x.shape
    padded = np.pad(x, ((0, 0), (max_shift, max_shift), (max_shift, max_shift), (0, 0)))
    out = np.empty_like(x)
    for i in range(n):
        dy, dx = rng.integers(-max_shift, max_shift + 1, size=2)
        window = padded[i, max_shift + dy:max_shift + dy + h, max_shift + dx:max_shift + dx + w]
        out[i] = window[::-1] if rng.random() < 0.5 else window
    return out


def l2_penalty_half_left_out(weights, weight_decay):
    return weight_decay * sum(float(np.sum(w ** 2)) for w in weights), [weight_decay * w for w in weights]


def l2_penalty_gradient_doubled(weights, weight_decay):
    penalty = 0.5 * weight_decay * sum(float(np.sum(w ** 2)) for w in weights)
    return penalty, [2 * weight_decay * w for w in weights]


def l2_penalty_mean_of_squares(weights, weight_decay):
    penalty = 0.5 * weight_decay * sum(float(np.mean(w ** 2)) for w in weights)
    return penalty, [weight_decay * w / w.size for w in weights]


def curve_questions_plain_overfits_most():
    return {"most_overfitting": "plain", "best_validation": "augmentation"}


def curve_questions_all_cures_best():
    return {"most_overfitting": "batch norm", "best_validation": "all cures"}


def curve_questions_swapped():
    return {"most_overfitting": "augmentation", "best_validation": "batch norm"}


MISTAKES = [
    Mistake("dropout_forward", dropout_forward_not_inverted,
            "the kept values are not scaled by 1 / (1 - rate): inverted dropout keeps the mean", DROPOUT),
    Mistake("dropout_forward", dropout_forward_scaled_at_test,
            "the output is scaled at test time: inverted dropout scales while training, and is the identity "
            "at inference", DROPOUT),
    Mistake("dropout_forward", dropout_forward_rate_kept,
            "rate is taken as the probability of keeping an input: it is the probability of dropping one",
            DROPOUT),
    Mistake("dropout_backward", dropout_backward_scale_left_out,
            "the gradient is masked but not scaled: multiply by the mask itself, 1 / (1 - rate) where kept",
            DROPOUT_BACK),
    Mistake("dropout_backward", dropout_backward_mask_ignored,
            "the gradient flows through the dropped inputs: multiply by the mask", DROPOUT_BACK),
    Mistake("dropout_backward", dropout_backward_inference_left_out,
            "cache None (inference) is not handled: there the layer is the identity, so dx = dout",
            DROPOUT_BACK),
    Mistake("batchnorm_forward", batchnorm_forward_batch_statistics_at_inference,
            "the batch's statistics are used at inference: there the running mean and variance normalise",
            BN),
    Mistake("batchnorm_forward", batchnorm_forward_eps_outside_root,
            "eps is added after the square root: it goes inside, 1 / sqrt(var + eps)", BN),
    Mistake("batchnorm_forward", batchnorm_forward_momentum_swapped,
            "momentum weighs the new batch: it is the weight of the old running value", BN),
    Mistake("batchnorm_backward", batchnorm_backward_statistics_constant,
            "while training, the batch mean and variance are treated as constants: they depend on x too",
            BN_BACK),
    Mistake("batchnorm_backward", batchnorm_backward_gamma_left_out,
            "gamma is left out of dx: the gradient reaches x_hat as dout * gamma", BN_BACK),
    Mistake("batchnorm_backward", batchnorm_backward_batch_axis_only,
            "the sums run over the batch axis only: for feature maps they run over N, H and W", BN_BACK),
    Mistake("build_cifar_deck_net", build_cifar_deck_net_relu,
            "the activations are ReLU: the lecture's network uses ELU", NETWORK),
    Mistake("build_cifar_deck_net", build_cifar_deck_net_all_same_padding,
            "every convolution uses 'same' padding: the third block's are 'valid'", NETWORK),
    Mistake("build_cifar_deck_net", build_cifar_deck_net_norm_after_activation,
            "batch normalization comes after the activation: the lecture normalises the convolution's output, "
            "then applies ELU", NETWORK),
    Mistake("split_validation", split_validation_not_shuffled,
            "the examples are not shuffled: a class-sorted set then holds out its first classes only", SPLIT),
    Mistake("split_validation", split_validation_labels_shuffled_apart,
            "images and labels are shuffled by two different permutations: draw one order and index both",
            SPLIT),
    Mistake("split_validation", split_validation_seed_ignored,
            "the seed is not used: the same seed must give the same split", SPLIT),
    Mistake("standardize_with_training_stats", standardize_with_training_stats_test_leaked,
            "the statistics include the test images: the test set's statistics leak into the model's inputs",
            STANDARDIZE),
    Mistake("standardize_with_training_stats", standardize_with_training_stats_each_its_own,
            "each set is standardised with its own statistics: use the training set's for both", STANDARDIZE),
    Mistake("standardize_with_training_stats", standardize_with_training_stats_channels_pooled,
            "one mean and std for all channels: compute them per channel, over N, H and W", STANDARDIZE),
    Mistake("augment_batch", augment_batch_one_draw_for_all,
            "one shift and flip for the whole batch: draw them for each image", AUGMENT),
    Mistake("augment_batch", augment_batch_wrapped_around,
            "the shift wraps around (np.roll): pixels moved out are lost, and zeros come in", AUGMENT),
    Mistake("augment_batch", augment_batch_flipped_upside_down,
            "the images are flipped upside down: a horizontal flip mirrors left and right", AUGMENT),
    Mistake("l2_penalty", l2_penalty_half_left_out,
            "the 1/2 is left out of the penalty: (lambda / 2) * sum of squares, whose gradient is lambda * w", L2),
    Mistake("l2_penalty", l2_penalty_gradient_doubled,
            "the gradient is doubled: the 1/2 of the penalty cancels the 2 of the square", L2),
    Mistake("l2_penalty", l2_penalty_mean_of_squares,
            "the squares are averaged: the penalty sums every squared weight", L2),
    Mistake("curve_questions", curve_questions_plain_overfits_most,
            "the plain network is not the one with the largest gap: compare training and validation accuracy "
            "at the last epoch", CURVES),
    Mistake("curve_questions", curve_questions_all_cures_best,
            "'all cures' is not a single cure: best_validation is one of dropout, batch norm, augmentation "
            "and weight decay", CURVES),
    Mistake("curve_questions", curve_questions_swapped,
            "the two answers are swapped", CURVES),
]
