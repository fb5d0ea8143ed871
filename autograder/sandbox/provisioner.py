"""The jupyter_client provisioner of a kernel forked by a kernel factory.

:class:`ForkedProvisioner` starts, polls, signals and stops its kernel by asking the factory
(``autograder.sandbox.factory.KernelFactory``) it was given, which forks kernels inside its own
sandbox; the rest of jupyter_client (connection, interrupts by message, restarts) is unchanged.
"""

import asyncio
import signal

from jupyter_client.provisioning import LocalProvisioner


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
