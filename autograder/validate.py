"""The student's check before submitting: ``cnn-course validate NOTEBOOK``.

This is nbgrader's own validation (the same as the Validate button of JupyterLab's nbgrader
extension): it runs the notebook from top to bottom with the visible tests and reports test
cells that fail and locked cells that were edited. Hidden tests are not in a student's notebook,
so passing validation is necessary for full marks, not sufficient.
"""

import io
import sys
from pathlib import Path

from autograder.config import Limits, execute_config


def validate(notebook, timeout=None, stream=None):
    """Validate one notebook and print nbgrader's report.

    Args:
        notebook: path of the notebook.
        timeout: seconds per cell (default: the grading limit).
        stream: where to print (default: standard output).

    Returns:
        True if every test cell passes and no locked cell was changed.
    """
    from nbgrader.validator import Validator

    stream = stream or sys.stdout
    path = Path(notebook)
    if not path.is_file():
        raise FileNotFoundError(f"No notebook at {path}.")
    limits = Limits(cell_timeout=timeout) if timeout else Limits()
    validator = Validator(config=execute_config(limits))
    validator.stream = io.StringIO()
    validator.validate_and_print(str(path))
    report = validator.stream.getvalue()
    stream.write(f"{path}:\n{report}")
    return report.startswith("Success!")
