"""Classic mistakes in assignment 5, each a runnable variant of one graded function.

The instructor's file: never released. ``cnn-course mistakes 05-mnist`` grades each variant as a
student's answer and shows which tests catch it; a failed test whose result one of them reproduces
names the mistake to the student. The variants of the functions that train a network are caught,
never named (``by_result=False``): their models differ only in weights that depend on the run.
"""

import keras
import numpy as np

from cnnlib.layers import (conv2d_backward, conv2d_forward, dense_backward, dense_forward,
                           pool2d_backward, pool2d_forward, relu_backward, relu_forward, softmax_cross_entropy)

from autograder.mistakes import Mistake

STEP = "Exercise 1: one training step"
COUNT = "Exercise 2: count the parameters yourself"
NETWORK = "Exercise 3: the lecture's MNIST network in Keras"
FIT = "Exercise 4: compile, fit, evaluate"
BEST = "Exercise 5: fit_keeping_best"
ADAM = "Exercise 6: adam_step"
CLIP = "Exercise 7: clip_gradients"


def _gradients(params, x, y):
    """Not a mistake: the loss and gradients of the notebook's network, as the solution computes them."""
    conv, conv_cache = conv2d_forward(x, params["conv_w"], params["conv_b"])
    act, relu_cache = relu_forward(conv)
    pooled, pool_cache = pool2d_forward(act, size=2, stride=2)
    logits, dense_cache = dense_forward(pooled, params["dense_w"], params["dense_b"])
    loss, dlogits = softmax_cross_entropy(logits, y)
    grads = {}
    dpooled, grads["dense_w"], grads["dense_b"] = dense_backward(dlogits, dense_cache)
    dconv = relu_backward(pool2d_backward(dpooled, pool_cache), relu_cache)
    _, grads["conv_w"], grads["conv_b"] = conv2d_backward(dconv, conv_cache)
    return loss, grads


def train_step_no_momentum(params, velocity, x, y, learning_rate=0.05, momentum=0.9):
    loss, grads = _gradients(params, x, y)
    for name in params:
        velocity[name] = -learning_rate * grads[name]
        params[name] += velocity[name]
    return loss


def train_step_old_velocity(params, velocity, x, y, learning_rate=0.05, momentum=0.9):
    loss, grads = _gradients(params, x, y)
    for name in params:
        params[name] += velocity[name]
        velocity[name] = momentum * velocity[name] - learning_rate * grads[name]
    return loss


def train_step_velocity_sign(params, velocity, x, y, learning_rate=0.05, momentum=0.9):
    loss, grads = _gradients(params, x, y)
    for name in params:
        velocity[name] = momentum * velocity[name] + learning_rate * grads[name]
        params[name] -= velocity[name]
    return loss


def _count(input_shape, spec, with_bias=True, with_channels=True, shrink=True):
    """Not a mistake: count_params' loop, with the choices the variants get wrong."""
    h, w, c = input_shape
    counts = []
    for kind, *args in spec:
        if kind == "conv":
            filters, k = args
            counts.append(k * k * (c if with_channels else 1) * filters + (filters if with_bias else 0))
            if shrink:
                h, w = h - k + 1, w - k + 1
            c = filters
        elif kind == "pool":
            h, w = h // args[0], w // args[0]
            counts.append(0)
        elif kind == "flatten":
            h, w, c = 1, 1, h * w * c
            counts.append(0)
        elif kind == "dense":
            counts.append(h * w * c * args[0] + (args[0] if with_bias else 0))
            h, w, c = 1, 1, args[0]
        else:
            counts.append(0)
    return counts


def count_params_no_biases(input_shape, spec):
    return _count(input_shape, spec, with_bias=False)


def count_params_input_channels_left_out(input_shape, spec):
    return _count(input_shape, spec, with_channels=False)


def count_params_same_padding(input_shape, spec):
    return _count(input_shape, spec, shrink=False)


def build_mnist_net_no_softmax():
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(32, (3, 3), activation="relu"), keras.layers.Conv2D(32, (3, 3), activation="relu"),
        keras.layers.MaxPooling2D((2, 2)), keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10)])


def build_mnist_net_same_padding():
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(32, (3, 3), padding="same", activation="relu"),
        keras.layers.Conv2D(32, (3, 3), padding="same", activation="relu"),
        keras.layers.MaxPooling2D((2, 2)), keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10, activation="softmax")])


def build_mnist_net_sigmoid():
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(32, (3, 3), activation="sigmoid"), keras.layers.Conv2D(32, (3, 3), activation="sigmoid"),
        keras.layers.MaxPooling2D((2, 2)), keras.layers.Flatten(),
        keras.layers.Dense(64, activation="sigmoid"), keras.layers.Dense(10, activation="softmax")])


def _mnist_net():
    """Not a mistake: the lecture's network, as build_mnist_net builds it."""
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(32, (3, 3), activation="relu"), keras.layers.Conv2D(32, (3, 3), activation="relu"),
        keras.layers.MaxPooling2D((2, 2)), keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10, activation="softmax")])


def train_mnist_net_labels_not_one_hot(x, y, epochs, batch_size, validation_split=0.0):
    model = _mnist_net()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=batch_size, epochs=epochs, validation_split=validation_split, verbose=0)
    return model


def train_mnist_net_batch_size_ignored(x, y, epochs, batch_size, validation_split=0.0):
    model = _mnist_net()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, keras.utils.to_categorical(y, 10), epochs=epochs, validation_split=validation_split, verbose=0)
    return model


def train_mnist_net_validation_split_ignored(x, y, epochs, batch_size, validation_split=0.0):
    model = _mnist_net()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, keras.utils.to_categorical(y, 10), batch_size=batch_size, epochs=epochs, verbose=0)
    return model


def train_mnist_net_sgd(x, y, epochs, batch_size, validation_split=0.0):
    model = _mnist_net()
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, keras.utils.to_categorical(y, 10), batch_size=batch_size, epochs=epochs,
              validation_split=validation_split, verbose=0)
    return model


def fit_keeping_best_training_loss(model, x, y, x_val, y_val, epochs):
    import os
    import tempfile
    model.compile(keras.optimizers.Adam(0.02), "sparse_categorical_crossentropy")
    path = os.path.join(tempfile.mkdtemp(), "best.keras")
    checkpoint = keras.callbacks.ModelCheckpoint(path, monitor="loss", save_best_only=True)
    history = model.fit(x, y, validation_data=(x_val, y_val), epochs=epochs, batch_size=32,
                        callbacks=[checkpoint], verbose=0)
    return keras.models.load_model(path), history.history


def fit_keeping_best_every_epoch_saved(model, x, y, x_val, y_val, epochs):
    import os
    import tempfile
    model.compile(keras.optimizers.Adam(0.02), "sparse_categorical_crossentropy")
    path = os.path.join(tempfile.mkdtemp(), "best.keras")
    checkpoint = keras.callbacks.ModelCheckpoint(path, monitor="val_loss")
    history = model.fit(x, y, validation_data=(x_val, y_val), epochs=epochs, batch_size=32,
                        callbacks=[checkpoint], verbose=0)
    return keras.models.load_model(path), history.history


def fit_keeping_best_not_read_back(model, x, y, x_val, y_val, epochs):
    import os
    import tempfile
    model.compile(keras.optimizers.Adam(0.02), "sparse_categorical_crossentropy")
    path = os.path.join(tempfile.mkdtemp(), "best.keras")
    checkpoint = keras.callbacks.ModelCheckpoint(path, monitor="val_loss", save_best_only=True)
    history = model.fit(x, y, validation_data=(x_val, y_val), epochs=epochs, batch_size=32,
                        callbacks=[checkpoint], verbose=0)
    return model, history.history


def adam_step_no_bias_correction(param, grad, m, v, t, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    m = beta_1 * m + (1 - beta_1) * grad
    v = beta_2 * v + (1 - beta_2) * grad ** 2
    return param - learning_rate * m / (np.sqrt(v) + epsilon), m, v


def adam_step_epsilon_inside_root(param, grad, m, v, t, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    m = beta_1 * m + (1 - beta_1) * grad
    v = beta_2 * v + (1 - beta_2) * grad ** 2
    alpha = learning_rate * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
    return param - alpha * m / np.sqrt(v + epsilon), m, v


def adam_step_betas_swapped(param, grad, m, v, t, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    m = beta_2 * m + (1 - beta_2) * grad
    v = beta_1 * v + (1 - beta_1) * grad ** 2
    alpha = learning_rate * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
    return param - alpha * m / (np.sqrt(v) + epsilon), m, v


def clip_gradients_global_norm(grads, clipnorm):
    norm = np.sqrt(sum(np.sum(np.square(g)) for g in grads))
    return [g * (clipnorm / norm) if norm > clipnorm else np.array(g, dtype=float) for g in grads]


def clip_gradients_always_scaled(grads, clipnorm):
    return [g * (clipnorm / np.sqrt(np.sum(np.square(g)))) for g in grads]


def clip_gradients_values_clipped(grads, clipnorm):
    return [np.clip(g, -clipnorm, clipnorm) for g in grads]


MISTAKES = [
    Mistake("train_step", train_step_no_momentum,
            "momentum is left out: the new velocity is momentum * velocity - learning_rate * gradient", STEP),
    Mistake("train_step", train_step_old_velocity,
            "the parameters move by the old velocity: update the velocity first, then add it", STEP),
    Mistake("train_step", train_step_velocity_sign,
            "the velocity has the opposite sign: velocity = momentum * velocity - learning_rate * gradient, "
            "then params += velocity", STEP),
    Mistake("count_params", count_params_no_biases, "the biases are not counted: one per kernel or unit", COUNT),
    Mistake("count_params", count_params_input_channels_left_out,
            "a kernel's input channels are left out: a conv layer has k * k * C_in * F weights", COUNT),
    Mistake("count_params", count_params_same_padding,
            "the maps do not shrink after a 'valid' convolution: H becomes H - k + 1", COUNT),
    Mistake("build_mnist_net", build_mnist_net_no_softmax,
            "the last Dense has no softmax: the network must output class probabilities", NETWORK),
    Mistake("build_mnist_net", build_mnist_net_same_padding,
            "the convolutions use 'same' padding: the lecture's network uses 'valid', 28 -> 26 -> 24", NETWORK),
    Mistake("build_mnist_net", build_mnist_net_sigmoid,
            "the hidden layers use sigmoid: the lecture's network uses ReLU", NETWORK),
    Mistake("train_mnist_net", train_mnist_net_labels_not_one_hot,
            "the labels are integers: categorical_crossentropy needs them one-hot (keras.utils.to_categorical)",
            FIT, by_result=False),
    Mistake("train_mnist_net", train_mnist_net_batch_size_ignored,
            "batch_size is not passed to fit: Keras then uses batches of 32", FIT, by_result=False),
    Mistake("train_mnist_net", train_mnist_net_validation_split_ignored,
            "validation_split is not passed to fit: the network trains on the held-out images too",
            FIT, by_result=False),
    Mistake("train_mnist_net", train_mnist_net_sgd,
            "the optimizer is SGD: the exercise compiles with Adam", FIT, by_result=False),
    Mistake("fit_keeping_best", fit_keeping_best_training_loss,
            "the checkpoint watches the training loss: monitor='val_loss'", BEST, by_result=False),
    Mistake("fit_keeping_best", fit_keeping_best_every_epoch_saved,
            "every epoch is saved over the last: save_best_only=True keeps the best", BEST, by_result=False),
    Mistake("fit_keeping_best", fit_keeping_best_not_read_back,
            "the trained model is returned: it is the last epoch's; read the best back with "
            "keras.models.load_model", BEST, by_result=False),
    Mistake("adam_step", adam_step_no_bias_correction,
            "the bias correction is left out: the first steps come out far too small", ADAM),
    Mistake("adam_step", adam_step_epsilon_inside_root,
            "epsilon is inside the square root: it is added after it, sqrt(v) + epsilon", ADAM),
    Mistake("adam_step", adam_step_betas_swapped,
            "beta_1 and beta_2 are swapped: beta_1 averages the gradients, beta_2 their squares", ADAM),
    Mistake("clip_gradients", clip_gradients_global_norm,
            "the gradients are clipped by their global norm: clipnorm clips each array by its own norm", CLIP),
    Mistake("clip_gradients", clip_gradients_always_scaled,
            "small gradients are scaled up too: only a norm above clipnorm is brought down", CLIP),
    Mistake("clip_gradients", clip_gradients_values_clipped,
            "each value is clipped (clipvalue): clipnorm scales the whole array, keeping its direction", CLIP),
]
