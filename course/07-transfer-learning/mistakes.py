"""Classic mistakes in assignment 7, each a runnable variant of one graded function.

The instructor's file: never released. ``cnn-course mistakes 07-transfer-learning`` grades each
variant as a student's answer and shows which tests catch it; a failed test whose result one of
them reproduces names the mistake to the student.
"""

import keras
import numpy as np
import tensorflow as tf

from autograder.mistakes import Mistake

SALIENCY = "Where the network looks: saliency maps"
SMALL = "Exercise 2: build_small_convnet, the lecture's network from scratch"
BOTTLENECK = "Bottleneck features of a pretrained base"
HEAD = "Exercise 4: build_head, the classifier on top"
FUNCTIONAL = "Exercise 5: build_transfer_model, with the functional API"
FINE_TUNING = "Fine-tuning the top block"


def saliency_map_signed(model, image, class_index):
    x = tf.convert_to_tensor(np.asarray(image, dtype=np.float32)[None])
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = model(x, training=False)[0, class_index]
    return tape.gradient(score, x).numpy()[0].max(axis=-1)


def saliency_map_channels_summed(model, image, class_index):
    x = tf.convert_to_tensor(np.asarray(image, dtype=np.float32)[None])
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = model(x, training=False)[0, class_index]
    return np.abs(tape.gradient(score, x).numpy()[0]).sum(axis=-1)


def saliency_map_every_class(model, image, class_index):
    x = tf.convert_to_tensor(np.asarray(image, dtype=np.float32)[None])
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = tf.reduce_sum(model(x, training=False)[0])
    return np.abs(tape.gradient(score, x).numpy()[0]).max(axis=-1)


def build_small_convnet_unscaled(input_shape):
    stack = [keras.Input(shape=tuple(input_shape))]
    for filters in (32, 32, 64):
        stack += [keras.layers.Conv2D(filters, 3, activation="relu"), keras.layers.MaxPooling2D(2)]
    stack += [keras.layers.Flatten(), keras.layers.Dense(64, activation="relu"), keras.layers.Dropout(0.5),
              keras.layers.Dense(1, activation="sigmoid")]
    return keras.Sequential(stack)


def build_small_convnet_same_padding(input_shape):
    stack = [keras.Input(shape=tuple(input_shape)), keras.layers.Rescaling(1 / 255)]
    for filters in (32, 32, 64):
        stack += [keras.layers.Conv2D(filters, 3, padding="same", activation="relu"), keras.layers.MaxPooling2D(2)]
    stack += [keras.layers.Flatten(), keras.layers.Dense(64, activation="relu"), keras.layers.Dropout(0.5),
              keras.layers.Dense(1, activation="sigmoid")]
    return keras.Sequential(stack)


def build_small_convnet_two_softmax_outputs(input_shape):
    stack = [keras.Input(shape=tuple(input_shape)), keras.layers.Rescaling(1 / 255)]
    for filters in (32, 32, 64):
        stack += [keras.layers.Conv2D(filters, 3, activation="relu"), keras.layers.MaxPooling2D(2)]
    stack += [keras.layers.Flatten(), keras.layers.Dense(64, activation="relu"), keras.layers.Dropout(0.5),
              keras.layers.Dense(2, activation="softmax")]
    return keras.Sequential(stack)


def bottleneck_features_one_batch(base, images, batch_size):
    images = np.asarray(images, dtype=np.float32)
    return keras.ops.convert_to_numpy(base(images, training=False)).astype(np.float32)


def bottleneck_features_last_batch_dropped(base, images, batch_size):
    images = np.asarray(images, dtype=np.float32)
    parts = [keras.ops.convert_to_numpy(base(images[i:i + batch_size], training=False))
             for i in range(0, len(images) - batch_size + 1, batch_size)]
    return np.concatenate(parts).astype(np.float32)


def bottleneck_features_training_mode(base, images, batch_size):
    images = np.asarray(images, dtype=np.float32)
    parts = [keras.ops.convert_to_numpy(base(images[i:i + batch_size], training=True))
             for i in range(0, len(images), batch_size)]
    return np.concatenate(parts).astype(np.float32)


def build_head_no_dropout(input_shape):
    return keras.Sequential([keras.Input(shape=tuple(input_shape)), keras.layers.Flatten(),
                             keras.layers.Dense(256, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])


def build_head_two_softmax_outputs(input_shape):
    return keras.Sequential([keras.Input(shape=tuple(input_shape)), keras.layers.Flatten(),
                             keras.layers.Dense(256, activation="relu"), keras.layers.Dropout(0.5),
                             keras.layers.Dense(2, activation="softmax")])


def build_head_pooled(input_shape):
    return keras.Sequential([keras.Input(shape=tuple(input_shape)), keras.layers.GlobalAveragePooling2D(),
                             keras.layers.Dense(256, activation="relu"), keras.layers.Dropout(0.5),
                             keras.layers.Dense(1, activation="sigmoid")])


def build_transfer_model_sequential(base):
    return keras.Sequential([keras.Input(shape=tuple(base.input_shape[1:])), base, keras.layers.Flatten(),
                             keras.layers.Dense(256, activation="relu"), keras.layers.Dropout(0.5),
                             keras.layers.Dense(1, activation="sigmoid")])


def build_transfer_model_base_unpacked(base):
    image = keras.Input(shape=tuple(base.input_shape[1:]))
    x = image
    for layer in base.layers:
        x = layer(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(256, activation="relu")(x)
    x = keras.layers.Dropout(0.5)(x)
    return keras.Model(image, keras.layers.Dense(1, activation="sigmoid")(x))


def build_transfer_model_tensor_skipped(base):
    image = keras.Input(shape=tuple(base.input_shape[1:]))
    features = keras.layers.Flatten()(base(image))
    x = keras.layers.Dense(256, activation="relu")(features)
    x = keras.layers.Dropout(0.5)(x)
    return keras.Model(image, keras.layers.Dense(1, activation="sigmoid")(features))


def build_transfer_model_no_sigmoid(base):
    image = keras.Input(shape=tuple(base.input_shape[1:]))
    x = keras.layers.Flatten()(base(image))
    x = keras.layers.Dense(256, activation="relu")(x)
    x = keras.layers.Dropout(0.5)(x)
    return keras.Model(image, keras.layers.Dense(1)(x))


def freeze_up_to_including(model, layer_name):
    names = [layer.name for layer in model.layers]
    model.trainable = True
    for i, layer in enumerate(model.layers):
        layer.trainable = i > names.index(layer_name)
    return model


def freeze_up_to_never_unfrozen(model, layer_name):
    names = [layer.name for layer in model.layers]
    for layer in model.layers[:names.index(layer_name)]:
        layer.trainable = False
    return model


def freeze_up_to_everything(model, layer_name):
    model.trainable = False
    return model


MISTAKES = [
    Mistake("saliency_map", saliency_map_signed,
            "the gradient's sign is kept: saliency is its absolute value, then the maximum over the channels",
            SALIENCY),
    Mistake("saliency_map", saliency_map_channels_summed,
            "the channels are summed: take the maximum of the absolute gradient over the channels", SALIENCY),
    Mistake("saliency_map", saliency_map_every_class,
            "the gradient is of every class score together: take the one score model(x)[0, class_index]",
            SALIENCY),
    Mistake("build_small_convnet", build_small_convnet_unscaled,
            "the Rescaling(1/255) layer is missing: pixels come in as 0..255", SMALL),
    Mistake("build_small_convnet", build_small_convnet_same_padding,
            "the convolutions use 'same' padding: the lecture's network uses 'valid', so the maps shrink", SMALL),
    Mistake("build_small_convnet", build_small_convnet_two_softmax_outputs,
            "two softmax outputs: two classes need one sigmoid unit (with binary cross-entropy)", SMALL),
    Mistake("bottleneck_features", bottleneck_features_one_batch,
            "batch_size is ignored: all the images go through the base at once", BOTTLENECK),
    Mistake("bottleneck_features", bottleneck_features_last_batch_dropped,
            "the last, smaller batch is dropped: every image needs its features", BOTTLENECK),
    Mistake("bottleneck_features", bottleneck_features_training_mode,
            "the base runs in training mode (dropout on): features are computed with training=False",
            BOTTLENECK),
    Mistake("build_head", build_head_no_dropout, "the Dropout(0.5) layer is missing", HEAD),
    Mistake("build_head", build_head_two_softmax_outputs,
            "two softmax outputs: two classes need one sigmoid unit (with binary cross-entropy)", HEAD),
    Mistake("build_head", build_head_pooled,
            "the features are averaged (global pooling) instead of flattened", HEAD),
    Mistake("build_transfer_model", build_transfer_model_sequential,
            "the model is a keras.Sequential: build it with the functional API, keras.Model(inputs, outputs)",
            FUNCTIONAL),
    Mistake("build_transfer_model", build_transfer_model_base_unpacked,
            "the base's layers are called one by one: call the whole base on the input, so that it is one "
            "layer of the model", FUNCTIONAL),
    Mistake("build_transfer_model", build_transfer_model_tensor_skipped,
            "a layer's output tensor is not passed on: the next layer must be called on the tensor just made, "
            "or the layers in between drop out of the model", FUNCTIONAL),
    Mistake("build_transfer_model", build_transfer_model_no_sigmoid,
            "the last Dense has no sigmoid: one output unit for two classes is a probability, "
            "activation='sigmoid'", FUNCTIONAL),
    Mistake("freeze_up_to", freeze_up_to_including,
            "the named layer is frozen too: it is the first layer that stays trainable", FINE_TUNING),
    Mistake("freeze_up_to", freeze_up_to_never_unfrozen,
            "layers from layer_name on are left as they were: set them trainable, even if they were frozen",
            FINE_TUNING),
    Mistake("freeze_up_to", freeze_up_to_everything,
            "the whole model is frozen, the layers you meant to train too", FINE_TUNING),
]
