"""A live course hub for the tests: deploy/setup_hub.py's layout with the sample assignment, an
instructor and three students as real Unix accounts, JupyterHub started on 127.0.0.1 with the
deployment's own configuration (its authenticator, spawner and limits) plus a service token for
the REST calls, everything it started stopped by process id, the accounts and folders removed.

Users sign up and log in through the hub's pages as a browser does (:class:`Browser`: the form's
``_xsrf`` field and the session's cookies), with the sign-up codes ``setup_hub.py`` wrote.
"""

import contextlib
import csv
import re
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy"))
sys.path.insert(0, str(ROOT / "tests" / "autograder" / "files"))

import cgroup_spawner  # noqa: E402
import hub_checks  # noqa: E402
import sample_course  # noqa: E402
import setup_hub  # noqa: E402

ASSIGNMENT = sample_course.ASSIGNMENT
COURSE_ID = "cnn-course"
# Each server's share in the tests (setup_hub.py's options): small enough to hit in a test.
LIMITS = ["--memory", "600M", "--cpus", "1", "--processes", "256"]
# What a student may put in the exchange in the tests (MB per submission, MB kept per student).
EXCHANGE_LIMITS = ["--submission-mb", "2", "--quota-mb", "5"]
# The deployment's configuration, plus a service token for the tests' REST calls.
TEST_CONFIG = """\
c = get_config()
load_subconfig({deploy!r})
c.JupyterHub.services = c.JupyterHub.services + [{{"name": "course-tests", "api_token": {token!r}}}]
c.JupyterHub.load_roles = c.JupyterHub.load_roles + [{{"name": "course-tests", "services": ["course-tests"],
    "scopes": ["admin:users", "admin:servers", "admin:server_state", "access:servers", "list:users", "read:users"]}}]
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser(requests.Session):
    """A user's browser on the hub: forms posted with their ``_xsrf`` field, cookies kept."""

    def __init__(self, url):
        super().__init__()
        self.url = url

    def submit(self, page, fields, follow=True):
        """GET ``/hub/<page>``, POST its form with ``fields``. Returns the (last) response."""
        form = self.get(f"{self.url}/hub/{page}", timeout=60)
        form.raise_for_status()
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', form.text).group(1)
        return self.post(f"{self.url}/hub/{page}", data={**fields, "_xsrf": xsrf}, timeout=60,
                         allow_redirects=follow)

    def sign_up(self, name, code, password):
        return self.submit("signup", {"username": name, "signup_code": code, "signup_password": password,
                                      "signup_password_confirmation": password})

    def log_in(self, name, password):
        """Log in; the redirect (to the spawn page) is not followed: the tests spawn through the API."""
        return self.submit("login", {"username": name, "password": password}, follow=False)


@dataclass
class Hub:
    """A running hub: its URL, token, users and folders, and what it measured."""

    url: str
    token: str
    instructor: str
    students: list
    settings: dict
    base: Path
    pid: int = 0
    timings: dict = field(default_factory=dict)
    codes: dict = field(default_factory=dict)
    passwords: dict = field(default_factory=dict)
    browsers: dict = field(default_factory=dict)
    server_pids: dict = field(default_factory=dict)
    _spawned: dict = field(default_factory=dict)

    def api(self, method, path, data=None, raw=False, timeout=120):
        """A request with the service token: ``/hub/api/...`` or ``/user/<name>/...``."""
        body = json.dumps(data).encode() if data is not None else None
        request = urllib.request.Request(self.url + path, data=body, method=method, headers={
            "Authorization": f"token {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = response.read()
        return payload if raw else (json.loads(payload) if payload.strip() else None)

    def status(self, method, path):
        try:
            self.api(method, path, raw=True)
        except urllib.error.HTTPError as error:
            return error.code
        return 200

    def browser(self, name):
        """``name``'s browser (one per user, kept)."""
        return self.browsers.setdefault(name, Browser(self.url))

    def authorize(self, names):
        """The instructor (signed up with their code first) authorizes ``names``, who signed up."""
        teacher = self.browser(self.instructor)
        teacher.sign_up(self.instructor, self.codes[self.instructor], self.passwords[self.instructor])
        teacher.log_in(self.instructor, self.passwords[self.instructor])
        for name in names:
            teacher.get(f"{self.url}/hub/authorize/{name}", timeout=60).raise_for_status()

    def spawn(self, names):
        """Ask the hub to spawn each user's JupyterLab (it answers at once; see wait_ready)."""
        for name in names:
            self._spawned[name] = time.monotonic()
        # The hub answers each request when the server is up or after its slow_spawn_timeout (10 s).
        with ThreadPoolExecutor(len(names)) as pool:
            list(pool.map(lambda name: self.api("POST", f"/hub/api/users/{name}/server"), names))

    def wait_ready(self, names):
        """Wait until the servers of ``names`` are ready.

        Returns: {name: seconds from the spawn request to ready}."""
        started = self._spawned
        ready = {}
        deadline = time.monotonic() + 150
        while len(ready) < len(names) and time.monotonic() < deadline:
            for name in names:
                if name in ready:
                    continue
                server = self.api("GET", f"/hub/api/users/{name}").get("servers", {}).get("", {})
                if server.get("ready"):
                    ready[name] = time.monotonic() - started[name]
                    self.server_pids[name] = server.get("state", {}).get("pid")
            time.sleep(0.2)
        missing = sorted(set(names) - set(ready))
        assert not missing, f"servers of {missing} not ready after 150 s; see {self.base / 'hub.log'}"
        return ready

    def as_user(self, name, *command, check=True, **kwargs):
        """Run ``command`` as the Unix user ``name`` (their home, the project's environment)."""
        account = pwd.getpwnam(name)
        env = {"HOME": account.pw_dir, "USER": name, "LOGNAME": name,
               "PATH": f"{self.settings['venv_bin']}:/usr/bin:/bin", **kwargs.pop("env", {})}
        return subprocess.run(list(command), user=account.pw_uid, group=account.pw_gid,
                              extra_groups=os.getgrouplist(name, account.pw_gid),
                              env=env, cwd=account.pw_dir, capture_output=True, text=True, check=check,
                              **kwargs)

    def run_in_kernel(self, student, cells):
        """Run ``cells`` in a kernel of ``student``'s own server (its Validate button runs the notebook)."""
        notebook = new_notebook(cells=[new_code_cell(code) for code in cells])
        self.api("PUT", f"/user/{student}/api/contents/probe.ipynb",
                 {"type": "notebook", "format": "json", "content": notebook})
        self.api("POST", f"/user/{student}/assignments/validate", {"path": "probe.ipynb"})

    def save_timings(self):
        """The figures measured so far, to build/hub-timings.json."""
        path = ROOT / "build" / "hub-timings.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.timings, indent=1))

    def cnn_course(self, *args):
        """``cnn-course`` as the instructor types it in their hub terminal."""
        done = self.as_user(self.instructor, str(Path(self.settings["venv_bin"]) / "cnn-course"), args[0],
                            "--course-dir", self.settings["course_root"], "--source", self.settings["source"],
                            "--quiet", *args[1:], check=False)
        assert done.returncode == 0, f"cnn-course {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout


def listening_sockets():
    """{socket inode: (address, port)} of the TCP sockets listening on this machine."""
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:] if Path(table).exists() else []:
            fields = line.split()
            if fields[3] != "0A":  # LISTEN
                continue
            address, port = fields[1].split(":")
            if len(address) == 8:
                address = ".".join(str(int(address[i:i + 2], 16)) for i in (6, 4, 2, 0))
            found[fields[9]] = (address, int(port, 16))
    return found


def memory_limit_hits(group):
    """How often the group's processes met its memory limit (v1: memory.failcnt; v2: oom_kill events)."""
    if cgroup_spawner.is_v2():
        events = dict(line.split() for line in (group.folders[0] / "memory.events").read_text().splitlines())
        return int(events["oom_kill"])
    return int((group.folders[0] / "memory.failcnt").read_text())


def _open_path_to(path):
    """Give o+x to the folders above ``path`` that lack it (students run the project's environment).

    Returns [(folder, original mode)] to restore."""
    changed = []
    for folder in reversed(Path(path).resolve().parents):
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            os.chmod(folder, mode | stat.S_IXOTH)
            changed.append((folder, stat.S_IMODE(mode)))
    return changed


def _processes_of(uids):
    """Process ids of the processes run by ``uids`` (from /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid in uids:
                    pids.append(int(entry.name))
            except FileNotFoundError:
                pass
    return pids


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_gone(pids, timeout):
    deadline = time.monotonic() + timeout
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    return [p for p in pids if _alive(p)]


def usable():
    """Why a live hub cannot run here, or None: it needs root (accounts), useradd, node, and a
    cgroup file system it can write (a server's limits)."""
    if os.geteuid() != 0:
        return "the hub test creates Unix accounts: run it as root (CI does)"
    missing = [tool for tool in ("useradd", "userdel", "node", "npm") if not shutil.which(tool)]
    if missing:
        return f"missing {missing}"
    problem = hub_checks.cgroup_problem(f"cnn-course-hub-probe-{os.getpid()}")
    return f"the hub cannot make a cgroup per server here: {problem}" if problem else None


@contextlib.contextmanager
def live_hub():
    """Set up and start the hub; yield a :class:`Hub`; stop and remove all of it."""
    suffix = secrets.token_hex(2)
    instructor, students = f"ht{suffix}teach", [f"ht{suffix}alice", f"ht{suffix}bob", f"ht{suffix}carol"]
    exchange_user = f"ht{suffix}xchg"
    base = Path(tempfile.mkdtemp(prefix="cnn-course-hub-", dir="/tmp"))
    os.chmod(base, 0o755)
    # The students run the project's environment and its interpreter (which may live under /root).
    opened = _open_path_to(ROOT / ".venv") + _open_path_to(Path(sys.executable).resolve())
    hub_dir = base / "hub"
    process, log = None, None
    try:
        source = base / "source"
        sample_course.write_sample_source(source)
        roster = base / "roster.csv"
        roster.write_text("id,name,email\n" + "".join(f"{s},{s.title()} Example,{s}@example.org\n" for s in students))
        port = free_port()
        setup_hub.main(["setup", "--hub-dir", str(hub_dir), "--roster", str(roster), "--instructor", instructor,
                        "--source", str(source), "--port", str(port), "--hub-port", str(free_port()),
                        "--proxy-api-port", str(free_port()), "--exchange-port", str(free_port()),
                        "--exchange-user", exchange_user, *LIMITS, *EXCHANGE_LIMITS])
        settings = json.loads((hub_dir / setup_hub.SETTINGS).read_text())
        token = secrets.token_hex(32)
        config = base / "test_jupyterhub_config.py"
        config.write_text(TEST_CONFIG.format(deploy=str(ROOT / "deploy" / "jupyterhub_config.py"), token=token))
        with open(hub_dir / "signup-codes.csv") as table:
            codes = {row["id"]: row["code"] for row in csv.DictReader(table)}
        hub = Hub(url=f"http://127.0.0.1:{port}", token=token, instructor=instructor, students=students,
                  settings=settings, base=base, codes=codes,
                  passwords={name: secrets.token_urlsafe(12) for name in [instructor, *students]})
        log = open(base / "hub.log", "w")
        began = time.monotonic()
        process = subprocess.Popen([sys.executable, str(ROOT / "deploy" / "setup_hub.py"), "start",
                                    "--hub-dir", str(hub_dir), "--config", str(config)],
                                   stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                hub.api("GET", "/hub/api/", timeout=2)
                break
            except (OSError, ValueError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the hub did not start; see {base / 'hub.log'}") from None
                time.sleep(0.2)
        hub.timings["hub up (s)"] = time.monotonic() - began
        hub.pid = process.pid
        yield hub
    finally:
        try:
            _stop(process, hub_dir, [instructor, *students, exchange_user])
        finally:
            if log:
                log.close()
                (ROOT / "build").mkdir(exist_ok=True)
                shutil.copy(base / "hub.log", ROOT / "build" / "hub.log")
            setup_hub.remove(hub_dir)
            for folder, mode in reversed(opened):
                os.chmod(folder, mode)
            shutil.rmtree(base, ignore_errors=True)


def _stop(process, hub_dir, users):
    """SIGTERM the hub (it stops the proxy and the user servers), then check by pid, and kill
    whatever is left of the proxy and the users' processes."""
    proxy_pid_file = hub_dir / "state" / "jupyterhub-proxy.pid"
    proxy_pid = int(proxy_pid_file.read_text()) if proxy_pid_file.exists() else None
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    uids = set()
    for name in users:
        try:
            uids.add(pwd.getpwnam(name).pw_uid)
        except KeyError:
            pass
    leftovers = ([proxy_pid] if proxy_pid and _alive(proxy_pid) else []) + _processes_of(uids)
    for pid in _wait_gone(leftovers, 10):
        os.kill(pid, signal.SIGKILL)
    _wait_gone(leftovers, 10)
