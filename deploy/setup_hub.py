"""Set up, start and remove the course's JupyterHub on this machine (run as root).

    .venv/bin/python deploy/setup_hub.py setup --roster roster.csv --instructor teacher
    .venv/bin/python deploy/setup_hub.py start
    .venv/bin/python deploy/setup_hub.py remove

``setup`` (idempotent) installs the proxy (``npm ci``: configurable-http-proxy, from package.json),
creates a Unix account for the instructor and for each student of the roster (``autograder/course/roster.py``),
and lays out the hub folder (``--hub-dir``, default /srv/cnn-course)::

    /srv/cnn-course/             root 0755
        hub.json                 the settings deploy/jupyterhub_config.py reads
        state/                   root 0700: the hub's database, cookie secret, proxy token
        course/                  the instructor's nbgrader course root, instructor 0700
            exchange -> ../exchange
        exchange/                nbgrader's exchange, the instructor's, 0755 (nbgrader would make it
                                 writable by all: autograder.course.exchange.CourseReleaseAssignment)
            cnn-course/          this course's exchange, the instructor's, 0755
                inbound/         the instructor's, 2770, its group the exchange account's: no student
                                 writes, lists or reads it; submissions come through the hub's
                                 exchange service (deploy/exchange_service.py), which runs as that
                                 account, within a size limit and a quota per student
        config/student/          root 0755: the students' Jupyter settings (exchange, no formgrader)
        library/cnnlib/          the instructor's, 0755: the cnnlib students' kernels import, the
                                 answers of unopened assignments withheld (``cnn-course open``)
        signup-codes.csv         root 0600: each roster id's one-time sign-up code, to hand out
                                 (a copy without the instructor's in the course root, for them)

Before it changes anything it checks that the students' accounts can run the course's Python
environment and that the hub can make a cgroup per server, and stops with a message if not
(``deploy/hub_checks.py``).

The source notebooks (``--source``, the project's course/) become readable by the instructor's
group and nobody else, the project's .git too when the source is the project's course/, and the
project's cnnlib/ (the students import the hub's library/ instead). The students are added to the
gradebook with their names and emails.

``remove`` deletes the accounts that ``setup`` created (``userdel --remove``) and the hub folder,
and gives the source back its permissions. Stop the hub first.
"""

import argparse
import json
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(PROJECT))

import course_auth  # noqa: E402
import exchange_service  # noqa: E402
import hub_checks  # noqa: E402

from autograder.course.config import COURSE_ID, COURSE_SOURCE, Course  # noqa: E402
from autograder.course.roster import add_to_gradebook, read_roster  # noqa: E402
from autograder.course.students_library import build_students_library  # noqa: E402

DEFAULT_HUB_DIR = Path("/srv/cnn-course")
PROXY = PROJECT / "node_modules" / ".bin" / "configurable-http-proxy"
SETTINGS = "hub.json"
AUTHENTICATORS = ("native", "pam")
# What the students' servers leave out: nbgrader's instructor tools, so that the Assignments tab,
# Validate and fetch-feedback remain. The same settings serve `make lab`'s student tree.
STUDENT_SETTINGS = PROJECT / "jupyter" / "student"
STUDENT_NBGRADER_CONFIG = '''\
# Written by deploy/setup_hub.py: the students' side of nbgrader's exchange.
c.CourseDirectory.course_id = {course_id!r}
c.Exchange.root = {exchange!r}
# Submissions go through the hub's exchange service, the one way into inbound/
# (autograder/course/exchange.py, deploy/exchange_service.py).
c.ExchangeFactory.submit = "autograder.course.exchange.PrivateSubmit"
c.PrivateSubmit.service_url = {service_url!r}
# No student writes in the exchange, its root included; nbgrader checks that its root is writable
# by the user only when the exchange is not "groupshared".
c.CourseDirectory.groupshared = True
# A submission larger than max_dir_size (KB) is refused before it is sent (the service refuses
# it too); files over max_file_size are left out.
c.CourseDirectory.max_dir_size = {max_submission_kb!r}
c.CourseDirectory.max_file_size = {max_submission_kb!r}
'''


def install_proxy():
    """configurable-http-proxy from npm, into the project's node_modules/ (package-lock.json's version)."""
    if not PROXY.exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PROJECT, check=True)
    return PROXY


# A server's share of the machine (docs/deploy.md): memory, CPUs, processes and threads.
DEFAULT_LIMITS = {"memory": "2G", "cpus": 1.0, "processes": 512}
# What a student may put in the exchange (docs/deploy.md): MB per submission, MB of all their
# submissions kept in inbound/, files per submission (autograder/course/inbound.py checks them).
DEFAULT_EXCHANGE_LIMITS = {"submission_mb": 20, "quota_mb": 100, "files": 500}


def setup(hub_dir, roster, instructor, source=COURSE_SOURCE, ip="127.0.0.1", port=8000,
          hub_port=8081, proxy_api_port=8001, authenticator="native", limits=None,
          exchange_port=8003, exchange_user="cnn-exchange", exchange_limits=None):
    """Lay out the hub for one course (see the module's docstring). Idempotent.

    ``limits``: each server's ``memory`` (bytes, or e.g. "2G"), ``cpus`` and ``processes``
    (default ``DEFAULT_LIMITS``). ``exchange_limits``: ``submission_mb``, ``quota_mb`` and
    ``files`` (default ``DEFAULT_EXCHANGE_LIMITS``); the exchange service runs as the account
    ``exchange_user`` on 127.0.0.1:``exchange_port``.

    Returns:
        the settings written to ``<hub_dir>/hub.json`` (a dict).
    """
    if os.geteuid() != 0:
        raise SystemExit("setup_hub.py setup creates Unix accounts: run it as root (sudo).")
    if authenticator not in AUTHENTICATORS:
        raise ValueError(f"authenticator {authenticator!r}: expected one of {AUTHENTICATORS}.")
    students = read_roster(roster)
    if instructor in {s.id for s in students}:
        raise ValueError(f"the instructor {instructor!r} is also on the roster {roster}.")
    hub_dir, source = Path(hub_dir).resolve(), Path(source).resolve()
    limits = {**DEFAULT_LIMITS, **(limits or {})}
    exchange_limits = {**DEFAULT_EXCHANGE_LIMITS, **(exchange_limits or {})}
    venv_bin = Path(sys.executable).parent
    cgroup_parent = f"cnn-course-hub-{port}"
    hub_checks.check_cgroups(cgroup_parent)
    proxy = install_proxy()
    state = _mkdir(hub_dir / "state", 0o700)
    created = _created_users(state)
    for name in [instructor, *(s.id for s in students)]:
        if _create_user(name):
            created.append(name)
    if _create_user(exchange_user, shell="/usr/sbin/nologin"):
        created.append(exchange_user)
    (state / "created_users.json").write_text(json.dumps(sorted(set(created))))
    hub_checks.check_environment(venv_bin, students[0].id if students else instructor)
    teacher = pwd.getpwnam(instructor)
    # A submission's files belong to the instructor's group or to the student's own group (nbgrader
    # writes some after its folder lost the exchange's set-group-id bit): the instructor reads both.
    # The exchange account's group is the instructor's way into inbound/.
    subprocess.run(["usermod", "--append", "--groups", ",".join([exchange_user, *(s.id for s in students)]),
                    instructor], check=True)

    _mkdir(hub_dir, 0o755)
    exchange = _mkdir(hub_dir / "exchange", 0o755, owner=teacher)
    # inbound/: the instructor's (nbgrader's release insists), its group the exchange account's.
    inbound = _mkdir(_mkdir(exchange / COURSE_ID, 0o755, owner=teacher) / "inbound", 0o2770, owner=teacher)
    os.chown(inbound, -1, pwd.getpwnam(exchange_user).pw_gid)
    root = _mkdir(hub_dir / "course", 0o700, owner=teacher)
    link = root / "exchange"
    if not link.is_symlink():
        if link.exists():
            shutil.rmtree(link)
        link.symlink_to(exchange)
    course = Course(root=root, source=source).prepare()
    add_to_gradebook(course, students)
    _protect_source(source, teacher, state)
    codes = _signup_codes(hub_dir, state, root, instructor, students)
    _chown_tree(root, teacher)
    library = _mkdir(hub_dir / "library", 0o755, owner=teacher)
    build_students_library(source, library)
    _chown_tree(library, teacher)

    config = _mkdir(hub_dir / "config", 0o755)
    student_config = _mkdir(config / "student", 0o755)
    service_url = f"http://127.0.0.1:{exchange_port}/services/{exchange_service.NAME}/"
    (student_config / "nbgrader_config.py").write_text(
        STUDENT_NBGRADER_CONFIG.format(course_id=COURSE_ID, exchange=str(exchange), service_url=service_url,
                                       max_submission_kb=exchange_limits["submission_mb"] * 1000))
    _mkdir(student_config / "labconfig", 0o755)
    for name in ("jupyter_server_config.json", "labconfig/page_config.json"):
        shutil.copyfile(STUDENT_SETTINGS / name, student_config / name)

    settings = dict(course_root=str(root), exchange=str(exchange), source=str(source), instructor=instructor,
                    students=[s.id for s in students], roster=str(Path(roster).resolve()),
                    ip=ip, port=port, hub_port=hub_port, proxy_api_port=proxy_api_port,
                    authenticator=authenticator, proxy=str(proxy), venv_bin=str(venv_bin),
                    student_config=str(student_config), state=str(state), signup_codes=str(codes),
                    limits=limits, cgroup_parent=cgroup_parent, library=str(library), data=_data_folder(),
                    exchange_port=exchange_port, exchange_user=exchange_user,
                    exchange_limits={"submission": exchange_limits["submission_mb"] * 10**6,
                                     "quota": exchange_limits["quota_mb"] * 10**6,
                                     "files": exchange_limits["files"]})
    (hub_dir / SETTINGS).write_text(json.dumps(settings, indent=1))
    return settings


def start(hub_dir, extra_config=None):
    """Run JupyterHub in the foreground with deploy/jupyterhub_config.py (or a file that loads it)."""
    settings = json.loads((Path(hub_dir) / SETTINGS).read_text())
    env = dict(os.environ, CNN_HUB_DIR=str(hub_dir),
               PATH=settings["venv_bin"] + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"))
    config = extra_config or HERE / "jupyterhub_config.py"
    os.chdir(settings["state"])
    os.execve(Path(settings["venv_bin"]) / "jupyterhub", ["jupyterhub", "-f", str(config)], env)


def remove(hub_dir):
    """Delete the accounts ``setup`` created and the hub folder; give the source its permissions back."""
    hub_dir = Path(hub_dir)
    settings_file, state = hub_dir / SETTINGS, hub_dir / "state"
    for name in _created_users(state):
        subprocess.run(["userdel", "--remove", name], check=False, capture_output=True)
        subprocess.run(["groupdel", name], check=False, capture_output=True)
    if settings_file.exists():
        from cgroup_spawner import Cgroup

        parent = json.loads(settings_file.read_text()).get("cgroup_parent")
        if parent and any(folder.is_dir() for folder in Cgroup(parent).folders):
            Cgroup(parent).remove()  # the users' groups went with their servers
    saved = state / "source_permissions.json"
    if saved.exists():
        for path, (mode, gid) in json.loads(saved.read_text()).items():
            if os.path.lexists(path) and not os.path.islink(path):
                os.chown(path, -1, gid)
                os.chmod(path, mode)
    if settings_file.exists() or state.exists():
        shutil.rmtree(hub_dir)


def _data_folder():
    """Where the students' cnnlib finds the data sets: it lives in the hub's library/, not beside
    the project's offline copies, so their kernels get ``$CNN_COURSE_DATA`` (``cnnlib.data``)."""
    from cnnlib.data import DATA_VARIABLE, OFFLINE_DIR

    return os.environ.get(DATA_VARIABLE) or (str(OFFLINE_DIR) if OFFLINE_DIR.is_dir() else "")


def _signup_codes(hub_dir, state, course_root, instructor, students):
    """A one-time sign-up code per roster id and for the instructor; those already made are kept.

    Writes ``<hub_dir>/signup-codes.csv`` (root 0600, every code), its copy without the
    instructor's line in the course root (the instructor hands them out), and their hashes in
    ``state/signup_codes.json`` (what the hub reads). Returns the path of the hashes."""
    table = hub_dir / "signup-codes.csv"
    codes = dict(line.split(",", 1) for line in table.read_text().split()[1:]) if table.exists() else {}
    names = [instructor, *(s.id for s in students)]
    codes = {name: codes.get(name) or course_auth.new_code() for name in names}
    for path, rows in ((table, names), (course_root / "signup-codes.csv", names[1:])):
        path.write_text("id,code\n" + "".join(f"{name},{codes[name]}\n" for name in rows))
        os.chmod(path, 0o600)
    hashes = state / "signup_codes.json"
    hashes.write_text(json.dumps({name: course_auth.hash_code(code) for name, code in codes.items()}))
    os.chmod(hashes, 0o600)
    return hashes


def _created_users(state):
    """The accounts ``setup`` created (``remove`` deletes them; those that existed stay)."""
    record = state / "created_users.json"
    return json.loads(record.read_text()) if record.exists() else []


def _create_user(name, shell="/bin/bash"):
    """``useradd`` a user with a private home (0700), unless it exists. Returns True if created."""
    try:
        pwd.getpwnam(name)
        created = False
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--user-group", "--shell", shell, name], check=True)
        created = True
    os.chmod(pwd.getpwnam(name).pw_dir, 0o700)
    return created


def _mkdir(path, mode, owner=None):
    path.mkdir(parents=True, exist_ok=True)
    if owner is not None:
        os.chown(path, owner.pw_uid, owner.pw_gid)
    os.chmod(path, mode)
    return path


def _chown_tree(root, user):
    for folder, dirs, files in os.walk(root):
        for name in [folder, *(os.path.join(folder, f) for f in files + dirs)]:
            os.lchown(name, user.pw_uid, user.pw_gid)


def _protect_source(source, teacher, state):
    """Source notebooks (and the project's .git), and the project's cnnlib/, readable by the
    instructor's group only.

    The permissions found first are saved in ``state/source_permissions.json`` for ``remove``."""
    trees = [source, PROJECT / "cnnlib"]
    if source == COURSE_SOURCE.resolve() and (PROJECT / ".git").is_dir():
        trees.append(PROJECT / ".git")
    saved_file = state / "source_permissions.json"
    saved = json.loads(saved_file.read_text()) if saved_file.exists() else {}
    for tree in trees:
        for folder, dirs, files in os.walk(tree):
            for path in [folder, *(os.path.join(folder, f) for f in files)]:
                if os.path.islink(path):
                    continue
                info = os.lstat(path)
                saved.setdefault(path, [info.st_mode & 0o7777, info.st_gid])
                os.chown(path, -1, teacher.pw_gid)
                os.chmod(path, (info.st_mode & 0o750) | (0o050 if os.path.isdir(path) else 0o040))
    saved_file.write_text(json.dumps(saved))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="setup_hub.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("setup", "start", "remove"))
    parser.add_argument("--hub-dir", default=os.environ.get("CNN_HUB_DIR", DEFAULT_HUB_DIR), type=Path,
                        help="the hub's folder (default: %(default)s, or $CNN_HUB_DIR)")
    parser.add_argument("--roster", help="CSV: student id, name[, email] (setup)")
    parser.add_argument("--instructor", help="the instructor's user name (setup)")
    parser.add_argument("--source", default=COURSE_SOURCE, type=Path, help="source assignments (default: course/)")
    parser.add_argument("--ip", default="127.0.0.1", help="the address the hub listens on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8000, help="the hub's port (default: %(default)s)")
    parser.add_argument("--hub-port", type=int, default=8081,
                        help="the hub's internal API port, on 127.0.0.1 (default: %(default)s)")
    parser.add_argument("--proxy-api-port", type=int, default=8001,
                        help="the proxy's API port, on 127.0.0.1 (default: %(default)s)")
    parser.add_argument("--memory", default=DEFAULT_LIMITS["memory"],
                        help="each server's memory limit, e.g. 2G or 512M (default: %(default)s)")
    parser.add_argument("--cpus", type=float, default=DEFAULT_LIMITS["cpus"],
                        help="each server's CPU limit, in CPUs (default: %(default)s)")
    parser.add_argument("--processes", type=int, default=DEFAULT_LIMITS["processes"],
                        help="each server's limit of processes and threads (default: %(default)s)")
    parser.add_argument("--exchange-port", type=int, default=8003,
                        help="the exchange service's port, on 127.0.0.1 (default: %(default)s)")
    parser.add_argument("--exchange-user", default="cnn-exchange",
                        help="the account the exchange service runs as, owner of inbound/ (default: %(default)s)")
    parser.add_argument("--submission-mb", type=int, default=DEFAULT_EXCHANGE_LIMITS["submission_mb"],
                        help="the largest submission the exchange takes, in MB (default: %(default)s)")
    parser.add_argument("--quota-mb", type=int, default=DEFAULT_EXCHANGE_LIMITS["quota_mb"],
                        help="MB of all of a student's submissions kept in the exchange (default: %(default)s)")
    parser.add_argument("--config", type=Path, help="start: a JupyterHub config file that loads "
                        "deploy/jupyterhub_config.py (default: that file)")
    parser.add_argument("--authenticator", choices=AUTHENTICATORS, default="native",
                        help="native: students sign up, the instructor authorizes them; pam: Unix passwords")
    args = parser.parse_args(argv)
    if args.command == "setup":
        if not args.roster or not args.instructor:
            parser.error("setup needs --roster FILE and --instructor NAME")
        settings = setup(args.hub_dir, args.roster, args.instructor, source=args.source, ip=args.ip,
                         port=args.port, hub_port=args.hub_port, proxy_api_port=args.proxy_api_port,
                         authenticator=args.authenticator,
                         limits={"memory": args.memory, "cpus": args.cpus, "processes": args.processes},
                         exchange_port=args.exchange_port, exchange_user=args.exchange_user,
                         exchange_limits={"submission_mb": args.submission_mb, "quota_mb": args.quota_mb})
        print(f"hub set up in {args.hub_dir}: instructor {settings['instructor']}, "
              f"{len(settings['students'])} students; start it with: setup_hub.py start")
        if settings["authenticator"] == "native":
            print(f"Sign-up codes, one per student id (hand each student theirs; yours is the "
                  f"{settings['instructor']} line): {args.hub_dir / 'signup-codes.csv'}")
    elif args.command == "start":
        start(args.hub_dir, args.config)
    else:
        remove(args.hub_dir)


if __name__ == "__main__":
    main()
