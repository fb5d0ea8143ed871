"""Start a kernel under resource limits: ``python -m autograder.sandbox.launcher [LIMITS] -- CMD...``.

The kernel manager puts this in front of the kernel's command line (or of bubblewrap's, which
starts the kernel). It sets the limits on its own process and then *replaces* itself with the
command (``exec``): the limits are inherited by everything the kernel starts, and an
unprivileged process can only lower them.

- ``--memory-mb``: address space (``RLIMIT_AS``); allocations beyond it raise MemoryError.
- ``--cpu-seconds``: CPU time (``RLIMIT_CPU``); past it the kernel is killed.
- ``--file-mb``: the largest file it may write (``RLIMIT_FSIZE``).
- ``--open-files``: open file descriptors (``RLIMIT_NOFILE``).
- ``--processes``: processes and threads at once, in a pids cgroup named ``--cgroup-name``,
  where the grader may make one (the kernel cannot leave it: it sees no cgroup file system).
  ``RLIMIT_NPROC`` is no substitute: it counts all processes of a user, and none of root's.
- ``--python-path``: folders put first on the kernel's module path (the withheld library, where
  no sandbox hides the real one).
- no core dumps.

Kept free of imports beyond the standard library: it runs once per kernel start.
"""

import argparse
import os
import resource
import sys
from pathlib import Path

PIDS_CGROUPS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))
CGROUP_PARENT = "cnn-course"


def limit(kind, value):
    """Lower soft and hard limit ``kind`` (a ``resource.RLIMIT_*``) to ``value``."""
    _, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(kind, (value, value))


def limit_memory(memory_mb):
    """Cap the address space at ``memory_mb`` MiB: allocations beyond it raise MemoryError."""
    limit(resource.RLIMIT_AS, memory_mb * 2**20)


def _cgroup_root():
    """The pids cgroup hierarchy this process may write, or None."""
    for root in PIDS_CGROUPS:
        if (root / "cgroup.procs").exists() and os.access(root, os.W_OK) and (
                root.name == "pids" or "pids" in (root / "cgroup.controllers").read_text().split()):
            return root
    return None


def join_pids_cgroup(name, processes):
    """Move this process into a new pids cgroup ``cnn-course/<name>`` allowing ``processes``.

    Returns:
        True where it worked; False where no pids cgroup can be made here.
    """
    root = _cgroup_root()
    if root is None:
        return False
    try:
        parent = root / CGROUP_PARENT
        parent.mkdir(exist_ok=True)
        if root.name != "pids":  # cgroup v2: the parent must hand the controller down
            (parent / "cgroup.subtree_control").write_text("+pids")
        group = parent / name
        group.mkdir(exist_ok=True)
        (group / "pids.max").write_text(str(processes))
        (group / "cgroup.procs").write_text(str(os.getpid()))
    except OSError:
        return False
    return True


def can_limit_processes():
    """Whether kernels started here get a process limit (a pids cgroup can be made)."""
    return _cgroup_root() is not None


def remove_cgroup(name):
    """Kill what is left in the kernel's pids cgroup and remove it (called by the grader)."""
    root = _cgroup_root()
    group = root / CGROUP_PARENT / name if root else None
    if group is None or not group.is_dir():
        return
    for _ in range(50):
        pids = (group / "cgroup.procs").read_text().split()
        for pid in pids:
            try:
                os.kill(int(pid), 9)
            except ProcessLookupError:
                pass
        try:
            group.rmdir()
            return
        except OSError:
            import time

            time.sleep(0.02)


def parse(argv):
    parser = argparse.ArgumentParser(prog="python -m autograder.sandbox.launcher")
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--cpu-seconds", type=int)
    parser.add_argument("--file-mb", type=int)
    parser.add_argument("--open-files", type=int)
    parser.add_argument("--processes", type=int)
    parser.add_argument("--cgroup-name")
    parser.add_argument("--python-path", action="append", default=[])
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    if not args.command:
        parser.error("no command to run after the limits")
    return args


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    limit_memory(args.memory_mb)
    limit(resource.RLIMIT_CORE, 0)
    if args.cpu_seconds:
        limit(resource.RLIMIT_CPU, args.cpu_seconds)
    if args.file_mb:
        limit(resource.RLIMIT_FSIZE, args.file_mb * 2**20)
    if args.open_files:
        limit(resource.RLIMIT_NOFILE, args.open_files)
    if args.processes and args.cgroup_name:
        join_pids_cgroup(args.cgroup_name, args.processes)
    if args.python_path:
        os.environ["PYTHONPATH"] = os.pathsep.join([*args.python_path, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    # Library warnings on stderr would score a graded cell 0; a warning is not a failure.
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    # The kernel's own console (ipykernel's start-up notices, native libraries' logs) is not part
    # of the notebook: what the student's code prints reaches the notebook over the kernel's
    # channels. Without this it would scroll through the grader's terminal.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.execvp(args.command[0], args.command)


if __name__ == "__main__":
    main()
