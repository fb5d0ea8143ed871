"""The one place where the course's nbgrader setup is defined.

The project's ``course/`` folder holds the nbgrader *source* assignments
(``course/<assignment-id>/<notebook>.ipynb``). An instructor's nbgrader course root (``instructor/``
at the project root unless ``--course-dir`` says otherwise) sees them through a ``source`` symbolic
link, so plain ``nbgrader`` commands run inside the root work too: the root gets an
``nbgrader_config.py`` that loads :func:`nbgrader_config` from here.

Layout of a course root::

    instructor/
        nbgrader_config.py      # two lines: load autograder.course.config.nbgrader_config
        source -> ../course     # the project's source assignments
        release/ submitted/ autograded/ feedback/ exchange/
        gradebook.db            # nbgrader's gradebook (SQLite)
        grades.csv              # written by `cnn-course export`
"""

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from traitlets.config import Config

from autograder.errors import NbgraderFailed
from autograder.mistakes import FILE_NAME as MISTAKES_FILE

GRADER_PACKAGE = Path(__file__).resolve().parents[1]  # autograder/
PROJECT_ROOT = GRADER_PACKAGE.parent
COURSE_SOURCE = PROJECT_ROOT / "course"
DEFAULT_COURSE_ROOT = PROJECT_ROOT / "instructor"
COURSE_ID = "cnn-course"

# Assignments are the folders named like ``01-edge-detection``; anything else in course/ (the
# course map index.ipynb, images) is not an assignment.
ASSIGNMENT_PATTERN = re.compile(r"^[0-9][0-9]-[A-Za-z0-9_.-]+$")

_CONFIG_FILE = '''\
# Written by `cnn-course`: the course's nbgrader settings live in autograder/course/config.py.
from autograder.course.config import nbgrader_config, Limits

c.merge(nbgrader_config(root={root!r}, limits=Limits(**{limits!r})))
'''


@dataclass(frozen=True)
class Limits:
    """What one submission may use while it is graded.

    Attributes:
        cell_timeout: seconds per code cell before the kernel is interrupted (the cell scores 0).
        notebook_timeout: seconds per notebook, its cells and tests together; past it, the cells
            left are not run (their tests score 0) and a note says so.
        memory_mb: address-space limit of the kernel process (``RLIMIT_AS``), in MiB. TensorFlow
            reserves a lot of virtual memory; keep this at 6 GiB or more for the Keras notebooks.
        output_chars: characters of text output kept per cell; the rest is dropped with a note.
        image_chars: characters of images (base64) kept per cell; plots beyond are left out.
        max_restarts: kernel restarts per notebook after a crash before the rest is not run.
        cpu_seconds: CPU time of one kernel (all its threads) before it is killed.
        file_mb: the largest file a kernel may write, in MiB.
        scratch_mb: MiB a sandboxed kernel may write in all: its working directory, ``/tmp`` and
            ``/dev/shm`` share one tmpfs (in memory) of this size, which ends with the kernel.
        processes: processes and threads a kernel may run at once (where a pids cgroup can be made).
        open_files: file descriptors a kernel may hold open.
        grader_memory_mb: address-space limit of each grading process (the grader's side of a
            submission: its tests, the references, the results it decodes), in MiB; a submission
            that makes the grader breach it fails alone.
        isolation: ``auto`` (a bubblewrap sandbox per kernel where it can run, else limits only,
            and every feedback says so), ``required`` (grading fails where bubblewrap cannot run)
            or ``off``.
    """

    cell_timeout: int = 60
    notebook_timeout: int = 600
    memory_mb: int = 8192
    output_chars: int = 100_000
    image_chars: int = 8_000_000
    max_restarts: int = 3
    cpu_seconds: int = 900
    file_mb: int = 256
    scratch_mb: int = 512
    processes: int = 256
    open_files: int = 1024
    grader_memory_mb: int = 8192
    isolation: str = "auto"


@dataclass(frozen=True)
class Course:
    """An instructor's nbgrader course root and the source assignments it grades.

    Attributes:
        root: the nbgrader course root (holds release/, submitted/, gradebook.db ...).
        source: the folder of source assignments (the project's ``course/`` by default).
        limits: resource limits for grading.
        library: a folder holding the copy of ``cnnlib`` that grading kernels see in place of the
            real one (``autograder.judge.withheld``); empty for the real one.
    """

    root: Path = DEFAULT_COURSE_ROOT
    source: Path = COURSE_SOURCE
    limits: Limits = field(default_factory=Limits)
    library: str = ""

    @property
    def gradebook(self):
        return self.root / "gradebook.db"

    @property
    def db_url(self):
        return f"sqlite:///{self.gradebook}"

    def step_dir(self, step, student=".", assignment=""):
        """``root/<step>/<student>/<assignment>`` as nbgrader lays it out (step: submitted, ...)."""
        return self.root / step / student / assignment if assignment else self.root / step / student

    def assignments(self, wanted=None):
        """The assignment ids, in teaching order; ``wanted`` (names) is checked against them.

        Raises:
            ValueError: if a wanted assignment does not exist, naming the ones that do.
        """
        found = sorted(p.name for p in self.source.iterdir()
                       if p.is_dir() and ASSIGNMENT_PATTERN.match(p.name)) if self.source.is_dir() else []
        if not wanted:
            return found
        unknown = [a for a in wanted if a not in found]
        if unknown:
            raise ValueError(f"Unknown assignment(s) {', '.join(map(repr, unknown))}. "
                             f"Expected one of {found} (folders of {self.source}).")
        return list(wanted)

    def notebooks(self, assignment):
        """Notebook names (without ``.ipynb``) of one source assignment."""
        return sorted(p.stem for p in (self.source / assignment).glob("*.ipynb"))

    def prepare(self):
        """Create the course root: folders, the ``source`` link and ``nbgrader_config.py``.

        Idempotent. Returns the course itself, for chaining.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "exchange").mkdir(exist_ok=True)
        link = self.root / "source"
        if link.is_symlink() and link.resolve() != self.source.resolve():
            link.unlink()
        if not link.exists():
            link.symlink_to(os.path.relpath(self.source.resolve(), self.root.resolve()))
        config = _CONFIG_FILE.format(root=str(self.root), limits=self.limits.__dict__)
        config_file = self.root / "nbgrader_config.py"
        if not config_file.exists() or config_file.read_text() != config:
            config_file.write_text(config)
        return self

    def config(self):
        return nbgrader_config(self.root, self.limits, self.library)

    def api(self):
        """nbgrader's ``NbGraderAPI`` on this course root, with the course's configuration."""
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        put_environment_on_path()
        config = self.config()
        return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def execute_config(limits=None):
    """The settings of nbgrader's ``Execute`` (grading and a student's validation alike)."""
    limits = limits or Limits()
    c = Config()
    c.Execute.timeout = limits.cell_timeout
    c.Execute.extra_arguments = [
        # ipykernel would forward native stderr (TensorFlow's start-up lines) into the cell, and
        # nbgrader scores a graded cell with stderr output 0.
        "--IPKernelApp.capture_fd_output=False",
        "--HistoryManager.hist_file=:memory:",
    ]
    return c


def put_environment_on_path():
    """nbgrader runs ``alembic`` by name when it creates a gradebook: find this environment's."""
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def check_step(result, what):
    """Raise :class:`NbgraderFailed` unless an ``NbGraderAPI`` result reports success.

    Args:
        result: the dict an ``NbGraderAPI`` method returns (success, log, error).
        what: the step, for the message (e.g. "generate_assignment 01-edge-detection").
    """
    if not result.get("success"):
        tail = "\n".join((result.get("log", "") + result.get("error", "")).strip().splitlines()[-15:])
        raise NbgraderFailed(f"nbgrader {what} failed:\n{tail}")


def nbgrader_config(root, limits=None, library=""):
    """nbgrader's configuration for a course root: every setting the course changes, in one place.

    Args:
        root: the course root (``CourseDirectory.root``).
        limits: a :class:`Limits`; the defaults when omitted.
        library: see :class:`Course`.

    Returns:
        a ``traitlets.config.Config`` for nbgrader's apps, converters and ``NbGraderAPI``.
    """
    # Imported here so that importing autograder.course.config stays cheap for tools that only need paths.
    from nbconvert.preprocessors import (
        ClearMetadataPreprocessor,
        CSSHTMLHeaderPreprocessor,
    )
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        ClearOutput,
        DeduplicateIds,
        GetGrades,
        IgnorePattern,
        LimitOutput,
        OverwriteCells,
        OverwriteKernelspec,
        SaveAutoGrades,
    )

    from autograder.render.preprocessors import (
        AddGradingNotes,
        ClearHiddenTestCells,
        DropUnknownCells,
        HideHiddenTracebacks,
        SanitizeNotebook,
    )
    from autograder.sandbox.executor import GuardedExecute

    limits = limits or Limits()
    c = Config()
    c.CourseDirectory.root = str(Path(root).resolve())
    c.CourseDirectory.course_id = COURSE_ID
    # The default exchange (/srv/nbgrader/exchange) is not writable on a laptop.
    c.Exchange.root = str(Path(root).resolve() / "exchange")
    # Releasing leaves the exchange's root as it is (nbgrader would open it to everyone).
    c.ExchangeFactory.release_assignment = "autograder.course.exchange.CourseReleaseAssignment"
    # Checkpoints and caches are not part of a submission; the catalogue of classic mistakes
    # (near-solutions) is the instructor's: never released, never copied next to a submission.
    c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", MISTAKES_FILE]

    c.merge(execute_config(limits))
    c.GuardedExecute.output_chars = limits.output_chars
    c.GuardedExecute.image_chars = limits.image_chars
    c.GuardedExecute.max_restarts = limits.max_restarts
    c.GuardedExecute.notebook_timeout = limits.notebook_timeout
    c.GuardedExecute.shutdown_kernel = "immediate"  # nothing of a graded kernel is kept
    c.merge(kernel_config(limits, library))

    # Autograde = sanitize (nbgrader's steps, plus dropping cells whose nbgrader metadata was
    # invented by the student) then execute in a limited kernel that survives crashes.
    c.Autograde.sanitize_preprocessors = [
        ClearOutput, DropUnknownCells, DeduplicateIds, OverwriteKernelspec, OverwriteCells,
        CheckCellMetadata]
    c.OverwriteCells.add_missing_cells = True
    c.Autograde.autograde_preprocessors = [
        GuardedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SanitizeNotebook,
        SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]

    # Feedback: nbgrader's preprocessors, the grading notes on top, hidden tests (code and
    # tracebacks) removed from the test cells only (a student's own cell may mention the markers),
    # and nothing a submission wrote left live.
    c.GenerateFeedback.preprocessors = [
        GetGrades, CSSHTMLHeaderPreprocessor, SanitizeNotebook, AddGradingNotes, HideHiddenTracebacks,
        ClearHiddenTestCells]
    return c


def kernel_config(limits, library=""):
    """The settings of grading kernels: the sandbox, its limits and what it may read."""
    import cnnlib
    import cnnlib.data
    from autograder.judge.allowed import stub_places
    from autograder.sandbox.namespaces import resolve

    sandboxed, _ = resolve(limits.isolation)
    folders, variables = cnnlib.data.data_folders()
    c = Config()
    k = c.SandboxedKernelManager
    k.sandboxed = sandboxed
    k.memory_mb, k.cpu_seconds, k.file_mb = limits.memory_mb, limits.cpu_seconds, limits.file_mb
    k.scratch_mb = limits.scratch_mb
    k.processes, k.open_files = limits.processes, limits.open_files
    k.readable = [str(folder) for folder in folders]
    k.environment = variables
    real = str(Path(cnnlib.__file__).resolve().parent)
    k.library = {real: str(Path(library) / "cnnlib") if library else real,
                 str(GRADER_PACKAGE): str(GRADER_PACKAGE), **stub_places(library)}
    return c
