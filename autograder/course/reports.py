"""What comes out of grading for the instructor: a CSV of the class's grades and a summary table."""

import csv
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from autograder.course.config import COURSE_ID
from autograder.course.release import released
from autograder.render import notes

# A student's result for one assignment, as every export and the summary name it.
GRADED, MISSING, FAILED, NEEDS_REVIEW, NOT_GRADED = (
    "graded", "missing", "failed", "needs manual review", "not graded")
EXPORT_FORMATS = ("csv", "canvas", "moodle")


@dataclass(frozen=True)
class Result:
    """One student's result for one assignment.

    Attributes:
        status: GRADED; MISSING (nothing gradable was handed in: scored 0); FAILED (grading failed:
            scored 0, to be checked by hand); NEEDS_REVIEW (graded, but a cell awaits manual
            grading); NOT_GRADED (imported, not autograded yet: no score).
        score: the assignment's score; None when NOT_GRADED.
        cells: grade id -> score (empty when NOT_GRADED).
    """

    status: str
    score: float | None
    cells: dict


@dataclass(frozen=True)
class AssignmentGrades:
    """One assignment's grades for the whole class.

    Attributes:
        name: the assignment id.
        cells: [(grade id, maximum score)] of its graded cells, in notebook order.
        max_score: the assignment's maximum score.
        results: student id -> :class:`Result`, for every student of the class.
    """

    name: str
    cells: list
    max_score: float
    results: dict


class NothingCollected(ValueError):
    """An export or summary of the assignments with work, asked before any work was imported."""


def grade_table(course, assignments=None, everything=False):
    """The class's grades, from the gradebook and the course root's folders.

    The class is every student in the gradebook or in ``submitted/``; a student with no submission
    for an assignment gets a MISSING result (0) for it.

    Args:
        assignments: assignment ids, or None for the released assignments that have been collected
            or graded (submissions in ``submitted/`` or ``autograded/``, or in the gradebook): an
            assignment nobody has handed in yet would only add zeros.
        everything: with ``assignments`` None, every released assignment instead.

    Returns:
        (students, tables): student id -> name ("Last, First" as ``nbgrader db student add`` gave
        it, or ""), sorted by id; an :class:`AssignmentGrades` per assignment.

    Raises:
        NotReleased: for an assignment that has not been released (the gradebook is not touched).
        NothingCollected: when asked for the collected assignments and none has been.
    """
    chosen = released(course, assignments)
    submitted = course.root / "submitted"
    students = {p.name: "" for p in submitted.iterdir() if p.is_dir() and not p.name.startswith(".")} \
        if submitted.is_dir() else {}
    tables = []
    with Gradebook(course.db_url, COURSE_ID) as gb:
        students.update({s.id: ", ".join(part for part in (s.last_name, s.first_name) if part)
                         for s in gb.students})
        students = dict(sorted(students.items()))
        if not assignments and not everything:
            chosen = [name for name in chosen if _has_work(course, gb, name)]
            if not chosen:
                raise NothingCollected(
                    f"no submission has been imported or graded in {course.root} yet: run `cnn-course import "
                    "ASSIGNMENT SUBMISSIONS` first (or name the assignments, or give --all, for empty columns)")
        for name in chosen:
            assignment = gb.find_assignment(name)
            cells = [(cell.name, cell.max_score) for notebook in assignment.notebooks
                     for cell in sorted(notebook.grade_cells, key=lambda c: _position(notebook, c.name))]
            results = {student: _result(course, gb, name, student, cells) for student in students}
            tables.append(AssignmentGrades(name, cells, assignment.max_score, results))
    return students, tables


def _has_work(course, gb, assignment):
    """Whether anything of ``assignment`` was collected or graded: a folder or a gradebook submission."""
    folders = (course.root / step for step in ("submitted", "autograded"))
    return (any(next(folder.glob(f"*/{assignment}"), None) for folder in folders)
            or bool(gb.find_assignment(assignment).submissions))


def _result(course, gb, assignment, student, cells):
    def handed_in(step):
        return any(course.step_dir(step, student, assignment).glob("*.ipynb"))

    try:
        submission = gb.find_submission(assignment, student)
    except MissingEntry:
        if handed_in("submitted"):
            return Result(NOT_GRADED, None, {})
        return Result(MISSING, 0, {cell: 0 for cell, _ in cells})
    scores = {grade.name: grade.score for notebook in submission.notebooks for grade in notebook.grades}
    if handed_in("autograded"):
        status = NEEDS_REVIEW if submission.needs_manual_grade else GRADED
    else:  # graded without a notebook to grade, or the grading of the notebook failed
        status = FAILED if handed_in("submitted") else MISSING
    return Result(status, submission.score, scores)


def _position(notebook, name):
    names = [cell.name for cell in notebook.source_cells]
    return names.index(name) if name in names else len(names)


def export_grades(course, path=None, assignment=None, form="csv", everything=False):
    """Write the grades of the class as a CSV file, for the instructor or a learning platform.

    Forms (a row per student of the class; a missing submission scores 0):

    - ``csv``: ``student_id``, then per assignment a column per graded cell, ``<assignment>/total``
      and ``<assignment>/status``, then ``total``; the first row after the header, student
      ``max``, holds the maximum of each column.
    - ``canvas``: Canvas' gradebook import: ``Student``, ``ID``, ``SIS User ID``,
      ``SIS Login ID`` (the student id), ``Section``, then a column per assignment (its total),
      with a ``Points Possible`` row first.
    - ``moodle``: Moodle's CSV grade import: ``username`` (the student id), then a column per
      assignment (its total).

    A submission not autograded yet has an empty score (which both platforms leave unchanged).

    Args:
        path: the file to write (default: ``<root>/grades[-<assignment>][-<form>].csv``).
        assignment: one assignment id, or None for those collected or graded (:func:`grade_table`).
        form: one of :data:`EXPORT_FORMATS`.
        everything: with ``assignment`` None, every released assignment.

    Returns:
        the path written.
    """
    if form not in EXPORT_FORMATS:
        raise ValueError(f"Unknown export format {form!r}. Expected one of {', '.join(EXPORT_FORMATS)}.")
    students, tables = grade_table(course, [assignment] if assignment else None, everything)
    name = "-".join(["grades", *([assignment] if assignment else []), *([form] if form != "csv" else [])])
    path = Path(path) if path else course.root / f"{name}.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(_ROWS[form](students, tables))
    return path


def _csv_rows(students, tables):
    header, maxima = ["student_id"], ["max"]
    for table in tables:
        header += [f"{table.name}/{cell}" for cell, _ in table.cells] + [f"{table.name}/total", f"{table.name}/status"]
        maxima += [_number(top) for _, top in table.cells] + [_number(table.max_score), ""]
    yield header + ["total"]
    yield maxima + [_number(sum(table.max_score for table in tables))]
    for student in students:
        row = [student]
        for table in tables:
            result = table.results[student]
            row += [_number(result.cells.get(cell)) for cell, _ in table.cells]
            row += [_number(result.score), result.status]
        yield row + [_number(_total(student, tables))]


def _canvas_rows(students, tables):
    yield ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *(table.name for table in tables)]
    yield ["Points Possible", "", "", "", "", *(_number(table.max_score) for table in tables)]
    for student in students:
        yield [students[student] or student, "", "", student, "",
               *(_number(table.results[student].score) for table in tables)]


def _moodle_rows(students, tables):
    yield ["username", *(table.name for table in tables)]
    for student in students:
        yield [student, *(_number(table.results[student].score) for table in tables)]


_ROWS = {"csv": _csv_rows, "canvas": _canvas_rows, "moodle": _moodle_rows}


def _total(student, tables):
    return sum(table.results[student].score or 0 for table in tables)


def summary_table(course, assignments=None, everything=False):
    """A plain-text table: student, assignment, score / max, status and the notes about the submission.

    Args:
        assignments: assignment ids, or None for those collected or graded (:func:`grade_table`).
        everything: with ``assignments`` None, every released assignment.
    """
    students, tables = grade_table(course, assignments, everything)
    lines = [("student", "assignment", "score", "status", "notes")]
    for table in tables:
        for student in students:
            result = table.results[student]
            remarks = notes.read(course.root, table.name, student)
            score = "-" if result.score is None else _number(result.score)
            lines.append((student, table.name, f"{score} / {_number(table.max_score)}", result.status,
                          "; ".join(remarks) or "-"))
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    text = [" | ".join(value.ljust(width) for value, width in zip(line[:4], widths)) + " | " + line[4]
            for line in lines]
    text.insert(1, "-" * min(120, sum(widths) + 15))
    return "\n".join(text)


def _number(value):
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)
