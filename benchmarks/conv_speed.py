"""How fast is cnnlib's NumPy convolution next to TensorFlow's and next to naive loops?

For 3x3 convolutions with padding 1 in float32, prints per case:
- cnnlib's forward and forward+backward time as a ratio to TensorFlow's on the same inputs
  (``tf.nn.conv2d`` and its ``GradientTape`` gradients inside a ``tf.function``);
- the speed-up of cnnlib's forward pass over a naive four-loop implementation (timed on a few
  images and scaled to the batch, the loops' time being linear in the batch size).

Usage: python benchmarks/conv_speed.py [--repeats 5]
Goals: forward+backward within 1.5x of TensorFlow, forward at least 1000x faster than the loops.
"""

import argparse
import time

import numpy as np

from cnnlib import layers
from cnnlib.quiet_tf import import_tensorflow

CASES = [  # (x shape NHWC, filters)
    ((64, 32, 32, 3), 32),
    ((64, 16, 16, 32), 64),
    ((128, 28, 28, 1), 32),
]
NAIVE_IMAGES = 2


def naive_conv2d(x, w, b, pad):
    """Four nested loops (image, row, column, filter): the textbook definition, for timing only."""
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    f_h, f_w, _, n_filters = w.shape
    n, h, wd, _ = x.shape
    out = np.zeros((n, h - f_h + 1, wd - f_w + 1, n_filters), dtype=x.dtype)
    for i in range(n):
        for r in range(out.shape[1]):
            for c in range(out.shape[2]):
                for f in range(n_filters):
                    out[i, r, c, f] = np.sum(x[i, r:r + f_h, c:c + f_w, :] * w[:, :, :, f]) + b[f]
    return out


def best_time(fn, repeats):
    """Fastest of ``repeats`` runs after one warm-up, in seconds."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per measurement (best is kept)")
    args = parser.parse_args()
    tf = import_tensorflow()

    @tf.function
    def tf_forward(x, w, b):
        return tf.nn.conv2d(x, w, 1, [[0, 0], [1, 1], [1, 1], [0, 0]]) + b

    @tf.function
    def tf_forward_backward(x, w, b, dout):
        with tf.GradientTape() as tape:
            tape.watch([x, w, b])
            out = tf.nn.conv2d(x, w, 1, [[0, 0], [1, 1], [1, 1], [0, 0]]) + b
        return tape.gradient(out, [x, w, b], output_gradients=dout)

    print(f"{'input -> filters':<24}{'fwd ms':>9}{'TF fwd':>9}{'ratio':>8}{'f+b ms':>9}{'TF f+b':>9}"
          f"{'ratio':>8}{'vs loops':>11}")
    rng = np.random.default_rng(0)
    for x_shape, n_filters in CASES:
        x = rng.standard_normal(x_shape, dtype=np.float32)
        w = rng.standard_normal((3, 3, x_shape[3], n_filters), dtype=np.float32)
        b = rng.standard_normal(n_filters, dtype=np.float32)
        dout = rng.standard_normal((*x_shape[:3], n_filters), dtype=np.float32)
        tx, tw, tb, tdout = (tf.constant(a) for a in (x, w, b, dout))

        ours_fwd = best_time(lambda: layers.conv2d_forward(x, w, b, 1, 1), args.repeats)
        ours_both = best_time(lambda: layers.conv2d_backward(dout, layers.conv2d_forward(x, w, b, 1, 1)[1]),
                              args.repeats)
        tf_fwd = best_time(lambda: tf_forward(tx, tw, tb).numpy(), args.repeats)
        tf_both = best_time(lambda: [g.numpy() for g in tf_forward_backward(tx, tw, tb, tdout)], args.repeats)
        naive = best_time(lambda: naive_conv2d(x[:NAIVE_IMAGES], w, b, 1), 1) * x_shape[0] / NAIVE_IMAGES

        print(f"{str(x_shape) + ' -> ' + str(n_filters):<24}{ours_fwd * 1e3:>9.1f}{tf_fwd * 1e3:>9.1f}"
              f"{ours_fwd / tf_fwd:>7.2f}x{ours_both * 1e3:>9.1f}{tf_both * 1e3:>9.1f}"
              f"{ours_both / tf_both:>7.2f}x{naive / ours_fwd:>10.0f}x")


if __name__ == "__main__":
    main()
