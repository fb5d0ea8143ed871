"""A kernel manager whose kernels run in a sandbox: bubblewrap namespaces, resource limits, IPC sockets.

:class:`SandboxedKernelManager` starts each grading kernel as

    python -m autograder.sandbox.launcher LIMITS -- bwrap OPTIONS -- python -m ipykernel_launcher -f CONN

- **namespaces** (bubblewrap): its own user (uid 65534, no capabilities), PID, network, IPC, UTS
  and mount namespaces. ``/`` is an empty read-only tmpfs holding, read-only, only ``/usr``, the
  Python environment, the course library (``cnnlib``, with the assignment's graded references
  withheld: see ``autograder.judge.withheld``), ``autograder`` (the checks the notebooks import) and the
  data sets; read-write, only the kernel's scratch copy of the assignment's files and its socket
  folder. No course root, no ``course/``, no home directory, no other kernel's files.
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

import functools
import os
import shutil
import sys
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Dict, Integer, List, Unicode

from autograder.sandbox.launcher import remove_cgroup
from autograder.sandbox.namespaces import KEPT_VARIABLES, SANDBOX_UID, namespace_options
from autograder.sandbox.provisioner import ForkedProvisioner


class SandboxedKernelManager(AsyncKernelManager):
    """Kernels in a bubblewrap sandbox (or, with ``sandboxed=False``, only under limits)."""

    sandboxed = Bool(True, help="Run kernels in bubblewrap; False: under limits only.").tag(config=True)
    memory_mb = Integer(8192, help="Address-space limit (MiB).").tag(config=True)
    cpu_seconds = Integer(900, help="CPU time limit of the kernel process (s).").tag(config=True)
    file_mb = Integer(256, help="Largest file the kernel may write (MiB).").tag(config=True)
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
        self.run_dir = Path(tempfile.mkdtemp(prefix="cnn-course-kernel-", dir=factory and factory.kernels))
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
        launcher = [sys.executable, "-m", "autograder.sandbox.launcher", *limits, "--"]
        return launcher + self._bwrap_command(writable) + ["--", *command]

    def _bwrap_command(self, writable=None):
        """bubblewrap's options. ``writable``: the one folder of the run folder that the sandbox
        may write (by default, the whole run folder)."""
        scratch = str(self.scratch)
        command = [shutil.which("bwrap"), *namespace_options(), "--clearenv"]
        for name in KEPT_VARIABLES:
            if name in os.environ:
                command += ["--setenv", name, os.environ[name]]
        command += ["--setenv", "HOME", scratch, "--setenv", "TMPDIR", "/tmp",
                    "--setenv", "MPLCONFIGDIR", str(self.run_dir / "matplotlib"),
                    "--setenv", "PYTHONDONTWRITEBYTECODE", "1", "--setenv", "PYTHONNOUSERSITE", "1",
                    "--setenv", "PYTHONWARNINGS", os.environ.get("PYTHONWARNINGS", "ignore")]
        for name, value in self.environment.items():
            command += ["--setenv", name, value]
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
        command += ["--remount-ro", "/", "--chdir", scratch]
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
        shutil.rmtree(self.run_dir, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources


@functools.cache
def _matplotlib_fontlists():
    """The grader's matplotlib font cache, so that a kernel need not rebuild it (a second or more)."""
    folder = Path(os.environ.get("MPLCONFIGDIR") or Path.home() / ".cache" / "matplotlib")
    return tuple(folder.glob("fontlist-*.json")) if folder.is_dir() else ()
