"""How strong an assignment's tests are: every catalogued mistake graded as a student's answer.

``cnn-course mistakes ASSIGNMENT`` (and ``tests/test_mistakes.py``) builds, from the source
notebook, submissions that each make some of the assignment's classic mistakes
(``autograder.mistakes``), grades them as one class in a private course root, and reports for
each mistake: which test cells it cost points, whether its function's hidden tests caught it,
whether it cost points elsewhere, and whether the failed tests named it.

A mistake in one function may cost the points of the test cells that name that function, and of
the visible tests of the exercises built on it (whose solution calls it); a test cell that puts
the reference in its place (``substitute={"name": ...}``) must not fail. Mistakes whose allowed
cells do not overlap share a submission, so that a few submissions grade a whole catalogue.
"""

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.course.config import Course
from autograder.course.release import release_assignments
from autograder.course.submissions import import_submissions
from autograder.grading.pipeline import autograde
from autograder.judge.testcells import (
    bound_names,
    free_names,
    is_hidden,
    is_solution_cell,
    is_test_cell,
    nbgrader_flags,
)
from autograder.mistakes import load

_SUBSTITUTE = re.compile(r"substitute=\{([^{}]*)\}")


@dataclass
class Catch:
    """What the tests made of one mistake."""

    mistake: object
    lost: list = field(default_factory=list)      # grade ids of the cells that lost points
    stray: list = field(default_factory=list)     # of those, cells outside the mistake's function
    hidden: list = field(default_factory=list)    # the function's hidden test cells
    named_in: list = field(default_factory=list)  # cells whose message names the mistake

    @property
    def caught(self):
        """Caught by its own function's hidden tests, and by nothing outside that function."""
        return bool(set(self.lost) & set(self.hidden)) and not self.stray


def allowed_cells(nb, function):
    """grade ids of the test cells a mistake in ``function`` may fail (see the module docstring)."""
    solutions = {name: cell for cell in nb.cells if is_solution_cell(cell) for name in bound_names(cell.source)}
    users, todo = {function}, [function]
    while todo:
        called = todo.pop()
        for name, cell in solutions.items():
            if name not in users and called in free_names(cell.source):
                users.add(name)
                todo.append(name)
    allowed = set()
    for cell in nb.cells:
        if not is_test_cell(cell):
            continue
        substituted = " ".join(_SUBSTITUTE.findall(cell.source))
        if re.search(rf"[\"']{re.escape(function)}[\"']\s*:", substituted):
            continue
        if free_names(cell.source) & users:
            allowed.add(nbgrader_flags(cell)["grade_id"])
    return allowed


def hidden_cells(nb, function):
    return {nbgrader_flags(cell)["grade_id"] for cell in nb.cells
            if is_test_cell(cell) and is_hidden(cell.source) and function in free_names(cell.source)}


def with_mistakes(nb, mistakes):
    """A copy of ``nb`` whose answer cells for the mistakes' functions hold their variants."""
    nb = nbformat.from_dict(nb)
    for mistake in mistakes:
        cell = next((c for c in nb.cells if is_solution_cell(c) and mistake.function in bound_names(c.source)), None)
        if cell is None:
            raise ValueError(f"no answer cell defines {mistake.function}, which {mistake.key} is a variant of")
        cell.source = mistake.source()
    return nb


def groups(nb, mistakes):
    """The mistakes in few groups; in a group no two may fail the same cell."""
    allowed = {m.function: allowed_cells(nb, m.function) for m in mistakes}
    found = []
    for mistake in mistakes:
        for group in found:
            if all(allowed[m.function].isdisjoint(allowed[mistake.function]) for m in group):
                group.append(mistake)
                break
        else:
            found.append([mistake])
    return found


def catch_matrix(assignment, source, limits, workers=2):
    """Grade every mistake catalogued for ``assignment`` and say what caught it.

    Args:
        assignment: the assignment id (``01-edge-detection``).
        source: the folder of source assignments.
        limits: an ``autograder.course.config.Limits`` for grading.
        workers: parallel grading processes.

    Returns:
        a list of :class:`Catch`, in catalogue order (empty when nothing is catalogued).
    """
    mistakes = load(Path(source) / assignment)
    if not mistakes:
        return []
    (path,) = sorted((Path(source) / assignment).glob("*.ipynb"))
    nb = nbformat.read(path, 4)
    catches = {m.key: Catch(m, hidden=sorted(hidden_cells(nb, m.function))) for m in mistakes}
    with tempfile.TemporaryDirectory(prefix="cnn-course-mistakes-") as tmp:
        course = Course(root=Path(tmp) / "root", source=Path(source), limits=limits)
        release_assignments(course, [assignment])
        folder = Path(tmp) / "submissions"
        folder.mkdir()
        members = {}
        for number, group in enumerate(groups(nb, mistakes), start=1):
            student = f"mistakes{number:02d}"
            members[student] = group
            nbformat.write(with_mistakes(nb, group), folder / f"{student}.ipynb")
        import_submissions(course, assignment, folder)
        results = autograde(course, assignment, workers=workers, progress=False)
        for student, group in members.items():
            messages = _messages(course, student, assignment)
            if results[student]["status"] != "graded":
                raise RuntimeError(f"the submission {student} of {assignment} was not graded: "
                                   + "; ".join(results[student]["notes"]))
            scores = {gid: score for notebook in results[student]["grades"].values()
                      for gid, (score, _) in notebook["grades"].items()}
            lost = {gid for gid, points in _points(nb).items() if scores.get(gid, 0) < points}
            for mistake in group:
                allowed = allowed_cells(nb, mistake.function)
                owned = lost & allowed if len(group) > 1 else lost
                catch = catches[mistake.key]
                catch.lost = sorted(owned)
                catch.stray = sorted(owned - allowed)
                catch.named_in = sorted(gid for gid in owned if mistake.says in messages.get(gid, ""))
            unexplained = lost - set().union(*(allowed_cells(nb, m.function) for m in group))
            for mistake in group:  # a cell no mistake of the group may fail is stray for all of them
                catches[mistake.key].stray = sorted(set(catches[mistake.key].stray) | unexplained)
    return [catches[m.key] for m in mistakes]


def _points(nb):
    return {nbgrader_flags(cell)["grade_id"]: nbgrader_flags(cell)["points"] for cell in nb.cells
            if is_test_cell(cell)}


def _messages(course, student, assignment):
    """grade id -> the error text of that test cell in the autograded notebook."""
    found = {}
    for path in course.step_dir("autograded", student, assignment).glob("*.ipynb"):
        for cell in nbformat.read(path, 4).cells:
            if is_test_cell(cell):
                found[nbgrader_flags(cell)["grade_id"]] = "\n".join(
                    o.get("evalue", "") for o in cell.get("outputs", []) if o.get("output_type") == "error")
    return found


def table(assignment, catches):
    """The catch matrix as text: one line per mistake."""
    lines = [f"{assignment}: {sum(c.caught for c in catches)} of {len(catches)} mistakes caught by their "
             "function's hidden tests and nowhere else"]
    width = max((len(c.mistake.key) for c in catches), default=0)
    for c in catches:
        verdict = "caught" if c.caught else ("STRAY" if c.stray else "MISSED")
        named = "named" if c.named_in else "not named"
        lines.append(f"  {c.mistake.key:<{width}}  {verdict:<6}  {named:<9}  lost: {', '.join(c.lost) or '-'}"
                     + (f"  (outside its function: {', '.join(c.stray)})" if c.stray else ""))
    return "\n".join(lines)
