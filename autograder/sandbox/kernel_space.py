"""A kernel's own space inside the sandbox: what it may write is its own, and dies with it.

Run in the sandbox, by the process that becomes the kernel, before it runs anything of the
submission (:func:`run_kernel`; or ``python -m autograder.sandbox.kernel_space RUN_DIR SIZE_MB
FONTS_FOLDER -- IPYKERNEL_ARGS`` for a kernel that is not forked). It enters a user, mount and IPC namespace of
its own, nested in the sandbox's, where:

- **one tmpfs of ``size_mb`` MiB** holds everything the kernel may write: its working directory
  (``RUN_DIR/work``, with a copy of the assignment's files that the grader put there), ``/tmp``
  and ``/dev/shm``. What is bound into the sandbox under ``/tmp`` (data sets, the library) stays
  visible, read-only. The tmpfs lives in memory and ends with the last process of the kernel's
  mount namespace: it is thrown away without anything in it being opened, by the grader or anyone.
- **nothing else is writable**: the folder the sandbox shares between kernels and ``/dev`` are
  made read-only, and so is the kernel's own folder once ipykernel has made its sockets there.
- **a fresh IPC namespace**: no SysV shared memory, semaphore or message queue, and no POSIX
  message queue, of an earlier kernel is visible.
- **no capabilities**: once the mounts are made, the process gives up every capability, so the
  submission cannot undo them (and mounts inherited from the sandbox are locked anyway).

Kept free of imports beyond the standard library (and ipykernel, once the space is made).
"""

import ctypes
import os
import shutil
import sys
import time
from pathlib import Path

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUSER = 0x00020000, 0x08000000, 0x10000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
KEPT_FLAGS = 0x1 | 0x2 | 0x4 | 0x8 | 0x400 | 0x800 | 0x1000  # statvfs's ST_* = MS_*: must be kept on remount
STAGING = "/.kernel"  # an empty folder the sandbox makes, where the tmpfs is prepared
PR_CAPBSET_DROP, CAPABILITY_VERSION_3 = 24, 0x20080522
HEARTBEAT_SECONDS = 5
_libc = ctypes.CDLL(None, use_errno=True)


class SpaceError(OSError):
    """The kernel's own space could not be made (the kernel then does not start)."""


def run_kernel(arguments, run_dir, size_mb, fonts=()):
    """Make the kernel's space (see the module docstring), then run ipykernel with ``arguments``
    in ``RUN_DIR/work``. Returns when the kernel ends.

    Args:
        arguments: ipykernel's command-line arguments (``-f CONNECTION_FILE`` among them).
        run_dir: the kernel's folder (connection file, sockets, ``work/``), which it may write
            until its sockets are made.
        size_mb: the tmpfs's size, for the working directory, /tmp and /dev/shm together.
        fonts: Matplotlib font lists to put in its cache (``$MPLCONFIGDIR``), so that it is not rebuilt.
    """
    run_dir = Path(run_dir)
    enter(run_dir, size_mb, fonts)
    os.chdir(run_dir / "work")
    os.environ["HOME"] = str(run_dir / "work")
    from ipykernel.kernelapp import IPKernelApp

    sys.argv = ["ipykernel_launcher", *arguments]
    app = IPKernelApp.instance()
    app.initialize(arguments)
    _wait_for(Path(f"{app.ip}-{app.hb_port}") if app.transport == "ipc" else None)
    _remount(run_dir, readonly=True)
    _drop_capabilities()
    app.start()


def check():
    """Make the namespaces, a small tmpfs on /tmp, and give up the capabilities, as a kernel would:
    run by ``autograder.sandbox.namespaces.probe`` in a sandbox of its own, which then ends."""
    _enter_namespaces()
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m")
    _drop_capabilities()


def enter(run_dir, size_mb, fonts=()):
    """Enter new user, mount and IPC namespaces and lay out the kernel's tmpfs (capabilities kept)."""
    _enter_namespaces()
    _mount("tmpfs", STAGING, "tmpfs", MS_NOSUID | MS_NODEV, f"size={int(size_mb)}m,mode=0755")
    staging = Path(STAGING)
    for name, mode in (("work", 0o700), ("tmp", 0o1777), ("shm", 0o1777)):
        (staging / name).mkdir()
        os.chmod(staging / name, mode)
    _copy(run_dir / "work", staging / "work")
    cache = os.environ.get("MPLCONFIGDIR", "")
    if cache.startswith("/tmp/"):
        (staging / cache[1:]).mkdir(parents=True)
        for font_list in fonts:
            shutil.copy(font_list, staging / cache[1:])
    _remount(_mount_point(run_dir), readonly=True)  # the folder shared with other kernels
    _mount(str(run_dir), str(run_dir), None, MS_BIND)
    _remount(run_dir, readonly=False)  # for ipykernel's sockets, until they are made
    _mount(str(staging / "work"), str(run_dir / "work"), None, MS_BIND)
    _remount(Path("/dev"), readonly=True)
    _mount(str(staging / "shm"), "/dev/shm", None, MS_BIND)
    for inside in _mounts_under("/tmp"):  # what is bound under /tmp stays, read-only as it was
        target = staging / "tmp" / inside.relative_to("/tmp")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.mkdir() if inside.is_dir() else target.touch()
        _mount(str(inside), str(target), None, MS_BIND | MS_REC)
    _mount(str(staging / "tmp"), "/tmp", None, MS_BIND | MS_REC)
    _check(_libc.umount2(STAGING.encode(), MNT_DETACH), f"umount {STAGING}")


def _enter_namespaces():
    """New user (the same user inside), mount and IPC namespaces, with every capability in them."""
    uid, gid = os.getuid(), os.getgid()
    _check(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWIPC), "unshare")
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)


def _copy(source, dest):
    """The assignment's files, as the grader put them in ``source``, into the tmpfs."""
    for path in source.iterdir():
        if path.is_symlink():
            continue
        if path.is_dir():
            shutil.copytree(path, dest / path.name, symlinks=True)
        else:
            shutil.copy(path, dest / path.name)


def _mounts_under(folder):
    """The topmost mount points below ``folder`` (those below them come along when bound)."""
    with open("/proc/self/mountinfo") as table:
        points = [line.split()[4].replace("\\040", " ") for line in table]
    points = {p for p in points if p.startswith(folder + "/")}  # a point mounted on twice is bound once
    return [Path(p) for p in sorted(points) if not any(p.startswith(q + "/") for q in points)]


def _mount_point(path):
    """The mount point of the mount ``path`` is on (a bind of a folder can share its device with
    its parent, so ``os.path.ismount`` cannot tell)."""
    with open("/proc/self/mountinfo") as table:
        points = [line.split()[4].replace("\\040", " ") for line in table]
    path = str(path)
    return Path(max((p for p in points if path == p or path.startswith(p.rstrip("/") + "/")), key=len))


def _remount(path, readonly):
    """Make the mount at ``path`` read-only or writable, keeping its other (locked) flags."""
    flags = os.statvfs(path).f_flag & KEPT_FLAGS & ~MS_RDONLY
    _mount(None, str(path), None, MS_REMOUNT | MS_BIND | flags | (MS_RDONLY if readonly else 0))


def _wait_for(socket_file):
    """Until ipykernel's heartbeat thread has made its socket (it binds it in its own thread)."""
    deadline = time.monotonic() + HEARTBEAT_SECONDS
    while socket_file is not None and not socket_file.exists() and time.monotonic() < deadline:
        time.sleep(0.002)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _drop_capabilities():
    """Give up every capability, for good (bounding set included)."""
    for capability in range(64):
        _libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)
    _check(_libc.capset(ctypes.byref(_CapHeader(CAPABILITY_VERSION_3, 0)), (_CapData * 2)()), "capset")


def _mount(source, target, fstype, flags, data=None):
    source, target, fstype, data = (text.encode() if text is not None else None for text in (source, target, fstype, data))
    _check(_libc.mount(source, target, fstype, flags, data), f"mount {target.decode()}")


def _check(result, what):
    if result != 0:
        error = ctypes.get_errno()
        raise SpaceError(error, f"the kernel's space could not be made ({what}: {os.strerror(error)})")


def main(argv):
    """``RUN_DIR SIZE_MB FONTS_FOLDER -- IPYKERNEL_ARGS``: a kernel that is not forked; ``--check``:
    whether a kernel's space can be made here (exit status 0, else the reason)."""
    try:
        if argv == ["--check"]:
            return check()
        split = argv.index("--")
        run_dir, size_mb, fonts_folder = argv[:split]
        run_kernel(argv[split + 1:], run_dir, int(size_mb), sorted(Path(fonts_folder).glob("fontlist-*.json")))
    except SpaceError as error:
        sys.exit(str(error))


if __name__ == "__main__":
    main(sys.argv[1:])
