"""The grader's connection to a submission's kernel: who may answer, and what a stuck call costs."""

import random
import time

import numpy as np
import pytest
from helpers import KernelExecutor

from autograder.judge.link import (
    CallTimeout,
    KernelLink,
    KernelStopped,
    StudentFunction,
)


@pytest.fixture
def executor():
    executor = KernelExecutor()
    yield executor
    executor.stop()


def test_a_connection_without_the_token_is_not_taken_for_the_kernel(executor):
    """Does a process that connects first, with a guessed token, get no say in the answers?"""
    executor.run(
        "import socket\n"
        "from autograder.judge import kernel_calls, wire\n"
        "real_serve = kernel_calls.serve\n"
        "def serve(path, token):\n"
        "    impostor = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
        "    impostor.connect(path)\n"
        "    wire.send_message(impostor, {'token': 'guessed'})\n"
        "    real_serve(path, token)\n"
        "kernel_calls.serve = serve\n"
        "def double(x):\n"
        "    return 2 * x\n")
    link = KernelLink(executor)
    link.deadline = time.monotonic() + 60
    assert StudentFunction(link, "double")(np.arange(3)).tolist() == [0, 2, 4]
    link.close()


def test_a_call_past_its_deadline_is_stopped_and_the_next_call_reconnects(executor):
    """Is an endless function interrupted at the deadline, and does the link work again after?"""
    executor.run("def endless(x):\n    while True:\n        pass\n\ndef same(x):\n    return x\n")
    link = KernelLink(executor, settle_timeout=10)
    link.deadline = time.monotonic() + 1
    with pytest.raises(CallTimeout, match="was stopped"):
        StudentFunction(link, "endless")(1)
    assert executor.recoveries == [False] and link.connection is None
    link.deadline = time.monotonic() + 60
    big = np.random.default_rng(0).standard_normal((64, 28, 28, 8))
    np.testing.assert_array_equal(StudentFunction(link, "same")(big), big)
    link.close()


def test_a_kernel_that_exits_mid_call_is_replaced_without_waiting_for_it_to_answer(executor):
    """Does a kernel that dies during a call stop the call at once, and is it flagged as stopped
    (replaced at once, not first given ``settle_timeout`` to answer)?"""
    executor.run("def leave(x):\n    import os\n    os._exit(1)\n")
    link = KernelLink(executor, settle_timeout=30)
    link.deadline = time.monotonic() + 60
    began = time.monotonic()
    with pytest.raises(KernelStopped):
        StudentFunction(link, "leave")(1)
    assert time.monotonic() - began < 10
    assert executor.recoveries == [True] and link.connection is None


def test_each_call_of_a_test_starts_from_the_same_random_state_in_every_grading(executor):
    """Does the k-th call of a test start with Python's, NumPy's and Keras' generators seeded with
    k in the kernel, so that a function that draws random numbers or trains with shuffled batches
    returns the same in every grading (and a second call is not a copy of the first)?"""
    executor.run(
        "import random\n"
        "import numpy as np\n"
        "import keras\n"
        "def draws():\n"
        "    return random.random(), float(np.random.random())\n"
        "def trained_weights(x, y):\n"
        "    model = keras.Sequential([keras.Input((3,)), keras.layers.Dropout(0.5), keras.layers.Dense(2)])\n"
        "    model.compile('sgd', 'mse')\n"
        "    model.fit(x, y, batch_size=4, epochs=2, verbose=0)\n"
        "    return model.get_weights()\n")
    link = KernelLink(executor)
    link.deadline = time.monotonic() + 120
    x, y = np.random.default_rng(1).standard_normal((16, 3)), np.random.default_rng(2).standard_normal((16, 2))
    fits = []
    for test in ("test_a", "test_b"):
        link.test, link.calls = test, 0
        assert StudentFunction(link, "draws")() == (random.Random(0).random(), np.random.RandomState(0).random_sample())
        assert StudentFunction(link, "draws")() == (random.Random(1).random(), np.random.RandomState(1).random_sample())
        fits.append(StudentFunction(link, "trained_weights")(x, y))
    for first, second in zip(*fits):
        np.testing.assert_array_equal(first, second)
    link.test, link.calls = "test_c", 0
    StudentFunction(link, "draws")()
    other = StudentFunction(link, "trained_weights")(x, y)  # the second call of its test: another seed
    assert not np.array_equal(other[0], fits[0][0])
    link.close()
