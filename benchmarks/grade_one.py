"""Seconds to grade one submission of an assignment, steady state: one worker, K notebooks in a row.

    .venv/bin/python benchmarks/grade_one.py 05-mnist [--copies 4] [--mistakes]

Grades K copies of the assignment's solved source notebook with one grading process, sandbox on,
as ``cnn-course autograde --workers 1`` would. The first submission also pays for the grader's
own imports (nbgrader, Keras); the next ones show what each further submission of a class costs,
the kernel factory's included. Prints each submission's seconds, split into kernel start,
the notebook's own cells, the test cells and the rest (nbgrader's steps), and their score.

It also prints what the feedback that teaches costs per submission:

- checking copies: the seconds of ``autograder.course.copies.flag_copies`` over the class,
  divided by its submissions;
- naming mistakes (``--mistakes``): the K submissions then make the catalogue's classic mistakes
  (as ``cnn-course mistakes`` builds them, so that tests fail and mistakes are named), and are
  graded twice, with the catalogue beside the source notebook and with a copy of the source
  without it. Logging the calls and naming the mistakes happen while the test cells run: the
  difference of the test cells' seconds per submission is their cost (the totals' difference is
  printed too, but the notebook's own cells make it noisy on a busy machine).
"""

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.course import copies
from autograder.course.config import COURSE_SOURCE, Course, Limits
from autograder.course.release import release_assignments
from autograder.course.submissions import import_submissions
from autograder.grading.catch import groups, with_mistakes
from autograder.grading.pipeline import autograde
from autograder.mistakes import FILE_NAME, load


def submissions(assignment, count, mistaken):
    """``count`` notebooks: the solved source, or (``mistaken``) the source with the catalogue's
    mistakes, one group of them per notebook, the groups in turn."""
    (path,) = (COURSE_SOURCE / assignment).glob("*.ipynb")
    nb = nbformat.read(path, 4)
    if not mistaken:
        return [nb] * count
    found = groups(nb, load(COURSE_SOURCE / assignment))
    if not found:
        raise SystemExit(f"{assignment} has no catalogue of mistakes ({FILE_NAME})")
    return [with_mistakes(nb, found[i % len(found)]) for i in range(count)]


def grade(assignment, notebooks, tmp, catalogue=True):
    """Grade ``notebooks`` as a class; returns (results, seconds of the copy check)."""
    source = COURSE_SOURCE
    if not catalogue:
        source = tmp / "source-without-catalogue"
        shutil.copytree(COURSE_SOURCE, source, ignore=shutil.ignore_patterns(FILE_NAME))
    course = Course(root=tmp / ("root" if catalogue else "root-without"), source=source,
                    limits=Limits(cell_timeout=120))
    release_assignments(course, [assignment], progress=False)
    folder = tmp / ("submissions" if catalogue else "submissions-without")
    folder.mkdir()
    for number, nb in enumerate(notebooks):
        nbformat.write(nb, folder / f"s{number}.ipynb")
    import_submissions(course, assignment, folder)
    results = autograde(course, assignment, workers=1, progress=False)
    start = time.perf_counter()
    copies.flag_copies(course, assignment)
    return results, time.perf_counter() - start


def report(assignment, results, label):
    """Print each submission's phases; returns the mean seconds per submission after the first,
    in all and in the test cells."""
    phases = ("kernel start", "notebook cells", "test cells")
    for student in sorted(results, key=lambda s: int(s[1:])):
        result = results[student]
        timings = result.get("timings") or {}
        score = sum(points for nb in result["grades"].values()
                    for points, _ in nb["grades"].values() if points is not None)
        rest = timings.get("total", 0) - sum(timings.get(p, 0) for p in phases)
        print(f"{label}{student}: {timings.get('total', 0):5.1f} s  " + "  ".join(
            f"{p} {timings.get(p, 0):.1f}" for p in phases) + f"  rest {rest:.1f}  score {score:g}  {result['status']}")
    after_first = [results[s]["timings"] for s in sorted(results, key=lambda s: int(s[1:]))[1:]
                   if results[s].get("timings")]
    if not after_first:
        return None, None
    return (sum(t["total"] for t in after_first) / len(after_first),
            sum(t.get("test cells", 0) for t in after_first) / len(after_first))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment", help="e.g. 05-mnist")
    parser.add_argument("--copies", type=int, default=4, help="submissions graded in a row (default %(default)s)")
    parser.add_argument("--mistakes", action="store_true",
                        help="submissions that make the catalogue's mistakes, graded with and without it")
    args = parser.parse_args()
    notebooks = submissions(args.assignment, args.copies, args.mistakes)
    with tempfile.TemporaryDirectory(prefix="cnn-course-bench-") as tmp:
        start = time.perf_counter()
        results, copy_check = grade(args.assignment, notebooks, Path(tmp))
        wall = time.perf_counter() - start
        mean, tests = report(args.assignment, results, "")
        if mean is not None:
            print(f"{args.assignment}: {mean:.1f} s per submission after the first "
                  f"({wall:.1f} s for {args.copies}, process start included)")
        print(f"checking copies: {copy_check / args.copies:.3f} s per submission "
              f"({copy_check:.2f} s for {args.copies})")
        if args.mistakes:
            without, _ = grade(args.assignment, notebooks, Path(tmp), catalogue=False)
            plain, plain_tests = report(args.assignment, without, "without the catalogue: ")
            if mean is not None and plain is not None:
                print(f"naming mistakes: {tests - plain_tests:+.2f} s per submission in the test cells "
                      f"({tests:.2f} s with the catalogue, {plain_tests:.2f} s without); in all "
                      f"{mean - plain:+.1f} s ({mean:.1f} s with, {plain:.1f} s without)")


if __name__ == "__main__":
    main()
