"""cnn-course: the instructor's (and the student's) command line over nbgrader.

Every step is idempotent: running it twice leaves the same release, gradebook and files.

    cnn-course release [ASSIGNMENT...]               student versions and gradebook, in the course root
    cnn-course release --to DIR [ASSIGNMENT...]      student versions only, as a folder to hand out
    cnn-course roster FILE                           the class's names and emails into the gradebook
    cnn-course import ASSIGNMENT SUBMISSIONS         a folder or zip of notebooks named by student id
    cnn-course autograde [ASSIGNMENT...]             in parallel, under time and memory limits
    cnn-course feedback [ASSIGNMENT...]              HTML feedback (hidden tests removed)
    cnn-course export [--assignment A] [--format F]  CSV (csv, canvas or moodle) of the class's grades
    cnn-course summary [ASSIGNMENT...]               a table of scores, statuses and notes
    cnn-course grade ASSIGNMENT SUBMISSIONS          import, autograde, feedback, export, summary
    cnn-course validate NOTEBOOK...                  the student's check before submitting
    cnn-course mistakes [ASSIGNMENT...]              the catch matrix: which tests catch each classic mistake
    cnn-course report [ASSIGNMENT...]                the class report: one HTML page with plots
    cnn-course release ASSIGNMENT --exchange         ... and to the hub's exchange (autograder.course.exchange)
    cnn-course collect ASSIGNMENT                    submissions from the exchange, then autograde
    cnn-course feedback ASSIGNMENT --return          ... and back to the students through the exchange
    cnn-course open ASSIGNMENT                       its answers into the hub students' cnnlib (students_library)

The global options (--course-dir, --source, --timeout, --memory-mb, --isolation, --quiet) go before or after
the command. Import, autograde, feedback, export and summary need a release into the course root
(``release`` without ``--to``): for an assignment that has none they say so and write nothing.
"""

import argparse
import os
import sys
from pathlib import Path

from autograder.course.config import (
    COURSE_SOURCE,
    DEFAULT_COURSE_ROOT,
    Course,
    Limits,
)
from autograder.errors import DatasetMissing, IsolationUnavailable, NbgraderFailed, SocketPathTooLong
from autograder.grading.cluster import default_scheduler as cluster_default


def _course(args):
    limits = Limits(**{name: value for name, value in (
        ("cell_timeout", args.timeout), ("notebook_timeout", args.notebook_timeout),
        ("memory_mb", args.memory_mb), ("scratch_mb", args.scratch_mb), ("isolation", args.isolation))
        if value is not None})
    return Course(root=Path(args.course_dir).resolve(), source=Path(args.source).resolve(), limits=limits)


def _command(args, *words):
    """A cnn-course command line to run next, with this run's --course-dir when it is not the default."""
    root = [] if Path(args.course_dir).resolve() == DEFAULT_COURSE_ROOT.resolve() else ["--course-dir", args.course_dir]
    return "`" + " ".join(["cnn-course", *root, *words]) + "`"


def _done(args, did, next_step):
    """Every command ends with what it did and the next step (``grade`` says the next step once, at its end)."""
    if did:
        print(did)
    if next_step and not getattr(args, "in_grade", False):
        print(f"Next: {next_step}")


def cmd_release(args):
    from autograder.course.release import build_student_tree, release_assignments

    if args.exchange:
        from autograder.course.exchange import release_to_exchange

        if not args.assignments:
            raise ValueError("release --exchange needs the assignment(s) to release, e.g. 01-edge-detection.")
        for assignment in args.assignments:
            print(release_to_exchange(_course(args), assignment))
        _done(args, f"Released {', '.join(args.assignments)} to the exchange: students can fetch it now.",
              f"when they have submitted, {_command(args, 'collect', args.assignments[0])}")
    elif args.to:
        notebooks = build_student_tree(args.to, args.assignments or None, source=args.source)
        for notebook in notebooks:
            print(notebook)
        _done(args, f"Wrote {len(notebooks)} student notebook(s) into {args.to} (no solutions or hidden tests).",
              f"hand the folder out; to grade, also release into the course root: {_command(args, 'release')}")
    else:
        from autograder.course.exchange import exchange_is_own, publish

        course = _course(args)
        folders = release_assignments(course, args.assignments or None, progress=args.progress)
        for folder in folders:
            print(folder)
        # On one machine the course's own exchange holds the release too, so that the Formgrader
        # shows it released; on a hub that exchange is the students', and --exchange says when.
        own = exchange_is_own(course)
        for folder in folders if own else []:
            publish(course, folder.name)
        _done(args, f"Released {len(folders)} assignment(s) into {Path(args.course_dir) / 'release'} and the "
              + ("gradebook; the Formgrader shows them released." if own else
                 "gradebook; on the hub, the Formgrader shows them as drafts until "
                 f"{_command(args, 'release', 'ASSIGNMENT', '--exchange')} hands one to the students."),
              f"hand out the student versions, then {_command(args, 'grade', 'ASSIGNMENT', 'SUBMISSIONS')} "
              f"(a folder or zip of <student>.ipynb); for names in the grades, {_command(args, 'roster', 'FILE')}")


def cmd_roster(args):
    from autograder.course.roster import add_to_gradebook, read_roster

    course = _course(args).prepare()
    students = read_roster(args.roster)
    add_to_gradebook(course, students)
    for student in students:
        print(f"{student.id:16s} {student.name:32s} {student.email}")
    _done(args, f"Recorded {len(students)} student(s) of {args.roster}, with their names, in the gradebook "
          "(the Formgrader, the summary and the Canvas export show the names).",
          _command(args, "grade", "ASSIGNMENT", "SUBMISSIONS"))


def cmd_import(args):
    from autograder.course.submissions import import_submissions

    course = _course(args)
    imported = import_submissions(course, args.assignment, args.submissions)
    for student, lines in imported.items():
        print(f"{student}: " + ("; ".join(lines) if lines else "imported"))
    _done(args, f"Imported {len(imported)} submission(s) of {args.assignment} into {course.root / 'submitted'}.",
          _command(args, "autograde", args.assignment))


def cmd_autograde(args):
    from autograder.course.release import released
    from autograder.course.reports import summary_table
    from autograder.grading.pipeline import autograde

    course = _course(args)
    assignments = released(course, args.assignments)
    graded = {assignment: autograde(course, assignment, students=args.students, workers=args.workers,
                                    force=args.force, progress=args.progress, scheduler=args.scheduler)
              for assignment in assignments}
    if not getattr(args, "in_grade", False) and any(graded.values()):
        print(summary_table(course, [a for a in assignments if graded[a]]))
    _done(args, "Autograded " + ", ".join(f"{len(results)} submission(s) of {assignment}"
                                          for assignment, results in graded.items())
          + ("" if any(graded.values()) else " (nothing new: --force grades again)") + ".",
          _command(args, "feedback", *args.assignments))


def cmd_collect(args):
    from autograder.course.exchange import collect_from_exchange

    for student, lines in collect_from_exchange(_course(args), args.assignment).items():
        print(f"{student}: " + ("; ".join(lines) if lines else "collected"))
    args.assignments, args.students, args.force = [args.assignment], None, False
    cmd_autograde(args)


def cmd_feedback(args):
    from autograder.course.release import released
    from autograder.grading.feedback import generate_feedback

    course = _course(args)
    written = 0
    for assignment in released(course, args.assignments):
        written += len(generate_feedback(course, assignment, workers=args.workers, progress=args.progress))
        if getattr(args, "return_", False):
            from autograder.course.exchange import return_feedback

            returned = return_feedback(course, assignment)
            print(f"{assignment}: feedback returned to " + (", ".join(returned) or "nobody"))
            if args.library:
                _open(args, assignment)
    _done(args, f"Wrote {written} feedback page folder(s) into {course.root / 'feedback'}/<student>/<assignment>/.",
          f"{_command(args, 'export')} for the grades" + ("" if getattr(args, "return_", False)
                                                         else "; hand each student their folder"))


def _open(args, assignment):
    from autograder.course.students_library import open_assignment

    left = open_assignment(Path(args.source).resolve(), args.library, assignment)
    print(f"{assignment}: opened in the students' cnnlib ({args.library}); "
          f"{len(left)} functions of unopened assignments still withheld")


def cmd_open(args):
    if not args.library:
        raise ValueError("open needs the students' library: --library DIR or $CNN_STUDENTS_LIBRARY "
                         "(set on the hub, deploy/setup_hub.py).")
    _open(args, args.assignment)


def cmd_export(args):
    from autograder.course.reports import export_grades

    path = export_grades(_course(args), args.to, assignment=args.export_assignment, form=args.format,
                         everything=args.all)
    with open(path, encoding="utf-8") as handle:
        header, rows = handle.readline(), sum(1 for _ in handle)
    platform = {"canvas": "Canvas: Grades, Import", "moodle": "Moodle: Grades, Import, CSV file"}
    _done(args, f"Wrote {path}: {rows} row(s) of {len(header.split(','))} column(s).",
          f"upload it ({platform[args.format]})" if args.format in platform
          else f"open it in a spreadsheet; for a platform, {_command(args, 'export', '--format', 'canvas')} (or moodle)")


def cmd_summary(args):
    from autograder.course.reports import summary_table

    print(summary_table(_course(args), args.assignments or None, everything=args.all))
    _done(args, None, f"{_command(args, 'export')} writes these grades as CSV")


def cmd_grade(args):
    args.assignments, args.all, args.in_grade = [args.assignment], False, True
    cmd_import(args)
    cmd_autograde(args)
    cmd_feedback(args)
    cmd_export(args)
    cmd_summary(args)
    args.in_grade = False
    _done(args, f"Graded {args.assignment}: the table above; notes say what to check by hand.",
          f"hand out the feedback folders; upload the grades with {_command(args, 'export', '--format', 'canvas')}"
          " (or moodle)")


def cmd_validate(args):
    from autograder.course.validate import validate

    failed = [nb for nb in args.notebooks if not validate(nb, timeout=args.timeout)]
    return 1 if failed else 0


def cmd_report(args):
    from autograder.course.report import write_report

    print(write_report(_course(args), args.to, args.assignments or None))


def cmd_mistakes(args):
    from autograder.grading.catch import catch_matrix, table

    course = _course(args)
    missed = 0
    for assignment in course.assignments(args.assignments or None):
        catches = catch_matrix(assignment, course.source, course.limits, workers=args.workers or 2)
        print(table(assignment, catches) if catches else f"{assignment}: no mistakes catalogued")
        missed += sum(not catch.caught for catch in catches)
    return 1 if missed else 0


def _add_global_options(parser, defaults):
    """The options every command takes, before the command name or after it.

    Both the main parser and each command's parser know them; only the main parser has defaults
    (``defaults`` True), so a value given before the command is not reset by the command's parser.
    """
    def default(value):
        return value if defaults else argparse.SUPPRESS

    group = parser.add_argument_group("global options (before or after COMMAND)")
    root = os.environ.get("CNN_COURSE_ROOT", DEFAULT_COURSE_ROOT)
    group.add_argument("--course-dir", default=default(root),
                       help=f"nbgrader course root (default: {root}, or $CNN_COURSE_ROOT)")
    group.add_argument("--source", default=default(COURSE_SOURCE),
                       help=f"folder of source assignments (default: {COURSE_SOURCE})")
    group.add_argument("--timeout", type=int, default=default(None),
                       help=f"seconds per cell (default {Limits.cell_timeout})")
    group.add_argument("--notebook-timeout", type=int, default=default(None),
                       help=f"seconds per notebook, tests included; past it the cells left are not "
                            f"run (default {Limits.notebook_timeout})")
    group.add_argument("--memory-mb", type=int, default=default(None),
                       help=f"kernel memory limit in MiB (default {Limits.memory_mb})")
    group.add_argument("--scratch-mb", type=int, default=default(None),
                       help=f"MiB a sandboxed kernel may write: its folder, /tmp and /dev/shm "
                            f"together (default {Limits.scratch_mb})")
    group.add_argument("--isolation", choices=("auto", "required", "off"), default=default(None),
                       help="a bubblewrap sandbox per grading kernel: where it can run (auto, the "
                            "default), always (required: fail where it cannot), or off")
    group.add_argument("--quiet", dest="progress", action="store_false", default=default(True),
                       help="no progress bars")


def build_parser():
    parser = argparse.ArgumentParser(prog="cnn-course", description=__doc__.split("\n\n")[0])
    _add_global_options(parser, defaults=True)
    common = argparse.ArgumentParser(add_help=False)
    _add_global_options(common, defaults=False)
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

    p = add("release", cmd_release, "Generate the student version of assignments and record them in the gradebook "
            "(nbgrader generate_assignment); with --to, only write the student notebooks to a folder.")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: all")
    p.add_argument("--to", metavar="DIR",
                   help="write DIR/<assignment>/<notebook>.ipynb instead of the course root: a folder to "
                        "hand out, with no gradebook (grading needs a release without --to)")
    p.add_argument("--exchange", action="store_true", help="also release to nbgrader's exchange (the hub)")

    p = add("roster", cmd_roster, "Record the class's names and emails in the gradebook, from a roster file "
            "(CSV: student id, name[, email]), so that the Formgrader and the exports show names.")
    p.add_argument("roster", metavar="FILE", help="CSV: student id, name[, email] (a header line is skipped)")

    p = add("import", cmd_import, "Copy a folder or zip of submissions into nbgrader's submitted/ layout.")
    p.add_argument("assignment", metavar="ASSIGNMENT")
    p.add_argument("submissions", metavar="SUBMISSIONS",
                   help="folder or .zip of <student>.ipynb files or <student>/<notebook>.ipynb folders")

    p = add("autograde", cmd_autograde, "Grade the imported submissions in parallel.", (common, parallel))
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: every released one")
    p.add_argument("--student", dest="students", action="append", help="only this student (repeatable)")
    p.add_argument("--force", action="store_true", help="grade again submissions already graded")

    library = argparse.ArgumentParser(add_help=False)
    library.add_argument("--library", default=os.environ.get("CNN_STUDENTS_LIBRARY", ""), metavar="DIR",
                         help="the students' cnnlib on a hub (default: $CNN_STUDENTS_LIBRARY, set on the hub)")

    p = add("feedback", cmd_feedback, "Generate HTML feedback for graded submissions.", (common, parallel, library))
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: every released one")
    p.add_argument("--return", dest="return_", action="store_true",
                   help="release it to the exchange (the hub), and open the assignment (see open)")

    p = add("open", cmd_open, "After an assignment's due date, give students' kernels on the hub its reference "
            "functions (withheld from their cnnlib until then, as in grading).", (common, library))
    p.add_argument("assignment", metavar="ASSIGNMENT")

    p = add("collect", cmd_collect, "Collect submissions from nbgrader's exchange and autograde them.",
            (common, parallel))
    p.add_argument("assignment", metavar="ASSIGNMENT")

    p = add("export", cmd_export, "Write the class's grades as CSV: for the instructor (a column per graded "
            "cell, totals and statuses), or for Canvas' or Moodle's gradebook import (a column per assignment).")
    p.add_argument("--assignment", dest="export_assignment", metavar="ASSIGNMENT",
                   help="only this assignment (default: those collected or graded)")
    p.add_argument("--format", default="csv", metavar="FORMAT", help="csv (the default), canvas or moodle")
    p.add_argument("--all", action="store_true",
                   help="every released assignment (default: those collected or graded)")
    p.add_argument("--to", metavar="FILE",
                   help="default: <course root>/grades[-ASSIGNMENT][-FORMAT].csv, e.g. grades.csv")

    p = add("summary", cmd_summary, "Print scores, statuses and notes per student.")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: those collected or graded")
    p.add_argument("--all", action="store_true", help="every released assignment")

    p = add("grade", cmd_grade, "Import, autograde, feedback, export and summary in one go.", (common, parallel))
    p.add_argument("assignment", metavar="ASSIGNMENT")
    p.add_argument("submissions", metavar="SUBMISSIONS", help="folder or .zip of submissions")
    p.add_argument("--to", metavar="FILE", help="CSV file (default: <course root>/grades.csv)")
    p.set_defaults(students=None, force=True, export_assignment=None, format="csv", library="")

    p = add("report", cmd_report, "Write the class report: one HTML page with each assignment's scores, "
            "the pass rate of each test, the classic mistakes made, grading times, failed and missing "
            "submissions and possible copies.")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: every released one")
    p.add_argument("--to", metavar="FILE", help="default: <course root>/report.html")

    p = add("mistakes", cmd_mistakes, "Grade every classic mistake catalogued in the assignments' "
            "mistakes.py as a student's answer, in a private course root, and print which tests catch it; "
            "exit status 1 if one is not caught by its function's hidden tests alone.", (common, parallel))
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: all")

    p = add("validate", cmd_validate, "Check a notebook before submitting: nbgrader validate, visible tests run.")
    p.add_argument("notebooks", nargs="+", metavar="NOTEBOOK")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except (NbgraderFailed, IsolationUnavailable, SocketPathTooLong, DatasetMissing, ValueError,
            FileNotFoundError) as error:
        print(f"cnn-course {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
