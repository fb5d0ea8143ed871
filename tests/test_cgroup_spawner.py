"""A server's cgroup (deploy/cgroup_spawner.py), without a hub: its limits as the cgroup file system
reports them, and everything started in it, in any session, killed when it is removed."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))
import hub_checks  # noqa: E402
from cgroup_spawner import Cgroup  # noqa: E402

PARENT = f"cnn-course-test-{os.getpid()}"
pytestmark = pytest.mark.skipif(os.geteuid() != 0 or bool(hub_checks.cgroup_problem(PARENT)),
                                reason="needs root and a writable cgroup file system")


def test_limits_and_what_outlives_its_session_end_with_the_group():
    group = Cgroup(f"{PARENT}/alice")
    group.create(300 * 2**20, 0.25, 64)
    try:
        assert group.limits() == {"memory": 300 * 2**20, "cpus": 0.25, "processes": 64}
        # A shell in the group starts a sleep in a session of its own, prints its pid and exits.
        shell = subprocess.run(["sh", "-c", "setsid sleep 300 >/dev/null 2>&1 & echo $!"], capture_output=True,
                               text=True, check=True, preexec_fn=lambda: group.join(os.getpid()))
        sleeper = int(shell.stdout)
        started = time.monotonic() + 5  # setsid may not have left the shell's session yet
        while os.getsid(sleeper) == os.getsid(0) and time.monotonic() < started:
            time.sleep(0.02)
        assert sleeper in group.pids() and os.getsid(sleeper) != os.getsid(0)
        # Past the memory limit: the process is killed, not this test.
        hog = subprocess.run([sys.executable, "-c", "x = b'1' * (600 * 2**20); print('allocated')"],
                             capture_output=True, text=True, preexec_fn=lambda: group.join(os.getpid()))
        assert hog.returncode != 0 and "allocated" not in hog.stdout
    finally:
        killed = group.remove()
        Cgroup(PARENT).remove()
    assert sleeper in killed and not any(folder.exists() for folder in group.folders)
    deadline = time.monotonic() + 5
    while Path(f"/proc/{sleeper}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{sleeper}").exists()


def test_removing_a_parent_takes_the_groups_below_it_and_their_processes():
    """A hub's group, with one student's group left behind empty and another's still running a
    process: does removing the hub's group kill that process and remove all three folders?"""
    left, running = Cgroup(f"{PARENT}/hub/left"), Cgroup(f"{PARENT}/hub/running")
    left.create(None, None, None)
    running.create(None, None, None)
    sleeper = subprocess.Popen(["sleep", "300"], preexec_fn=lambda: running.join(os.getpid()))
    try:
        killed = Cgroup(f"{PARENT}/hub").remove()
    finally:
        sleeper.kill()
        sleeper.wait()
        Cgroup(PARENT).remove()
    assert sleeper.pid in killed
    assert not any(folder.exists() for group in (left, running) for folder in group.folders)
