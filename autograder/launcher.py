"""Start a kernel under resource limits: ``python -m autograder.launcher MEMORY_MB CMD...``.

The kernel manager puts this in front of the kernel's command line. It sets the limits on its
own process and then *replaces* itself with the kernel (``exec``), so the kernel keeps the same
process id: interrupting and killing it work as usual, and the limits cannot be lifted by the
kernel (an unprivileged process can only lower them).

Kept free of imports beyond the standard library: it runs once per kernel start.
"""

import os
import resource
import sys


def limit_memory(memory_mb):
    """Cap the address space at ``memory_mb`` MiB: allocations beyond it raise MemoryError."""
    limit = memory_mb * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2:
        sys.exit("usage: python -m autograder.launcher MEMORY_MB KERNEL_COMMAND...")
    limit_memory(int(argv[0]))
    # Library warnings on stderr would score a graded cell 0; a warning is not a failure.
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    # The kernel's own console (ipykernel's start-up notices, native libraries' logs) is not part
    # of the notebook: what the student's code prints reaches the notebook over the kernel's
    # channels. Without this it would scroll through the grader's terminal.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.execvp(argv[1], argv[1:])


if __name__ == "__main__":
    main()
