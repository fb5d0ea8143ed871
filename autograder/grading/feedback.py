"""Feedback for students: nbgrader's ``generate_feedback`` for a class, in parallel.

Each page gets the course's style (failure messages wrap), maths rendered without the internet
(``autograder.render.mathjax``), and its score table names each test cell by its function and
kind instead of nbgrader's "Test cell". One student's page failing is a
note for that student (``autograder.render.notes``) and stops no one else's.
"""

import concurrent.futures as futures
import re
from dataclasses import asdict
from html import escape
from pathlib import Path

import nbformat

from autograder.course.config import Course, Limits, check_step
from autograder.grading.workers import default_width, worker_pool
from autograder.judge.testcells import test_labels
from autograder.render import mathjax, notes


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


# Failure messages wrap instead of scrolling sideways; a test's result is said in words and in
# colour; cells show no "In [ ]:" prompts.
FEEDBACK_STYLE = """<style>
.jp-RenderedText pre, .output_error pre, .output_stream pre { white-space: pre-wrap; overflow-wrap: anywhere; }
.verdict { font-weight: bold; padding: 0 0.4em; border-radius: 3px; color: white; }
.verdict.failed { background: #b3261e; } .verdict.passed { background: #1b7f3b; }
div.prompt, .jp-InputPrompt, .jp-OutputPrompt { display: none; }
</style>
"""
_SCORE = re.compile(r"(\(?Score: )([0-9.]+) / ([0-9.]+)(\)?)(?=</li>| <a href=\"#top\">)")


def _feedback_one(root, source, limits, assignment, student):
    course = Course(root=Path(root), source=Path(source), limits=Limits(**limits))
    check_step(course.api().generate_feedback(assignment, student, force=True),
               f"generate_feedback {assignment} for {student}")
    for page in course.step_dir("feedback", student, assignment).glob("*.html"):
        source = course.source / assignment / f"{page.stem}.ipynb"
        labels = test_labels(nbformat.read(str(source), 4)) if source.is_file() else {}
        html = page.read_text(encoding="utf-8").replace("</head>", FEEDBACK_STYLE + "</head>", 1)
        page.write_text(mathjax.offline(_mark_verdicts(_name_test_cells(html, labels))), encoding="utf-8")


def _mark_verdicts(html):
    """Each test's score, in the table and above its cell, led by "failed" or "passed" in colour."""
    def marked(match):
        verdict = "failed" if float(match.group(2)) < float(match.group(3)) else "passed"
        return f'<span class="verdict {verdict}">{verdict}</span> {match.group(0)}'

    return _SCORE.sub(marked, html)


def _name_test_cells(html, labels):
    """nbgrader's score table calls every test "Test cell": name the function and the kind."""
    def named(match):
        label = labels.get(match.group(1))
        return f'<a href="#{match.group(1)}">{escape(label)}</a>' if label else match.group(0)

    return re.sub(r'<a href="#([^"]+)">Test cell</a>', named, html)
