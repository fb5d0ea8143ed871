"""Grading a class: every submission of an assignment, in parallel, and the feedback pages.

``pipeline.autograde`` grades a class and alone writes the gradebook; ``submission`` grades one
submission in a worker's private course root; ``workers`` runs them in local process pools and
``cluster`` on a Dask cluster; ``feedback`` writes the students' pages in parallel.
Uses: course (the course root and nbgrader's apps), render (notes), sandbox (the kernel
factories), judge (the withheld library).
Used by: cli.
"""
