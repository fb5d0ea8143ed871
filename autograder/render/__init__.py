"""What reaches a browser: graded notebooks and feedback pages made safe and readable.

``sanitize`` keeps only inert outputs and markup of a submission; ``preprocessors`` are the
nbgrader preprocessors the course adds to nbgrader's own (they run while grading and while
feedback is written); ``notes`` are the grader's one-line notes about a submission.
Uses: sandbox (the names of the executor's errors), judge (which cells are tests).
Used by: course, grading.
"""
