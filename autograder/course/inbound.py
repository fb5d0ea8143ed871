"""The exchange's receiving end on a hub: a student's submission arrives as a tar archive and is
written into ``inbound/`` in nbgrader's layout, within a size limit and a quota per student.

On the hub no student can write into ``inbound/``: it belongs to the exchange's own account
(``deploy/setup_hub.py``), and a student submits through the hub's exchange service
(``deploy/exchange_service.py``), which identifies them by their server's hub token and calls
:func:`receive` here. Everything a submission may hold is checked before a byte is written:

- the archive is an uncompressed tar of regular files and folders, with relative names that stay
  inside the submission (no ``..``, no absolute path, no link, no device, no FIFO);
- its files add up to at most ``Limits.submission`` bytes, and ``Limits.files`` files;
- with the student's submissions already kept in ``inbound/``, at most ``Limits.quota`` bytes.

A refusal is a :class:`Refused` that carries the HTTP status and a message for the student.
"""

import base64
import datetime
import io
import os
import re
import secrets
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MB = 1_000_000
# A student id or assignment name as nbgrader's folder names can hold them: no "+", no "/".
NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]*")
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"  # nbgrader's Exchange.timestamp_format, in UTC
FILE_MODE, DIR_MODE = 0o640, 0o2770  # the exchange's account and the instructor (its group)


class Refused(Exception):
    """A submission the exchange does not take: ``status`` (HTTP) and a message for the student."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Limits:
    """What one submission and one student may take in ``inbound/`` (bytes of files, files)."""

    submission: int = 20 * MB
    quota: int = 100 * MB
    files: int = 500

    def body(self):
        """The largest request body worth reading: the files, plus a tar's headers and padding."""
        return self.submission + 1024 * (self.files + 20)


@dataclass(frozen=True)
class Received:
    """A submission written: its folder's name in ``inbound/``, its timestamp and its secret."""

    name: str
    timestamp: str
    secret: str


def check_name(kind, value):
    """``value`` if it is a valid student id or assignment name, else :class:`Refused` (400)."""
    if not isinstance(value, str) or not NAME.fullmatch(value):
        raise Refused(400, f"{kind} {value!r} is not a valid name (letters, digits, '_', '.', '@', '-').")
    return value


def used_by(inbound, student):
    """Bytes of the files of all of ``student``'s submissions kept in ``inbound``."""
    total = 0
    for folder in Path(inbound).glob(f"{student}+*"):
        for parent, _, files in os.walk(folder):
            total += sum(os.lstat(os.path.join(parent, name)).st_size for name in files)
    return total


def check_archive(archive, limits):
    """The members of the tar ``archive`` (bytes), checked; :class:`Refused` at the first problem.

    Returns:
        (the open ``tarfile.TarFile``, its list of ``TarInfo``, total bytes of the files).
    """
    try:
        tar = tarfile.open(fileobj=io.BytesIO(archive), mode="r:")
        members = tar.getmembers()
    except (tarfile.TarError, EOFError) as error:
        raise Refused(400, f"the submission is not an uncompressed tar archive ({error}).") from None
    total = 0
    for member in members:
        path = PurePosixPath(member.name)
        if path.is_absolute() or ".." in path.parts or not path.parts or "\\" in member.name:
            raise Refused(400, f"the archive's entry {member.name!r} is not a relative path inside "
                               "the submission.")
        if not (member.isreg() or member.isdir()):
            kind = ("a symbolic link" if member.issym() else "a hard link" if member.islnk()
                    else "a FIFO" if member.isfifo() else "a device" if member.isdev() else "not a file")
            raise Refused(400, f"the archive's entry {member.name!r} is {kind}: a submission holds "
                               "regular files and folders only.")
        total += member.size if member.isreg() else 0
    if total > limits.submission:
        raise Refused(413, f"the submission is too big: its files take {total / MB:.1f} MB, the "
                           f"exchange takes at most {limits.submission / MB:g} MB per submission.")
    if sum(member.isreg() for member in members) > limits.files:
        raise Refused(413, f"the submission holds more than {limits.files} files.")
    return tar, members, total


def check_quota(inbound, student, size, limits):
    """:class:`Refused` (413) if ``size`` more bytes would take ``student`` over their quota."""
    used = used_by(inbound, student)
    if used + size > limits.quota:
        raise Refused(413, f"the submission ({size / MB:.1f} MB) would take your submissions in the "
                           f"exchange to {(used + size) / MB:.1f} MB, over your quota of "
                           f"{limits.quota / MB:g} MB: ask your instructor to make room.")


def receive(archive, inbound, student, assignment, limits, now=None):
    """Write the submission ``archive`` (tar bytes) of ``student`` into ``inbound``.

    The folder is ``<student>+<assignment>+<timestamp>+<random>/`` with ``timestamp.txt`` and
    ``submission_secret.txt``, as nbgrader's own submit writes it; the timestamp is the
    exchange's clock (``now``, UTC), never the student's. It appears whole or not at all (written
    under a hidden name first, then renamed). Files ``0640``, folders ``2770``: the exchange's
    account and its group, the instructor.

    Returns:
        :class:`Received`.
    """
    check_name("student", student)
    check_name("assignment", assignment)
    if not (Path(inbound).parent / "outbound" / assignment).is_dir():
        raise Refused(404, f"the assignment {assignment!r} is not released.")
    tar, members, size = check_archive(archive, limits)
    check_quota(inbound, student, size, limits)
    timestamp = (now or datetime.datetime.now(datetime.timezone.utc)).strftime(TIMESTAMP_FORMAT)
    name = f"{student}+{assignment}+{timestamp}+{base64.urlsafe_b64encode(os.urandom(9)).decode()}"
    secret = secrets.token_hex(64)
    incoming = Path(inbound) / f".incoming-{secrets.token_hex(8)}"
    try:
        incoming.mkdir(mode=0o700)
        tar.extractall(incoming, members=members, filter="data")
        (incoming / "timestamp.txt").write_text(timestamp)
        (incoming / "submission_secret.txt").write_text(secret)
        for parent, folders, files in os.walk(incoming):
            for file in files:
                os.chmod(os.path.join(parent, file), FILE_MODE)
            for folder in folders:
                os.chmod(os.path.join(parent, folder), DIR_MODE)
        os.chmod(incoming, DIR_MODE)
        incoming.rename(incoming.with_name(name))
    finally:
        if incoming.exists():
            shutil.rmtree(incoming)
    return Received(name=name, timestamp=timestamp, secret=secret)
