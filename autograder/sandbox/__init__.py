"""A kernel under limits: where a submission's code runs while it is graded.

``namespaces`` says whether bubblewrap can run and how; ``kernel_manager`` starts a kernel in its
sandbox, under the limits that ``launcher`` sets; ``factory``, ``provisioner`` and ``zygote`` fork
kernels from a prepared sandboxed process; ``kernel_cells`` runs a notebook's cells in such a
kernel, surviving crashes (phase one), and ``executor`` adds the graded tests (phase two).
Uses: judge (the test harness, test cells, the withheld library's metadata), errors.
Used by: render, course, grading.
"""
