"""Inside a grading sandbox: start kernels by forking one process that has imported their modules.

    python -m autograder.sandbox.zygote REQUESTS_FD REPLIES_FD PRELOAD_FILE FONTS_FOLDER

Run by ``autograder.sandbox.factory.KernelFactory`` as the sandbox's command, in place of a kernel. It
imports ipykernel and runs the code in PRELOAD_FILE (the assignment's imports: NumPy, Matplotlib,
Keras; if they include ``cnnlib.data``, it also reads the data files ahead), then answers one
request at a time, each a line of JSON read from the pipe REQUESTS_FD, with a line of JSON
written to the pipe REPLIES_FD:

- ``{"op": "start", "arguments": A, "run_dir": D, "scratch_mb": N}``: ends whatever still runs in
  the sandbox (the last kernel and anything it left behind), then forks a kernel: ipykernel run
  with the command-line arguments A (its connection file among them), in its own space
  (``autograder.sandbox.kernel_space``: the folder D, a tmpfs of N MiB for ``D/work``, ``/tmp``
  and ``/dev/shm``, a fresh IPC namespace). Answers ``{"pid": N}``.
- ``{"op": "poll", "pid": N}``: ``{"status": null}`` while kernel N runs, else its exit status.
- ``{"op": "signal", "pid": N, "signum": S}``: sends signal S to kernel N. Answers ``{}``.
- ``{"op": "stop", "pid": N}``: ends kernel N and everything else in the sandbox, as ``start``
  does first. Answers ``{"status": S}``.

A request about a kernel that is no longer the current one changes nothing; its status is that
of a killed process.

A kernel forked here starts in a fraction of the time a new one takes, and with its imports done.
What keeps one submission's kernel from reaching the next one's:

- only one kernel lives at a time: before the next starts, every other process of the sandbox's
  PID namespace is killed (``kill(-1)``). With the last of them goes the kernel's mount and IPC
  namespaces: its tmpfs and IPC objects, the only things it could write besides ipykernel's
  sockets (the grader deletes the kernel's folder);
- this process cannot be traced or read by its kernels (``PR_SET_DUMPABLE`` 0: its memory,
  environment and open files are closed to processes of the same user without privileges, and a
  sandboxed kernel has none), and a kernel holds neither of its pipes;
- a kernel that kills or stops this process ends its own sandbox: the grader sees the kernel die,
  or gets no answer, and starts a new sandbox.
"""

import contextlib
import ctypes
import importlib
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from autograder.sandbox import kernel_space

PR_SET_DUMPABLE = 4
SWEEP_SECONDS = 5
MATPLOTLIB_CACHE = "/tmp/matplotlib"
SWEPT = -signal.SIGKILL  # the status of a kernel that is no longer the current one
KERNEL_MODULES = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger", "IPython.extensions.storemagic")


def main(control_in, control_out, preload_file, fonts_folder):
    _set_dumpable(False)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # as ipykernel's
    for module in KERNEL_MODULES:  # what a kernel imports as it starts
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    # Matplotlib's cache must be writable: it lives in /tmp (each kernel's own), with the font
    # lists that the grader put in FONTS_FOLDER.
    font_lists = list(Path(fonts_folder).glob("fontlist-*.json"))
    os.environ["MPLCONFIGDIR"] = MATPLOTLIB_CACHE
    os.makedirs(MATPLOTLIB_CACHE, exist_ok=True)
    for font_list in font_lists:
        shutil.copy(font_list, MATPLOTLIB_CACHE)
    exec(Path(preload_file).read_text(), {})
    if "cnnlib.data" in sys.modules:  # the notebook loads data: unpack the data files once, here
        with contextlib.suppress(Exception):  # a bad file: each kernel then says what is wrong
            sys.modules["cnnlib.data"].read_ahead()
    kernel = None
    with os.fdopen(control_in, "r") as requests, os.fdopen(control_out, "w") as replies:
        for line in requests:
            request = json.loads(line)
            op = request["op"]
            current = kernel is not None and request.get("pid") == kernel.pid
            if op == "start":
                _sweep(kernel)
                kernel = Kernel(_fork_kernel(request, font_lists, (control_in, control_out)))
                reply = {"pid": kernel.pid}
            elif op == "poll":
                reply = {"status": kernel.poll() if current else SWEPT}
            elif op == "signal":
                if current and kernel.poll() is None:
                    os.kill(kernel.pid, request["signum"])
                reply = {}
            elif op == "stop":
                reply = {"status": _sweep(kernel) if current else SWEPT}
                kernel = None if current else kernel
            else:
                reply = {"error": f"unknown request {op!r}"}
            replies.write(json.dumps(reply) + "\n")
            replies.flush()


class Kernel:
    """A kernel forked by this process, and its exit status once it has ended."""

    def __init__(self, pid):
        self.pid = pid
        self.status = None

    def poll(self, block=False):
        """None while it runs, else its exit status (a negative signal number if killed)."""
        if self.status is None:
            done, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
            if done:
                self.status = os.waitstatus_to_exitcode(status)
        return self.status

    def kill(self):
        """Kill it (if it still runs) and return its exit status."""
        if self.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
        return self.poll(block=True)


def _set_dumpable(dumpable):
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, int(dumpable), 0, 0, 0)


def _fork_kernel(request, font_lists, control_fds):
    """Fork a kernel in its own space; in the child, this never returns."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        for fd in control_fds:
            os.close(fd)
        _set_dumpable(True)  # as any process: its own /proc files are its own again
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        kernel_space.run_kernel(request["arguments"], request["run_dir"], request["scratch_mb"], font_lists)
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        os._exit(code)


def _sweep(kernel):
    """Kill the kernel and every other process of the sandbox (and with them, their namespaces).

    Returns:
        the kernel's exit status (None if there was none).
    """
    status = kernel.kill() if kernel else None
    deadline = time.monotonic() + SWEEP_SECONDS
    while _others() and time.monotonic() < deadline:
        try:
            os.kill(-1, signal.SIGKILL)  # every process this one may signal, but itself and PID 1
        except ProcessLookupError:
            pass
        _reap()
        time.sleep(0.005)
    return status


def _others():
    """Processes of this PID namespace other than PID 1 (bubblewrap) and this one."""
    me = os.getpid()
    return [int(name) for name in os.listdir("/proc") if name.isdigit() and int(name) not in (1, me)]


def _reap():
    while True:
        try:
            done, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if done == 0:
            return


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4])
