"""The watch on a NumPy-only exercise (``autograder.judge.numpy_only``): a framework's code, a thread
or a process ends the call; honest NumPy code, in any style, runs as it would without it."""

import gc
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from autograder.judge.numpy_only import PROCESSES, THREADS, UNWATCHED, FrameworkUsed, Watch, breach_message


def batchnorm_loops(x, gamma, beta, eps=1e-3):
    """Batch normalisation of (N, D) written with Python loops, as a beginner would."""
    n, d = x.shape
    out = np.empty_like(x)
    for j in range(d):
        mean = sum(x[i, j] for i in range(n)) / n
        var = sum((x[i, j] - mean) ** 2 for i in range(n)) / n
        for i in range(n):
            out[i, j] = gamma[j] * (x[i, j] - mean) / np.sqrt(var + eps) + beta[j]
    return out


def batchnorm_vectorised(x, gamma, beta, eps=1e-3):
    return gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


def test_numpy_code_in_any_style_runs_as_without_the_watch():
    """Loops and vectorised code: the same results under the watch, and the loops' overhead printed."""
    rng = np.random.default_rng(0)
    x, gamma, beta = rng.standard_normal((64, 32)), rng.uniform(0.5, 2, 32), rng.standard_normal(32)
    watch = Watch(["keras", "tensorflow", "scipy"])
    for function in (batchnorm_loops, batchnorm_vectorised):
        np.testing.assert_allclose(watch.run(function, x, gamma, beta), batchnorm_vectorised(x, gamma, beta))
    began = time.perf_counter()
    batchnorm_loops(x, gamma, beta)
    plain = time.perf_counter() - began
    began = time.perf_counter()
    watch.run(batchnorm_loops, x, gamma, beta)
    watched = time.perf_counter() - began
    print(f"loop-style batchnorm (64 x 32): {plain * 1e3:.1f} ms plain, {watched * 1e3:.1f} ms watched "
          f"({watched / plain:.2f}x)")
    assert watched < 10 * plain + 0.05
    assert sys.getprofile() is None and gc.isenabled()


def test_a_framework_ends_the_call_even_behind_try_except(keras):
    """l2_penalty through Keras' regularizer, its error swallowed by the student: the call still fails,
    naming Keras, and the grader's note reads as an import that is not allowed."""
    def l2_penalty(weights, weight_decay):
        try:
            return float(keras.regularizers.L2(weight_decay / 2)(weights[0])), [weight_decay * weights[0]]
        except BaseException:
            return 0.5 * weight_decay * float(np.sum(weights[0] ** 2)), [weight_decay * weights[0]]

    with pytest.raises(FrameworkUsed, match="^keras$"):
        Watch(["keras", "tensorflow"]).run(l2_penalty, [np.ones((2, 2))], 0.1)
    assert "keras cannot be imported while this assignment is graded" in breach_message("l2_penalty", "keras")
    assert breach_message("l2_penalty", "anything the kernel says") is None


def test_switching_the_watch_off_is_a_breach():
    """The profile removed (and even put back through a C function, which the hook does not see)."""
    def removes():
        sys.setprofile(None)
        return 1

    def removes_and_restores():
        hook = sys.getprofile()
        list(map(sys.setprofile, [None]))
        list(map(sys.setprofile, [hook]))
        return 1

    for function in (removes, removes_and_restores):
        with pytest.raises(FrameworkUsed, match=UNWATCHED):
            Watch(["keras"]).run(function)


def test_threads_and_processes_are_breaches():
    def in_a_thread():
        worker = threading.Thread(target=lambda: None)
        worker.start()
        worker.join()

    def in_a_process():
        return subprocess.run([sys.executable, "-c", "print(1)"], capture_output=True).stdout

    with pytest.raises(FrameworkUsed, match=THREADS):
        Watch(["keras"]).run(in_a_thread)
    with pytest.raises(FrameworkUsed, match=PROCESSES):
        Watch(["keras"]).run(in_a_process)


def test_a_frameworks_finalizer_never_runs_inside_the_watched_call(tmp_path, monkeypatch):
    """A framework's object dropped in a reference cycle before the call: its ``__del__`` must not
    run during an honest call (cyclic collection is paused), or the student would be blamed."""
    package = tmp_path / "fakeframework"
    package.mkdir()
    (package / "__init__.py").write_text(
        "class Node:\n    def __init__(self):\n        self.me = self\n    def __del__(self):\n        pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import fakeframework

    gc.collect()
    for _ in range(200):
        fakeframework.Node()  # garbage only a cyclic collection frees

    def allocates_cycles():
        for _ in range(50_000):
            cell = []
            cell.append(cell)
        return 1

    assert Watch(["fakeframework"]).run(allocates_cycles) == 1
    gc.collect()
