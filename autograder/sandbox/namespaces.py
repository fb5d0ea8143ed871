"""bubblewrap's namespaces: whether they can be made here, and the options that make them.

Every grading kernel gets its own user (uid 65534, no capabilities), PID, network, IPC, UTS and
mount namespaces (:func:`namespace_options`); :func:`probe` says whether bubblewrap can make them
on this machine, and :func:`resolve` turns an isolation mode (``auto``, ``required``, ``off``) into
a decision. Where bubblewrap cannot run (macOS, Windows, a container without user namespaces),
kernels run with the same limits but without the namespaces, and grading says so.
"""

import functools
import shutil
import subprocess
import sys

from autograder.errors import IsolationUnavailable

SANDBOX_UID = 65534
# Environment variables a kernel keeps; everything else (tokens, the grader's paths) is dropped.
KEPT_VARIABLES = ("PATH", "LANG", "LC_ALL", "TZ", "CI", "NBGRADER_EXECUTION", "NBGRADER_VALIDATING",
                  "CNN_COURSE_MODE", "KERAS_BACKEND", "PYTHONWARNINGS", "MPLBACKEND",
                  "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                  "TF_NUM_INTEROP_THREADS", "TF_CPP_MIN_LOG_LEVEL", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


@functools.cache
def probe():
    """Can bubblewrap make the sandbox here?

    Returns:
        (True, "") or (False, the reason in a few words).
    """
    bwrap = shutil.which("bwrap")
    if sys.platform != "linux":
        return False, f"bubblewrap needs Linux (this is {sys.platform})"
    if not bwrap:
        return False, "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    command = [bwrap, *namespace_options(), "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev",
               "true"]
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, f"bubblewrap failed to start ({error})"
    if run.returncode != 0:
        return False, f"bubblewrap cannot create namespaces here ({run.stderr.strip()[:160]})"
    return True, ""


def resolve(mode):
    """Whether to sandbox kernels, for an isolation mode ``auto``, ``required`` or ``off``.

    Returns:
        (sandboxed, reason it is not) — reason is "" when sandboxed.

    Raises:
        IsolationUnavailable: mode ``required`` where bubblewrap cannot run.
        ValueError: an unknown mode.
    """
    if mode not in ("auto", "required", "off"):
        raise ValueError(f"Invalid isolation {mode!r}: expected 'auto', 'required' or 'off'.")
    if mode == "off":
        return False, "isolation was switched off (--isolation off)"
    available, reason = probe()
    if not available and mode == "required":
        raise IsolationUnavailable(f"Grading needs isolation (--isolation required), but {reason}.")
    return available, reason


def namespace_options():
    return ["--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--unshare-pid",
            "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname",
            "grading", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
