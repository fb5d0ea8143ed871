"""Plotting helpers for the course: images, kernels and feature maps.

Two levels:

- ``draw_*`` functions draw on a matplotlib ``Axes`` they are given, so the same picture can go into a
  notebook figure or a widget's image;
- ``show_*`` functions make a whole figure with ``matplotlib.pyplot`` and return it; a notebook cell
  ends with ``plt.show()``.

``figure_to_png`` turns a figure into PNG bytes, which is how the explorers in ``cnnlib.widgets``
display pictures without a plotting backend.
"""

import io
import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle


def figure_to_png(fig):
    """PNG bytes of a matplotlib figure."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", dpi=80)
    return buffer.getvalue()


def draw_image(ax, image, title=None, cmap="gray"):
    """Draw one image without axes.

    Args:
        ax: a matplotlib Axes.
        image: (H, W) grayscale or (H, W, 3) colour; uint8 is shown as it is, floats are scaled
            to the image's own range (so feature maps with negative values show too).
        title: optional title.
        cmap: colour map for grayscale images.
    """
    image = np.asarray(image)
    if image.ndim == 3 and not np.issubdtype(image.dtype, np.integer):
        low, high = image.min(), image.max()
        image = (image - low) / (high - low) if high > low else np.zeros_like(image)
    ax.imshow(image, cmap=None if image.ndim == 3 else cmap)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)


def draw_matrix(ax, values, title=None, boxes=(), centered=False, cmap=None, fmt="{:g}"):
    """Draw a small 2-D array as coloured cells with each value written in its cell.

    Args:
        ax: a matplotlib Axes.
        values: (H, W) array; NaN cells are left blank (e.g. outputs not computed yet).
        title: optional title.
        boxes: rectangles to outline, each ``(row, col, height, width, colour)`` in cells.
        centered: colour around zero with a diverging map (for kernels and gradients).
        cmap: colour map; defaults to "RdBu_r" when centered, else "Blues".
        fmt: format of the numbers.
    """
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    high = float(np.abs(finite).max()) if finite.size else 1.0
    if centered:
        high = high or 1.0
        low = -high
    else:
        low = float(finite.min()) if finite.size else 0.0
        high = float(finite.max()) if finite.size else 1.0
        high = high if high > low else low + 1.0
    cmap = cmap or ("RdBu_r" if centered else "Blues")
    ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=low, vmax=high)
    fontsize = 10 if max(values.shape) <= 8 else 7
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            strength = abs(v) / high if centered else (v - low) / (high - low)
            ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=fontsize,
                    color="white" if strength > 0.6 else "black")
    for row, col, height, width, colour in boxes:
        ax.add_patch(Rectangle((col - 0.5, row - 0.5), width, height, fill=False,
                               edgecolor=colour, linewidth=3))
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)


def show_images(images, titles=None, ncols=None, cmap="gray", size=2.2):
    """A grid of images.

    Args:
        images: sequence of (H, W) or (H, W, 3) arrays (see ``draw_image``).
        titles: optional sequence of titles, one per image.
        ncols: images per row (default: all in one row, at most 6).
        cmap: colour map for grayscale images.
        size: inches per image.

    Returns:
        the matplotlib Figure.
    """
    images = list(images)
    titles = list(titles) if titles is not None else [None] * len(images)
    ncols = ncols or min(len(images), 6)
    nrows = math.ceil(len(images) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for ax in axes.flat[len(images):]:
        ax.axis("off")
    for ax, image, title in zip(axes.flat, images, titles):
        draw_image(ax, image, title, cmap)
    fig.tight_layout()
    return fig


def show_matrices(matrices, titles=None, centered=False, size=2.4):
    """Small arrays side by side with their values written in the cells (see ``draw_matrix``).

    Args:
        matrices: sequence of (H, W) arrays.
        titles: optional sequence of titles.
        centered: colour around zero.
        size: inches per matrix.

    Returns:
        the matplotlib Figure.
    """
    matrices = [np.asarray(m) for m in matrices]
    titles = list(titles) if titles is not None else [None] * len(matrices)
    fig, axes = plt.subplots(1, len(matrices), figsize=(size * len(matrices), size), squeeze=False)
    for ax, matrix, title in zip(axes.flat, matrices, titles):
        draw_matrix(ax, matrix, title, centered=centered)
    fig.tight_layout()
    return fig


def show_kernels(kernels, ncols=5, size=1.9):
    """Kernels drawn as matrices, coloured around zero.

    Args:
        kernels: dict name -> (f_h, f_w) array.
        ncols: kernels per row.
        size: inches per kernel.

    Returns:
        the matplotlib Figure.
    """
    names = list(kernels)
    ncols = min(ncols, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for ax in axes.flat[len(names):]:
        ax.axis("off")
    for ax, name in zip(axes.flat, names):
        draw_matrix(ax, kernels[name], name, centered=True, fmt="{:.3g}")
    fig.tight_layout()
    return fig


def show_feature_maps(maps, titles=None, ncols=None, size=2.2):
    """The channels of one feature map volume, each as a grayscale image.

    Args:
        maps: (H, W, K) array, K channels.
        titles: optional K titles.
        ncols: channels per row (default at most 6).
        size: inches per channel.

    Returns:
        the matplotlib Figure.
    """
    maps = np.asarray(maps)
    return show_images([maps[:, :, k] for k in range(maps.shape[2])], titles, ncols, size=size)


def show_connectivity(n_inputs=7, f=3):
    """Three ways to connect a row of inputs to a row of outputs: dense, local, convolution.

    One panel each: a dense layer (every output sees every input, each connection its own
    weight), a locally connected layer (each output sees f neighbouring inputs, with weights of
    its own) and a convolution (the same f weights, one colour each, at every position). Each
    title gives the number of weights; biases are left out.

    Args:
        n_inputs: inputs in the row, int > f; the local layers have n_inputs - f + 1 outputs.
        f: the local window (kernel) size, int >= 1.

    Returns:
        the matplotlib Figure.
    """
    if not 1 <= f < n_inputs:
        raise ValueError(f"Expected 1 <= f < n_inputs; received f={f!r}, n_inputs={n_inputs!r}.")
    n_out = n_inputs - f + 1
    offset = (n_inputs - n_out) / 2
    colours = plt.get_cmap("tab10").colors
    panels = [
        (f"dense: {n_inputs} × {n_out} = {n_inputs * n_out} weights",
         [(i, o, "0.55") for o in range(n_out) for i in range(n_inputs)]),
        (f"locally connected: {f} × {n_out} = {f * n_out} weights",
         [(o + u, o, colours[(o * f + u) % 10]) for o in range(n_out) for u in range(f)]),
        (f"convolution: {f} shared weights",
         [(o + u, o, colours[u]) for o in range(n_out) for u in range(f)]),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(11, 2.6))
    for ax, (title, lines) in zip(axes, panels):
        for i, o, colour in lines:
            ax.plot([i, o + offset], [0, 1], color=colour, linewidth=1.4)
        ax.scatter(range(n_inputs), [0] * n_inputs, s=90, color="white", edgecolor="black", zorder=3)
        ax.scatter(np.arange(n_out) + offset, [1] * n_out, s=90, color="black", zorder=3)
        ax.set_title(title, fontsize=10)
        ax.set_ylim(-0.25, 1.25)
        ax.text(-0.6, 0, "inputs", ha="right", va="center", fontsize=9)
        ax.text(-0.6 + offset, 1, "outputs", ha="right", va="center", fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    return fig
