"""Submissions that attack the grader, graded in one class with honest students around them.

Each attack is a student's notebook; honest students are graded before (``aaa_honest``), beside
(two workers) and after (``zzz_honest``) them. The question each test answers: does the attack
fail, while its author keeps the points of their intact work and everybody else keeps theirs?
"""

import hashlib
import socket
import threading
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import numpy as np
import pytest
from helpers import copy_course, scores, write_nb
from nbformat.v4 import new_markdown_cell
from sample_course import ASSIGNMENT as A
from sample_course import HIDDEN_SECRET
from sample_course import NOTEBOOK as NB
from variants import answer, prepend

import autograder
import cnnlib
from autograder.course.config import Course, Limits
from autograder.course.submissions import import_submissions
from autograder.errors import IsolationUnavailable
from autograder.grading.feedback import generate_feedback
from autograder.grading.pipeline import autograde
from autograder.render import notes
from autograder.sandbox import kernel_manager, namespaces

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not namespaces.probe()[0], reason="bubblewrap cannot run here")]

HONEST = ("aaa_honest", "mmm_honest", "zzz_honest")
MARKUP = ("<script>alert('owned')</script>", "<img src=x onerror=alert('owned')>",
          "<iframe src='data:text/html,<b>owned</b>'></iframe>", "<a href=\"javascript:alert('owned')\">x</a>")
ESCAPEE = "cnn-course-escapee-marker"
FIRST_HIDDEN_VALUE = f"{np.random.default_rng(0).normal(size=(2, 3, 4, 5)).ravel()[0]:.6f}"


def _reads(paths):
    """Code that tries to read each path and prints what happened (OK + a digest, or the error)."""
    return ("import hashlib\n"
            f"for path in {[str(p) for p in paths]!r}:\n"
            "    try:\n"
            "        data = open(path, 'rb').read()\n"
            "        print('READ', path, hashlib.sha256(data).hexdigest()[:8], data[:200])\n"
            "    except OSError as error:\n"
            "        print('BLOCKED', path, type(error).__name__)")


def _attacks(course, solved, listener_port):
    """student id -> (notebook, expected score)."""
    library = Path(cnnlib.__file__).parent
    targets = [course.gradebook, course.source / A / f"{NB}.ipynb", course.root / "source" / A / f"{NB}.ipynb",
               course.root / "submitted" / "aaa_honest" / A / f"{NB}.ipynb", library.parent / "course",
               Path.home() / ".bashrc", "/etc/shadow"]
    wrong = answer(solved, "relu", "return x")
    cases = {
        # read what it must not, and print it into its own feedback
        "reader": (prepend(solved, "relu", _reads(targets) + "\nimport glob\nprint('TMP', glob.glob('/tmp/*'))\n"
                           "import inspect, cnnlib.layers\nprint('SOURCE', inspect.getsource(cnnlib.layers.relu_forward))"), 6),
        # change what it must not
        "writer": (prepend(solved, "relu", (
            f"for path in {[str(library / 'layers.py'), str(Path(autograder.__file__).parent / 'checks.py'), str(course.gradebook)]!r}:\n"
            "    try:\n"
            "        open(path, 'a').write('\\nraise SystemExit  # appended by a submission\\n')\n"
            "        print('WROTE', path)\n"
            "    except OSError as error:\n"
            "        print('BLOCKED', path, type(error).__name__)")), 6),
        # points without work
        "rebinds_checks": (prepend(wrong, "relu", "from autograder import checks\n"
                                   "checks.assert_close = checks.compare_with_reference = lambda *a, **k: None"), 3),
        "patches_reference": (prepend(wrong, "relu", "layers.relu_forward = lambda x: (x, x)"), 3),
        "patches_numpy": (prepend(wrong, "relu", "np.allclose = lambda *a, **k: True\nnp.abs = lambda x: 0 * x\n"
                                  "np.isfinite = lambda x: np.ones(np.shape(x), bool)"), 3),
        "loads_second_copy": (answer(solved, "relu", (
            "import importlib.util, cnnlib.layers\n"
            "spec = importlib.util.spec_from_file_location('my_layers', cnnlib.layers.__file__)\n"
            "mine = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(mine)\n"
            "return mine.relu_forward(x)[0]")), 3),
        "execs_reference_source": (answer(solved, "relu", (
            "import inspect, cnnlib.layers\nspace = {'np': np}\n"
            "exec(inspect.getsource(cnnlib.layers.relu_forward), space)\nreturn space['relu_forward'](x)[0]")), 3),
        # escape its limits
        "escapes": (prepend(solved, "relu", (
            "import os, resource, socket, subprocess, threading\n"
            "print('UID', os.getuid())\n"
            f"subprocess.Popen(['/bin/sh', '-c', 'sleep 120; : {ESCAPEE}'], start_new_session=True)\n"
            "try:\n"
            f"    socket.create_connection(('127.0.0.1', {listener_port}), timeout=2)\n"
            "    print('CONNECTED')\n"
            "except OSError as error:\n"
            "    print('NO NETWORK', type(error).__name__)\n"
            "for name in ('RLIMIT_CPU', 'RLIMIT_FSIZE', 'RLIMIT_AS', 'RLIMIT_NOFILE'):\n"
            "    kind = getattr(resource, name)\n"
            "    try:\n"
            "        resource.setrlimit(kind, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))\n"
            "        print('RAISED', name)\n"
            "    except (ValueError, OSError):\n"
            "        print('KEPT', name, resource.getrlimit(kind))\n"
            "try:\n"
            "    with open('big.bin', 'wb') as f:\n"
            "        for _ in range(100):\n"
            "            f.write(b'0' * 2**20)\n"
            "    print('WROTE 100 MB')\n"
            "except OSError as error:\n"
            "    print('FILE LIMIT', type(error).__name__)\n"
            "threads = []\n"
            "try:\n"
            "    for _ in range(400):\n"
            "        threads.append(threading.Thread(target=__import__('time').sleep, args=(3,), daemon=True))\n"
            "        threads[-1].start()\n"
            "    print('STARTED 400 THREADS')\n"
            "except RuntimeError:\n"
            "    print('PROCESS LIMIT', len(threads))")), 6),
        # leak the hidden tests' inputs into its feedback
        "leaks_inputs": (answer(solved, "relu", (
            "global seen\nseen = [x.ravel()[:3].tolist()] if isinstance(x, np.ndarray) and x.ndim == 4 else []\n"
            "if seen:\n    raise ValueError(f'{x.ravel()[0]:.6f}')\nreturn np.maximum(x, 0)")), 4),
    }
    cases["leaks_inputs"][0].cells.append(nbformat.v4.new_code_cell("print('LATER', globals().get('seen'))"))
    # attack the instructor: markup in an output, a markdown cell, metadata and a grade id
    markup = prepend(solved, "relu", "from IPython.display import HTML, Javascript, display\n"
                     f"display(HTML({''.join(MARKUP)!r}))\ndisplay(Javascript('alert(1)'))\n"
                     "import matplotlib\nmatplotlib.use('agg')\nimport matplotlib.pyplot as plt\n"
                     "from IPython.display import Image\nimport io\nfigure = plt.figure()\nplt.plot([1, 2])\n"
                     "buffer = io.BytesIO()\nfigure.savefig(buffer, format='png')\ndisplay(Image(buffer.getvalue()))")
    markup.cells.insert(1, new_markdown_cell("Look: " + " ".join(MARKUP)
                                             + " [click](javascript:alert('owned'))"))
    markup.cells[1].metadata["nbgrader"] = {"grade_id": MARKUP[0], "grade": True, "points": 9,
                                           "solution": False, "locked": False, "schema_version": 3}
    markup.metadata["title"] = "</title>" + MARKUP[0]
    cases["markup"] = (markup, 6)
    # break the class: nbgrader's hidden-tests marker in the student's own cell
    cases["mentions_marker"] = (prepend(solved, "relu", "# ### BEGIN HIDDEN TESTS (I was curious)"), 6)
    for student in HONEST:
        cases[student] = (solved, 6)
    return cases


@pytest.fixture(scope="module")
def listener():
    """A server on the grader's loopback, counting who connects to it."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.5)
    accepted, stop = [], threading.Event()

    def serve():
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


@pytest.fixture(scope="module")
def graded(released_sample, solved_nb, tmp_path_factory, listener):
    base = tmp_path_factory.mktemp("isolation")
    course = copy_course(released_sample, base / "root")
    course = Course(root=course.root, source=course.source,
                    limits=Limits(cell_timeout=20, memory_mb=3072, file_mb=32, processes=128))
    cases = _attacks(course, solved_nb, listener[0])
    folder = base / "submissions"
    for student, (nb, _) in cases.items():
        write_nb(nb, folder / f"{student}.ipynb")
    protected = [Path(cnnlib.__file__).parent / "layers.py", Path(autograder.__file__).parent / "checks.py"]
    digests = {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in protected}
    import_submissions(course, A, folder)
    autograde(course, A, workers=2, progress=False)
    generate_feedback(course, A, workers=2, progress=False)
    return course, cases, digests


def _outputs(course, student):
    """What the autograded notebook shows besides code: outputs, output types and markdown."""
    nb = nbformat.read(course.step_dir("autograded", student, A) / f"{NB}.ipynb", 4)
    parts = [cell.source for cell in nb.cells if cell.cell_type == "markdown"]
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            parts += [output.get("text", ""), output.get("evalue", ""), *output.get("traceback", [])]
            parts += [f"{mime}: {value}" for mime, value in output.get("data", {}).items()]
    return "\n".join(parts)


def _feedback(course, student):
    return (course.step_dir("feedback", student, A) / f"{NB}.html").read_text()


def test_every_student_keeps_exactly_their_points(graded):
    """Does each attacker get the points of their intact work only, and every honest student 6?"""
    course, cases, _ = graded
    assert scores(course) == {student: expected for student, (_, expected) in cases.items()}


def test_a_submission_reads_nothing_of_the_graders(graded):
    """Are the gradebook, sources, other submissions, home and temp folders out of its sight,
    and is the reference's source a stub?"""
    course, _, _ = graded
    text = _outputs(course, "reader")
    assert "READ " not in text and text.count("BLOCKED") == 7
    assert "cnn-course-grading-" not in text and "cnn-course-worker-" not in text
    assert "ReferenceWithheld" in text and "np.maximum(x, 0), x" not in text
    assert HIDDEN_SECRET not in text and HIDDEN_SECRET not in _feedback(course, "reader")


def test_a_submission_changes_nothing_of_the_graders(graded):
    """Do writes to the library, the checks and the gradebook fail, leaving them intact?"""
    course, _, digests = graded
    text = _outputs(course, "writer")
    assert "WROTE" not in text and text.count("BLOCKED") == 3
    for path, digest in digests.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert course.gradebook.read_bytes()[:16] == b"SQLite format 3\x00"


def test_calling_or_copying_the_reference_scores_nothing_and_says_why(graded):
    """Do a second copy of the reference module and exec of its source both fail, with a note?"""
    course, _, _ = graded
    for student in ("loads_second_copy", "execs_reference_source"):
        assert any("cnnlib.layers.relu_forward, which is withheld" in line
                   for line in notes.read(course.root, A, student)), student


def test_a_submission_cannot_escape_its_limits(graded, listener):
    """Is the kernel unprivileged, offline, unable to raise its limits, write big files or start
    hundreds of threads, and does everything it started end with it?"""
    course, _, _ = graded
    text = _outputs(course, "escapes")
    assert "UID 65534" in text
    assert "NO NETWORK" in text and "CONNECTED" not in text and not listener[1]
    assert "RAISED" not in text and text.count("KEPT") == 4
    assert "FILE LIMIT" in text and "PROCESS LIMIT" in text
    leftovers = [p for p in Path("/proc").glob("[0-9]*/cmdline") if _reads_marker(p)]
    assert not leftovers


def _reads_marker(path):
    try:
        return ESCAPEE.encode() in path.read_bytes()
    except OSError:
        return False


def test_hidden_inputs_do_not_reach_the_feedback(graded):
    """Does a function that quotes or keeps the hidden tests' inputs fail to show them anywhere?"""
    course, _, _ = graded
    for text in (_outputs(course, "leaks_inputs"), _feedback(course, "leaks_inputs")):
        assert FIRST_HIDDEN_VALUE not in text
        assert "LATER []" in text or "LATER None" in text
    assert HIDDEN_SECRET not in _feedback(course, "leaks_inputs")


def test_no_live_markup_reaches_the_instructor_or_the_student(graded):
    """Are scripts, handlers, iframes and script URLs gone from the autograded notebook (the
    Formgrader's view) and the feedback page, with the plot kept?"""
    course, _, _ = graded
    stored = _outputs(course, "markup")
    page = _feedback(course, "markup")
    assert _live_markup(stored) == []
    assert [found for found in _live_markup(page) if "owned" in found or "alert" in found] == []
    assert "application/javascript" not in stored
    assert "data:image/png;base64" in page


class _MarkupFinder(HTMLParser):
    """Collects the live parts of an HTML text: scripts, frames, handlers, script URLs."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "iframe", "object", "embed", "form"):
            self.found.append(f"<{tag} {attrs}>")
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name.startswith("on") or value.startswith(("javascript:", "data:text/html")):
                self.found.append(f"<{tag} {name}={value}>")

    def handle_data(self, data):
        if self.lasttag == "script":
            self.found[-1] += data[:60]


def _live_markup(html):
    finder = _MarkupFinder()
    finder.feed(html)
    return finder.found


def test_the_hidden_tests_marker_in_a_students_cell_breaks_nothing(graded):
    """Does feedback for everyone come out when one student's cell mentions the marker?"""
    course, cases, _ = graded
    for student in cases:
        assert (course.step_dir("feedback", student, A) / f"{NB}.html").is_file(), student
    assert HIDDEN_SECRET not in _feedback(course, "mentions_marker")


def test_isolation_off_is_said_in_every_feedback(course, solved_nb, tmp_path):
    """Without the sandbox, does grading still work and say so to the student and instructor?"""
    course = Course(root=course.root, source=course.source, limits=Limits(cell_timeout=20, isolation="off"))
    write_nb(solved_nb, tmp_path / "subs" / "alice.ipynb")
    import_submissions(course, A, tmp_path / "subs")
    autograde(course, A, progress=False)
    generate_feedback(course, A, progress=False)
    assert scores(course) == {"alice": 6}
    assert any("isolation was off" in line for line in notes.read(course.root, A, "alice"))
    assert "isolation was off" in _feedback(course, "alice")


def test_isolation_required_fails_where_the_sandbox_cannot_run(course, monkeypatch):
    """Does --isolation required refuse to grade without bubblewrap, leaving nothing graded?"""
    monkeypatch.setattr(namespaces, "probe", lambda: (False, "bubblewrap is not installed"))
    required = Course(root=course.root, source=course.source, limits=Limits(isolation="required"))
    with pytest.raises(IsolationUnavailable, match="bubblewrap is not installed"):
        autograde(required, A, force=True, progress=False)


def test_what_the_kernel_may_read_stays_visible_when_it_lives_under_tmp(tmp_path):
    """Is a data folder under /tmp (as a project cloned into /tmp has it) visible in the sandbox, and
    nothing else of /tmp?"""
    from jupyter_core.utils import run_sync

    from autograder.course.config import kernel_config

    data, other = tmp_path / "data", tmp_path / "other"
    data.mkdir()
    other.mkdir()
    (data / "shown.txt").write_text("readable")
    (other / "hidden.txt").write_text("secret")
    config = kernel_config(Limits(isolation="required"))
    config.SandboxedKernelManager.readable = [*config.SandboxedKernelManager.readable, str(data)]
    manager = kernel_manager.SandboxedKernelManager(kernel_name="python3", config=config)
    run_sync(manager.start_kernel)(cwd=str(manager.scratch))
    client = manager.client()
    client.start_channels()
    try:
        run_sync(client.wait_for_ready)(timeout=60)
        seen = []
        code = (f"import os\nprint(open({str(data / 'shown.txt')!r}).read(), "
                f"os.path.exists({str(other / 'hidden.txt')!r}))")
        run_sync(client.execute_interactive)(code, timeout=60, output_hook=lambda msg: seen.append(
            msg["content"].get("text", "")))
        assert "".join(seen).split() == ["readable", "False"]
    finally:
        client.stop_channels()
        run_sync(manager.shutdown_kernel)(now=True)
