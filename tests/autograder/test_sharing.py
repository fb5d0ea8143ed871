"""Submissions that reach for the next student's kernel, or take more than their share, graded in
one class with honest students before (``aaa_honest``), beside (two workers) and after
(``zzz_honest``) them, and with students who look for what earlier kernels left (``*_peek``).

The whole class is graded with a ``TMPDIR`` too long for Unix socket paths below it.
"""

import os
import tempfile

import nbformat
import pytest
from helpers import copy_course, scores, write_nb
from sample_course import ASSIGNMENT as A
from sample_course import NOTEBOOK as NB
from variants import prepend

from autograder.course.config import Course, Limits
from autograder.course.submissions import import_submissions
from autograder.errors import SocketPathTooLong
from autograder.grading.pipeline import autograde
from autograder.render import notes
from autograder.sandbox import kernel_manager, namespaces

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not namespaces.probe()[0], reason="bubblewrap cannot run here")]

LIMITS = Limits(cell_timeout=5, notebook_timeout=30, memory_mb=2048, scratch_mb=64, file_mb=32)
TOKEN = "grader-token-3c9e71"  # in the grader's environment, as a hub's API token would be
PLANT = """
import ctypes, os
from ipykernel.connect import get_connection_file
own = os.path.dirname(get_connection_file())
for folder in (own, os.path.dirname(own)):  # its own folder, and the one its kernel shares with others
    for kind, make in (('fifo', os.mkfifo), ('file', lambda path: open(path, 'w').close()),
                       ('link', lambda path: os.symlink('/etc/passwd', path))):
        try:
            make(os.path.join(folder, 'planted-' + kind))
            print('PLANTED', kind)
        except OSError as error:
            print('BLOCKED', kind, type(error).__name__)
"""
IPC = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
librt = ctypes.CDLL('librt.so.1', use_errno=True)
segment = libc.shmget(0x5EED, 4096, 0o1666)
queue = libc.msgget(0x5EED, 0o1666)
message = ctypes.create_string_buffer(b'\\x01\\0\\0\\0\\0\\0\\0\\0left-behind', 19)
libc.msgsnd(queue, message, 11, 0)
librt.mq_open.restype = ctypes.c_int
print('LEFT', segment >= 0, queue >= 0, librt.mq_open(b'/cnn-left-behind', 0o100 | 0o2, 0o666, None) >= 0)
"""
PEEK = """
import ctypes, os
from ipykernel.connect import get_connection_file
libc = ctypes.CDLL(None, use_errno=True)
librt = ctypes.CDLL('librt.so.1', use_errno=True)
found = [name for name, seen in (('shm', libc.shmget(0x5EED, 0, 0) >= 0), ('msg', libc.msgget(0x5EED, 0) >= 0),
                                 ('mq', librt.mq_open(b'/cnn-left-behind', 0) >= 0)) if seen]
own = os.path.dirname(get_connection_file())
found += [name for name in os.listdir(os.path.dirname(own)) if name != os.path.basename(own)]
found += [name for name in os.listdir(own) if name.startswith('planted')]
found += [name for name in os.listdir('/tmp') + os.listdir('/dev/shm') + os.listdir('.') if name.startswith('fill')]
print('FOUND', sorted(found))
"""
FILL = """
written = 0
try:
    for number in range(12):
        for folder in ('.', '/tmp', '/dev/shm'):
            with open(f'{folder}/fill-{number}', 'wb') as out:
                out.write(b'0' * 2**24)
            written += 16
except OSError as error:
    print('FULL', type(error).__name__)
print('WROTE', written, 'MB')
"""
ENVIRON = f"""
import os
seen = []
for pid in ['1', 'self'] + [p for p in os.listdir('/proc') if p.isdigit()]:
    try:
        seen.append(open(f'/proc/{{pid}}/environ', 'rb').read())
    except OSError:
        pass
print('ENVIRON', len(seen), any(b'{TOKEN}' in data for data in seen), '{TOKEN}' in str(os.environ))
"""
# Each reply that carries a result goes out one byte every 50 ms: every read of the grader gets
# something, long after the call's deadline.
DRIP = """
import time
from autograder.judge import wire
def send_slowly(sock, value, _send=wire.send_message):
    if not (isinstance(value, dict) and 'result' in value):
        return _send(sock, value)
    data = wire.dumps(value).encode()
    for byte in wire._LENGTH.pack(len(data)) + data:
        sock.sendall(bytes([byte]))
        time.sleep(0.05)
wire.send_message = send_slowly
"""


def _class(solved):
    """student id -> (notebook, expected score)."""
    cases = {student: (solved, 6) for student in ("aaa_honest", "mmm_honest", "zzz_honest")}
    for attack, code in (("plants", PLANT), ("leaves_ipc", IPC), ("fills_disk", FILL), ("reads_environ", ENVIRON)):
        cases[attack] = (prepend(solved, "relu", code), 6)
        cases[f"{attack}_peek"] = (prepend(solved, "relu", PEEK), 6)
    cases["zzz_peek"] = (prepend(solved, "relu", PEEK), 6)
    cases["drips"] = (prepend(solved, "relu", DRIP), 0)
    sleeps = nbformat.from_dict(solved)  # 8 cells of 4.5 s each, in a notebook of 30 s: tests not run
    sleeps.cells += [nbformat.v4.new_code_cell("import time\ntime.sleep(4.5)") for _ in range(8)]
    cases["sleeps"] = (sleeps, 0)
    return cases


@pytest.fixture(scope="module")
def graded(released_sample, solved_nb, tmp_path_factory):
    base = tmp_path_factory.mktemp("sharing")
    course = copy_course(released_sample, base / "root")
    course = Course(root=course.root, source=course.source, limits=LIMITS)
    cases = _class(solved_nb)
    for student, (nb, _) in cases.items():
        write_nb(nb, base / "submissions" / f"{student}.ipynb")
    import_submissions(course, A, base / "submissions")
    long_tmp = base / "a-temporary-folder-named-at-such-length-that-sockets-below-it-break"
    long_tmp.mkdir()
    saved = {name: os.environ.get(name) for name in ("TMPDIR", "CNN_COURSE_TEST_TOKEN")}
    os.environ.update(TMPDIR=str(long_tmp), CNN_COURSE_TEST_TOKEN=TOKEN)
    tempfile.tempdir = None
    try:
        autograde(course, A, workers=2, progress=False)
    finally:
        for name, value in saved.items():
            os.environ.pop(name) if value is None else os.environ.update({name: value})
        tempfile.tempdir = None
    return course, cases


def _outputs(course, student):
    nb = nbformat.read(course.step_dir("autograded", student, A) / f"{NB}.ipynb", 4)
    return "\n".join(output.get("text", "") + output.get("evalue", "")
                     for cell in nb.cells for output in cell.get("outputs", []))


def test_every_student_keeps_exactly_their_points(graded):
    """Do the honest students, the attackers' intact work and the peekers all score what they
    should, in a class graded under a TMPDIR too long for socket paths?"""
    course, cases = graded
    assert scores(course) == {student: expected for student, (_, expected) in cases.items()}


def test_nothing_a_kernel_leaves_reaches_a_later_one(graded):
    """Can a kernel plant a FIFO, a file or a link where the grader or the next kernel would meet
    it, or leave SysV or POSIX IPC objects or files in /tmp behind?"""
    course, cases = graded
    assert _outputs(course, "plants").count("BLOCKED") == 6 and "PLANTED" not in _outputs(course, "plants")
    assert "LEFT True True True" in _outputs(course, "leaves_ipc")
    for student in [name for name in cases if name.endswith("_peek")]:
        assert "FOUND []" in _outputs(course, student), student


def test_one_quota_holds_the_scratch_folder_tmp_and_dev_shm(graded):
    """Does a kernel that writes 16 MB files into its folder, /tmp and /dev/shm stop at the one
    quota of all three?"""
    course, _ = graded
    text = _outputs(course, "fills_disk")
    assert "FULL OSError" in text
    written = int(text.split("WROTE ")[1].split()[0])
    assert 32 <= written <= LIMITS.scratch_mb


def test_the_graders_environment_is_nowhere_in_the_sandbox(graded):
    """Is a token of the grader's environment out of sight of every process in the sandbox?"""
    course, _ = graded
    text = _outputs(course, "reads_environ")
    assert "ENVIRON" in text and "True" not in text.split("ENVIRON")[1]


def test_a_reply_that_trickles_in_ends_at_the_deadline(graded):
    """Does a reply sent one byte at a time end its call at the deadline, instead of after it?"""
    course, _ = graded
    assert scores(course)["drips"] == 0
    assert "the kernel stopped answering" in _outputs(course, "drips")


def test_a_notebook_past_its_time_runs_no_more_cells(graded):
    """Are the cells after a notebook's time limit (its tests included) left unrun, with one note?"""
    course, _ = graded
    lines = [line for line in notes.read(course.root, A, "sleeps") if "its time limit" in line]
    assert len(lines) == 1 and "(30 s)" in lines[0], lines
    assert _outputs(course, "sleeps").count("had used its whole time limit (30 s)") >= 5


def test_a_temporary_folder_too_long_for_sockets_is_said_plainly(course, monkeypatch, tmp_path):
    """Where no folder is short enough for the kernels' sockets, does grading stop with a message
    that says what to do?"""
    long_tmp = tmp_path / ("x" * 80)
    long_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(long_tmp))
    monkeypatch.setattr(kernel_manager, "SHORT_FOLDERS", ())
    most = kernel_manager.SOCKET_PATH_BYTES - kernel_manager.SOCKET_BELOW_BASE
    with pytest.raises(SocketPathTooLong, match=f"Set TMPDIR to a writable folder of at most {most} characters"):
        autograde(course, A, progress=False)
