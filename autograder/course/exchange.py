"""The course on a JupyterHub: nbgrader's exchange between the instructor and the students.

The instructor's side, through nbgrader's own exchange classes (``NbGraderAPI``, which runs
``ExchangeReleaseAssignment``, ``ExchangeCollect`` and ``ExchangeReleaseFeedback``):

- :func:`release_to_exchange`: the student version (``release/``) copied to the exchange's
  ``outbound/``, where the students' Assignments tab lists and fetches it;
- :func:`collect_from_exchange`: the latest submission of each student from ``inbound/`` into
  ``submitted/``, where ``cnn-course autograde`` grades it as it grades an imported zip;
- :func:`return_feedback`: the HTML feedback into the exchange's ``feedback/``, where each student
  fetches their own.

The exchange is ``<course root>/exchange`` (nbgrader's ``Exchange.root`` in the course's
configuration); on the hub it is a link to the hub's per-course exchange (``deploy/setup_hub.py``).

What nbgrader's exchange permissions leave open, and what the course closes:

- nbgrader's ``inbound/`` is writable by every student (``0733``), so a student could drop a
  folder named after another, or fill the disk. On the hub no student can write into it: it
  belongs to the exchange's own account, and the students' servers submit through
  :class:`PrivateSubmit` to the hub's exchange service, which takes each student's submission
  under their own name only, within a size limit and a quota (``autograder/course/inbound.py``).
- nbgrader's release makes the exchange's root writable by everyone; :class:`CourseReleaseAssignment`
  leaves it as the hub's setup made it, the instructor's.
- :func:`collect_from_exchange` still sets aside, before nbgrader collects, a submission whose
  Unix owner is neither the student it names, nor the exchange's account (whose group
  ``inbound/`` has), nor the instructor, and notes it: an exchange laid out by hand can hold one.
"""

import grp
import io
import json
import os
import pwd
import shutil
import stat
import tarfile
import tempfile
import textwrap
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from nbgrader.exchange import ExchangeError
from nbgrader.exchange.default.release_assignment import ExchangeReleaseAssignment
from nbgrader.exchange.default.submit import ExchangeSubmit
from nbgrader.utils import get_username
from traitlets import Unicode

from autograder.course.config import COURSE_ID, check_step
from autograder.course.release import release_assignments
from autograder.render import notes

FORGED_PREFIX = ".set-aside+"


def exchange_api(course):
    """``NbGraderAPI`` for the exchange steps: releasing again replaces the exchange's copy."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    course.prepare()
    config = course.config()
    config.ExchangeReleaseAssignment.force = True
    # collect_from_exchange checks each submission's owner itself (nbgrader only warns).
    config.ExchangeCollect.check_owner = False
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def course_exchange(course):
    """``<exchange>/<course id>``: the exchange folder of this course."""
    return Path(course.config().Exchange.root) / COURSE_ID


def release_to_exchange(course, assignment):
    """Generate the student version of ``assignment`` and release it to the exchange.

    Returns:
        the released folder in the exchange, ``<exchange>/cnn-course/outbound/<assignment>``.
    """
    (assignment,) = course.assignments([assignment])
    release_assignments(course, [assignment])
    return publish(course, assignment)


def publish(course, assignment):
    """Copy the generated student version (``release/<assignment>``) to the exchange's ``outbound/``.

    Returns:
        the released folder in the exchange, ``<exchange>/cnn-course/outbound/<assignment>``.
    """
    check_step(exchange_api(course).release_assignment(assignment), f"release_assignment {assignment}")
    return course_exchange(course) / "outbound" / assignment


def exchange_is_own(course):
    """Whether the course root's exchange is a folder of its own, on one machine, which no student
    fetches from; on a hub it is a link to the exchange the students share (``deploy/setup_hub.py``)."""
    return not (course.root / "exchange").is_symlink()


def collect_from_exchange(course, assignment):
    """Collect each student's latest submission of ``assignment`` into ``submitted/``.

    A submission owned by another account than the student it names, the exchange's (the hub's
    exchange service writes every submission) or the instructor is set aside (renamed in
    ``inbound/``, so nbgrader does not see it) and noted for the student it names.

    Returns:
        dict student -> notes, for every student with a submission in the exchange.
    """
    (assignment,) = course.assignments([assignment])
    inbound = course_exchange(course) / "inbound"
    forged = _set_aside_forged(inbound, assignment)
    check_step(exchange_api(course).collect(assignment), f"collect {assignment}")
    collected = {}
    for entry in _submissions(inbound, assignment):
        collected.setdefault(entry.name.split("+", 1)[0], [])
    for student, owners in forged.items():
        collected.setdefault(student, []).append(
            f"a submission in the exchange under this name was made by {', '.join(sorted(owners))}: "
            "it was set aside, not graded")
    for student, lines in collected.items():
        notes.write(course.root, assignment, student, "import", lines)
    return dict(sorted(collected.items()))


def return_feedback(course, assignment):
    """Release the generated feedback of ``assignment`` to the exchange (``release_feedback``).

    Returns:
        the students whose feedback was released.
    """
    (assignment,) = course.assignments([assignment])
    check_step(exchange_api(course).release_feedback(assignment), f"release_feedback {assignment}")
    return sorted(p.parent.name for p in (course.root / "feedback").glob(f"*/{assignment}")
                  if any(p.glob("*.html")))


def _set_aside_forged(inbound, assignment):
    """Rename the submissions in ``inbound`` not owned by the student they name.

    Those of the exchange's account (:func:`_exchange_account`: on the hub, the exchange service
    writes every submission) and the instructor's own (its owner runs this: on one machine, without Unix
    accounts per student, every submission is the instructor's) are kept.

    Returns:
        dict student named -> set of the owners' user names.
    """
    trusted = {os.geteuid(), _exchange_account(inbound)}
    forged = {}
    for entry in _submissions(inbound, assignment):
        student = entry.name.split("+", 1)[0]
        uid = entry.lstat().st_uid
        owner = _user_name(uid)
        if owner != student and uid not in trusted:
            entry.rename(entry.with_name(FORGED_PREFIX + entry.name))
            forged.setdefault(student, set()).add(owner)
    return forged


def _submissions(inbound, assignment):
    """The submissions of ``assignment`` in ``inbound``, without those set aside (``.set-aside+...``)."""
    found = inbound.glob(f"*+{assignment}+*") if inbound.is_dir() else []
    return sorted(entry for entry in found if not entry.name.startswith(FORGED_PREFIX))


def _exchange_account(inbound):
    """The uid of the account named as ``inbound``'s group (on the hub, the exchange service's:
    ``deploy/setup_hub.py`` gives ``inbound/`` its group), or None."""
    try:
        return pwd.getpwnam(grp.getgrgid(inbound.stat().st_gid).gr_name).pw_uid
    except (KeyError, OSError):
        return None


def _user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


class CourseReleaseAssignment(ExchangeReleaseAssignment):
    """nbgrader's release, which leaves the exchange's root as it finds it.

    nbgrader makes the root writable by everyone (``0777``) at each release; the hub's setup makes
    it the instructor's, ``0755``, so that no student writes into it (they submit through the
    exchange service, ``deploy/exchange_service.py``). A missing root is made as nbgrader makes it.
    Configured for the course with ``c.ExchangeFactory.release_assignment``.
    """

    def ensure_root(self):
        if not os.path.isdir(self.root):
            super().ensure_root()


class PrivateSubmit(ExchangeSubmit):
    """nbgrader's submit, through the hub's exchange service, or private where nbgrader copies.

    With ``service_url`` (the students' servers on the hub, ``deploy/setup_hub.py``): the
    submission, copied as nbgrader copies it (its ignore patterns and ``max_dir_size``), goes as a
    tar to the exchange service (``deploy/exchange_service.py``) with the server's hub token; the
    service writes it into ``inbound/``, which no student can write. Its answer (the submission's
    name, timestamp and secret) makes nbgrader's cache entry, so the Assignments tab lists the
    submission and fetches its feedback as before; its refusal is the submit's error message.

    Without it (one machine): nbgrader's copy, then the submission made readable by its owner and
    the instructor only (folders ``0770``, files ``0640``).

    Configured with ``c.ExchangeFactory.submit = "autograder.course.exchange.PrivateSubmit"``.
    """

    service_url = Unicode("", help="The hub's exchange service, e.g. "
                          "http://127.0.0.1:8002/services/exchange/ (empty: copy into inbound/)").tag(config=True)

    def start(self):
        """nbgrader's submit; the service's refusal raised as nbgrader's ``ExchangeError`` from here,
        so that the traceback the Assignments tab shows is two frames, then the reason on lines of
        its own (its box is narrow)."""
        try:
            return super().start()
        except _NotSubmitted as refusal:
            problem = str(refusal)
        self.log.error(problem)
        raise ExchangeError("\n" + textwrap.fill(problem, 88))

    def init_dest(self):
        if not self.service_url:
            return super().init_dest()
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        student = self.coursedir.student_id if self.coursedir.student_id != "*" else get_username()
        if "*" in student or "+" in student:
            self.fail(f"The student ID should contain no '*' nor '+'; got {student}")
        self.student = student
        self.inbound_path = os.path.join(self.root, self.coursedir.course_id, "inbound")
        self.cache_path = os.path.join(self.cache, self.coursedir.course_id)

    def copy_files(self):
        if not self.service_url:
            super().copy_files()
            submission = os.path.join(self.inbound_path, self.assignment_filename)
            self.set_perms(submission, fileperms=stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP,
                           dirperms=stat.S_IRWXU | stat.S_IRWXG)
            return
        self.init_release()
        self.check_filename_diff()
        with tempfile.TemporaryDirectory() as scratch:
            copy = os.path.join(scratch, self.coursedir.assignment_id)
            try:
                self.do_copy(self.src_path, copy)  # nbgrader's ignore patterns and size limit
            except RuntimeError as error:  # "Directory size is too big ..."
                raise _NotSubmitted(f"Your {self.coursedir.assignment_id} is not submitted: {error} "
                                    "(bytes): leave large files out of its folder.") from None
            received = self._send(_tar(copy))
            self.timestamp, self.assignment_filename = received["timestamp"], received["name"]
            cache = os.path.join(self.cache_path, received["name"].rsplit("+", 1)[0])
            shutil.copytree(copy, cache)
        Path(cache, "timestamp.txt").write_text(received["timestamp"])
        Path(cache, "submission_secret.txt").write_text(received["secret"])
        self.log.info(f"Submitted as: {self.coursedir.course_id} {self.coursedir.assignment_id} {self.timestamp}")

    def _send(self, archive):
        """POST the tar ``archive`` to the exchange service. Returns its answer (a dict)."""
        token = os.environ.get("JUPYTERHUB_API_TOKEN")
        if not token:
            raise _NotSubmitted("Submitting needs your server's hub token ($JUPYTERHUB_API_TOKEN): submit "
                                "from your JupyterLab on the hub.")
        query = urllib.parse.urlencode({"student": self.student})
        url = f"{self.service_url.rstrip('/')}/submit/{urllib.parse.quote(self.coursedir.assignment_id)}?{query}"
        request = urllib.request.Request(url, data=archive, method="POST", headers={
            "Authorization": f"token {token}", "Content-Type": "application/x-tar"})
        try:
            with urllib.request.urlopen(request, timeout=300) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as error:
            problem = f"The exchange refused the submission of {self.coursedir.assignment_id}: {_message(error)}"
        except OSError as error:
            problem = f"The exchange service ({self.service_url}) cannot be reached: {error}. Tell your instructor."
        raise _NotSubmitted(problem)


class _NotSubmitted(Exception):
    """Why the exchange service did not take a submission (PrivateSubmit.start reports it)."""


def _message(error):
    """The exchange service's message in its refusal ``error`` (an HTTPError), or its status."""
    try:
        return json.loads(error.read())["message"]
    except (ValueError, KeyError, OSError):
        return f"{error.code} {error.reason}"


def _tar(folder):
    """An uncompressed tar (bytes) of the regular files under ``folder``, by relative path."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for parent, _, files in os.walk(folder):
            for name in sorted(files):
                path = os.path.join(parent, name)
                if os.path.isfile(path) and not os.path.islink(path):
                    tar.add(path, arcname=os.path.relpath(path, folder), recursive=False)
    return buffer.getvalue()
