"""The course on a live JupyterHub, end to end, with nbgrader's exchange between real Unix accounts.

The hub (deploy/) runs on 127.0.0.1 with an instructor and two students. The students' own
JupyterLab servers are driven through the hub with a service token, by the REST calls that
JupyterLab's Assignments tab and Validate button make; the instructor runs ``cnn-course`` as
their own account. Oracle: the sample's points (``sample_course.POINTS``), worked out by hand:
alice answers everything (6 / 6), bob gets relu wrong (3 / 6).

Figures (the hub up, a server ready, the whole cycle) go to build/hub-timings.json.
"""

import json
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
from hub_support import ASSIGNMENT, COURSE_ID, ROOT, live_hub, usable  # noqa: E402
from roster import (  # noqa: E402  (deploy/, put on the path by hub_support)
    Student,
    read_roster,
)

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


def test_roster_reads_ids_names_and_emails(tmp_path):
    """Header, comments and blank lines skipped; names split for nbgrader; email optional?"""
    path = tmp_path / "roster.csv"
    path.write_text("id,name,email\n# a comment\n\nalice,Alice van Dijk,alice@example.org\nbob, Bob \n")
    assert read_roster(path) == [Student("alice", "Alice van Dijk", "alice@example.org"), Student("bob", "Bob")]
    alice = read_roster(path)[0]
    assert (alice.first_name, alice.last_name) == ("Alice van", "Dijk")


@pytest.mark.parametrize("line, message", [
    ("Alice,Alice", "student id 'Alice' is not a valid user name"),
    ("alice", "expected 'student id, name'"),
    ("alice,Alice,not-an-email", "email 'not-an-email' has no '@'"),
    ("alice,Alice\nalice,Alice again", "student id 'alice' appears twice"),
])
def test_roster_names_the_bad_line(tmp_path, line, message):
    """A bad roster line: an error that quotes it, with its line number?"""
    path = tmp_path / "roster.csv"
    path.write_text(line + "\n")
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        read_roster(path)
    assert "line " in str(error.value)


@pytest.mark.hub
@pytest.mark.slow
def test_a_class_cycle_on_the_hub(hub):
    """Release, fetch, validate, submit, collect, autograde, return, fetch feedback: right scores?"""
    alice, bob = hub.students
    exchange = Path(hub.settings["exchange"]) / COURSE_ID
    began = time.monotonic()

    # The instructor releases, while the hub spawns everyone's JupyterLab.
    hub.spawn([hub.instructor, alice, bob])
    out = hub.cnn_course("release", ASSIGNMENT, "--exchange")
    released = exchange / "outbound" / ASSIGNMENT / NOTEBOOK
    assert out.strip().endswith(f"cnn-course/outbound/{ASSIGNMENT}") and released.is_file()
    assert not any(marker in released.read_text() for marker in INSTRUCTOR_ONLY)
    ready = hub.wait_ready([hub.instructor, alice, bob])
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
    hub.timings["whole cycle, two students (s)"] = time.monotonic() - began
    _save_timings(hub)


@pytest.mark.hub
@pytest.mark.slow
def test_students_cannot_reach_each_other_or_the_instructor(hub):
    """bob tries, as his Unix account, to list, read and write alice's submission and feedback."""
    alice, bob = hub.students
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
attempt("list course root", lambda: os.listdir({hub.settings['course_root']!r}))
attempt("read gradebook", lambda: open({hub.settings['course_root'] + '/gradebook.db'!r}, "rb").read())
attempt("read source", lambda: open({hub.settings['source'] + f'/{ASSIGNMENT}/{NOTEBOOK}'!r}).read())
attempt("read alice's home", lambda: os.listdir("/home/{alice}"))
tries["glob alice"] = glob.glob(inbound + "/{alice}+*")
print(json.dumps(tries))
"""
    seen = json.loads(hub.as_user(bob, hub.settings["venv_bin"] + "/python", "-c", probe).stdout)
    assert seen == {"list inbound": "denied", "list feedback": "denied", "read submission": "denied",
                    "read secret": "denied", "write into submission": "denied", "list course root": "denied",
                    "read gradebook": "denied", "read source": "denied", "read alice's home": "denied",
                    "glob alice": []}
    # nbgrader's own exchange listing of the inbound folder shows a student nothing of alice's.
    listing = hub.as_user(bob, hub.settings["venv_bin"] + "/nbgrader", "list", "--inbound", f"--course={COURSE_ID}",
                          check=False, env={"JUPYTER_CONFIG_PATH": hub.settings["student_config"]})
    assert alice not in listing.stdout + listing.stderr, listing

    # A submission bob writes under alice's name is set aside at collection; alice keeps her grade.
    forged = exchange / "inbound" / f"{alice}+{ASSIGNMENT}+2099-01-01 00:00:00.000000 UTC+forged"
    nb = new_notebook()
    hub.as_user(bob, hub.settings["venv_bin"] + "/python", "-c",
                f"import os; os.mkdir({str(forged)!r}); open({str(forged / NOTEBOOK)!r}, 'w').write({nbformat.writes(nb)!r});"
                f"open({str(forged / 'timestamp.txt')!r}, 'w').write('2099-01-01 00:00:00.000000 UTC')")
    out = hub.cnn_course("collect", ASSIGNMENT)
    assert f"made by {bob}: it was set aside" in out, out
    assert not forged.exists() and (forged.parent / (".set-aside+" + forged.name)).is_dir()
    assert re.search(rf"{alice}\s*\|\s*{ASSIGNMENT}\s*\|\s*6 / 6", hub.cnn_course("summary", ASSIGNMENT))


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
    sockets = _listening_sockets()
    for name, pid in processes.items():
        inodes = {link.readlink().name[len("socket:["):-1] for link in Path(f"/proc/{pid}/fd").iterdir()
                  if link.readlink().name.startswith("socket:[")}
        addresses = {sockets[inode] for inode in inodes if inode in sockets}
        assert addresses and {address for address, _ in addresses} == {"127.0.0.1"}, (name, addresses)


def _listening_sockets():
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


def _save_timings(hub):
    path = ROOT / "build" / "hub-timings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(hub.timings, indent=1))
