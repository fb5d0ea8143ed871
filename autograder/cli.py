"""cnn-course: the instructor's (and the student's) command line over nbgrader.

Every step is idempotent: running it twice leaves the same release, gradebook and files.

    cnn-course release [ASSIGNMENT...] [--to DIR]    student versions (course root, or any folder)
    cnn-course import ASSIGNMENT SUBMISSIONS         a folder or zip of notebooks named by student id
    cnn-course autograde [ASSIGNMENT...]             in parallel, under time and memory limits
    cnn-course feedback [ASSIGNMENT...]              HTML feedback (hidden tests removed)
    cnn-course export [--to FILE]                    CSV: one column per graded cell, plus totals
    cnn-course summary [ASSIGNMENT...]               a table of scores and notes
    cnn-course grade ASSIGNMENT SUBMISSIONS          import, autograde, feedback, export, summary
    cnn-course validate NOTEBOOK...                  the student's check before submitting
    cnn-course release ASSIGNMENT --exchange         ... and to the hub's exchange (autograder.exchange)
    cnn-course collect ASSIGNMENT                    submissions from the exchange, then autograde
    cnn-course feedback ASSIGNMENT --return          ... and back to the students through the exchange
"""

import argparse
import os
import sys
from pathlib import Path

from autograder.cluster import default_scheduler as cluster_default
from autograder.config import COURSE_SOURCE, DEFAULT_COURSE_ROOT, Course, Limits, NbgraderFailed


def _course(args):
    limits = Limits(**{name: value for name, value in (
        ("cell_timeout", args.timeout), ("memory_mb", args.memory_mb)) if value is not None})
    return Course(root=Path(args.course_dir).resolve(), source=Path(args.source).resolve(), limits=limits)


def cmd_release(args):
    from autograder.release import build_student_tree, release_assignments

    if args.exchange:
        from autograder.exchange import release_to_exchange

        if not args.assignments:
            raise ValueError("release --exchange needs the assignment(s) to release, e.g. 01-edge-detection.")
        for assignment in args.assignments:
            print(release_to_exchange(_course(args), assignment))
    elif args.to:
        for notebook in build_student_tree(args.to, args.assignments or None, source=args.source):
            print(notebook)
    else:
        for folder in release_assignments(_course(args), args.assignments or None, progress=args.progress):
            print(folder)


def cmd_import(args):
    from autograder.submissions import import_submissions

    course = _course(args)
    imported = import_submissions(course, args.assignment, args.submissions)
    for student, lines in imported.items():
        print(f"{student}: " + ("; ".join(lines) if lines else "ok"))


def cmd_autograde(args):
    from autograder.grading import autograde

    course = _course(args)
    for assignment in course.assignments(args.assignments or None):
        autograde(course, assignment, students=args.students, workers=args.workers,
                  force=args.force, progress=args.progress, scheduler=args.scheduler)


def cmd_collect(args):
    from autograder.exchange import collect_from_exchange

    for student, lines in collect_from_exchange(_course(args), args.assignment).items():
        print(f"{student}: " + ("; ".join(lines) if lines else "collected"))
    args.assignments, args.students, args.force = [args.assignment], None, False
    cmd_autograde(args)


def cmd_feedback(args):
    from autograder.reports import generate_feedback

    course = _course(args)
    for assignment in course.assignments(args.assignments or None):
        generate_feedback(course, assignment, workers=args.workers, progress=args.progress)
        if getattr(args, "return_", False):
            from autograder.exchange import return_feedback

            returned = return_feedback(course, assignment)
            print(f"{assignment}: feedback returned to " + (", ".join(returned) or "nobody"))


def cmd_export(args):
    from autograder.reports import export_grades

    path = export_grades(_course(args), args.to)
    print(path)


def cmd_summary(args):
    from autograder.reports import summary_table

    course = _course(args)
    print(summary_table(course, course.assignments(args.assignments or None)))


def cmd_grade(args):
    args.assignments = [args.assignment]
    cmd_import(args)
    cmd_autograde(args)
    cmd_feedback(args)
    cmd_export(args)
    cmd_summary(args)


def cmd_validate(args):
    from autograder.validate import validate

    failed = [nb for nb in args.notebooks if not validate(nb, timeout=args.timeout)]
    return 1 if failed else 0


def build_parser():
    parser = argparse.ArgumentParser(prog="cnn-course", description=__doc__.split("\n\n")[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--course-dir", default=os.environ.get("CNN_COURSE_ROOT", DEFAULT_COURSE_ROOT),
                        help="nbgrader course root (default: %(default)s, or $CNN_COURSE_ROOT)")
    common.add_argument("--source", default=COURSE_SOURCE,
                        help="folder of source assignments (default: %(default)s)")
    common.add_argument("--timeout", type=int, help=f"seconds per cell (default {Limits.cell_timeout})")
    common.add_argument("--memory-mb", type=int, help=f"kernel memory limit in MiB (default {Limits.memory_mb})")
    common.add_argument("--quiet", dest="progress", action="store_false", help="no progress bars")
    parallel = argparse.ArgumentParser(add_help=False)
    parallel.add_argument("--workers", type=int, default=None,
                          help="grading processes (default: the number of CPU cores)")
    parallel.add_argument("--scheduler", default=cluster_default(), metavar="tcp://HOST:8786",
                          help="grade on this Dask scheduler (default: $CNN_COURSE_SCHEDULER, else here)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name, func, help, parents=(common,)):
        p = sub.add_parser(name, help=help, description=help, parents=list(parents))
        p.set_defaults(func=func)
        return p

    p = add("release", cmd_release, "Generate the student version of assignments (nbgrader generate_assignment).")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: all")
    p.add_argument("--to", metavar="DIR", help="write DIR/<assignment>/<notebook>.ipynb instead of the course root")
    p.add_argument("--exchange", action="store_true", help="also release to nbgrader's exchange (the hub)")

    p = add("import", cmd_import, "Copy a folder or zip of submissions into nbgrader's submitted/ layout.")
    p.add_argument("assignment", metavar="ASSIGNMENT")
    p.add_argument("submissions", metavar="SUBMISSIONS",
                   help="folder or .zip of <student>.ipynb files or <student>/<notebook>.ipynb folders")

    p = add("autograde", cmd_autograde, "Grade the imported submissions in parallel.", (common, parallel))
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: all")
    p.add_argument("--student", dest="students", action="append", help="only this student (repeatable)")
    p.add_argument("--force", action="store_true", help="grade again submissions already graded")

    p = add("feedback", cmd_feedback, "Generate HTML feedback for graded submissions.", (common, parallel))
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: all")
    p.add_argument("--return", dest="return_", action="store_true", help="release it to the exchange (the hub)")

    p = add("collect", cmd_collect, "Collect submissions from nbgrader's exchange and autograde them.",
            (common, parallel))
    p.add_argument("assignment", metavar="ASSIGNMENT")

    p = add("export", cmd_export, "Write grades as CSV: one column per graded cell, plus totals.")
    p.add_argument("--to", metavar="FILE", help="default: <course root>/grades.csv")

    p = add("summary", cmd_summary, "Print scores and notes per student.")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: all")

    p = add("grade", cmd_grade, "Import, autograde, feedback, export and summary in one go.", (common, parallel))
    p.add_argument("assignment", metavar="ASSIGNMENT")
    p.add_argument("submissions", metavar="SUBMISSIONS", help="folder or .zip of submissions")
    p.add_argument("--to", metavar="FILE", help="CSV file (default: <course root>/grades.csv)")
    p.set_defaults(students=None, force=True)

    p = add("validate", cmd_validate, "Check a notebook before submitting: nbgrader validate, visible tests run.")
    p.add_argument("notebooks", nargs="+", metavar="NOTEBOOK")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except (NbgraderFailed, ValueError, FileNotFoundError) as error:
        print(f"cnn-course {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
