"""The datasets an assignment's graded cells load, found before any submission is graded.

Grading kernels have no network, so a dataset that the grader's machine does not hold would make
every submission lose the points of the cells that load it, for a fault that is not the students'.
:func:`require_datasets` stops the run first, saying where the grader looked and what to do.
"""

from autograder.errors import DatasetMissing


def require_datasets(assignment, datasets):
    """Raise :class:`DatasetMissing` unless every one of ``datasets`` has a local copy.

    Args:
        assignment: the assignment id, for the message.
        datasets: names of ``cnnlib.data.DATASET_FILES`` ("mnist", "cifar10"), from the source
            notebooks' ``cnn_course.datasets``.
    """
    from cnnlib import data

    missing = [name for name in datasets if data.local_copy(name) is None]
    if missing:
        helps = "\n".join(data.missing_help(name) for name in missing)
        raise DatasetMissing(
            f"{assignment} loads {' and '.join(missing)} in its graded cells, and grading kernels have "
            f"no internet, so nothing was graded (every submission would have lost those cells' "
            f"points).\n{helps}\nWith the internet, `python -c \"from cnnlib import data; "
            f"data.load_{missing[0]}()\"` fills Keras' cache once.")
