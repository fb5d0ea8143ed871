"""Inside a grading sandbox: start kernels by forking one process that has imported their modules.

    python -m autograder.sandbox.zygote REQUESTS_FD REPLIES_FD PRELOAD_FILE

Run by ``autograder.sandbox.factory.KernelFactory`` as the sandbox's command, in place of a kernel. It
imports ipykernel and runs the code in PRELOAD_FILE (the assignment's imports: NumPy, Matplotlib,
Keras; if they include ``cnnlib.data``, it also reads the data files ahead), then answers one
request at a time, each a line of JSON read from the pipe REQUESTS_FD, with a line of JSON
written to the pipe REPLIES_FD:

- ``{"op": "start", "arguments": A, "cwd": D}``: ends whatever still runs in the sandbox (the
  last kernel and anything it left behind), empties the sandbox's ``/tmp`` and ``/dev/shm``,
  then forks a kernel, ipykernel run with the command-line arguments A (its connection file
  among them) in folder D. Answers ``{"pid": N}``.
- ``{"op": "poll", "pid": N}``: ``{"status": null}`` while kernel N runs, else its exit status.
- ``{"op": "signal", "pid": N, "signum": S}``: sends signal S to kernel N. Answers ``{}``.
- ``{"op": "stop", "pid": N}``: ends kernel N and everything else in the sandbox, as ``start``
  does first. Answers ``{"status": S}``.

A request about a kernel that is no longer the current one changes nothing; its status is that
of a killed process.

A kernel forked here starts in a fraction of the time a new one takes, and with its imports done.
What keeps one submission's kernel from reaching the next one's:

- only one kernel lives at a time: before the next starts, every other process of the sandbox's
  PID namespace is killed (``kill(-1)``), and the only places the sandbox may write besides the
  kernel's own folder are emptied (the grader deletes that folder);
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
import stat
import sys
import time
from pathlib import Path

PR_SET_DUMPABLE = 4
WRITABLE = ("/tmp", "/dev/shm")
SWEEP_SECONDS = 5
MATPLOTLIB_CACHE = "/tmp/matplotlib"
SWEPT = -signal.SIGKILL  # the status of a kernel that is no longer the current one
KERNEL_MODULES = ("ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger", "IPython.extensions.storemagic")


def main(control_in, control_out, preload_file):
    _set_dumpable(False)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # as ipykernel's
    from ipykernel import kernelapp

    for module in KERNEL_MODULES:  # what a kernel imports as it starts
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    # Matplotlib's cache must be writable, and is shared by the kernels: it lives in /tmp, which
    # is emptied before each kernel, and gets the font list that the grader put in MPLCONFIGDIR.
    font_lists = list(Path(os.environ.get("MPLCONFIGDIR", "/nonexistent")).glob("fontlist-*.json"))
    os.environ["MPLCONFIGDIR"] = MATPLOTLIB_CACHE
    _sweep(None, font_lists)
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
                _sweep(kernel, font_lists)
                kernel = Kernel(_fork_kernel(kernelapp, request["arguments"], request["cwd"],
                                             (control_in, control_out)))
                reply = {"pid": kernel.pid}
            elif op == "poll":
                reply = {"status": kernel.poll() if current else SWEPT}
            elif op == "signal":
                if current and kernel.poll() is None:
                    os.kill(kernel.pid, request["signum"])
                reply = {}
            elif op == "stop":
                reply = {"status": _sweep(kernel, font_lists) if current else SWEPT}
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


def _fork_kernel(kernelapp, arguments, cwd, control_fds):
    """Fork a kernel; in the child, this never returns."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        for fd in control_fds:
            os.close(fd)
        _set_dumpable(True)  # as any process: its own /proc files are its own again
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.chdir(cwd)
        os.environ["HOME"] = cwd
        sys.argv = ["ipykernel_launcher", *arguments]
        kernelapp.IPKernelApp.launch_instance(argv=arguments)
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        os._exit(code)


def _sweep(kernel, font_lists):
    """Kill the kernel and every other process of the sandbox, then reset what it may write.

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
    _reset_writable(font_lists)
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


def _reset_writable(font_lists):
    """Empty the places other than the kernels' folders that the sandbox may write, then give
    Matplotlib its cache folder with the grader's font lists."""
    for folder in WRITABLE:
        if os.path.isdir(folder):
            _empty(folder, os.lstat(folder).st_dev)
    os.mkdir(MATPLOTLIB_CACHE)
    for font_list in font_lists:
        shutil.copy(font_list, MATPLOTLIB_CACHE)


def _empty(folder, device):
    """Delete what ``folder`` holds, except the folders the grader bound into it (which are on
    another device than ``device``) and the folders leading to them."""
    with contextlib.suppress(OSError):
        os.chmod(folder, 0o700)
    with os.scandir(folder) as entries:
        for entry in list(entries):
            info = entry.stat(follow_symlinks=False)
            if info.st_dev != device:
                continue
            if stat.S_ISDIR(info.st_mode):
                _empty(entry.path, device)
                with contextlib.suppress(OSError):  # it leads to a folder bound in
                    os.rmdir(entry.path)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
