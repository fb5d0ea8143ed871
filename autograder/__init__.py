"""autograder: the course's grading, over nbgrader, and the instructor's command, ``cnn-course``.

Packages by role, each importing only from those below it (``tests/autograder/test_layout.py``)::

    cli.py      the instructor's and the student's commands
    grading/    the pipeline: a class in parallel, the worker pools, the Dask path, feedback
    course/     the nbgrader course: config, release, submissions, exchange, export, validation
    render/     what reaches a browser: sanitising, nbgrader preprocessors, grading notes
    sandbox/    a kernel under limits: namespaces, launcher, kernel factory and zygote, executor
    judge/      tests outside the kernel: harness, link to the kernel, wire, test cells, withheld library
    checks.py   what the notebooks' test cells call (``from autograder import checks``)
    errors.py   the errors that stop a command
"""
