"""Seconds to grade one submission of an assignment, steady state: one worker, K solved notebooks in a row.

    .venv/bin/python benchmarks/grade_one.py 05-mnist [--copies 4]

Grades K copies of the assignment's solved source notebook with one grading process, sandbox on,
as ``cnn-course autograde --workers 1`` would. The first submission also pays for the grader's
own imports (nbgrader, Keras); the next ones show what each further submission of a class costs,
the kernel factory's included. Prints each submission's seconds, split into kernel start,
the notebook's own cells, the test cells and the rest (nbgrader's steps), and their score.
"""

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from autograder.course.config import COURSE_SOURCE, Course, Limits
from autograder.course.release import release_assignments
from autograder.course.submissions import import_submissions
from autograder.grading.pipeline import autograde


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment", help="e.g. 05-mnist")
    parser.add_argument("--copies", type=int, default=4, help="submissions graded in a row (default %(default)s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cnn-course-bench-") as tmp:
        course = Course(root=Path(tmp) / "root", source=COURSE_SOURCE, limits=Limits(cell_timeout=120))
        release_assignments(course, [args.assignment], progress=False)
        (source,) = (COURSE_SOURCE / args.assignment).glob("*.ipynb")
        folder = Path(tmp) / "submissions"
        folder.mkdir()
        students = [f"s{i}" for i in range(args.copies)]
        for student in students:
            shutil.copy(source, folder / f"{student}.ipynb")
        import_submissions(course, args.assignment, folder)
        start = time.perf_counter()
        results = autograde(course, args.assignment, workers=1, progress=False)
        wall = time.perf_counter() - start
        for student in students:
            result = results[student]
            timings = result.get("timings") or {}
            score = sum(points for nb in result["grades"].values()
                        for points, _ in nb["grades"].values() if points is not None)
            phases = ("kernel start", "notebook cells", "test cells")
            rest = timings.get("total", 0) - sum(timings.get(p, 0) for p in phases)
            print(f"{student}: {timings.get('total', 0):5.1f} s  " + "  ".join(
                f"{p} {timings.get(p, 0):.1f}" for p in phases) + f"  rest {rest:.1f}  score {score:g}  {result['status']}")
        after_first = [results[s]["timings"]["total"] for s in students[1:] if results[s].get("timings")]
        if after_first:
            print(f"{args.assignment}: {sum(after_first) / len(after_first):.1f} s per submission after the first "
                  f"({wall:.1f} s for {args.copies}, process start included)")


if __name__ == "__main__":
    main()
