"""Kernels forked from one sandbox, one after another: what one leaves behind reaches no later one.

Each test starts kernels from a ``KernelFactory`` as grading does, runs a hostile submission's code
in the first, and looks from the next one (or from the grader) at what is left.
"""


import pytest
from jupyter_client import BlockingKernelClient
from jupyter_core.utils import run_sync

from autograder.course.config import Limits, kernel_config
from autograder.sandbox import factory as kernel_factory
from autograder.sandbox import namespaces
from autograder.sandbox.kernel_manager import SandboxedKernelManager

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not namespaces.probe()[0], reason="bubblewrap cannot run here")]

CONFIG = kernel_config(Limits())


@pytest.fixture
def factory():
    made = kernel_factory.KernelFactory(CONFIG, "import numpy\n")
    yield made
    made.close()


def start(factory):
    """A kernel forked from ``factory`` and a client to it."""
    manager = SandboxedKernelManager(kernel_name="python3", config=CONFIG, factory=factory)
    run_sync(manager.start_kernel)(cwd=str(manager.scratch))
    client = BlockingKernelClient(connection_file=manager.connection_file)
    client.load_connection_file()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    return manager, client


def run(client, code):
    """What ``code`` prints in the kernel (its error's name and value if it fails)."""
    printed = []

    def keep(message):
        content = message["content"]
        if message["msg_type"] == "stream":
            printed.append(content["text"])
        elif message["msg_type"] == "error":
            printed.append(f"{content['ename']}: {content['evalue']}")

    client.execute_interactive(code, output_hook=keep, timeout=60)
    return "".join(printed)


def stop(manager, client):
    client.stop_channels()
    run_sync(manager.shutdown_kernel)(now=True)


LEAVE_BEHIND = """
import os, subprocess
subprocess.Popen(['sleep', '300'], start_new_session=True)
if os.fork() == 0:  # a daemon of its own, out of the kernel's process group
    os.setsid()
    import time
    time.sleep(300)
    os._exit(0)
for path in ('/tmp/planted', '/dev/shm/planted', '/tmp/matplotlib/matplotlibrc'):
    try:
        open(path, 'w').write('backend: agg')
    except OSError as error:
        print('cannot write', path, type(error).__name__)
os.makedirs('/tmp/deep/er', exist_ok=True)
open('/tmp/deep/er/planted', 'w').write('x')
print('planted')
"""
LOOK_AROUND = """
import os
others = sorted(int(p) for p in os.listdir('/proc') if p.isdigit() and int(p) not in (1, os.getpid(), os.getppid()))
print('others', others)
for top in ('/tmp', '/dev/shm'):  # all that is on the sandbox's own file systems, not bound in
    device = os.lstat(top).st_dev
    for folder, subfolders, files in os.walk(top):
        subfolders[:] = [name for name in subfolders if os.lstat(os.path.join(folder, name)).st_dev == device]
        print('files', folder, sorted(subfolders), sorted(files))
print('kernels', len(os.listdir(os.path.dirname(os.path.dirname(os.getcwd())))))
"""


def test_what_a_kernel_leaves_behind_is_gone_before_the_next_one_starts(factory):
    """Do processes a kernel started (a daemon included) and files it wrote outside its folder
    reach the next kernel of the same factory?"""
    first, client = start(factory)
    before = run(client, LOOK_AROUND)
    assert "planted" in run(client, LEAVE_BEHIND)
    assert "planted" in run(client, LOOK_AROUND) and "matplotlibrc" in run(client, LOOK_AROUND)
    stop(first, client)
    second, client = start(factory)
    try:
        after = run(client, LOOK_AROUND)
    finally:
        stop(second, client)
    assert "others []" in before and after == before  # the kernel's own folder is its only one


def test_a_kernel_cannot_read_or_trace_the_process_it_was_forked_from(factory):
    """Are the factory's memory, environment and open files (its request pipes) closed to its
    kernels?"""
    manager, client = start(factory)
    try:
        seen = run(client, """
import os
parent = os.getppid()
for name in ('mem', 'environ', 'maps'):
    try:
        print('READ', name, open(f'/proc/{parent}/{name}', 'rb').read(64))
    except OSError as error:
        print('BLOCKED', name, type(error).__name__)
descriptors = os.listdir(f'/proc/{parent}/fd')  # their numbers are no secret; the pipes are
for fd in descriptors:
    try:
        print('OPENED', fd, os.readlink(f'/proc/{parent}/fd/{fd}'), os.open(f'/proc/{parent}/fd/{fd}', os.O_WRONLY))
    except OSError as error:
        print('BLOCKED fd', type(error).__name__)
print('descriptors', len(descriptors))
""")
    finally:
        stop(manager, client)
    descriptors = int(seen.split("descriptors ")[1])
    assert "READ" not in seen and "OPENED" not in seen and seen.count("BLOCKED") == 3 + descriptors > 3


def test_a_kernel_that_kills_its_factory_costs_only_itself(monkeypatch):
    """When a kernel kills (or stops) the factory, does the grader see that kernel end, and fork
    the next kernel from a new factory?"""
    monkeypatch.setattr(kernel_factory, "REPLY_SECONDS", 2)
    for attack in ("os.kill(os.getppid(), 9)", "os.kill(os.getppid(), 19)"):  # SIGKILL, SIGSTOP
        factory = kernel_factory.thread_factory("python3", {"attack": attack}, CONFIG, "import numpy\n")
        manager, client = start(factory)
        client.execute(f"import os\n{attack}")
        status = run_sync(manager.provisioner.wait)()
        assert status == kernel_factory.KILLED and not factory.alive
        stop(manager, client)
        again = kernel_factory.thread_factory("python3", {"attack": attack}, CONFIG, "import numpy\n")
        assert again is not factory
        manager, client = start(again)
        assert run(client, "print(6 * 7)") == "42\n"
        stop(manager, client)
    kernel_factory.close_factories()
