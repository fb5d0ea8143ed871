"""Grading on a Dask cluster (``autograde(..., scheduler=ADDRESS)``): a ``distributed.LocalCluster``
of two worker processes, one thread each. The oracle is the sample's points, worked out by hand
(``sample_course.POINTS``), and the local process pool's gradebook for the same submissions.

Does every submission get exactly one grade, the same as on one machine, over repeated runs, when
a worker is killed while grading, and when a submission's workers keep dying?
"""

import os
import signal
import threading
import time
from pathlib import Path

import dask
import pytest
import yaml
from helpers import copy_course, gradebook_rows, scores, write_nb
from variants import answer, prepend

from autograder.course.submissions import import_submissions
from autograder.grading.pipeline import autograde
from autograder.grading.submission import FAILED, GRADED
from autograder.render import notes

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
A = "01-sample"
# student -> total expected from sample_course.POINTS: relu 1 + 2 points, zero_pad 1 + 2 points.
EXPECTED = {"alice": 6, "bob": 0, "carol": 3, "dave": 3}
SLOW = "import time\ntime.sleep(2)"  # keeps a task on its worker long enough to be caught there


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes with one thread each, and the scheduler settings of deploy/dask.yaml."""
    scheduler = yaml.safe_load((ROOT / "deploy" / "dask.yaml").read_text())["distributed"]["scheduler"]
    with dask.config.set({f"distributed.scheduler.{key}": value for key, value in scheduler.items()}):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      host="127.0.0.1", dashboard_address=None) as local:
            with distributed.Client(local) as client:
                yield local.scheduler_address, client


def _class(course, solved_nb, release_nb, tmp_path, extra=()):
    """Import alice (all right), bob (the release), carol (relu wrong), dave (zero_pad wrong)."""
    folder = tmp_path / "in"
    write_nb(solved_nb, folder / "alice.ipynb")
    write_nb(release_nb, folder / "bob.ipynb")
    write_nb(answer(solved_nb, "relu", "return x"), folder / "carol.ipynb")
    write_nb(answer(solved_nb, "zero_pad", "return x"), folder / "dave.ipynb")
    for student, nb in extra:
        write_nb(nb, folder / f"{student}.ipynb")
    import_submissions(course, A, folder)
    return course


def _kill_while_grading(client, student, times):
    """A thread that kills (SIGKILL) the worker process grading ``student``'s task, ``times`` times.

    Returns (thread, list of the worker process ids killed)."""
    killed, gone = [], set()

    def watch():
        deadline = time.monotonic() + 120
        while len(killed) < times and time.monotonic() < deadline:
            busy = [address for address, keys in client.processing().items()
                    if address not in gone and any(f"-{student}-" in str(key) for key in keys)]
            if busy:
                pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                gone.add(busy[0])  # a restarted worker comes back under a new address
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread, killed


def _grade_killing(cluster, course, solved_nb, release_nb, tmp_path, student, times):
    """Grade the class plus ``student`` (correct, but slow), killing the worker that grades
    ``student`` ``times`` times. Returns (the course, autograde's results)."""
    address, client = cluster
    course = _class(course, solved_nb, release_nb, tmp_path, extra=[(student, prepend(solved_nb, "relu", SLOW))])
    thread, killed = _kill_while_grading(client, student, times=times)
    results = autograde(course, A, scheduler=address, progress=False)
    thread.join()
    assert len(killed) == times
    return course, results


def test_repeated_runs_lose_and_duplicate_no_grade(cluster, course, solved_nb, release_nb, tmp_path):
    """Three forced runs on the cluster: each student graded once per run, as the local pool grades them?"""
    address, _ = cluster
    course = _class(course, solved_nb, release_nb, tmp_path)
    local = copy_course(course, tmp_path / "local")
    autograde(local, A, workers=2, progress=False)
    assert scores(local) == EXPECTED

    for _ in range(3):
        results = autograde(course, A, scheduler=address, force=True, progress=False)
        assert sorted(results) == sorted(EXPECTED)
        assert {r["status"] for r in results.values()} == {GRADED}
        assert scores(course) == EXPECTED
        assert gradebook_rows(course) == gradebook_rows(local)  # 4 cells x 4 students, once each
        for student in EXPECTED:
            assert (course.step_dir("autograded", student, A) / "sample.ipynb").is_file()
    assert autograde(course, A, scheduler=address, progress=False) == {}  # nothing new to grade


def test_a_killed_worker_has_its_submission_graded_again(cluster, course, solved_nb, release_nb, tmp_path):
    """A worker killed while it grades erin: is erin graded elsewhere, and everyone once?"""
    course, results = _grade_killing(cluster, course, solved_nb, release_nb, tmp_path, "erin", times=1)
    assert sorted(results) == sorted([*EXPECTED, "erin"])
    assert scores(course) == {**EXPECTED, "erin": 6}
    assert results["erin"]["status"] == GRADED and results["erin"]["notes"] == []
    assert len(gradebook_rows(course)) == 4 * 5


def test_a_submission_whose_worker_dies_twice_is_failed(cluster, course, solved_nb, release_nb, tmp_path):
    """frank's worker dies each time it grades him: is he failed, flagged, and the others graded?"""
    course, results = _grade_killing(cluster, course, solved_nb, release_nb, tmp_path, "frank", times=2)
    assert results["frank"]["status"] == FAILED
    assert scores(course) == {**EXPECTED, "frank": 0}
    (note,) = notes.read(course.root, A, "frank")
    assert "grading worker died twice" in note and "to be checked by hand" in note
    with course.api().gradebook as gb:
        grades = gb.find_submission(A, "frank").notebooks[0].grades
        assert grades and all(g.needs_manual_grade for g in grades)
    cluster[1].wait_for_workers(2, timeout=60)  # the nannies restart the killed workers
