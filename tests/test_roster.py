"""The class roster (autograder/course/roster.py): ids, names and emails, and clear errors for bad lines."""

import re

import pytest

from autograder.course.roster import Student, read_roster


def test_roster_reads_ids_names_and_emails(tmp_path):
    """Header, comments and blank lines skipped; names split for nbgrader; email optional?"""
    path = tmp_path / "roster.csv"
    path.write_text("id,name,email\n# a comment\n\nalice,Alice van Dijk,alice@example.org\nbob, Bob \n")
    assert read_roster(path) == [Student("alice", "Alice van Dijk", "alice@example.org"), Student("bob", "Bob")]
    alice = read_roster(path)[0]
    assert (alice.first_name, alice.last_name) == ("Alice van", "Dijk")


@pytest.mark.parametrize("line, message", [
    ("Alice,Alice", "student id 'Alice' is not a valid user name"),
    ("alice", "expected 'student id, name'"),
    ("alice,Alice,not-an-email", "email 'not-an-email' has no '@'"),
    ("alice,Alice\nalice,Alice again", "student id 'alice' appears twice"),
])
def test_roster_names_the_bad_line(tmp_path, line, message):
    """A bad roster line: an error that quotes it, with its line number?"""
    path = tmp_path / "roster.csv"
    path.write_text(line + "\n")
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        read_roster(path)
    assert "line " in str(error.value)
