"""Do the plotting helpers draw what they should, and do the explorers react to their controls?

The explorers are driven as a notebook user would drive them, by setting control values, and the
picture they show (PNG bytes) is checked to change; what a picture shows is checked through the
plain functions that compute it.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from cnnlib import layers, viz, widgets  # noqa: E402

STEP = np.array([[10, 10, 10, 0, 0, 0]] * 6, dtype=float)
VOLUME_X, VOLUME_W0 = widgets.DEMO_VOLUME, widgets.DEMO_VOLUME_KERNEL
X4 = np.array([[1, 3, 2, 1], [3, 6, 8, 9], [8, 3, 3, 9], [4, 6, 8, 2]], dtype=float)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# --------------------------------------------------------------------------- viz


def test_figure_to_png_gives_png_bytes():
    """Does a figure become a PNG image?"""
    fig = Figure()
    viz.draw_image(fig.subplots(), np.eye(4))
    assert viz.figure_to_png(fig).startswith(b"\x89PNG\r\n\x1a\n")


def test_draw_matrix_writes_finite_values_and_outlines_boxes():
    """Does each finite cell get its number, NaN cells stay blank, and boxes get outlined?"""
    ax = Figure().subplots()
    viz.draw_matrix(ax, [[1.0, np.nan], [2.5, -3.0]], "title", boxes=[(0, 0, 1, 2, "orange")])
    assert sorted(t.get_text() for t in ax.texts) == ["-3", "1", "2.5"]
    assert len(ax.patches) == 1
    assert ax.get_title() == "title"


@pytest.mark.parametrize("images, ncols, expected_grid", [
    ([np.zeros((5, 5))] * 3, None, (1, 3)),
    ([np.zeros((5, 5, 3))] * 7, None, (2, 6)),
    ([np.zeros((5, 5), np.uint8)] * 4, 2, (2, 2)),
])
def test_show_images_lays_out_a_grid(images, ncols, expected_grid):
    """Are images laid out in rows of ncols (at most 6 by default), with spare axes hidden?"""
    fig = viz.show_images(images, titles=[str(i) for i in range(len(images))], ncols=ncols)
    rows, cols = expected_grid
    assert len(fig.axes) == rows * cols
    assert sum(bool(ax.images) for ax in fig.axes) == len(images)
    assert sum(not ax.axison for ax in fig.axes) == rows * cols - len(images)


def test_show_kernels_and_feature_maps_draw_one_panel_each():
    """Does every kernel and every feature-map channel get its own titled panel?"""
    fig = viz.show_kernels(widgets.KERNEL_PRESETS)
    titled = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titled == list(widgets.KERNEL_PRESETS)
    fig = viz.show_feature_maps(np.random.default_rng(0).standard_normal((6, 6, 4)), list("abcd"))
    assert [ax.get_title() for ax in fig.axes if ax.images] == list("abcd")


def test_show_matrices_draws_side_by_side():
    fig = viz.show_matrices([X4, X4[:2, :2]], ["a", "b"], centered=True)
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
    assert len(fig.axes[0].texts) == 16


# --------------------------------------------------------------------------- what the explorers compute


def test_kernel_presets_sum_to_zero_or_one_and_are_read_only():
    """Do edge kernels sum to 0 and the others to 1, and are the shared constants protected?"""
    for name, kernel in widgets.KERNEL_PRESETS.items():
        expected = 0.0 if ("edge" in name or "Sobel" in name) else 1.0
        assert kernel.shape == (3, 3) and kernel.sum() == pytest.approx(expected), name
        with pytest.raises(ValueError):
            kernel[0, 0] = 5


def test_filter_image_keeps_the_size_and_finds_the_step_edge():
    """Does filtering pad to the same size, and does the vertical-edge kernel light up at the step?"""
    edges = widgets.filter_image(STEP, widgets.KERNEL_PRESETS["vertical edge"])
    assert edges.shape == STEP.shape
    np.testing.assert_allclose(edges[1:-1, 1:-1], [[0, 30, 30, 0]] * 4)
    np.testing.assert_allclose(widgets.filter_image(STEP, widgets.KERNEL_PRESETS["identity"]), STEP)


def test_filter_image_rejects_colour_images():
    with pytest.raises(ValueError, match="2-D image"):
        widgets.filter_image(np.zeros((4, 4, 3)), np.eye(3))


def test_conv_frame_shows_the_output_up_to_the_current_step():
    """Are the values up to the step shown, the rest blank, and the window where the stride puts it?"""
    kernel = widgets.KERNEL_PRESETS["vertical edge"]
    frame = widgets.conv_frame(widgets.DEMO_INPUT, kernel, pad=1, stride=2, step=4)
    full, _ = layers.conv2d_forward(widgets.DEMO_INPUT[None, :, :, None], kernel[:, :, None, None],
                                    np.zeros(1), stride=2, pad=1)
    assert frame["input"].shape == (8, 8) and frame["steps"] == 9
    assert frame["position"] == (1, 1) and frame["window"] == (2, 2, 3, 3)
    assert frame["value"] == full[0, 1, 1, 0]
    shown = frame["output"].ravel()
    np.testing.assert_array_equal(shown[:5], full.ravel()[:5])
    assert np.isnan(shown[5:]).all()


def test_pool_frame_matches_the_worked_example():
    frame = widgets.pool_frame(X4, size=2, stride=2, mode="avg", step=3)
    np.testing.assert_allclose(frame["output"], [[3.25, 5], [5.25, 5.5]])
    assert frame["window"] == (2, 2, 2, 2)
    assert widgets.pool_frame(X4, 2, 2, "max", 1)["value"] == 9


@pytest.mark.parametrize("step", [-1, 4])
def test_frames_reject_a_step_outside_the_output(step):
    with pytest.raises(ValueError, match=r"0 <= step < 4"):
        widgets.pool_frame(X4, 2, 2, "max", step)


# --------------------------------------------------------------------------- the explorers as widgets


def _count_draws(monkeypatch):
    calls = []
    original = widgets.figure_to_png
    monkeypatch.setattr(widgets, "figure_to_png", lambda fig: calls.append(1) or original(fig))
    return calls


def test_kernel_explorer_loads_presets_and_redraws_once(monkeypatch):
    """Does choosing a preset fill in the 9 numbers and redraw once, and does editing a number redraw?"""
    explorer = widgets.kernel_explorer(STEP, preset="identity")
    cells = explorer.controls["kernel"]
    before = explorer.view.value
    draws = _count_draws(monkeypatch)
    explorer.controls["preset"].value = "Sobel vertical"
    assert [c.value for c in cells] == list(widgets.KERNEL_PRESETS["Sobel vertical"].ravel())
    assert len(draws) == 1 and explorer.view.value != before
    shown = explorer.view.value
    cells[4].value = 2.0
    assert len(draws) == 2 and explorer.view.value != shown


def test_kernel_explorer_rejects_an_unknown_preset():
    with pytest.raises(ValueError, match="Unknown preset"):
        widgets.kernel_explorer(STEP, preset="emboss")


def test_padding_stride_explorer_resizes_the_step_slider(monkeypatch):
    """Do padding and stride change the number of output positions, and each change redraw once?"""
    explorer = widgets.padding_stride_explorer()
    pad, stride, step = (explorer.controls[k] for k in ("pad", "stride", "step"))
    assert step.max == 4 * 4 - 1                     # 6x6 input, 3x3 kernel: 4x4 outputs
    step.value = 10
    draws = _count_draws(monkeypatch)
    before = explorer.view.value
    stride.value = 2
    assert (step.max, step.value) == (2 * 2 - 1, 0)
    assert len(draws) == 1 and explorer.view.value != before
    pad.value = 1
    assert step.max == 3 * 3 - 1                     # (6 + 2 - 3) // 2 + 1 = 3
    shown = explorer.view.value
    step.value = 5
    assert explorer.view.value != shown


def test_pooling_explorer_reacts_to_mode_and_size():
    explorer = widgets.pooling_explorer(X4)
    before = explorer.view.value
    explorer.controls["mode"].value = "avg"
    assert explorer.view.value != before
    explorer.controls["stride"].value = 1
    assert explorer.controls["step"].max == 3 * 3 - 1
    explorer.controls["size"].value = 4
    assert explorer.controls["step"].max == 0


# --------------------------------------------------------------------------- the explorers' own maths against cnnlib.layers


@pytest.mark.parametrize("kernel_hw", [(3, 3), (2, 2), (1, 4), (5, 3)])
def test_filter_image_equals_the_reference_same_convolution(kernel_hw):
    """Does the explorer's own filtering equal cnnlib.layers' 'same' convolution, even kernels too?"""
    rng = np.random.default_rng(0)
    image, kernel = rng.standard_normal((7, 9)), rng.standard_normal(kernel_hw)
    expected, _ = layers.conv2d_forward(image[None, :, :, None], kernel[:, :, None, None], np.zeros(1),
                                        pad="same")
    np.testing.assert_allclose(widgets.filter_image(image, kernel), expected[0, :, :, 0], atol=1e-12)


@pytest.mark.parametrize("pad, stride", [(0, 1), (1, 2), (2, 3)])
def test_conv_frame_of_a_volume_equals_the_reference(pad, stride):
    """Does a multi-channel frame give the reference output, and split the value into channels + bias?"""
    rng = np.random.default_rng(1)
    x, kernel = rng.standard_normal((6, 7, 3)), rng.standard_normal((3, 3, 3))
    expected, _ = layers.conv2d_forward(x[None], kernel[:, :, :, None], np.array([0.5]), stride=stride, pad=pad)
    frame = widgets.conv_frame(x, kernel, pad, stride, step=expected[0, :, :, 0].size - 1, bias=0.5)
    np.testing.assert_allclose(frame["output"], expected[0, :, :, 0], atol=1e-12)
    assert frame["input"].shape == (6 + 2 * pad, 7 + 2 * pad, 3)
    assert frame["value"] == pytest.approx(frame["per_channel"].sum() + 0.5)


def test_conv_frame_reproduces_the_volume_demo_of_the_lectures():
    """Is the top-left output of deck 004's volume demo 2 = -1 + 1 + 1 (channels, by hand) + 1 (bias)?"""
    frame = widgets.conv_frame(VOLUME_X, VOLUME_W0, pad=1, stride=2, step=0, bias=1.0)
    np.testing.assert_array_equal(frame["output"][0, 0], 2.0)
    np.testing.assert_array_equal(frame["per_channel"], [-1.0, 1.0, 1.0])


def test_conv_frame_rejects_mismatched_channels():
    with pytest.raises(ValueError, match=r"same C; received x.shape=\(5, 5, 3\) and kernel.shape=\(3, 3, 2\)"):
        widgets.conv_frame(VOLUME_X, np.ones((3, 3, 2)), 0, 1, 0)


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("size, stride", [(2, 2), (3, 1), (2, 3)])
def test_pool_frame_equals_the_reference(mode, size, stride):
    x = np.random.default_rng(2).standard_normal((7, 8))
    expected, _ = layers.pool2d_forward(x[None, :, :, None], size, stride, mode)
    frame = widgets.pool_frame(x, size, stride, mode, step=expected.size - 1)
    np.testing.assert_allclose(frame["output"], expected[0, :, :, 0], atol=1e-12)


def test_pool_frame_rejects_an_unknown_mode():
    with pytest.raises(ValueError, match=r"Expected 'max' or 'avg'. Received mode='min'"):
        widgets.pool_frame(X4, 2, 2, "min", 0)


def test_padding_stride_explorer_shows_each_channel_of_a_volume(monkeypatch):
    """Does the channel slider redraw the picture, once per change, for a 3-channel input?"""
    explorer = widgets.padding_stride_explorer(VOLUME_X, VOLUME_W0, bias=1.0)
    channel = explorer.controls["channel"]
    assert channel.max == 2 and not channel.disabled
    draws = _count_draws(monkeypatch)
    before = explorer.view.value
    channel.value = 2
    assert len(draws) == 1 and explorer.view.value != before
    assert widgets.padding_stride_explorer().controls["channel"].disabled


def test_show_connectivity_draws_dense_local_and_shared_connections():
    """Does each panel draw one line per weight: 7*5 dense, 3*5 local, 3*5 shared in 3 colours?"""
    fig = viz.show_connectivity(7, 3)
    dense, local, conv = fig.axes
    assert [len(ax.lines) for ax in fig.axes] == [35, 15, 15]
    assert len({line.get_color() for line in conv.lines}) == 3
    assert len({line.get_color() for line in local.lines}) > 3
    assert "35 weights" in dense.get_title() and "3 shared weights" in conv.get_title()
    with pytest.raises(ValueError, match=r"1 <= f < n_inputs; received f=7, n_inputs=7"):
        viz.show_connectivity(7, 7)


def test_plot_history_ticks_whole_epochs_only():
    """Does a two-epoch run get ticks at whole epochs, not at 1.25, 1.5, ...?"""
    from cnnlib import evaluation

    ax = evaluation.plot_history({"run": {"accuracy": [0.5, 0.6], "val_accuracy": [0.4, 0.5]}})
    ax.figure.canvas.draw()
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks
