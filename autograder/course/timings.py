"""Seconds each submission took to grade, kept per assignment in ``<course root>/timings/<assignment>.json``
(written by the pipeline's parent process only, one submission at a time) for the class report."""

import json
from pathlib import Path


def _path(root, assignment):
    return Path(root) / "timings" / f"{assignment}.json"


def record(root, assignment, student, seconds):
    """Keep (or, for a submission graded again, replace) one submission's grading time."""
    if seconds is None:
        return
    path = _path(root, assignment)
    stored = json.loads(path.read_text()) if path.is_file() else {}
    stored[student] = round(float(seconds), 3)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n")


def read(root, assignment):
    """student -> seconds, for the submissions of ``assignment`` graded so far."""
    path = _path(root, assignment)
    return json.loads(path.read_text()) if path.is_file() else {}
