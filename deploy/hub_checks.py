"""What ``setup_hub.py setup`` checks before it lays out a hub: that the students' accounts can
run the course's Python environment, and that the hub can give each server a cgroup.

Both stop the setup with a message that says what is wrong and how to fix it.
"""

import pwd
import stat
import subprocess
from pathlib import Path

from cgroup_spawner import Cgroup

# What a user's server imports first: if these import as a student, the server can start.
IMPORTS = "import jupyterhub, jupyter_server, nbgrader, numpy"


def closed_folders(path):
    """The folders above ``path`` (and the ones its links lead through) that others cannot enter.

    Returns: a list of paths without the "x" bit for others, outermost first."""
    closed, seen = [], set()
    for target in (Path(path).absolute(), Path(path).resolve()):
        for folder in reversed(target.parents):
            if folder not in seen and not folder.stat().st_mode & stat.S_IXOTH:
                closed.append(folder)
            seen.add(folder)
    return closed


def check_environment(venv_bin, user):
    """Run the environment's Python as ``user``; stop the setup with a clear message if it cannot.

    Raises:
        SystemExit: naming the folders that keep the user out, and the ways to fix it.
    """
    python = Path(venv_bin) / "python"
    account = pwd.getpwnam(user)
    try:
        done = subprocess.run([str(python), "-c", IMPORTS], user=account.pw_uid, group=account.pw_gid,
                              env={"HOME": account.pw_dir, "PATH": "/usr/bin:/bin"}, cwd="/",
                              capture_output=True, text=True, timeout=120)
        failure = None if done.returncode == 0 else (done.stderr.strip().splitlines() or ["no output"])[-1]
    except PermissionError as error:
        failure = str(error)
    if failure is None:
        return
    closed = closed_folders(python)
    where = (f" {', '.join(map(str, closed))} {'is' if len(closed) == 1 else 'are'} closed to other users "
             "(no 'x' for others)") if closed else ""
    raise SystemExit(
        f"The students' accounts cannot run the course's Python environment ({python}, run as {user}: "
        f"{failure}).{where}\nThe students' servers run as their own accounts, so the environment and the "
        "Python it was made from must be readable and executable by everyone. Either build the environment "
        "from a Python outside such folders (e.g. make setup PYTHON=/usr/bin/python3.11, after removing "
        ".venv) and keep the project in a folder others can read, or open the folders: "
        + (" ".join(f"chmod o+x {folder};" for folder in closed) or "chmod -R o+rX on the environment."))


def cgroup_problem(parent):
    """Make and remove a test cgroup with limits under ``parent``. Returns why it failed, or None."""
    group = Cgroup(Path(parent) / "setup-check")
    try:
        group.create(64 * 2**20, 0.5, 16)
        group.remove()
        for folder in group.folders:
            folder.parent.rmdir()
    except (RuntimeError, OSError) as error:
        return str(error)
    return None


def check_cgroups(parent):
    """Stop the setup if the hub could not make a cgroup per server under ``parent``."""
    problem = cgroup_problem(parent)
    if problem:
        raise SystemExit(f"The hub cannot limit the students' servers: {problem}.")

