"""Grade a synthetic class and print submissions per minute: the parallel path against plain nbgrader.

    .venv/bin/python benchmarks/grade_class.py [--n 12] [--assignment 01-edge-detection]

Generates N submissions of one assignment from its source notebook (correct ones, ones with a
stubbed function, the untouched release, and hostile ones: an endless loop, a kernel that exits),
then in the same run:

1. plain sequential ``nbgrader autograde ASSIGNMENT --force`` (nbgrader's own configuration,
   same cell timeout) on a copy of the course root;
2. ``autograder.grading.pipeline.autograde`` in parallel, ``--runs`` times with ``force``, checking that the
   gradebook ends with every grade exactly once and the same values each run;
3. one correct submission alone, for the wall time of one complete submission.

For each parallel run it prints where a submission's grading time went: copying its files,
starting the kernel, the notebook's own cells, the test cells, and nbgrader's own steps.

It also prints the machine's own parallel ceiling (the speed-up of one CPU-bound job per worker
run side by side, against one such job alone) and, on Linux, the CPU time the whole machine spent
per submission on each path, so that a speed-up can be read against what the cores allow.
"""

import argparse
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "autograder" / "files"))

from helpers import gradebook_rows, scores  # noqa: E402
from variants import STUB, answer, answer_cells  # noqa: E402

from autograder.course.config import COURSE_SOURCE, Course, Limits  # noqa: E402
from autograder.course.release import release_assignments  # noqa: E402
from autograder.course.submissions import import_submissions  # noqa: E402
from autograder.grading.pipeline import autograde  # noqa: E402


def make_class(source, release, n, folder):
    """Write n submissions: a repeating mix of correct, partly wrong, empty and hostile work."""
    functions = sorted(answer_cells(source))
    first = functions[0]
    mix = [("correct", source), ("stub", answer(source, functions[-1], STUB)), ("correct", source),
           ("release", release), ("stub", answer(source, first, STUB)), ("correct", source),
           ("endless_loop", answer(source, first, "while True:\n    pass")), ("correct", source),
           ("stub", answer(source, functions[len(functions) // 2], STUB)), ("correct", source),
           ("kernel_exit", answer(source, first, "import os\nos._exit(1)")), ("correct", source)]
    kinds = {}
    for i in range(n):
        kind, nb = mix[i % len(mix)]
        nbformat.write(nb, folder / f"s{i:03d}.ipynb")
        kinds[f"s{i:03d}"] = kind
    return kinds


def machine_cpu_seconds():
    """Busy CPU time of the whole machine so far (Linux's /proc/stat), or None elsewhere."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = (int(f) for f in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def spin(iterations):
    total = 0
    for i in range(iterations):
        total += i * i
    return total


def parallel_ceiling(workers, iterations=20_000_000):
    """``workers`` equal CPU-bound jobs side by side: their speed-up over one job run alone."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        pool.map(spin, [1000] * workers)  # start-up outside the timing
        start = time.perf_counter()
        pool.map(spin, [iterations])
        one = time.perf_counter() - start
        start = time.perf_counter()
        pool.map(spin, [iterations] * workers, chunksize=1)
        many = time.perf_counter() - start
    return workers * one / many


def plain_nbgrader(course, assignment, timeout, workdir):
    """Sequential ``nbgrader autograde`` with nbgrader's defaults; returns (seconds, totals)."""
    root = workdir / "plain-root"
    shutil.copytree(course.root, root, symlinks=True)
    (root / "nbgrader_config.py").unlink()
    (root / "source").unlink()
    (root / "source").symlink_to(course.source)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    (workdir / "nbgrader_config.py").write_text(
        f"c.CourseDirectory.root = {str(root)!r}\n"
        f"c.Exchange.root = {str(root / 'exchange')!r}\n"
        f"c.Execute.timeout = {timeout}\n"
        "c.Execute.extra_arguments = ['--IPKernelApp.capture_fd_output=False']\n")
    command = [sys.executable, "-m", "nbgrader", "autograde", assignment, "--force"]
    start = time.perf_counter()
    subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)
    return time.perf_counter() - start, scores(Course(root=root, source=course.source), assignment)


def cpu_per_submission(cpu_start, n):
    """The machine's CPU seconds per submission since ``cpu_start``, as text ("" off Linux)."""
    if cpu_start is None:
        return ""
    return f"  machine CPU {(machine_cpu_seconds() - cpu_start) / n:.2f} s/submission"


def phase_shares(results):
    """Where the workers' time went: each phase's share of the submissions' grading time."""
    timings = [r["timings"] for r in results.values() if r.get("timings")]
    total = sum(t["total"] for t in timings)
    if not total:
        return "no timings"
    phases = ("copying", "kernel start", "notebook cells", "test cells")
    shares = {phase: sum(t[phase] for t in timings) / total for phase in phases}
    shares["nbgrader and the rest"] = 1 - sum(shares.values())
    return "time per submission {:.1f} s: ".format(total / len(timings)) + ", ".join(
        f"{phase} {share:.0%}" for phase, share in shares.items())


def kind_seconds(results, kinds):
    """Mean grading time per kind of submission (correct, stub, ...), as text."""
    by_kind = {}
    for student, result in results.items():
        if result.get("timings"):
            by_kind.setdefault(kinds[student], []).append(result["timings"]["total"])
    return ", ".join(f"{kind} {sum(t) / len(t):.1f} s" for kind, t in sorted(by_kind.items()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=12, help="submissions (default %(default)s)")
    parser.add_argument("--assignment", default=None, help="default: the first in course/")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--timeout", type=int, default=10, help="seconds per cell (default %(default)s)")
    parser.add_argument("--runs", type=int, default=3, help="parallel runs (default %(default)s)")
    args = parser.parse_args()

    assignment = args.assignment or Course().assignments()[0]
    with tempfile.TemporaryDirectory(prefix="cnn-course-bench-") as tmp:
        tmp = Path(tmp)
        course = Course(root=tmp / "root", source=COURSE_SOURCE, limits=Limits(cell_timeout=args.timeout))
        (release_dir,) = release_assignments(course, [assignment])
        (source_path,) = (COURSE_SOURCE / assignment).glob("*.ipynb")
        folder = tmp / "submissions"
        folder.mkdir()
        kinds = make_class(nbformat.read(source_path, 4),
                           nbformat.read(release_dir / source_path.name, 4), args.n, folder)
        import_submissions(course, assignment, folder)
        print(f"{args.n} submissions of {assignment} on {os.cpu_count()} cores, "
              f"cell timeout {args.timeout} s: " + ", ".join(
                  f"{k} {list(kinds.values()).count(k)}" for k in sorted(set(kinds.values()))))

        print(f"parallel ceiling of this machine: {args.workers} CPU-bound processes finish "
              f"{parallel_ceiling(args.workers):.2f}x faster than one")

        cpu_start = machine_cpu_seconds()
        plain_s, plain_totals = plain_nbgrader(course, assignment, args.timeout, tmp)
        print(f"plain nbgrader autograde (sequential): {plain_s:7.1f} s  "
              f"{60 * args.n / plain_s:6.1f} submissions/min  graded {len(plain_totals)}/{args.n}"
              + cpu_per_submission(cpu_start, args.n))

        runs = []
        for run in range(args.runs):
            cpu_start = machine_cpu_seconds()
            start = time.perf_counter()
            results = autograde(course, assignment, workers=args.workers, force=True, progress=False)
            seconds = time.perf_counter() - start
            runs.append(gradebook_rows(course))
            print(f"cnn-course autograde, {args.workers} workers, run {run + 1}: {seconds:7.1f} s  "
                  f"{60 * args.n / seconds:6.1f} submissions/min  speed-up {plain_s / seconds:.2f}x"
                  + cpu_per_submission(cpu_start, args.n))
            print("  " + phase_shares(results))
            print("  seconds per submission by kind: " + kind_seconds(results, kinds))
        cells = len({cell for _, _, cell, _ in runs[0]})
        lost = [args.n * cells - len(set(rows)) for rows in runs]
        duplicated = [len(rows) - len(set(rows)) for rows in runs]
        print(f"grades expected per run: {args.n * cells}; lost per run: {lost}; "
              f"duplicated per run: {duplicated}; runs identical: {all(r == runs[0] for r in runs)}")
        ours = scores(course, assignment)
        differ = sorted(s for s in ours if plain_totals.get(s) != ours[s])
        print("students scored differently (plain nbgrader vs ours): "
              + (", ".join(f"{s} ({kinds[s]}: {plain_totals.get(s)} vs {ours[s]})" for s in differ) or "none"))

        one = next(s for s, k in kinds.items() if k == "correct")
        start = time.perf_counter()
        autograde(course, assignment, students=[one], workers=1, force=True, progress=False)
        print(f"one complete correct submission, alone (pool start included): {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
