"""Grading kernels forked, one at a time, from a sandboxed process that has done their imports.

A new kernel costs about a second of CPU to boot and another to import NumPy and Matplotlib
(several with Keras): as much as a short notebook's cells. A :class:`KernelFactory` boots one sandbox per
grading process and assignment, running ``autograder.sandbox.zygote``, which does both once; each kernel
is then a fork of it (about 0.3 s of CPU). What keeps the kernels of successive submissions
apart is described in ``autograder.sandbox.zygote``; the grader's side of it is here:

- each kernel's folder (its scratch copy, sockets and connection file) is made inside the one
  folder the sandbox may write, and every other folder there is deleted before a kernel starts;
- a factory that stops answering within ``REPLY_SECONDS``, or whose sandbox has ended, is shut
  down, taking whatever still runs in it; the next kernel is forked from a new factory.

A kernel manager drives a forked kernel through ``autograder.sandbox.provisioner``.
"""

import contextlib
import json
import multiprocessing.util
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time

from autograder.sandbox.kernel_manager import SandboxedKernelManager
from autograder.sandbox.namespaces import KEPT_VARIABLES

BOOT_SECONDS = 300  # the imports, Keras's included, on a machine busy with other grading
REPLY_SECONDS = 10
KILLED = -signal.SIGKILL


class FactoryGone(RuntimeError):
    """The factory ended or stopped answering."""


class KernelFactory:
    """A sandbox, under the settings in ``config``, that forks kernels having run ``preload``."""

    def __init__(self, config, preload):
        self.settings = SandboxedKernelManager(kernel_name="python3", config=config)
        self.kernels = self.settings.run_dir / "kernels"
        self.kernels.mkdir()
        preload_file = self.settings.run_dir / "preload.py"
        preload_file.write_text(preload)
        requests, self._requests = os.pipe()
        self._replies, replies = os.pipe()
        command = [sys.executable, "-m", "autograder.sandbox.zygote", str(requests), str(replies), str(preload_file)]
        self.process = subprocess.Popen(self.settings.sandbox_command(command, writable=self.kernels),
                                        pass_fds=(requests, replies))
        os.close(requests)
        os.close(replies)
        self._booted = False

    @property
    def alive(self):
        return self.process is not None and self.process.poll() is None

    def start(self, command, cwd):
        """Fork a kernel (after ending the last one and all it left) and return its PID.

        Args:
            command: the kernel's command line, ``[python, "-m", "ipykernel_launcher", ARGS...]``:
                the fork runs ipykernel with ARGS.
            cwd: its working directory, in a folder of its own in ``kernels``.

        Raises:
            FactoryGone: the factory ended or did not answer; it is shut down.
        """
        if "ipykernel_launcher" not in command:
            raise ValueError(f"Kernels forked for grading must be ipykernel's; this one runs {command}.")
        arguments = command[command.index("ipykernel_launcher") + 1:]
        for folder in self.kernels.iterdir():
            if folder != cwd.parent:
                shutil.rmtree(folder, ignore_errors=True)
        return self._ask({"op": "start", "arguments": arguments, "cwd": str(cwd)})["pid"]

    def poll(self, pid):
        """Kernel ``pid``'s exit status, None while it runs (``KILLED`` once the factory is gone)."""
        try:
            return self._ask({"op": "poll", "pid": pid})["status"]
        except FactoryGone:
            return KILLED

    def signal(self, pid, signum):
        try:
            self._ask({"op": "signal", "pid": pid, "signum": signum})
        except FactoryGone:
            pass

    def stop(self, pid):
        """End kernel ``pid`` and all it left; its exit status (``KILLED`` once the factory is gone)."""
        try:
            return self._ask({"op": "stop", "pid": pid})["status"]
        except FactoryGone:
            return KILLED

    def close(self):
        """End the sandbox and all in it, and delete its folder."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            os.close(self._requests)
            os.close(self._replies)
            self.process = None
        self.settings.remove_run_folder()

    def _ask(self, request):
        if not self.alive:
            self.close()
            raise FactoryGone("the kernel factory has ended")
        try:
            os.write(self._requests, (json.dumps(request) + "\n").encode())
            line = self._read_line(REPLY_SECONDS if self._booted else BOOT_SECONDS)
        except (OSError, FactoryGone) as error:
            self.close()
            raise FactoryGone(f"the kernel factory stopped answering ({error})") from error
        self._booted = True
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"kernel factory: {reply['error']}")
        return reply

    def _read_line(self, timeout):
        """One line from the replies pipe (each reply is one short write, read whole here)."""
        line = b""
        deadline = time.monotonic() + timeout
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._replies], [], [], left)[0]:
                raise FactoryGone(f"no answer in {timeout} s")
            chunk = os.read(self._replies, 65536)
            if not chunk:
                raise FactoryGone("its sandbox ended")
            line += chunk
        return line


# Per thread (Dask runs tasks side by side in threads): what a factory's kernels must match -> its
# KernelFactory.
_local = threading.local()


def thread_factory(kernel_name, settings, config, preload):
    """This thread's kernel factory for kernels of these settings, started if there is none; a
    factory for other settings (another assignment's) is closed."""
    key = repr((kernel_name, sorted(settings.items()), os.environ.get("NBGRADER_EXECUTION"),
                sorted((k, v) for k, v in os.environ.items() if k in KEPT_VARIABLES), preload))
    factories = _factories()
    if key in factories and factories[key].alive:
        return factories[key]
    close_factories()
    factories[key] = KernelFactory(config, preload)
    return factories[key]


def _factories():
    if not hasattr(_local, "factories"):
        _local.factories = {}
        multiprocessing.util.Finalize(None, close_factories, exitpriority=10)
    return _local.factories


def close_factories():
    """End this thread's kernel factories and what runs in them."""
    factories = _factories()
    while factories:
        factories.popitem()[1].close()


@contextlib.contextmanager
def keeping_factories():
    """Within it, this thread's factories outlive each notebook, for the next submission: the
    grading workers, which close them after their last (``autograder.grading.submission``).
    Elsewhere (nbgrader's autograde run by the Formgrader in a long-lived server) a notebook's
    factory ends with it: see :func:`end_unkept_factories`."""
    _local.keep = getattr(_local, "keep", 0) + 1
    try:
        yield
    finally:
        _local.keep -= 1


def end_unkept_factories():
    """After a notebook: close this thread's factories unless inside :func:`keeping_factories`."""
    if not getattr(_local, "keep", 0):
        close_factories()
