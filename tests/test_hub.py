"""The course on a live JupyterHub, end to end, with nbgrader's exchange between real Unix accounts.

The hub (deploy/) runs on 127.0.0.1 with an instructor and three students, who sign up with
their codes and log in through the hub's pages with the deployment's authenticator; the
instructor authorizes them. The students' own JupyterLab servers are driven through the hub with
a service token, by the REST calls that JupyterLab's Assignments tab and Validate button make;
the instructor runs ``cnn-course`` as their own account. Oracle: the sample's points
(``sample_course.POINTS``), worked out by hand: alice answers everything (6 / 6), bob gets relu
wrong (3 / 6); carol is the curious student.

The tests run in file order on one hub (the first signs the class up and logs it in).
Figures (the hub up, a server ready, the whole cycle) go to build/hub-timings.json.
"""

import json
import os
import pwd
import re
import sys
import time
import urllib.parse
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_notebook

from autograder.course.release import INSTRUCTOR_ONLY

sys.path.insert(0, str(Path(__file__).parent))
from hub_support import (  # noqa: E402
    ASSIGNMENT, COURSE_ID, LIMITS, ROOT, listening_sockets, live_hub, memory_limit_hits, usable)

import cgroup_spawner  # noqa: E402  (deploy/, put on the path by hub_support)
import hub_checks  # noqa: E402
import setup_hub  # noqa: E402

NOTEBOOK = "sample.ipynb"
ANSWERS = {"relu": "return np.maximum(x, 0)",
           "zero_pad": "return np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))"}
WRONG = {"relu": "return x"}
SCORE = re.compile(r"\(Score: ([\d.]+) / ([\d.]+)\)")


@pytest.fixture(scope="module")
def hub():
    if usable():
        pytest.skip(usable())
    with live_hub() as running:
        yield running


def _answer(nb, answers):
    """The release notebook with the stubs of ``answers`` (grade id -> body) replaced."""
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = cell.source.replace("# YOUR CODE HERE\n    raise NotImplementedError()",
                                              answers[grade_id])
    return nb


def _assignments(hub, student):
    return hub.api("GET", f"/user/{student}/assignments?course_id={COURSE_ID}")["value"]


def _post(hub, student, action, **data):
    return hub.api("POST", f"/user/{student}/assignments/{action}",
                   {"course_id": COURSE_ID, "assignment_id": ASSIGNMENT, **data})


def _student_works(hub, student, answers):
    """Fetch, answer, validate and submit, as the Assignments tab does. Returns validate's result."""
    listed = _assignments(hub, student)
    assert [(a["assignment_id"], a["status"]) for a in listed] == [(ASSIGNMENT, "released")]
    after = _post(hub, student, "fetch")["value"]
    assert [a["status"] for a in after if a["assignment_id"] == ASSIGNMENT] == ["fetched"]
    path = f"{ASSIGNMENT}/{NOTEBOOK}"
    model = hub.api("GET", f"/user/{student}/api/contents/{path}")
    nb = _answer(nbformat.from_dict(model["content"]), answers)
    hub.api("PUT", f"/user/{student}/api/contents/{path}", {"type": "notebook", "format": "json", "content": nb})
    validation = hub.api("POST", f"/user/{student}/assignments/validate", {"path": path})
    submitted = _post(hub, student, "submit")
    assert submitted.get("success", True) and any(a["status"] == "submitted" for a in submitted["value"]), submitted
    return validation


def _feedback_score(hub, student):
    """Fetch feedback through the Assignments tab's call; the score in the student's own copy."""
    listed = _post(hub, student, "fetch_feedback")["value"]
    (submitted,) = [a for a in listed if a["status"] == "submitted"]
    submission = max(submitted["submissions"], key=lambda s: s["timestamp"])
    (notebook,) = submission["notebooks"]
    assert notebook["has_local_feedback"], submission
    local = Path(notebook["local_feedback_path"])
    relative = local.relative_to(Path(pwd.getpwnam(student).pw_dir)) if local.is_absolute() else local
    path = urllib.parse.quote(relative.as_posix())
    html = hub.api("GET", f"/user/{student}/api/contents/{path}?type=file&format=text")["content"]
    return tuple(float(x) for x in SCORE.search(html).groups()), html


def _logged_in(response):
    """Did this login redirect into the hub with the hub's login cookie (what a browser then follows)?"""
    return response.status_code == 302 and "jupyterhub-hub-login" in response.cookies.keys()


@pytest.mark.skipif(os.geteuid() != 0, reason="runs a command as another user: root only")
def test_setup_stops_when_students_cannot_run_the_environment(tmp_path):
    """An environment behind a folder closed to others (a pyenv under /root): a message naming it?"""
    closed = tmp_path / "closed"
    (closed / "bin").mkdir(parents=True)
    (closed / "bin" / "python").symlink_to(sys.executable)
    os.chmod(tmp_path, 0o755)
    os.chmod(closed, 0o700)
    with pytest.raises(SystemExit, match=re.escape(f"chmod o+x {closed};")) as stopped:
        hub_checks.check_environment(closed / "bin", "nobody")
    assert "cannot run the course's Python environment" in str(stopped.value)
    os.chmod(closed, 0o755)  # open: then only the interpreter's own folders can keep nobody out
    assert closed not in hub_checks.closed_folders(closed / "bin" / "python")


@pytest.mark.hub
@pytest.mark.slow
def test_a_class_signs_up_and_logs_in(hub):
    """Only the roster's ids sign up, each with its own code; the instructor admits each student?"""
    teacher, (alice, bob, carol) = hub.instructor, hub.students
    began = time.monotonic()
    users = lambda: {u["name"] for u in hub.api("GET", "/hub/api/users")}  # noqa: E731
    # carol tries to claim bob's id (he has not signed up) with her own code, then a made-up id.
    nosy = hub.browser(carol)
    assert nosy.sign_up(bob, hub.codes[carol], hub.passwords[carol]).status_code == 403
    assert nosy.sign_up(bob, "0" * 12, hub.passwords[carol]).status_code == 403
    refused = nosy.sign_up(f"{carol}x", hub.codes[carol], hub.passwords[carol])
    assert refused.status_code == 403 and "not the sign-up code" in refused.text
    assert "Invalid username or password" in nosy.log_in(bob, hub.passwords[carol]).text

    # Everyone signs up under their own id; the instructor, the hub's admin, logs in at once.
    for name in [teacher, alice, bob, carol]:
        signed = hub.browser(name).sign_up(name, hub.codes[name], hub.passwords[name])
        expected = ("The signup was successful" if name == teacher
                    else "You can log in once your instructor has authorized you")
        assert signed.status_code == 200 and expected in signed.text, signed.text
    assert hub.browser(carol).sign_up(carol, hub.codes[carol], "another-password-1").status_code == 200
    assert _logged_in(hub.browser(teacher).log_in(teacher, hub.passwords[teacher]))

    # The students are not admitted until the instructor authorizes them, one by one.
    for name in [alice, bob, carol]:
        waiting = hub.browser(name).log_in(name, hub.passwords[name])
        assert not _logged_in(waiting) and "has not been authorized" in waiting.text, waiting.text
    assert hub.browser(alice).get(f"{hub.url}/hub/authorize/{bob}").status_code == 403
    page = hub.browser(teacher).get(f"{hub.url}/hub/authorize")
    assert page.status_code == 200 and all(name in page.text for name in (alice, bob, carol))
    for name in [alice, bob, carol]:
        assert hub.browser(teacher).get(f"{hub.url}/hub/authorize/{name}").status_code == 200

    # Now each logs in with the password they chose (carol's second sign-up changed nothing).
    assert not _logged_in(hub.browser(carol).log_in(carol, "another-password-1"))
    for name in [alice, bob, carol]:
        assert _logged_in(hub.browser(name).log_in(name, hub.passwords[name])), name
    assert users() >= {teacher, alice, bob, carol} and not users() & {f"{carol}x"}
    # A session reaches the hub's pages as its own user only.
    home = hub.browser(alice).get(f"{hub.url}/hub/api/user")
    assert home.status_code == 200 and home.json()["name"] == alice
    hub.timings["sign-up, authorization and login, four users (s)"] = time.monotonic() - began


@pytest.mark.hub
@pytest.mark.slow
def test_a_class_cycle_on_the_hub(hub):
    """Release, fetch, validate, submit, collect, autograde, return, fetch feedback: right scores?"""
    alice, bob, carol = hub.students
    exchange = Path(hub.settings["exchange"]) / COURSE_ID
    began = time.monotonic()

    # The instructor releases, while the hub spawns everyone's JupyterLab.
    hub.spawn([hub.instructor, alice, bob, carol])
    out = hub.cnn_course("release", ASSIGNMENT, "--exchange")
    released = exchange / "outbound" / ASSIGNMENT / NOTEBOOK
    assert out.splitlines()[0].endswith(f"cnn-course/outbound/{ASSIGNMENT}") and released.is_file(), out
    assert not any(marker in released.read_text() for marker in INSTRUCTOR_ONLY)
    ready = hub.wait_ready([hub.instructor, alice, bob, carol])
    hub.timings["server ready (s, per user)"] = ready

    # The students fetch, answer, validate and submit in their own servers.
    alice_check = _student_works(hub, alice, ANSWERS)
    bob_check = _student_works(hub, bob, {**ANSWERS, **WRONG})
    assert alice_check["success"] and not alice_check["value"].get("failed"), alice_check
    assert [f["source"] for f in bob_check["value"]["failed"]] and "relu" in json.dumps(bob_check["value"]["failed"])

    # The instructor collects and grades, then returns the feedback.
    out = hub.cnn_course("collect", ASSIGNMENT)
    assert f"{alice}: collected" in out and f"{bob}: collected" in out, out
    summary = hub.cnn_course("summary", ASSIGNMENT)
    assert re.search(rf"{alice}\s*\|\s*{ASSIGNMENT}\s*\|\s*6 / 6", summary), summary
    assert re.search(rf"{bob}\s*\|\s*{ASSIGNMENT}\s*\|\s*3 / 6", summary), summary
    out = hub.cnn_course("feedback", ASSIGNMENT, "--return")
    assert f"{alice}, {bob}" in out, out

    # Each student fetches their own feedback and sees their own score.
    assert _feedback_score(hub, alice)[0] == (6.0, 6.0)
    score, html = _feedback_score(hub, bob)
    assert score == (3.0, 6.0) and "BEGIN HIDDEN TESTS" not in html
    hub.timings["whole cycle, two students submitting (s)"] = time.monotonic() - began
    hub.save_timings()


@pytest.mark.hub
@pytest.mark.slow
def test_students_cannot_reach_each_other_or_the_instructor(hub):
    """bob tries, as his Unix account, to list, read and write alice's submission and feedback."""
    alice, bob, _ = hub.students
    exchange = Path(hub.settings["exchange"]) / COURSE_ID
    (submission,) = sorted((exchange / "inbound").glob(f"{alice}+{ASSIGNMENT}+*"))
    feedback = sorted((exchange / "feedback").glob("*.html"))
    assert len(feedback) == 2
    probe = f"""
import glob, json, os, sys
tries = {{}}
def attempt(name, action):
    try:
        action()
        tries[name] = "allowed"
    except PermissionError:
        tries[name] = "denied"
inbound, submission = {str(exchange / 'inbound')!r}, {str(submission)!r}
attempt("list inbound", lambda: os.listdir(inbound))
attempt("list feedback", lambda: os.listdir({str(exchange / 'feedback')!r}))
attempt("read submission", lambda: open(submission + "/{NOTEBOOK}").read())
attempt("read secret", lambda: open(submission + "/submission_secret.txt").read())
attempt("write into submission", lambda: open(submission + "/extra.txt", "w").write("x"))
attempt("rename submission", lambda: os.rename(submission, inbound + "/hidden"))
attempt("delete submission", lambda: os.rmdir(submission))
attempt("list course root", lambda: os.listdir({hub.settings['course_root']!r}))
attempt("read gradebook", lambda: open({hub.settings['course_root'] + '/gradebook.db'!r}, "rb").read())
attempt("read source", lambda: open({hub.settings['source'] + f'/{ASSIGNMENT}/{NOTEBOOK}'!r}).read())
attempt("read alice's home", lambda: os.listdir("/home/{alice}"))
tries["glob alice"] = glob.glob(inbound + "/{alice}+*")
print(json.dumps(tries))
"""
    seen = json.loads(hub.as_user(bob, hub.settings["venv_bin"] + "/python", "-c", probe).stdout)
    assert seen == {"list inbound": "denied", "list feedback": "denied", "read submission": "denied",
                    "read secret": "denied", "write into submission": "denied", "rename submission": "denied",
                    "delete submission": "denied", "list course root": "denied",
                    "read gradebook": "denied", "read source": "denied", "read alice's home": "denied",
                    "glob alice": []}
    # nbgrader's own exchange listing of the inbound folder shows a student nothing of alice's.
    listing = hub.as_user(bob, hub.settings["venv_bin"] + "/nbgrader", "list", "--inbound", f"--course={COURSE_ID}",
                          check=False, env={"JUPYTER_CONFIG_PATH": hub.settings["student_config"]})
    assert alice not in listing.stdout + listing.stderr, listing

    # bob cannot write in the exchange: not a folder under alice's name, not a byte.
    for path in (exchange / "inbound" / f"{alice}+{ASSIGNMENT}+2099-01-01 00:00:00.000000 UTC+forged",
                 exchange / "inbound" / "fill", exchange / "fill", exchange.parent / "fill"):
        tried = hub.as_user(bob, "/bin/mkdir", str(path), check=False)
        assert tried.returncode != 0 and "Permission denied" in tried.stderr and not path.exists(), tried
    # Collected again, the class is the roster's students who submitted, each with their grade.
    again = hub.cnn_course("collect", ASSIGNMENT)
    assert sorted(re.findall(r"^(\S+): collected", again, re.M)) == sorted([alice, bob]), again
    assert "set aside" not in again and not list((exchange / "inbound").glob(".*"))
    summary = hub.cnn_course("summary", ASSIGNMENT)
    assert re.search(rf"{alice}\s*\|\s*{ASSIGNMENT}\s*\|\s*6 / 6", summary), summary
    assert re.search(rf"{bob}\s*\|\s*{ASSIGNMENT}\s*\|\s*3 / 6", summary), summary


@pytest.mark.hub
@pytest.mark.slow
def test_only_the_instructor_gets_nbgrader_instructor_tools(hub):
    """A student's JupyterLab has no formgrader or Create Assignment; the instructor's has both."""
    alice = hub.students[0]
    assert hub.status("GET", f"/user/{hub.instructor}/formgrader") == 200
    assert hub.status("GET", f"/user/{alice}/formgrader") == 404
    page = hub.api("GET", f"/user/{alice}/lab", raw=True).decode()
    config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                  page, re.S).group(1))
    disabled = config.get("disabledExtensions", [])
    for plugin in ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment"):
        assert plugin in disabled, disabled
    assert "@jupyter/nbgrader:assignment-list" not in disabled
    assert "@jupyter/nbgrader:validate-assignment" not in disabled


@pytest.mark.hub
@pytest.mark.slow
def test_hub_and_servers_listen_on_the_loopback_only(hub):
    """Do the hub, the proxy and every user server listen on 127.0.0.1, and nowhere else?"""
    proxy = int((Path(hub.settings["state"]) / "jupyterhub-proxy.pid").read_text())
    processes = {"hub": hub.pid, "proxy": proxy, **hub.server_pids}
    assert all(processes.values()), processes
    sockets, ports = listening_sockets(), {}
    for name, pid in processes.items():
        inodes = {link.readlink().name[len("socket:["):-1] for link in Path(f"/proc/{pid}/fd").iterdir()
                  if link.readlink().name.startswith("socket:[")}
        addresses = {sockets[inode] for inode in inodes if inode in sockets}
        assert addresses and {address for address, _ in addresses} == {"127.0.0.1"}, (name, addresses)
        ports[name] = {port for _, port in addresses}
    # The ports setup_hub.py was given (--port, --hub-port, --proxy-api-port), not 8081 and 8001.
    assert hub.settings["hub_port"] in ports["hub"] and not ports["hub"] & {8081, 8001}, ports
    assert {hub.settings["port"], hub.settings["proxy_api_port"]} <= ports["proxy"], ports


KEY_PROBE = [
    "import inspect, json, cnnlib, cnnlib.layers\n"
    "seen = {'source': inspect.getsource(cnnlib.layers.zero_pad), 'file': cnnlib.__file__}\n"
    f"try:\n    seen['real file'] = open({str(ROOT / 'cnnlib' / 'layers.py')!r}).read()\n"
    "except PermissionError:\n    seen['real file'] = 'denied'\n"
    "import cnnlib.data\nseen['mnist'] = str(cnnlib.data._find('MNIST', cnnlib.data.MNIST_FILES, None))\n"
    "try:\n    seen['call'] = str(cnnlib.layers.zero_pad(__import__('numpy').zeros((1, 1, 1, 1)), 1).shape)\n"
    "except Exception as error:\n    seen['call'] = type(error).__name__\n"
    "open('key.json', 'w').write(json.dumps(seen))",
]


@pytest.mark.hub
@pytest.mark.slow
def test_the_answer_key_stays_with_the_instructor(hub):
    """A student's kernel sees zero_pad's answer only once the instructor opens its assignment?"""
    import inspect

    import cnnlib.data
    import cnnlib.layers

    alice = hub.students[0]
    key = Path(pwd.getpwnam(alice).pw_dir) / "key.json"
    real = inspect.getsource(cnnlib.layers.zero_pad)
    hub.run_in_kernel(alice, KEY_PROBE)
    before = json.loads(key.read_text())
    assert before["file"].startswith(hub.settings["library"]) and before["real file"] == "denied", before
    assert before["source"] != real and "withheld" in before["source"] and before["call"] == "ReferenceWithheld"
    # The build finds the data sets where the real library does (the MNIST file, or nothing anywhere).
    assert before["mnist"] == str(cnnlib.data._find("MNIST", cnnlib.data.MNIST_FILES, None)), before

    out = hub.cnn_course("open", ASSIGNMENT, "--library", hub.settings["library"])
    assert f"{ASSIGNMENT}: opened" in out, out
    hub.run_in_kernel(alice, KEY_PROBE)
    after = json.loads(key.read_text())
    assert after["source"] == real and after["call"] == "(1, 3, 3, 1)" and after["real file"] == "denied", after


# From a student's kernel: write into the exchange, then call the exchange service directly
# with her own server's token (in her kernel's environment), as herself and as another.
EXCHANGE_PROBE = """
import io, json, os, tarfile, urllib.error, urllib.request
seen = {}
def attempt(name, action):
    try:
        action()
        seen[name] = "allowed"
    except PermissionError:
        seen[name] = "denied"
attempt("mkdir in inbound", lambda: os.mkdir(P["inbound"] + "/" + P["me"] + "+" + P["assignment"] + "+2099-01-01 00:00:00.000000 UTC+x"))
attempt("write in inbound", lambda: open(P["inbound"] + "/fill.bin", "wb").write(b"1" * 1000))
attempt("write in the course's exchange", lambda: open(P["course"] + "/fill.bin", "wb").write(b"1"))
attempt("write in the exchange's root", lambda: open(P["root"] + "/fill.bin", "wb").write(b"1"))
def archive(extra=None, size=2):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("sample.ipynb")
        info.size = size
        tar.addfile(info, io.BytesIO(b"{" + b" " * (size - 2) + b"}"))
        if extra is not None:
            tar.addfile(extra)
    return buffer.getvalue()
def member(name, kind, target=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info
def post(body, student):
    request = urllib.request.Request(P["url"] + "submit/" + P["assignment"] + "?student=" + student, data=body,
                                     method="POST", headers={"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"]})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return [answer.status, json.loads(answer.read())]
    except urllib.error.HTTPError as error:
        return [error.code, json.loads(error.read())["message"]]
seen["as another"] = post(archive(), P["other"])
def declare(length, student):
    # Headers only: the service answers from the declared length, before any of the body is sent.
    import http.client, urllib.parse
    url = urllib.parse.urlsplit(P["url"])
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    connection.putrequest("POST", url.path + "submit/" + P["assignment"] + "?student=" + student)
    connection.putheader("Authorization", "token " + os.environ["JUPYTERHUB_API_TOKEN"])
    connection.putheader("Content-Length", str(length))
    connection.endheaders()
    answer = connection.getresponse()
    return [answer.status, json.loads(answer.read())["message"]]
seen["over the limit"] = declare(3 * 10**6, P["me"])
for name, extra in [("symlink", member("key", tarfile.SYMTYPE, "/etc/shadow")), ("dotdot", tarfile.TarInfo("../../x")),
                    ("absolute", tarfile.TarInfo("/tmp/x")), ("fifo", member("pipe", tarfile.FIFOTYPE)),
                    ("device", member("null", tarfile.CHRTYPE))]:
    seen[name] = post(archive(extra), P["me"])
open("exchange-probe.json", "w").write(json.dumps(seen))
"""


@pytest.mark.hub
@pytest.mark.slow
def test_the_exchange_takes_submissions_through_its_service_only(hub):
    """carol, curious, from her kernel: can she write in the exchange, submit as bob, send a crafted
    archive or one over the limit? Through the Assignments tab: does her quota hold?"""
    _, bob, carol = hub.students
    exchange = Path(hub.settings["exchange"]) / COURSE_ID
    inbound = exchange / "inbound"
    before = sorted(path.name for path in inbound.iterdir())
    params = {"inbound": str(inbound), "course": str(exchange), "root": hub.settings["exchange"], "me": carol,
              "other": bob, "assignment": ASSIGNMENT,
              "url": f"http://127.0.0.1:{hub.settings['exchange_port']}/services/exchange/"}
    hub.run_in_kernel(carol, [f"P = {params!r}\n" + EXCHANGE_PROBE])
    seen = json.loads((Path(pwd.getpwnam(carol).pw_dir) / "exchange-probe.json").read_text())
    probes = ["mkdir in inbound", "write in inbound", "write in the course's exchange", "write in the exchange's root"]
    assert {name: seen.pop(name) for name in probes} == dict.fromkeys(probes, "denied")
    assert seen.pop("as another") == [403, f"you are {carol}: you cannot submit as {bob}."]
    status, message = seen.pop("over the limit")
    assert status == 413 and "too big" in message and "at most 2 MB per submission" in message, message
    assert seen == {
        "symlink": [400, "the archive's entry 'key' is a symbolic link: a submission holds regular files and folders only."],
        "dotdot": [400, "the archive's entry '../../x' is not a relative path inside the submission."],
        "absolute": [400, "the archive's entry '/tmp/x' is not a relative path inside the submission."],
        "fifo": [400, "the archive's entry 'pipe' is a FIFO: a submission holds regular files and folders only."],
        "device": [400, "the archive's entry 'null' is a device: a submission holds regular files and folders only."]}
    assert sorted(path.name for path in inbound.iterdir()) == before

    # Through the Assignments tab: over the limit (refused before it is sent), then the quota
    # (5 MB): two submissions of 1.9 MB go in, the third is refused with the service's message.
    home = Path(pwd.getpwnam(carol).pw_dir)
    _post(hub, carol, "fetch")
    weights = home / ASSIGNMENT / "weights.bin"
    for size, expected in [(2_500_000, "too big"), (1_900_000, None), (1_900_000, None),
                           (1_900_000, "over your quota of 5 MB")]:
        weights.write_bytes(os.urandom(size))
        os.chown(weights, pwd.getpwnam(carol).pw_uid, pwd.getpwnam(carol).pw_gid)
        answer = _post(hub, carol, "submit")
        if expected:
            assert not answer["success"] and expected in " ".join(answer["value"].split()), answer
        else:
            assert answer["success"], answer
    kept = sorted(inbound.glob(f"{carol}+{ASSIGNMENT}+*"))
    assert len(kept) == 2 and all((path / "weights.bin").stat().st_size == 1_900_000 for path in kept)
    assert all(path.stat().st_uid == pwd.getpwnam(hub.settings["exchange_user"]).pw_uid for path in kept)
    # Her Assignments tab lists her two submissions, from nbgrader's cache, as nbgrader does.
    (submitted,) = [a for a in _assignments(hub, carol) if a["status"] == "submitted"]
    assert sorted(s["timestamp"] for s in submitted["submissions"]) == sorted(
        (path / "timestamp.txt").read_text() for path in kept)
    weights.unlink()


PROBE_CELLS = [
    # A process in a session of its own, which outlives the kernel.
    "import os, subprocess\nsleeper = subprocess.Popen(['sleep', '600'], start_new_session=True)\n"
    "open('sleeper.pid', 'w').write(str(sleeper.pid))",
    # More memory than the server's share: the kernel is killed before it writes the file.
    "big = b'1' * (900 * 2**20)\nopen('allocated.txt', 'w').write(str(len(big)))",
]


@pytest.mark.hub
@pytest.mark.slow
def test_a_server_is_a_students_whole_share(hub):
    """Each server in its own cgroup with the hub's limits; carol's kernel cannot take more memory;
    what she started in a session of its own ends with her server. (Last: it stops carol's server.)"""
    carol = hub.students[2]
    parent = hub.settings["cgroup_parent"]
    for name, pid in hub.server_pids.items():
        assert f"{parent}/{name}" in Path(f"/proc/{pid}/cgroup").read_text(), (name, pid)
    group = cgroup_spawner.Cgroup(f"{parent}/{carol}")
    memory, cpus, processes = LIMITS[1::2]
    assert group.limits() == {"memory": int(memory[:-1]) * 2**20, "cpus": float(cpus), "processes": int(processes)}

    home = Path(pwd.getpwnam(carol).pw_dir)
    hits = memory_limit_hits(group)
    hub.run_in_kernel(carol, PROBE_CELLS)
    sleeper = int((home / "sleeper.pid").read_text())
    assert not (home / "allocated.txt").exists() and memory_limit_hits(group) > hits
    assert sleeper in group.pids() and os.getsid(sleeper) == sleeper

    hub.api("DELETE", f"/hub/api/users/{carol}/server")
    deadline = time.monotonic() + 30
    while (group.pids() or Path(f"/proc/{sleeper}").exists()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Path(f"/proc/{sleeper}").exists() and not any(folder.exists() for folder in group.folders)
