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

:class:`ForkedProvisioner` is the jupyter_client provisioner of a forked kernel: it asks the
factory to start, poll, signal and stop it.
"""

import asyncio
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time

from jupyter_client.provisioning import LocalProvisioner

from autograder.sandbox.isolation import SandboxedKernelManager

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


class ForkedProvisioner(LocalProvisioner):
    """Starts, watches and stops a kernel through its ``KernelFactory``."""

    def __init__(self, factory, **kwargs):
        super().__init__(**kwargs)
        self.factory = factory
        self.status = None
        self.stopped = False

    @property
    def has_process(self):
        return self.pid is not None and self.status is None

    async def launch_kernel(self, cmd, **kwargs):
        self.pid = self.factory.start(cmd, self.parent.scratch)
        return self.connection_info

    async def poll(self):
        if self.status is None and self.pid is not None:
            self.status = self.factory.poll(self.pid)
        return self.status

    async def wait(self):
        while await self.poll() is None:
            await asyncio.sleep(0.05)
        return self.status

    async def send_signal(self, signum):
        if self.has_process:
            self.factory.signal(self.pid, signum)

    async def kill(self, restart=False):
        """End the kernel and everything it started."""
        if self.pid is not None and not self.stopped:
            status = self.factory.stop(self.pid)
            if self.status is None:
                self.status = status
            self.stopped = True

    async def terminate(self, restart=False):
        await self.send_signal(signal.SIGTERM)

    async def cleanup(self, restart=False):
        await self.kill()  # also when the kernel has exited: what it started may still run
        await super().cleanup(restart)
