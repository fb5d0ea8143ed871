"""The class roster: a CSV file of students, one a line: ``student id, name[, email]``.

The student id is the student's Unix account and JupyterHub user name, and nbgrader's student id:
lower-case letters, digits, ``_`` and ``-``, starting with a letter, at most 32 characters. A
first line ``id,name,email`` (or any first line whose first field is ``id`` or ``student_id``) is
a header and skipped; blank lines and lines starting with ``#`` are ignored.

:func:`read_roster` is kept to the standard library: JupyterHub's configuration imports it.
:func:`add_to_gradebook` gives nbgrader the names, which the Formgrader, the summary and the
Canvas export show (``cnn-course roster FILE``; ``make hub`` does it too).
"""

import csv
import re
from dataclasses import dataclass
from pathlib import Path

USER_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
HEADER_IDS = ("id", "student_id", "student id", "username")


@dataclass(frozen=True)
class Student:
    """One roster line. ``first_name``/``last_name`` split ``name`` at its last space (nbgrader's fields)."""

    id: str
    name: str
    email: str = ""

    @property
    def first_name(self):
        return self.name.rpartition(" ")[0] or self.name

    @property
    def last_name(self):
        return self.name.rpartition(" ")[2] if " " in self.name else ""


def read_roster(path):
    """The students of a roster file, in file order.

    Raises:
        ValueError: for a bad line (quoting it and its number) or a student id given twice.
    """
    path = Path(path)
    students, seen = [], set()
    with open(path, newline="", encoding="utf-8-sig") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            fields = [field.strip() for field in row]
            if not fields or not any(fields) or fields[0].startswith("#"):
                continue
            if number == 1 and fields[0].lower() in HEADER_IDS:
                continue
            if len(fields) not in (2, 3) or not fields[1]:
                raise ValueError(f"{path}, line {number}: {','.join(row)!r}: expected "
                                 "'student id, name' or 'student id, name, email'.")
            student_id = fields[0]
            if not USER_NAME.match(student_id):
                raise ValueError(f"{path}, line {number}: student id {student_id!r} is not a valid "
                                 "user name: expected lower-case letters, digits, '_' or '-', starting "
                                 "with a letter, at most 32 characters (e.g. 'alice' or 's1234').")
            if student_id in seen:
                raise ValueError(f"{path}, line {number}: student id {student_id!r} appears twice.")
            email = fields[2] if len(fields) == 3 else ""
            if email and "@" not in email:
                raise ValueError(f"{path}, line {number}: email {email!r} has no '@'.")
            seen.add(student_id)
            students.append(Student(student_id, fields[1], email))
    return students


def add_to_gradebook(course, students):
    """Put the roster's students, with their names and emails, into the course's gradebook.

    Args:
        course: an ``autograder.course.config.Course`` whose gradebook exists (after a release).
        students: :class:`Student` s, as :func:`read_roster` returns them.
    """
    from nbgrader.api import Gradebook

    from autograder.course.config import COURSE_ID, put_environment_on_path

    put_environment_on_path()
    with Gradebook(course.db_url, COURSE_ID) as gb:
        for student in students:
            gb.update_or_create_student(student.id, first_name=student.first_name,
                                        last_name=student.last_name, email=student.email or None)
