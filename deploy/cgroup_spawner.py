"""Each user's server in a cgroup of its own: memory, CPU and process limits, and everything it
started ends when it stops (JupyterHub's LocalProcessSpawner, plus cgroups written directly).

Where systemd runs, JupyterHub's SystemdSpawner does the same; containers usually have no
systemd, so the hub writes the cgroup file system itself, v2 (one tree, ``memory.max``,
``cpu.max``, ``pids.max``) or v1 (one tree per controller, ``memory.limit_in_bytes``,
``cpu.cfs_quota_us``, ``pids.max``), as the grader's launcher does for grading kernels.

A user's group is ``<cgroup root>/<CgroupSpawner.cgroup_parent>/<user name>``. The server's
process joins it between fork and exec, before it becomes the user, so that all it starts, in
whatever session, is in it; stopping the server kills what is left in the group and removes it.
"""

import asyncio
import errno
import os
import signal
import time
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner
from traitlets import Integer, Unicode

ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "cpu", "pids")
CPU_PERIOD_US = 100_000


def is_v2():
    """Whether the cgroup file system is v2 (unified): it has ``cgroup.controllers`` at its root."""
    return (ROOT / "cgroup.controllers").exists()


class Cgroup:
    """One cgroup, ``relative`` to the cgroup root: one folder (v2) or one per controller (v1)."""

    def __init__(self, relative):
        self.relative = Path(relative)
        self.folders = [ROOT / self.relative] if is_v2() else [ROOT / c / self.relative for c in CONTROLLERS]

    def create(self, memory_bytes, cpus, processes):
        """Make the group with its limits (0 or None: no limit on that).

        Raises:
            RuntimeError: naming the file that could not be written (no writable cgroup file system).
        """
        try:
            if is_v2():
                self._create_v2(memory_bytes, cpus, processes)
            else:
                self._create_v1(memory_bytes, cpus, processes)
        except OSError as error:
            raise RuntimeError(f"cannot make the cgroup {self.relative} ({error}): the hub needs a writable "
                               f"cgroup file system at {ROOT} with the {', '.join(CONTROLLERS)} controllers "
                               "(run it as root; in a container, give it its own cgroup namespace)") from error

    def _create_v2(self, memory_bytes, cpus, processes):
        folder = ROOT
        for part in self.relative.parts:
            _hand_down_controllers(folder)
            folder = folder / part
            folder.mkdir(exist_ok=True)
        if memory_bytes:
            (folder / "memory.max").write_text(str(int(memory_bytes)))
            if (folder / "memory.swap.max").exists():
                (folder / "memory.swap.max").write_text("0")
        if cpus:
            (folder / "cpu.max").write_text(f"{int(cpus * CPU_PERIOD_US)} {CPU_PERIOD_US}")
        if processes:
            (folder / "pids.max").write_text(str(processes))

    def _create_v1(self, memory_bytes, cpus, processes):
        memory, cpu, pids = self.folders
        for folder in self.folders:
            folder.mkdir(parents=True, exist_ok=True)
        if memory_bytes:
            (memory / "memory.limit_in_bytes").write_text(str(int(memory_bytes)))
        if cpus:
            (cpu / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
            (cpu / "cpu.cfs_quota_us").write_text(str(int(cpus * CPU_PERIOD_US)))
        if processes:
            (pids / "pids.max").write_text(str(processes))

    def limits(self):
        """{memory bytes, cpus, processes} as the cgroup file system reports them (None: no limit)."""
        def number(path):
            text = path.read_text().split()[0]
            return None if text in ("max", "-1") else int(text)

        if is_v2():
            (folder,) = self.folders
            quota, period = (folder / "cpu.max").read_text().split()
            return {"memory": number(folder / "memory.max"), "processes": number(folder / "pids.max"),
                    "cpus": None if quota == "max" else int(quota) / int(period)}
        memory, cpu, pids = self.folders
        quota = number(cpu / "cpu.cfs_quota_us")
        return {"memory": number(memory / "memory.limit_in_bytes"), "processes": number(pids / "pids.max"),
                "cpus": None if quota is None else quota / number(cpu / "cpu.cfs_period_us")}

    def join(self, pid):
        for folder in self.folders:
            (folder / "cgroup.procs").write_text(str(pid))

    def pids(self):
        """The process ids in the group (all its folders)."""
        found = set()
        for folder in self.folders:
            if (folder / "cgroup.procs").exists():
                found.update(int(pid) for pid in (folder / "cgroup.procs").read_text().split())
        return found

    def remove(self, timeout=10):
        """Kill every process left in the group and in the groups below it, then remove their folders,
        deepest first. A folder the kernel still counts an exiting process in answers EBUSY for a
        moment: removal is tried again until ``timeout`` seconds have passed. Returns the pids killed."""
        killed, deadline = set(), time.monotonic() + timeout
        folders = [Path(root) for folder in self.folders if folder.is_dir()
                   for root, _, _ in os.walk(folder, topdown=False)]
        while True:
            pids = {int(pid) for folder in folders if (folder / "cgroup.procs").exists()
                    for pid in (folder / "cgroup.procs").read_text().split()}
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            killed |= pids
            for folder in folders:
                try:
                    folder.rmdir()
                except FileNotFoundError:
                    pass
                except OSError as error:
                    if error.errno != errno.EBUSY or time.monotonic() > deadline:
                        raise
            if not any(folder.is_dir() for folder in folders):
                return killed
            time.sleep(0.05)

def _hand_down_controllers(folder):
    """Enable the memory, cpu and pids controllers for the cgroups below ``folder`` (cgroup v2).

    In a container the cgroup root is the container's own cgroup, which holds its processes, and a
    cgroup with processes cannot hand controllers down (EBUSY, cgroup v2's "no internal processes"
    rule): its processes are first moved into a leaf, ``init``, as container init scripts do."""
    control = folder / "cgroup.subtree_control"
    missing = " ".join(f"+{c}" for c in CONTROLLERS if c not in control.read_text().split())
    if not missing:
        return
    try:
        control.write_text(missing)
    except OSError as error:
        if error.errno != errno.EBUSY or folder != ROOT:
            raise
        leaf = ROOT / "init"
        leaf.mkdir(exist_ok=True)
        for pid in (ROOT / "cgroup.procs").read_text().split():
            try:
                (leaf / "cgroup.procs").write_text(pid)
            except OSError:  # gone meanwhile, or a kernel thread
                pass
        control.write_text(missing)


class CgroupSpawner(LocalProcessSpawner):
    """LocalProcessSpawner whose servers run in a cgroup per user with ``mem_limit``, ``cpu_limit``
    and ``pids_limit``; stopping a server ends every process it started."""

    cgroup_parent = Unicode("cnn-course-hub", help="the folder of the users' cgroups under the cgroup root"
                            ).tag(config=True)
    pids_limit = Integer(512, help="at most this many processes and threads per user (0: no limit)"
                         ).tag(config=True)

    def cgroup(self):
        return Cgroup(Path(self.cgroup_parent) / self.user.name)

    async def start(self):
        group = self.cgroup()
        await asyncio.to_thread(group.remove)  # what an earlier server of this user left behind
        group.create(self.mem_limit, self.cpu_limit, self.pids_limit)
        return await super().start()

    def make_preexec_fn(self, name):
        become_user, group = super().make_preexec_fn(name), self.cgroup()

        def preexec():
            group.join(os.getpid())
            become_user()

        return preexec

    async def stop(self, now=False):
        await super().stop(now=now)
        killed = await asyncio.to_thread(self.cgroup().remove)
        if killed:
            self.log.info("Stopped %s's server: killed %d processes left in its cgroup", self.user.name, len(killed))
