"""autograder: nbgrader configuration, grading helpers and the instructor's command-line tool."""
