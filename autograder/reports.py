"""What comes out of grading: feedback for students, a CSV and a summary for the instructor."""

import concurrent.futures as futures
import csv
from dataclasses import asdict
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from autograder import notes
from autograder.config import COURSE_ID, Course, Limits, check_step
from autograder.workers import default_width, worker_pool


def generate_feedback(course, assignment, students=None, workers=None, progress=True):
    """nbgrader's ``generate_feedback`` for graded students, in parallel (it only reads).

    Args:
        students: student ids, or None for every student graded for ``assignment``.

    Returns:
        the feedback folders written, ``<root>/feedback/<student>/<assignment>``.
    """
    from tqdm import tqdm

    graded = sorted(p.parent.name for p in (course.root / "autograded").glob(f"*/{assignment}")
                    if students is None or p.parent.name in students)
    if not graded:
        return []
    with worker_pool(workers or default_width()) as pool:
        jobs = {pool.submit(_feedback_one, str(course.root), str(course.source), asdict(course.limits),
                            assignment, student): student for student in graded}
        for job in tqdm(futures.as_completed(jobs), total=len(jobs), desc=f"feedback {assignment}",
                        unit="submission", disable=not progress):
            try:  # one student's feedback failing must not stop the others'
                job.result()
                lines = []
            except Exception as error:
                lines = [f"no feedback page could be made ({type(error).__name__}: {str(error)[-200:]})"]
            notes.write(course.root, assignment, jobs[job], "feedback", lines)
    return [course.step_dir("feedback", student, assignment) for student in graded]


# Failure messages wrap instead of scrolling sideways.
FEEDBACK_STYLE = """<style>
.jp-RenderedText pre, .output_error pre, .output_stream pre { white-space: pre-wrap; overflow-wrap: anywhere; }
</style>
"""


def _feedback_one(root, source, limits, assignment, student):
    course = Course(root=Path(root), source=Path(source), limits=Limits(**limits))
    check_step(course.api().generate_feedback(assignment, student, force=True),
               f"generate_feedback {assignment} for {student}")
    for page in course.step_dir("feedback", student, assignment).glob("*.html"):
        page.write_text(page.read_text(encoding="utf-8").replace("</head>", FEEDBACK_STYLE + "</head>", 1),
                        encoding="utf-8")


def grade_table(course):
    """Scores from the gradebook.

    Returns:
        (columns, rows, maxima): columns are ``<assignment>/<grade id>`` in notebook order then
        ``<assignment>/total`` per assignment; rows map student -> {column: score}; maxima map
        column -> maximum score.
    """
    columns, maxima, rows = [], {}, {}
    with Gradebook(course.db_url, COURSE_ID) as gb:
        for assignment in gb.assignments:
            for notebook in assignment.notebooks:
                for cell in sorted(notebook.grade_cells, key=lambda c: _position(notebook, c.name)):
                    column = f"{assignment.name}/{cell.name}"
                    columns.append(column)
                    maxima[column] = cell.max_score
            columns.append(f"{assignment.name}/total")
            maxima[f"{assignment.name}/total"] = assignment.max_score
        for student in gb.students:
            row = rows.setdefault(student.id, {})
            for assignment in gb.assignments:
                try:
                    submission = gb.find_submission(assignment.name, student.id)
                except MissingEntry:
                    continue
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        row[f"{assignment.name}/{grade.name}"] = grade.score
                row[f"{assignment.name}/total"] = submission.score
    return columns, rows, maxima


def _position(notebook, name):
    names = [cell.name for cell in notebook.source_cells]
    return names.index(name) if name in names else len(names)


def export_grades(course, path=None):
    """Write the grades as CSV: a row per student, a column per graded cell, totals at the end.

    The first row after the header, student ``max``, holds the maximum of each column.

    Returns:
        the path written (``<root>/grades.csv`` by default).
    """
    path = Path(path) if path else course.root / "grades.csv"
    columns, rows, maxima = grade_table(course)
    total_max = sum(v for k, v in maxima.items() if k.endswith("/total"))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student_id", *columns, "total"])
        writer.writerow(["max", *(_number(maxima[c]) for c in columns), _number(total_max)])
        for student, row in sorted(rows.items()):
            total = sum(v for k, v in row.items() if k.endswith("/total"))
            writer.writerow([student, *(_number(row.get(c)) for c in columns), _number(total)])
    return path


def summary_table(course, assignments):
    """A plain-text table: student, assignment, score / max, and the notes about the submission."""
    _, rows, maxima = grade_table(course)
    lines = [("student", "assignment", "score", "notes")]
    for assignment in assignments:
        total = f"{assignment}/total"
        for student, row in sorted(rows.items()):
            if total not in row:
                continue
            remarks = notes.read(course.root, assignment, student)
            lines.append((student, assignment, f"{_number(row[total])} / {_number(maxima[total])}",
                          "; ".join(remarks) or "-"))
    widths = [max(len(line[i]) for line in lines) for i in range(3)]
    text = [" | ".join(value.ljust(width) for value, width in zip(line[:3], widths)) + " | " + line[3]
            for line in lines]
    text.insert(1, "-" * min(120, sum(widths) + 12))
    return "\n".join(text)


def _number(value):
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)
