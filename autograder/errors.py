"""The errors that stop an instructor's command, each with a message that says what to do."""


class NbgraderFailed(RuntimeError):
    """An nbgrader step failed; the message ends with the end of nbgrader's log."""


class IsolationUnavailable(RuntimeError):
    """``--isolation required`` was asked for where bubblewrap cannot run."""


class SocketPathTooLong(RuntimeError):
    """No folder here keeps the paths of the kernels' sockets within the 107 bytes Unix allows."""


class DatasetMissing(RuntimeError):
    """An assignment's graded cells load a dataset of which the grader finds no local copy."""
