"""The fast/full switch for notebooks and scripts that train.

Fast mode trains on a data subset for a few epochs, so that a notebook runs top to bottom in a
couple of minutes on a laptop, in CI and while nbgrader grades it. Full mode gives the real results,
at the cost of minutes (notebook 5) to hours (notebook 6) on a laptop CPU.

The switch is the environment variable ``CNN_COURSE_MODE``: ``fast`` or ``full``. Unset, the mode
is fast everywhere: full mode is always a learner's or an instructor's explicit choice.
"""

import os

MODE_VARIABLE = "CNN_COURSE_MODE"
MODES = ("fast", "full")


def course_mode(environ=None):
    """Return "fast" or "full" (see the module docstring for the rule).

    Args:
        environ: mapping to read instead of ``os.environ`` (for tests).
    """
    environ = os.environ if environ is None else environ
    chosen = environ.get(MODE_VARIABLE, "").strip().lower()
    if chosen:
        if chosen not in MODES:
            raise ValueError(f"Invalid value for {MODE_VARIABLE}: {chosen!r}. Expected one of {MODES}.")
        return chosen
    return "fast"


def fast_mode(environ=None):
    """True when notebooks should train on a subset for a few epochs."""
    return course_mode(environ) == "fast"


def grading(environ=None):
    """True while nbgrader autogrades a notebook (it sets ``NBGRADER_EXECUTION``)."""
    environ = os.environ if environ is None else environ
    return bool(environ.get("NBGRADER_EXECUTION"))


def run_ungraded(what, environ=None):
    """Whether a cell that earns no points should run: False while grading, with one line saying so.

    Grading runs every submission top to bottom; experiments that award nothing would only cost
    time there. Use as ``if run_ungraded("the optimizer comparison"): ...``.

    Args:
        what: a few words naming what is skipped, for the printed line.
        environ: mapping to read instead of ``os.environ`` (for tests).
    """
    if grading(environ):
        print(f"Skipped while grading: {what}.")
        return False
    return True
