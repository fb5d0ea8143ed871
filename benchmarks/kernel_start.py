"""What the grading sandbox costs a kernel start: sandboxed against limits only, in one run.

    .venv/bin/python benchmarks/kernel_start.py [--n 10]

Starts ``n`` grading kernels of each kind, alternating, each until it answers its first request
(``kernel_info``), then shuts it down; prints the median and spread of the start times and the
sandbox's extra cost per start.
"""

import argparse
import statistics
import tempfile
import time

from jupyter_core.utils import run_sync

from autograder.course.config import Limits, kernel_config
from autograder.sandbox.kernel_manager import SandboxedKernelManager
from autograder.sandbox.namespaces import probe


def start_once(sandboxed):
    """Seconds from starting a grading kernel to its first answer."""
    config = kernel_config(Limits(isolation="auto" if sandboxed else "off"))
    manager = SandboxedKernelManager(kernel_name="python3", config=config)
    with tempfile.TemporaryDirectory(prefix="cnn-course-bench-") as scratch:
        began = time.perf_counter()
        run_sync(manager.start_kernel)(cwd=scratch)
        client = manager.client()
        client.start_channels()
        run_sync(client.wait_for_ready)(timeout=60)
        elapsed = time.perf_counter() - began
        client.stop_channels()
        run_sync(manager.shutdown_kernel)(now=True)
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10, help="starts of each kind (default %(default)s)")
    args = parser.parse_args()
    available, reason = probe()
    if not available:
        raise SystemExit(f"bubblewrap cannot run here: {reason}")
    times = {True: [], False: []}
    start_once(True)  # warm the file cache for both kinds
    for _ in range(args.n):
        for sandboxed in (False, True):
            times[sandboxed].append(start_once(sandboxed))
    for sandboxed, label in ((False, "limits only"), (True, "sandboxed")):
        values = times[sandboxed]
        print(f"{label:12s} median {statistics.median(values):.3f} s  "
              f"(min {min(values):.3f}, max {max(values):.3f}, n={len(values)})")
    extra = statistics.median(times[True]) - statistics.median(times[False])
    print(f"sandbox cost per kernel start: {extra:+.3f} s (median against median)")


if __name__ == "__main__":
    main()
