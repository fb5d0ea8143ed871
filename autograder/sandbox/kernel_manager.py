"""A kernel manager whose kernels run in a sandbox: bubblewrap namespaces, resource limits, IPC sockets.

:class:`SandboxedKernelManager` starts each grading kernel as

    python -m autograder.sandbox.launcher LIMITS -- bwrap OPTIONS -- python -m ipykernel_launcher -f CONN

- **namespaces** (bubblewrap): its own user (uid 65534, no capabilities), PID, network, IPC, UTS
  and mount namespaces. ``/`` is an empty read-only tmpfs holding, read-only, only ``/usr``, the
  Python environment, the course library (``cnnlib``, with the assignment's graded references
  withheld: see ``autograder.judge.withheld``), ``autograder`` (the checks the notebooks import) and the
  data sets. No course root, no ``course/``, no home directory, no other kernel's files.
- **its own space** (``autograder.sandbox.kernel_space``): its working directory (a copy of the
  assignment's files), ``/tmp`` and ``/dev/shm`` on one tmpfs of ``scratch_mb`` MiB that ends with
  the kernel, a fresh IPC namespace, and nothing else writable once its sockets are made.
- **an empty environment**: bubblewrap itself starts with only the variables the kernel gets
  (``KEPT_VARIABLES`` and the sandbox's own), so no process in the sandbox sees the grader's.
- **no network**: the kernel talks to the grader over IPC sockets in its own folder
  (``transport="ipc"``); its network namespace has nothing but an isolated loopback.
- **everything it starts dies with it**: bubblewrap is PID 1 of the kernel's PID namespace, and
  ``--die-with-parent`` ends it with the grader.
- **limits** (``autograder.sandbox.launcher``, set before bubblewrap starts, inherited and impossible to
  raise without privileges): address space, CPU seconds, file size, open files, and processes
  (a pids cgroup, where one can be made).
- interrupts are sent as messages, since signals would reach bubblewrap, not the kernel.

Where bubblewrap cannot run, the kernel runs with the same limits but without the namespaces
(``autograder.sandbox.namespaces``).
"""

import contextlib
import functools
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Dict, Integer, List, Unicode

from autograder.errors import SocketPathTooLong
from autograder.sandbox import kernel_space
from autograder.sandbox.launcher import remove_cgroup
from autograder.sandbox.namespaces import KEPT_VARIABLES, SANDBOX_UID, namespace_options
from autograder.sandbox.provisioner import ForkedProvisioner


SOCKET_PATH_BYTES = 107  # what a Unix socket's address holds, its final NUL aside
SHORT_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm")  # where run folders go when TMPDIR is too long
FACTORY_PREFIX, KERNEL_PREFIX = "cnn-course-kernel-", "kernel-"
# The longest path of a socket below a run folder's base: a factory's folder, its kernels' folder,
# a kernel's folder, the socket's name (ipykernel's "socket-N", the grader's "calls-XXXXXXXX.sock").
SOCKET_BELOW_BASE = len(f"/{FACTORY_PREFIX}12345678/kernels/{KERNEL_PREFIX}12345678/calls-12345678.sock")


def run_folder_base():
    """The folder for kernels' run folders: the temporary folder (``TMPDIR``), or where that is too
    long for the sockets in them, the first short one of /tmp, /var/tmp and /dev/shm that is writable.

    Raises:
        SocketPathTooLong: none of them is short enough and writable.
    """
    for base in (tempfile.gettempdir(), *SHORT_FOLDERS):
        if len(os.fsencode(base)) + SOCKET_BELOW_BASE <= SOCKET_PATH_BYTES and os.access(base, os.W_OK | os.X_OK):
            return base
    raise SocketPathTooLong(
        f"Kernels talk to the grader over Unix sockets, whose paths are limited to {SOCKET_PATH_BYTES} bytes, "
        f"and the temporary folder {tempfile.gettempdir()!r} would make them longer, with no shorter "
        f"writable folder ({', '.join(SHORT_FOLDERS)}) to use instead. Set TMPDIR to a writable folder "
        f"of at most {SOCKET_PATH_BYTES - SOCKET_BELOW_BASE} characters.")


class SandboxedKernelManager(AsyncKernelManager):
    """Kernels in a bubblewrap sandbox (or, with ``sandboxed=False``, only under limits)."""

    sandboxed = Bool(True, help="Run kernels in bubblewrap; False: under limits only.").tag(config=True)
    memory_mb = Integer(8192, help="Address-space limit (MiB).").tag(config=True)
    cpu_seconds = Integer(900, help="CPU time limit of the kernel process (s).").tag(config=True)
    file_mb = Integer(256, help="Largest file the kernel may write (MiB).").tag(config=True)
    scratch_mb = Integer(512, help="Its working directory, /tmp and /dev/shm together (MiB).").tag(config=True)
    processes = Integer(256, help="Processes and threads the kernel may run at once.").tag(config=True)
    open_files = Integer(1024, help="Open file descriptors.").tag(config=True)
    library = Dict(help="Real folder -> folder shown in its place (the withheld copy of cnnlib).").tag(config=True)
    readable = List(Unicode(), help="Extra folders or files the kernel may read (data sets).").tag(config=True)
    environment = Dict(help="Extra environment variables inside the sandbox (where the data is).").tag(config=True)

    def __init__(self, factory=None, **kwargs):
        """``factory``: a ``factory.KernelFactory`` to fork the kernel from, in the factory's
        sandbox (the kernel's folder is then made inside the folder the factory may write)."""
        super().__init__(**kwargs)
        self.factory = factory
        self.run_dir = Path(tempfile.mkdtemp(prefix=KERNEL_PREFIX if factory else FACTORY_PREFIX,
                                             dir=factory.kernels if factory else run_folder_base()))
        self.scratch = self.run_dir / "work"  # the kernel's working directory, all it may write
        self.scratch.mkdir()
        self.transport = "ipc"
        self.ip = str(self.run_dir / "socket")
        self.connection_file = str(self.run_dir / "connection.json")
        self.kernel_spec.interrupt_mode = "message"

    async def _async_pre_start_kernel(self, **kwargs):
        if self.factory is not None and self.provisioner is None:
            self.provisioner = ForkedProvisioner(kernel_id=self.kernel_id or "", kernel_spec=self.kernel_spec,
                                                 parent=self, factory=self.factory)
        return await super()._async_pre_start_kernel(**kwargs)

    def format_kernel_cmd(self, extra_arguments=None):
        kernel = super().format_kernel_cmd(extra_arguments)
        if self.factory is not None:  # forked by the factory: the command only names the kernel
            return kernel
        if self.sandboxed:  # ipykernel in a space of its own, as a forked kernel would be
            arguments = kernel[kernel.index("ipykernel_launcher") + 1:]
            kernel = [sys.executable, "-m", "autograder.sandbox.kernel_space", str(self.run_dir),
                      str(self.scratch_mb), str(self.run_dir / "matplotlib"), "--", *arguments]
        return self.sandbox_command(kernel)

    def sandbox_command(self, command, writable=None):
        """``command`` as run under this manager's limits, in a sandbox unless ``sandboxed`` is
        'no' (then with the withheld library first on the module path). ``writable``: see
        ``_bwrap_command``."""
        limits = [f"--memory-mb={self.memory_mb}", f"--cpu-seconds={self.cpu_seconds}",
                  f"--file-mb={self.file_mb}", f"--processes={self.processes}",
                  f"--open-files={self.open_files}", f"--cgroup-name={self.run_dir.name}"]
        if not self.sandboxed:
            # No namespaces to hide the real library: the withheld copy comes first on the path.
            copies = sorted({str(Path(shown).parent) for real, shown in self.library.items() if real != shown})
            limits += [f"--python-path={path}" for path in copies]
            return [sys.executable, "-m", "autograder.sandbox.launcher", *limits, "--", *command]
        # bubblewrap starts with the kernel's environment and nothing else: it is PID 1 of the
        # sandbox, and its /proc/1/environ can be read there.
        limits += [f"--env={name}={value}" for name, value in self.sandbox_environment().items()]
        launcher = [sys.executable, "-m", "autograder.sandbox.launcher", *limits, "--"]
        return launcher + self._bwrap_command(writable) + ["--", *command]

    def sandbox_environment(self):
        """The environment of bubblewrap and all in the sandbox: the variables in
        ``KEPT_VARIABLES`` that the grader has, and the sandbox's own."""
        kept = {name: os.environ[name] for name in KEPT_VARIABLES if name in os.environ}
        return {**kept, "HOME": str(self.scratch), "TMPDIR": "/tmp", "MPLCONFIGDIR": "/tmp/matplotlib",
                "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
                "PYTHONWARNINGS": os.environ.get("PYTHONWARNINGS", "ignore"), **self.environment}

    def _bwrap_command(self, writable=None):
        """bubblewrap's options. ``writable``: the one folder of the run folder that the sandbox
        may write (by default, the whole run folder)."""
        scratch = str(self.scratch)
        command = [shutil.which("bwrap"), *namespace_options()]
        # An empty /tmp first: what is bound below stays visible even if it lives under /tmp (a
        # project cloned there, the withheld library, the kernel's own folder).
        command += ["--tmpfs", "/tmp"]
        for folder in ("/usr", "/bin", "/lib", "/lib64", "/sbin"):
            path = Path(folder)
            if path.is_symlink():
                command += ["--symlink", os.readlink(path), folder]
            elif path.exists():
                command += ["--ro-bind", folder, folder]
        for path in sorted({sys.base_prefix, sys.prefix, *self.readable}):
            if not path.startswith("/usr/") and Path(path).exists():
                command += ["--ro-bind", path, path]
        for real, shown in self.library.items():
            command += ["--ro-bind", shown, real]
        self._write_identity()
        command += ["--ro-bind", str(self.run_dir / "passwd"), "/etc/passwd",
                    "--ro-bind", str(self.run_dir / "group"), "/etc/group"]
        for file in ("/etc/ld.so.cache", "/etc/localtime"):
            if Path(file).exists():
                command += ["--ro-bind", file, file]
        command += ["--proc", "/proc", "--dev", "/dev"]
        if writable is None:
            command += ["--bind", str(self.run_dir), str(self.run_dir)]
        else:
            command += ["--ro-bind", str(self.run_dir), str(self.run_dir), "--bind", str(writable), str(writable)]
        command += ["--dir", kernel_space.STAGING, "--remount-ro", "/", "--chdir", scratch]
        return command

    def _write_identity(self):
        """/etc/passwd and /etc/group naming the sandbox's one user, and a matplotlib cache."""
        (self.run_dir / "passwd").write_text(f"student:x:{SANDBOX_UID}:{SANDBOX_UID}::/tmp:/bin/false\n")
        (self.run_dir / "group").write_text(f"student:x:{SANDBOX_UID}:\n")
        cache = self.run_dir / "matplotlib"
        cache.mkdir(exist_ok=True)
        for fontlist in _matplotlib_fontlists():
            shutil.copy(fontlist, cache / fontlist.name)

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            self.remove_run_folder()

    def remove_run_folder(self):
        """Delete the run folder, and the pids cgroup of what was started in it."""
        remove_cgroup(self.run_dir.name)
        remove_tree(self.run_dir)

    cleanup_resources = _async_cleanup_resources


def remove_tree(path):
    """Delete ``path`` and all it holds, opening nothing but folders (never following a link):
    a FIFO, a device or a link that a kernel left is unlinked, never opened. Best effort: what
    cannot be deleted is left."""
    with contextlib.suppress(OSError):
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            os.unlink(path)
            return
        os.chmod(path, 0o700)
        folder = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            _empty(folder)
        finally:
            os.close(folder)
        os.rmdir(path)


def _empty(folder):
    """Delete what the open folder ``folder`` (a descriptor) holds."""
    with os.scandir(folder) as entries:
        names = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]
    for name, is_folder in names:
        with contextlib.suppress(OSError):
            if not is_folder:
                os.unlink(name, dir_fd=folder)
                continue
            os.chmod(name, 0o700, dir_fd=folder)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder)
            try:
                _empty(inner)
            finally:
                os.close(inner)
            os.rmdir(name, dir_fd=folder)


@functools.cache
def _matplotlib_fontlists():
    """The grader's matplotlib font cache, so that a kernel need not rebuild it (a second or more)."""
    folder = Path(os.environ.get("MPLCONFIGDIR") or Path.home() / ".cache" / "matplotlib")
    return tuple(folder.glob("fontlist-*.json")) if folder.is_dir() else ()
