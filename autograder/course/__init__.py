"""The nbgrader course: its configuration and the steps around grading.

``config`` is the one place of the course's nbgrader settings and its limits; ``release``,
``submissions`` (import), ``exchange`` (a JupyterHub's), ``reports`` (export and summary) and
``validate`` (the student's check) are the course's steps before and after grading.
Uses: render (notes, the preprocessors named in the config), sandbox (the executor named in the
config, whether bubblewrap can run), errors.
Used by: cli, grading.
"""
