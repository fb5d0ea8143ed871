"""Looking inside a trained CNN: kernels, feature maps, top patches, filter patterns, saliency.

- ``conv_layer_names``, ``feature_maps``: the outputs of chosen layers for a batch of images.
- ``kernels_as_rgb``: first-layer kernels (f, f, 3, K) as K small colour tiles.
- ``receptive_field_geometry``: size, jump and offset of a layer's receptive field, the recurrence of
  assignment 3 (r <- r + (f - 1) j, j <- j s) plus where each window starts.
- ``top_patches``: for chosen channels, the k test images that excite them most, cut out at the
  receptive field of the most excited position.
- ``filter_patterns``: gradient ascent on the input to maximise a channel's mean activation.
- ``class_scores_model``, ``saliency_map``: the gradient of a class score with respect to the pixels.
- ``feature_map_explorer``: a widget with image, layer and channel controls.

Images go in as the model expects them (for the course's CIFAR-10 network: standardised with
``cnnlib.data.standardize``); NHWC throughout.
"""

import os

import numpy as np

from cnnlib._validate import check_int, check_ndim, fail
from cnnlib.quiet_tf import import_tensorflow

if os.environ["KERAS_BACKEND"] == "tensorflow":
    tf = import_tensorflow()
import keras  # noqa: E402  (after TensorFlow's start-up noise is silenced)


def conv_layer_names(model):
    """Names of the model's Conv2D layers, input side first."""
    return [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def _layer(model, name):
    names = [layer.name for layer in model.layers]
    if name not in names:
        fail(f"Invalid layer name {name!r}. Expected one of {names}.")
    return model.get_layer(name)


def feature_maps(model, layer_names, images, batch_size=256):
    """The outputs of some layers of a Sequential model for a batch of images.

    Args:
        model: a built Keras Sequential model.
        layer_names: names of its layers.
        images: (N, H, W, C) model inputs.
        batch_size: images per forward pass.

    Returns:
        dict layer name -> (N, h, w, k) float32 array, that layer's output.
    """
    outputs = [_layer(model, name).output for name in layer_names]
    probe = keras.Model(model.inputs, outputs)
    maps = probe.predict(np.asarray(images, dtype=np.float32), batch_size=batch_size, verbose=0)
    maps = maps if isinstance(maps, (list, tuple)) else [maps]
    return {name: np.asarray(m) for name, m in zip(layer_names, maps)}


def kernels_as_rgb(kernels):
    """First-layer kernels as colour tiles, each scaled to [0, 1] by its own minimum and maximum.

    Args:
        kernels: (f, f, 3, K) weights of a convolution on RGB images.

    Returns:
        (K, f, f, 3) float array in [0, 1].
    """
    kernels = np.asarray(kernels, dtype=np.float64)
    check_ndim("kernels", kernels, 4, "(f, f, 3, K)")
    if kernels.shape[2] != 3:
        fail(f"Expected kernels over 3 colour channels, (f, f, 3, K); received shape {kernels.shape}.")
    tiles = kernels.transpose(3, 0, 1, 2)
    low = tiles.min(axis=(1, 2, 3), keepdims=True)
    high = tiles.max(axis=(1, 2, 3), keepdims=True)
    return (tiles - low) / np.where(high > low, high - low, 1)


def receptive_field_geometry(model, layer_name):
    """Where a unit of ``layer_name`` looks in the input image.

    Walks the layers up to and including ``layer_name``. A convolution or pooling layer with window f
    and stride s grows the receptive field r <- r + (f - 1) j and the jump between neighbouring units
    j <- j s (as ``receptive_field`` of assignment 3); the centre of unit 0 moves by
    ((f - 1) / 2 - p) j, where p is the padding added on the top (left) side.

    Returns:
        (size, jump, start): unit (i, j)'s receptive field is the size x size square whose top-left
        pixel is (start + i * jump, start + j * jump); start may be negative (the window then hangs
        over the zero padding).
    """
    size, jump, centre = 1, 1, 0.0
    for layer in model.layers:
        config = layer.get_config()
        if "kernel_size" in config or "pool_size" in config:
            f = (config.get("kernel_size") or config["pool_size"])[0]
            s = (config.get("strides") or (f,))[0]
            pad = max(f - s, 0) // 2 if config.get("padding") == "same" else 0
            size += (f - 1) * jump
            centre += ((f - 1) / 2 - pad) * jump
            jump *= s
        if layer.name == layer_name:
            return size, jump, int(round(centre - (size - 1) / 2))
    fail(f"Invalid layer name {layer_name!r}. Expected one of {[layer.name for layer in model.layers]}.")


def top_patches(model, layer_name, inputs, images, channels, k=9):
    """The k images that excite each channel most, cut out at the receptive field.

    An image's score for a channel is the channel's largest activation over all positions; the patch
    is the receptive field of that position, cut from the image padded with black where it reaches
    beyond the border.

    Args:
        model: a Sequential model; layer_name: one of its layers.
        inputs: (N, H, W, C) model inputs (e.g. standardised images).
        images: (N, H, W, 3) the same images for display (e.g. uint8).
        channels: channel indices of that layer.
        k: patches per channel.

    Returns:
        dict with "patches" (len(channels), k, size, size, 3) of images' dtype, "scores"
        (len(channels), k) activations, "indices" (len(channels), k) image indices, best first.
    """
    k = check_int("k", k, minimum=1)
    maps = feature_maps(model, [layer_name], inputs)[layer_name]
    size, jump, start = receptive_field_geometry(model, layer_name)
    pad = max(size, 0)
    padded = np.pad(np.asarray(images), ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    out = {"patches": [], "scores": [], "indices": []}
    for channel in channels:
        per_image = maps[..., channel].reshape(len(maps), -1)
        best_images = np.argsort(-per_image.max(axis=1), kind="stable")[:k]
        patches = []
        for n in best_images:
            i, j = np.unravel_index(per_image[n].argmax(), maps.shape[1:3])
            top, left = start + i * jump + pad, start + j * jump + pad
            patches.append(padded[n, top:top + size, left:left + size])
        out["patches"].append(np.stack(patches))
        out["scores"].append(per_image[best_images].max(axis=1))
        out["indices"].append(best_images)
    return {key: np.stack(value) for key, value in out.items()}


def filter_patterns(model, layer_name, channels, steps=60, step_size=0.1, seed=0):
    """Inputs that maximise channels' mean activations, found by gradient ascent (tf.GradientTape).

    Every channel starts from the same faint noise; each step adds ``step_size`` times the gradient of
    the channel's mean activation with respect to the input, divided by the gradient's root mean
    square, so the step length does not depend on the layer's scale. All channels run as one batch.

    Args:
        model: a Sequential model; layer_name: one of its layers.
        channels: channel indices of that layer.
        steps, step_size: of the ascent.
        seed: of the starting noise.

    Returns:
        (len(channels), H, W, C) float32 inputs in the model's input space.
    """
    probe = keras.Model(model.inputs, _layer(model, layer_name).output)
    channels = np.asarray(channels)
    shape = (len(channels), *model.input_shape[1:])
    x = tf.Variable(0.1 * np.random.default_rng(seed).standard_normal(shape).astype(np.float32))
    pick = tf.one_hot(channels, probe.output_shape[-1])            # (B, K): each image's own channel
    for _ in range(steps):
        with tf.GradientTape() as tape:
            maps = probe(x, training=False)
            loss = tf.reduce_sum(tf.reduce_mean(maps, axis=(1, 2)) * pick)
        grad = tape.gradient(loss, x)
        rms = tf.sqrt(tf.reduce_mean(tf.square(grad), axis=(1, 2, 3), keepdims=True)) + 1e-8
        x.assign_add(step_size * grad / rms)
    return x.numpy()


def class_scores_model(model):
    """A copy of a Sequential classifier whose last layer outputs scores (logits), not probabilities.

    The last layer must be a Dense layer; its activation (softmax or sigmoid) is dropped. The copy
    has the same weights.
    """
    last = model.layers[-1]
    if not isinstance(last, keras.layers.Dense):
        fail(f"Expected a model ending in a Dense layer; its last layer is {type(last).__name__}.")
    config = model.get_config()
    config["layers"][-1]["config"]["activation"] = "linear"
    scores = keras.Sequential.from_config(config)
    scores.set_weights(model.get_weights())
    return scores


def saliency_map(model, image, class_index):
    """How much each pixel moves a class score: max over channels of |d score / d pixel|.

    Args:
        model: Keras model from (1, H, W, C) inputs to (1, K) class scores.
        image: (H, W, C) one input.
        class_index: which of the K scores.

    Returns:
        (H, W) float32, the largest absolute gradient over the C channels of each pixel.
    """
    x = tf.convert_to_tensor(np.asarray(image, dtype=np.float32)[None])
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = model(x, training=False)[0, class_index]
    return np.abs(tape.gradient(score, x).numpy()[0]).max(axis=-1)


def feature_map_explorer(model, inputs, images, titles=None):
    """A widget: pick an image, a convolution layer and a channel; see the feature maps.

    Args:
        model: a Sequential model with Conv2D layers.
        inputs: (N, H, W, C) model inputs.
        images: (N, H, W, 3) the same images for display.
        titles: optional N titles (e.g. class names).

    Returns:
        a widget box; ``box.controls`` has "image" (IntSlider), "layer" (Dropdown), "channel"
        (IntSlider); ``box.view`` is the Image with the photo, the chosen channel and all channels.
    """
    import ipywidgets as widgets
    from matplotlib.figure import Figure

    from cnnlib.viz import draw_image
    from cnnlib.widgets import _box, _LiveImage

    layers = conv_layer_names(model)
    maps = feature_maps(model, layers, inputs)
    image_slider = widgets.IntSlider(value=0, min=0, max=len(inputs) - 1, description="image")
    layer_menu = widgets.Dropdown(options=layers, value=layers[0], description="layer")
    channel_slider = widgets.IntSlider(value=0, min=0, max=maps[layers[0]].shape[-1] - 1, description="channel")

    def render():
        volume = maps[layer_menu.value][image_slider.value]
        channel = min(channel_slider.value, volume.shape[-1] - 1)
        fig = Figure(figsize=(12, 3.6))
        grid = fig.add_gridspec(4, 12)
        title = titles[image_slider.value] if titles is not None else f"image {image_slider.value}"
        draw_image(fig.add_subplot(grid[:, 0:3]), images[image_slider.value], title)
        draw_image(fig.add_subplot(grid[:, 3:6]), volume[..., channel],
                   f"{layer_menu.value}, channel {channel} ({volume.shape[0]}x{volume.shape[1]})")
        for k in range(min(24, volume.shape[-1])):
            draw_image(fig.add_subplot(grid[k // 6, 6 + k % 6]), volume[..., k], str(k))
        return fig

    live = _LiveImage(render)

    def new_layer(change):
        with live.paused():
            channel_slider.max = maps[change["new"]].shape[-1] - 1

    layer_menu.observe(new_layer, names="value")
    controls = widgets.VBox([image_slider, layer_menu, channel_slider])
    return _box([controls, live.widget], {"image": image_slider, "layer": layer_menu, "channel": channel_slider},
                live, redraw_on=[image_slider, channel_slider])


def plot_top_patches(result, channels, layer_name, size=1.6):
    """One 3x3 block of patches per channel, side by side (``top_patches``' result with k = 9).

    Returns:
        the matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    patches = result["patches"]
    fig = plt.figure(figsize=(size * len(channels), size + 0.3))
    outer = fig.add_gridspec(1, len(channels), wspace=0.08)
    for c, channel in enumerate(channels):
        inner = outer[c].subgridspec(3, 3, wspace=0.04, hspace=0.04)
        for k in range(min(9, len(patches[c]))):
            ax = fig.add_subplot(inner[k // 3, k % 3])
            ax.imshow(patches[c][k])
            ax.set_xticks([])
            ax.set_yticks([])
            if k == 1:
                ax.set_title(f"{layer_name}\nchannel {channel}", fontsize=8)
    return fig
