"""Tests outside the kernel: the verdict is computed in the grader, never in the submission.

``harness`` runs a notebook's graded test cells in the grader's process; ``link`` calls the
student's functions in the kernel over a Unix socket, and ``kernel_calls`` is the kernel's side
of it; ``wire`` is the plain data between them; ``testcells`` says which cells are tests and which
names are answers; ``withheld`` builds the copy of ``cnnlib`` without the assignment's answers.
Uses: checks.
Used by: sandbox, render, course, grading.
"""
