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

- ``inbound/`` is writable by every student (``0733``), so a student can drop a folder named
  after another student. :func:`collect_from_exchange` sets aside every submission whose Unix
  owner is not the student it names, before nbgrader collects, and notes it.
- nbgrader writes a submission world-readable (files ``0644``, folder ``0777``) under a name no
  other student can list or guess. The students' servers submit through :class:`PrivateSubmit`,
  which then makes it readable by its owner and the instructor only.
"""

import os
import pwd
import stat
from pathlib import Path

from nbgrader.exchange.default.submit import ExchangeSubmit

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

    A submission that names another student than its Unix owner is set aside (renamed in
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

    The instructor's own (its owner runs this) are kept: on one machine, without Unix accounts
    per student, every submission is the instructor's.

    Returns:
        dict student named -> set of the owners' user names.
    """
    me = os.geteuid()
    forged = {}
    for entry in _submissions(inbound, assignment):
        student = entry.name.split("+", 1)[0]
        uid = entry.lstat().st_uid
        owner = _user_name(uid)
        if owner != student and uid != me:
            entry.rename(entry.with_name(FORGED_PREFIX + entry.name))
            forged.setdefault(student, set()).add(owner)
    return forged


def _submissions(inbound, assignment):
    """The submissions of ``assignment`` in ``inbound``, without those set aside (``.set-aside+...``)."""
    found = inbound.glob(f"*+{assignment}+*") if inbound.is_dir() else []
    return sorted(entry for entry in found if not entry.name.startswith(FORGED_PREFIX))


def _user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


class PrivateSubmit(ExchangeSubmit):
    """nbgrader's submit, then the submission is readable by its owner and the instructor only.

    nbgrader leaves the submission world-readable (hidden only by its name); this makes its
    folders ``0770`` and its files ``0640``. Their group is the instructor's (the exchange's
    ``inbound/`` is set-group-id) or the student's own, of which the hub makes the instructor a
    member (deploy/setup_hub.py). Configured for the students' servers with
    ``c.ExchangeFactory.submit = "autograder.course.exchange.PrivateSubmit"``.
    """

    def copy_files(self):
        super().copy_files()
        submission = os.path.join(self.inbound_path, self.assignment_filename)
        self.set_perms(submission, fileperms=stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP,
                       dirperms=stat.S_IRWXU | stat.S_IRWXG)
