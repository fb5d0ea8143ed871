"""Importing submissions into nbgrader's ``submitted/<student>/<assignment>/`` layout.

Accepted input, a folder or a ``.zip`` of either form (mixed is fine)::

    alice.ipynb                  # the notebook, named by student id
    bob/edge_detection.ipynb     # a folder per student holding the assignment's notebook

What is wrong with a file becomes a note (``autograder.render.notes``) instead of an error, and the
import goes on: non-UTF-8 bytes are replaced; a file that is not a notebook, is empty or is
missing counts as a missing notebook (nbgrader then scores it 0); a renamed notebook is graded
under its released name when it is the only candidate; extra files are ignored; of two
submissions from one student the latest is graded; a student id is reduced to letters, digits,
``_``, ``.`` and ``-`` (what nbgrader's paths and globs handle).

Importing the same input again leaves ``submitted/`` unchanged.
"""

import datetime
import json
import re
import shutil
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import nbformat

from autograder.course.release import released
from autograder.render import notes

MAX_NOTEBOOK_BYTES = 200 * 1024 * 1024


@dataclass
class _Entry:
    """One file of the input: where it sits, when it was written, how to read it."""

    parts: tuple
    mtime: float
    size: int
    read: object  # () -> bytes


def import_submissions(course, assignment, source):
    """Import a folder or zip of submissions for one assignment.

    Args:
        course: an :class:`autograder.course.config.Course` whose assignment has been released.
        assignment: the assignment id.
        source: a folder or a ``.zip`` file.

    Returns:
        dict student id -> list of notes about their submission (empty when all was fine).

    Raises:
        NotReleased: if the assignment has not been released into the course root (nothing is
            written then).
    """
    names = course.notebooks(released(course, [assignment])[0])
    if len(names) != 1:
        raise ValueError(f"Assignment {assignment!r} must have exactly one notebook in "
                         f"{course.source / assignment}; found {names}.")
    expected = names[0]
    by_student = {}
    for entry in _entries(Path(source)):
        if any(part.startswith((".", "__MACOSX")) for part in entry.parts):
            continue
        by_student.setdefault(entry.parts[0].removesuffix(".ipynb") if len(entry.parts) == 1
                              else entry.parts[0], []).append(entry)

    imported = {}
    for raw_id, entries in sorted(by_student.items()):
        student = safe_student_id(raw_id)
        lines = [] if student == raw_id else [f"student id {raw_id!r} is stored as {student!r}"]
        if student in imported:
            lines.append(f"two folders or files map to the student id {student!r}: the first was kept")
            imported[student] += lines
            continue
        notebook, chosen = _choose_notebook(entries, expected, lines)
        _write(course, assignment, student, expected, notebook, chosen)
        notes.write(course.root, assignment, student, "import", lines)
        imported[student] = lines
    return imported


def safe_student_id(raw):
    """A student id that nbgrader's paths, globs and regular expressions take literally."""
    text = unicodedata.normalize("NFKC", raw).strip()
    text = re.sub(r"[^\w.-]+", "_", text).lstrip(".-")
    return text or "student"


def _entries(source):
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            if path.is_file() and not path.is_symlink():
                stat = path.stat()
                yield _Entry(path.relative_to(source).parts, stat.st_mtime, stat.st_size, path.read_bytes)
    elif zipfile.is_zipfile(source):
        archive = zipfile.ZipFile(source)
        for info in archive.infolist():
            if not info.is_dir():
                mtime = datetime.datetime(*info.date_time, tzinfo=datetime.timezone.utc).timestamp()
                yield _Entry(PurePosixPath(info.filename).parts, mtime, info.file_size,
                             lambda info=info: archive.read(info))
    else:
        raise FileNotFoundError(f"{source} is neither a folder nor a zip file of submissions.")


def _choose_notebook(entries, expected, lines):
    """Pick the student's notebook among their files; note everything else.

    Returns:
        (NotebookNode or None, the entry it came from or None).
    """
    candidates = [e for e in entries if e.parts[-1].endswith(".ipynb") and len(e.parts) <= 2]
    others = [e for e in entries if e not in candidates]
    if others:
        lines.append("extra files were ignored: " + ", ".join("/".join(e.parts[1:] or e.parts) for e in others))
    exact = [e for e in candidates if len(e.parts) == 1 or e.parts[-1] == f"{expected}.ipynb"]
    pool = exact or candidates
    if not pool:
        lines.append(f"no notebook was submitted (expected {expected}.ipynb): scored 0")
        return None, None
    chosen = max(pool, key=lambda e: (e.mtime, e.parts))
    if len(pool) > 1:
        lines.append(f"{len(pool)} submissions were found: the latest, {'/'.join(chosen.parts)}, was graded")
    if not exact:
        lines.append(f"the notebook {chosen.parts[-1]!r} was graded as {expected}.ipynb")
    extra = [e for e in candidates if e not in pool]
    if extra:
        lines.append("extra notebooks were ignored: " + ", ".join(e.parts[-1] for e in extra))
    return _read_notebook(chosen, lines), chosen


def _read_notebook(entry, lines):
    if entry.size > MAX_NOTEBOOK_BYTES:
        lines.append(f"the notebook is larger than {MAX_NOTEBOOK_BYTES // 2**20} MB: scored 0")
        return None
    data = entry.read()
    if not data.strip():
        lines.append("the notebook file is empty: scored 0")
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        lines.append("the notebook is not valid UTF-8: the undecodable bytes were replaced")
    try:
        with warnings.catch_warnings():  # duplicate cell ids: nbformat renumbers them, and says so
            warnings.simplefilter("ignore")
            nb = nbformat.reads(text, as_version=4)
            nbformat.validate(nb)
    except (json.JSONDecodeError, nbformat.reader.NotJSONError) as error:
        lines.append(f"the file is not a notebook (not valid JSON: {str(error)[:80]}): scored 0")
        return None
    except Exception as error:  # nbformat raises several kinds for a malformed notebook
        lines.append(f"the file is not a valid notebook ({type(error).__name__}): scored 0")
        return None
    if not nb.cells:
        lines.append("the notebook has no cells: scored 0")
        return None
    return nb


def _write(course, assignment, student, expected, notebook, entry):
    """Replace submitted/<student>/<assignment>/ unless it already holds exactly this."""
    folder = course.step_dir("submitted", student, assignment)
    content = {}
    if notebook is not None:
        content[f"{expected}.ipynb"] = nbformat.writes(notebook).encode("utf-8")
    if entry is not None:
        stamp = datetime.datetime.fromtimestamp(entry.mtime, datetime.timezone.utc)
        content["timestamp.txt"] = stamp.strftime("%Y-%m-%d %H:%M:%S.%f %Z").encode()
    current = {p.name: p.read_bytes() for p in folder.iterdir()} if folder.is_dir() else None
    if current == content:
        return
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, data in content.items():
        (folder / name).write_bytes(data)
