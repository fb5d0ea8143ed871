"""The ``cnnlib`` that students' kernels import on a hub: the answers of unopened assignments withheld.

Grading withholds an assignment's reference functions from the kernel (``autograder.judge.withheld``).
On a hub the students' own kernels would otherwise import the whole library, and
``inspect.getsource(cnnlib.layers.conv2d_forward)`` would print the answer to paste. So the hub puts
a build of the library first on the students' module path (``PYTHONPATH``, deploy/): every function
that an assignment withholds stays withheld there until the instructor opens that assignment
(``cnn-course open ASSIGNMENT``, after its due date; ``feedback --return`` opens it too). A later
notebook that calls an earlier assignment's functions then gets them.

The library folder (the hub's ``library/``) holds the build, ``cnnlib/``, and ``opened.json``
(the assignments opened so far). Self-study (Binder, ``make lab``) keeps the whole library.
"""

import json
import os
import shutil
import tempfile
from pathlib import Path

from autograder.judge.withheld import assignment_settings, build_library

OPENED = "opened.json"


def opened(library_dir):
    """The assignments opened so far (a sorted list)."""
    record = Path(library_dir) / OPENED
    return sorted(json.loads(record.read_text())) if record.exists() else []


def still_withheld(source, opened_assignments):
    """The dotted names that some unopened assignment of ``source`` withholds (a sorted list)."""
    names = set()
    for folder in sorted(Path(source).iterdir()):
        if folder.is_dir() and folder.name not in opened_assignments:
            names.update(assignment_settings(sorted(folder.glob("*.ipynb")))["withheld"])
    return sorted(names)


def build_students_library(source, library_dir):
    """(Re)build ``<library_dir>/cnnlib`` with what the unopened assignments withhold.

    The new build replaces the old one by a rename, so a kernel starting meanwhile imports one or
    the other, whole. Returns: the names still withheld."""
    import cnnlib

    library_dir = Path(library_dir)
    library_dir.mkdir(parents=True, exist_ok=True)
    withheld = still_withheld(source, opened(library_dir))
    staging = Path(tempfile.mkdtemp(prefix=".build-", dir=library_dir))
    try:
        built = build_library(Path(cnnlib.__file__).resolve().parent, withheld, staging)
        for folder, _, files in os.walk(built):
            os.chmod(folder, 0o755)
            for name in files:
                os.chmod(os.path.join(folder, name), 0o644)
        current = library_dir / "cnnlib"
        if current.exists():
            current.rename(staging / "previous")
        built.rename(current)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return withheld


def open_assignment(source, library_dir, assignment):
    """Give the students ``assignment``'s reference functions: record it as opened, rebuild.

    Raises:
        ValueError: ``assignment`` is not an assignment of ``source`` (naming those that are).
    """
    known = sorted(p.name for p in Path(source).iterdir() if p.is_dir() and any(p.glob("*.ipynb")))
    if assignment not in known:
        raise ValueError(f"no assignment {assignment!r} in {source}: expected one of {', '.join(known)}.")
    record = Path(library_dir) / OPENED
    Path(library_dir).mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(sorted({*opened(library_dir), assignment})))
    return build_students_library(source, library_dir)
