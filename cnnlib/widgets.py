"""Interactive explorers for the notebooks, built from ipywidgets.

Each explorer is a function returning a widget box: controls (sliders, menus, number fields) and an
``Image`` that shows a matplotlib picture, redrawn whenever a control changes. The box also carries
two attributes, ``controls`` (dict name -> control widget) and ``view`` (the ``Image``), so that a
script or a test can move a slider and see the picture change without a browser.

What a picture shows is computed by plain functions that tests can call directly:
``filter_image`` (kernel explorer), ``conv_frame`` (padding and stride explorer) and ``pool_frame``
(pooling explorer). They compute with a few lines of their own (``_windows``), not with
``cnnlib.layers``: the notebooks show the explorers before and while the student writes these
layers, and the grader withholds the reference layers from the student's kernel. Tests check them
against ``cnnlib.layers``.
"""

import contextlib

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from cnnlib.viz import draw_image, draw_matrix, figure_to_png


def _kernel(rows, scale=1.0):
    kernel = np.array(rows, dtype=np.float64) * scale
    kernel.setflags(write=False)  # a shared constant: copy it before changing it
    return kernel


# Classic 3x3 kernels, written for cross-correlation (the deep-learning "convolution").
# Edge kernels sum to 0 (flat regions give 0); blur and sharpen kernels sum to 1 (brightness kept).
KERNEL_PRESETS = {
    "identity": _kernel([[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
    "edge (Laplacian 4)": _kernel([[0, -1, 0], [-1, 4, -1], [0, -1, 0]]),
    "edge (Laplacian 8)": _kernel([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]),
    "sharpen": _kernel([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
    "box blur": _kernel(np.ones((3, 3)), 1 / 9),
    "Gaussian blur": _kernel([[1, 2, 1], [2, 4, 2], [1, 2, 1]], 1 / 16),
    "vertical edge": _kernel([[1, 0, -1], [1, 0, -1], [1, 0, -1]]),
    "horizontal edge": _kernel([[1, 1, 1], [0, 0, 0], [-1, -1, -1]]),
    "Sobel vertical": _kernel([[1, 0, -1], [2, 0, -2], [1, 0, -1]]),
    "Sobel horizontal": _kernel([[1, 2, 1], [0, 0, 0], [-1, -2, -1]]),
}

# Small integer inputs for the sliding-window explorers: easy to add up by hand.
DEMO_INPUT = np.array([[3, 0, 1, 2, 7, 4],
                       [1, 5, 8, 9, 3, 1],
                       [2, 7, 2, 5, 1, 3],
                       [0, 1, 3, 1, 7, 8],
                       [4, 2, 1, 6, 2, 8],
                       [2, 4, 5, 2, 3, 9]], dtype=np.float64)


# A convolution over a volume, with the numbers of the lectures' animated demo (deck 004): a 5x5x3
# input (shown there with its padding of 1), one 3x3x3 kernel and its bias; stride 2, padding 1.
DEMO_VOLUME = np.stack([[[0, 0, 1, 0, 2], [1, 0, 2, 0, 1], [1, 0, 2, 2, 0], [2, 0, 0, 2, 0], [2, 1, 2, 2, 0]],
                        [[2, 1, 2, 1, 1], [2, 1, 2, 0, 1], [0, 2, 1, 0, 1], [1, 2, 2, 2, 2], [0, 1, 2, 0, 1]],
                        [[2, 1, 1, 2, 0], [1, 0, 0, 1, 0], [0, 1, 0, 0, 0], [1, 0, 2, 1, 0], [2, 2, 1, 1, 1]]],
                       axis=-1).astype(np.float64)                                   # (5, 5, 3)
DEMO_VOLUME_KERNEL = np.stack([[[-1, 0, 1], [0, 0, 1], [1, -1, 1]],
                               [[-1, 0, 1], [1, -1, 1], [0, 1, 0]],
                               [[-1, 1, 1], [1, 1, 0], [0, -1, 0]]], axis=-1).astype(np.float64)  # (3, 3, 3)
DEMO_VOLUME_BIAS = 1.0
for _constant in (DEMO_INPUT, DEMO_VOLUME, DEMO_VOLUME_KERNEL):
    _constant.setflags(write=False)


# --------------------------------------------------------------------------- what is displayed


def filter_image(image, kernel):
    """Filter a grayscale image with one kernel, keeping its size ("same" zero padding).

    Args:
        image: (H, W) array.
        kernel: (f_h, f_w) array.

    Returns:
        (H, W) float array, the cross-correlation of the zero-padded image with the kernel.
    """
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError(f"Expected a 2-D image and a 2-D kernel; received image.shape={image.shape} "
                         f"and kernel.shape={kernel.shape}.")
    f_h, f_w = kernel.shape
    padded = np.pad(image, (((f_h - 1) // 2, f_h // 2), ((f_w - 1) // 2, f_w // 2)))
    return _correlate(padded, kernel, stride=1)


def conv_frame(x, kernel, pad, stride, step, bias=0.0):
    """One frame of a kernel sliding over a zero-padded input, one channel or several.

    Args:
        x: (H, W) input, or (H, W, C) for C channels.
        kernel: (f_h, f_w) kernel, or (f_h, f_w, C) spanning all C channels.
        pad: zeros on every side, int >= 0.
        stride: int >= 1.
        step: index of the current output position in row-major order, 0 <= step < H' * W'.
        bias: added to every output value.

    Returns:
        dict with "input" (the padded input, (H + 2 pad, W + 2 pad[, C])), "output" ((H', W'),
        the values up to the current step, NaN after it), "window" ((top, left, f_h, f_w) in
        padded coordinates), "position" ((i, j) in the output), "value" (the output at the
        current step), "steps" (H' * W') and "per_channel" ((C,), each channel's share of
        "value" before the bias; C = 1 for a 2-D input).
    """
    x = np.asarray(x, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    volume = x if x.ndim == 3 else x[:, :, None]
    kernels = kernel if kernel.ndim == 3 else kernel[:, :, None]
    if volume.ndim != 3 or kernels.ndim != 3 or volume.shape[2] != kernels.shape[2]:
        raise ValueError(f"Expected x of shape (H, W) or (H, W, C) and a kernel of shape (f_h, f_w) "
                         f"or (f_h, f_w, C) with the same C; received x.shape={x.shape} and "
                         f"kernel.shape={kernel.shape}.")
    padded = np.pad(volume, ((pad, pad), (pad, pad), (0, 0)))
    per_channel = np.stack([_correlate(padded[:, :, c], kernels[:, :, c], stride)
                            for c in range(volume.shape[2])], axis=-1)        # (H', W', C)
    frame = _frame(padded if x.ndim == 3 else padded[:, :, 0], per_channel.sum(axis=-1) + bias,
                   kernels.shape[:2], stride, step)
    frame["per_channel"] = per_channel[frame["position"]]
    return frame


def pool_frame(x, size, stride, mode, step):
    """One frame of a pooling window sliding over an input.

    Args:
        x: (H, W) input.
        size: pooling window size, int >= 1.
        stride: int >= 1.
        mode: "max" or "avg".
        step: index of the current output position in row-major order, 0 <= step < H' * W'.

    Returns:
        the same dict as ``conv_frame`` (with "input" unpadded).
    """
    x = np.asarray(x, dtype=np.float64)
    if mode not in ("max", "avg"):
        raise ValueError(f"Invalid value for argument `mode`. Expected 'max' or 'avg'. Received mode={mode!r}")
    windows = _windows(x, (size, size), stride)
    out = windows.max(axis=(2, 3)) if mode == "max" else windows.mean(axis=(2, 3))
    return _frame(x, out, (size, size), stride, step)


def _windows(x, window_hw, stride):
    """Every window of a 2-D array: (H', W', f_h, f_w), H' = (H - f_h) // stride + 1."""
    f_h, f_w = window_hw
    if f_h > x.shape[0] or f_w > x.shape[1]:
        raise ValueError(f"The window {window_hw} does not fit in the input of shape {x.shape} "
                         "(padding included): use a smaller window or more padding.")
    return np.lib.stride_tricks.sliding_window_view(x, window_hw)[::stride, ::stride]


def _correlate(padded, kernel, stride):
    """Valid cross-correlation of a 2-D array with a 2-D kernel: (H', W')."""
    return np.einsum("ijuv,uv->ij", _windows(padded, kernel.shape, stride), kernel)


def _frame(padded, full_output, window_hw, stride, step):
    steps = full_output.size
    if not 0 <= step < steps:
        raise ValueError(f"Invalid value for argument `step`. Expected 0 <= step < {steps} "
                         f"(the number of output positions). Received step={step!r}")
    i, j = divmod(step, full_output.shape[1])
    shown = np.full(full_output.shape, np.nan)
    shown.flat[:step + 1] = full_output.flat[:step + 1]
    return {"input": padded, "output": shown, "window": (i * stride, j * stride, *window_hw),
            "position": (i, j), "value": float(full_output[i, j]), "steps": steps}


# --------------------------------------------------------------------------- the explorers


class _LiveImage:
    """An Image widget showing ``render()``'s figure, redrawn by ``redraw`` unless paused."""

    def __init__(self, render):
        self.widget = widgets.Image(format="png")
        self._render = render
        self._paused = False

    def redraw(self, _change=None):
        if not self._paused:
            self.widget.value = figure_to_png(self._render())

    @contextlib.contextmanager
    def paused(self):
        """Change several controls inside the block, redraw once at its end."""
        self._paused = True
        try:
            yield
        finally:
            self._paused = False
        self.redraw()


def _box(children, controls, live, redraw_on):
    """The explorer's box: draws once now, and again whenever a control in ``redraw_on`` changes."""
    box = widgets.VBox(children)
    box.controls = controls
    box.view = live.widget
    for control in redraw_on:
        control.observe(live.redraw, names="value")
    live.redraw()
    return box


def kernel_explorer(image, preset="edge (Laplacian 8)"):
    """A 3x3 kernel editor with presets that re-filters an image as the numbers change.

    Args:
        image: (H, W) grayscale image.
        preset: name of the kernel to start from, a key of ``KERNEL_PRESETS``.

    Returns:
        a widget box; ``box.controls`` has "preset" (Dropdown) and "kernel" (9 FloatText fields,
        row by row); ``box.view`` is the Image showing input, kernel and filtered output.
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"Expected a 2-D grayscale image; received image.shape={image.shape}.")
    if preset not in KERNEL_PRESETS:
        raise ValueError(f"Unknown preset {preset!r}. Expected one of {list(KERNEL_PRESETS)}.")
    menu = widgets.Dropdown(options=list(KERNEL_PRESETS), value=preset, description="preset")
    cells = [widgets.FloatText(value=float(v), layout=widgets.Layout(width="70px"))
             for v in KERNEL_PRESETS[preset].ravel()]

    def current_kernel():
        return np.array([cell.value for cell in cells]).reshape(3, 3)

    def render():
        kernel = current_kernel()
        fig = Figure(figsize=(9, 3))
        left, middle, right = fig.subplots(1, 3)
        draw_image(left, image, "input")
        draw_matrix(middle, kernel, f"kernel (sum {kernel.sum():.3g})", centered=True, fmt="{:.3g}")
        draw_image(right, filter_image(image, kernel), "output (zero-padded)")
        return fig

    live = _LiveImage(render)

    def load_preset(change):
        with live.paused():
            for cell, value in zip(cells, KERNEL_PRESETS[change["new"]].ravel()):
                cell.value = float(value)

    menu.observe(load_preset, names="value")
    grid = widgets.GridBox(cells, layout=widgets.Layout(grid_template_columns="repeat(3, 75px)"))
    controls = widgets.VBox([menu, widgets.Label("kernel (edit the numbers):"), grid])
    return _box([widgets.HBox([controls, live.widget])], {"preset": menu, "kernel": cells}, live,
                redraw_on=cells)


def _step_slider(steps):
    return widgets.IntSlider(value=0, min=0, max=steps - 1, description="step")


def _draw_frame(fig, frame, input_title, output_title, extra=None, pad=0):
    """Input with the window outlined (and the unpadded part in grey), [extra matrix: the kernel],
    output with the current cell outlined."""
    axes = fig.subplots(1, 3 if extra is not None else 2,
                        gridspec_kw={"width_ratios": [3, 1.6, 2] if extra is not None else [3, 2]})
    top, left, f_h, f_w = frame["window"]
    height, width = frame["input"].shape
    boxes = [(pad, pad, height - 2 * pad, width - 2 * pad, "tab:gray")] if pad else []
    draw_matrix(axes[0], frame["input"], input_title, boxes=boxes + [(top, left, f_h, f_w, "orange")])
    if extra is not None:
        draw_matrix(axes[1], extra, "kernel", centered=True)
    i, j = frame["position"]
    draw_matrix(axes[-1], frame["output"], output_title, boxes=[(i, j, 1, 1, "orange")],
                fmt="{:.3g}")
    return fig


def padding_stride_explorer(x=None, kernel=None, bias=0.0):
    """A kernel sliding over a zero-padded input, with padding, stride, step and channel sliders.

    Args:
        x: (H, W) input, or (H, W, C); default ``DEMO_INPUT`` (6x6).
        kernel: (f_h, f_w) kernel, or (f_h, f_w, C) for a C-channel input; default the 3x3
            vertical-edge kernel.
        bias: added to every output value.

    Returns:
        a widget box; ``box.controls`` has "pad", "stride", "step" and "channel" (IntSliders;
        "channel" chooses the input channel and kernel slice drawn); ``box.view`` is the Image
        showing the padded channel, its kernel slice and the output computed so far, with the
        current value split into its channels' sums and the bias.
    """
    x = DEMO_INPUT if x is None else np.asarray(x, dtype=np.float64)
    kernel = KERNEL_PRESETS["vertical edge"] if kernel is None else np.asarray(kernel, np.float64)
    channels = x.shape[2] if x.ndim == 3 else 1
    pad = widgets.IntSlider(value=0, min=0, max=2, description="padding")
    stride = widgets.IntSlider(value=1, min=1, max=3, description="stride")
    step = _step_slider(conv_frame(x, kernel, 0, 1, 0, bias)["steps"])
    channel = widgets.IntSlider(value=0, min=0, max=channels - 1, description="channel",
                                disabled=channels == 1)

    def render():
        frame = conv_frame(x, kernel, pad.value, stride.value, step.value, bias)
        n, f = x.shape[0], kernel.shape[0]
        out_h = frame["output"].shape[0]
        c = channel.value
        shown = dict(frame, input=frame["input"][:, :, c]) if channels > 1 else frame
        fig = Figure(figsize=(10, 3.9 if channels > 1 else 3.6))
        _draw_frame(fig, shown, f"padded input{f' channel {c}' if channels > 1 else ''}, p = {pad.value}",
                    f"output: ({n} + 2·{pad.value} − {f}) // {stride.value} + 1 = {out_h}",
                    kernel[:, :, c] if channels > 1 else kernel, pad.value)
        if channels > 1:
            parts = " + ".join(f"{v:g}" for v in frame["per_channel"])
            fig.suptitle(f"current value = {parts} (channels 0..{channels - 1}) + {bias:g} (bias) "
                         f"= {frame['value']:g}", fontsize=10)
        return fig

    live = _LiveImage(render)

    def resize(_change):
        with live.paused():
            step.max = conv_frame(x, kernel, pad.value, stride.value, 0, bias)["steps"] - 1
            step.value = 0

    pad.observe(resize, names="value")
    stride.observe(resize, names="value")
    sliders = widgets.HBox([pad, stride, step, channel])
    return _box([sliders, live.widget],
                {"pad": pad, "stride": stride, "step": step, "channel": channel}, live,
                redraw_on=[step, channel])


def pooling_explorer(x=None):
    """A max or average pooling window sliding over an input, with size, stride and step sliders.

    Args:
        x: (H, W) input; default ``DEMO_INPUT`` (6x6).

    Returns:
        a widget box; ``box.controls`` has "mode" (ToggleButtons "max"/"avg"), "size", "stride"
        and "step" (IntSliders); ``box.view`` is the Image showing the input and the pooled output.
    """
    x = DEMO_INPUT if x is None else np.asarray(x, dtype=np.float64)
    largest = min(x.shape[0], x.shape[1], 4)
    mode = widgets.ToggleButtons(options=["max", "avg"], value="max", description="mode")
    size = widgets.IntSlider(value=2, min=1, max=largest, description="size")
    stride = widgets.IntSlider(value=2, min=1, max=largest, description="stride")
    step = _step_slider(pool_frame(x, 2, 2, "max", 0)["steps"])

    def render():
        frame = pool_frame(x, size.value, stride.value, mode.value, step.value)
        out_h = frame["output"].shape[0]
        fig = Figure(figsize=(7, 3.6))
        _draw_frame(fig, frame, f"input, {mode.value} over {size.value}×{size.value} windows",
                    f"output: ({x.shape[0]} − {size.value}) // {stride.value} + 1 = {out_h}")
        return fig

    live = _LiveImage(render)

    def resize(_change):
        with live.paused():
            step.max = pool_frame(x, size.value, stride.value, mode.value, 0)["steps"] - 1
            step.value = 0

    size.observe(resize, names="value")
    stride.observe(resize, names="value")
    controls = widgets.VBox([mode, widgets.HBox([size, stride, step])])
    return _box([controls, live.widget],
                {"mode": mode, "size": size, "stride": stride, "step": step}, live,
                redraw_on=[mode, step])
