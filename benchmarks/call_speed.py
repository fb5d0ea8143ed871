"""What one call of a student's function from a graded test costs, by the size of its argument.

    .venv/bin/python benchmarks/call_speed.py [--calls 20]

In one run, against one grading kernel (limits only, so that the figures are about the channel):

1. the grader's link (``autograder.judge.link.KernelLink``: a Unix socket, messages of
   ``autograder.judge.wire``), calling a function that returns its argument;
2. its peer, the same request sent the plain Jupyter way: as the code of an ``execute_request``
   whose reply comes back as display data (how a harness without its own channel must do it).

Prints milliseconds per call for each and the ratio.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from jupyter_core.utils import run_sync

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "autograder" / "files"))

from helpers import KernelExecutor  # noqa: E402

from autograder.judge import wire  # noqa: E402
from autograder.judge.link import KernelLink, StudentFunction  # noqa: E402

SHAPES = [(2,), (64, 28, 28, 1), (32, 32, 32, 16)]
ECHO = ("from IPython.display import publish_display_data\n"
        "from autograder.judge import wire\n"
        "def same(x):\n"
        "    return x\n"
        "def answer(text):\n"
        "    request = wire.loads(text)\n"
        "    publish_display_data({'application/json': {'reply': wire.dumps(same(*request['args']))}})\n")


def as_code(executor, x):
    """One call sent as code; returns the result."""
    replies = []
    request = wire.dumps({"args": [x]})
    run_sync(executor.kc.execute_interactive)(
        f"answer({request!r})", store_history=False, timeout=600,
        output_hook=lambda msg: replies.append(msg["content"].get("data", {}).get("application/json")))
    return wire.loads(next(r for r in replies if r)["reply"])


def per_call(call, x, calls):
    call(x)  # the first call outside the timing
    start = time.perf_counter()
    for _ in range(calls):
        call(x)
    return (time.perf_counter() - start) / calls * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20, help="calls per size (default %(default)s)")
    args = parser.parse_args()
    executor = KernelExecutor()
    try:
        executor.run(ECHO)
        link = KernelLink(executor)
        link.deadline = time.monotonic() + 3600
        same = StudentFunction(link, "same")
        print(f"{'argument':>28} {'MB':>7} {'link ms':>9} {'as code ms':>11} {'speed-up':>9}")
        for shape in SHAPES:
            x = np.random.default_rng(0).standard_normal(shape)
            ours = per_call(same, x, args.calls)
            link.close()
            theirs = per_call(lambda v: as_code(executor, v), x, max(2, args.calls // 5))
            print(f"{'float64 ' + str(shape):>28} {x.nbytes / 1e6:7.2f} {ours:9.1f} {theirs:11.1f} {theirs / ours:8.1f}x")
    finally:
        executor.stop()


if __name__ == "__main__":
    main()
