"""Graded test cells run in the grader's process, calling the student's functions in the kernel.

The verdict of a test cell depends on nothing the submission's process can change. The test's
code (the release's, restored by nbgrader), the reference library and the checks all live here;
the kernel only runs the student's functions on the test's inputs and sends back their results,
as plain data (``autograder.judge.wire``). A name that the student's solution cells bind becomes, in
the test's namespace a ``StudentFunction`` (``autograder.judge.link``) when the kernel holds a
function under that name, and a copy of the value otherwise.

The kernel sees the hidden tests' inputs, never their code or the reference's results, and what
it prints while it answers is not kept. The executor runs every visible test before the first
hidden one, and from the first hidden test on, nothing that the kernel produced reaches the
feedback but scores and the grader's own messages: no printed output, no exception message or
name of the student's (only Python's own exception names), and checks that quote no value
(``autograder.checks.values_hidden``). So a function that keeps the hidden inputs it was given has
no later test to carry them out through.
"""

import contextlib
import io
import time
import warnings

from autograder.checks import CheckFailed, values_hidden
from autograder.mistakes import CallLog, named
from autograder.judge import wire
from autograder.judge.link import (
    CallTimeout,
    KernelLink,
    KernelStopped,
    StudentError,
    StudentFunction,
)
from autograder.judge.withheld import ReferenceWithheld
from autograder.judge.testcells import (
    free_names,
    is_hidden,
    nbgrader_flags,
    python_source,
)


class TestHarness:
    """Runs one notebook's graded test cells here, against the kernel of a ``GuardedExecute``.

    Args:
        executor: the running ``GuardedExecute`` (its kernel holds the student's answers).
        first_cell: the source of the notebook's first code cell (its imports), run here first.
        answers: names bound by the notebook's solution cells.
        mutates: function name -> arguments it may change in place.
        numpy_only: names of the functions graded as NumPy alone (``autograder.judge.numpy_only``).
        cell_timeout: seconds a test cell may take, its calls into the kernel included.
        output_chars: characters of printed output kept per test cell.
        settle_timeout: seconds a kernel gets to stop after a timed-out call is interrupted.
        mistakes: function name -> its catalogued mistakes (``autograder.mistakes``): a failed
            check whose result one of them reproduces names it.
    """

    def __init__(self, executor, first_cell, answers, mutates, cell_timeout, output_chars, settle_timeout,
                 mistakes=None, numpy_only=()):
        self.link = KernelLink(executor, settle_timeout)
        self.answers = set(answers)
        self.mutates = mutates
        self.numpy_only = set(numpy_only)
        self.cell_timeout = cell_timeout
        self.output_chars = output_chars
        self.mistakes = mistakes or {}
        self.namespace = {"__name__": "__grading__"}
        self.setup_error = None
        try:
            with _quiet():
                exec(compile(python_source(first_cell), "<imports>", "exec"), self.namespace)
        except Exception as error:  # a course bug: every test says so
            self.setup_error = f"{type(error).__name__}: {error}"

    def warm_up(self):
        """Load the kernel's side of the calls before the first test's time starts."""
        self.link.deadline = time.monotonic() + self.cell_timeout
        try:
            self.link.request({"op": "lookup", "name": "__name__"})
        except (CallTimeout, KernelStopped, StudentError, wire.WireError):
            pass  # the first test meets the same problem and says so
        finally:
            self.link.deadline = None

    def run(self, cell):
        """Run one test cell; returns its outputs (nbformat output dicts)."""
        from nbformat.v4 import new_output

        printed = io.StringIO()
        error = None
        log = CallLog()
        self.link.hidden = self.link.hidden or is_hidden(cell.source)
        self.link.test, self.link.calls = nbgrader_flags(cell).get("grade_id"), 0
        self.link.deadline = time.monotonic() + self.cell_timeout
        try:
            if self.setup_error:
                raise RuntimeError(f"the grader could not run the notebook's imports ({self.setup_error})")
            self._bind_answers(cell.source, log)
            code = compile(python_source(cell.source), f"<{nbgrader_flags(cell).get('grade_id')}>", "exec")
            with _quiet(printed), values_hidden(self.link.hidden):
                exec(code, self.namespace)
        except CheckFailed as failure:
            mistake = named(log, self.mistakes)
            text = f"{failure}\n{mistake.message()}" if mistake else str(failure)
            error = ("CheckFailed", text, [text])
        except CallTimeout as stop:
            error = ("CellTimeoutError", str(stop), [f"CellTimeoutError: {stop}"])
        except KernelStopped as stop:
            error = ("KernelDied", str(stop), [f"KernelDied: {stop}"])
        except Exception as failure:
            ename = getattr(failure, "ename", type(failure).__name__)
            message = _hidden_message(failure) if self.link.hidden else str(failure)
            error = (ename, message, [f"{ename}: {message}"])
        finally:
            self.link.deadline = None
        outputs = []
        text = printed.getvalue()
        if text and not self.link.hidden:
            if len(text) > self.output_chars:
                text = text[:self.output_chars] + "\n[output truncated]\n"
            outputs.append(new_output("stream", name="stdout", text=text))
        if error:
            outputs.append(new_output("error", ename=error[0], evalue=error[1], traceback=error[2]))
        return outputs

    def _bind_answers(self, source, log):
        for name in self.answers:
            self.namespace.pop(name, None)
        for name in sorted(free_names(source) & self.answers):
            reply = self.link.request({"op": "lookup", "name": name})
            if reply.get("kind") == "function":
                function = StudentFunction(self.link, name, self.mutates.get(name, ()), name in self.numpy_only)
                self.namespace[name] = log.wrap(name, function) if name in self.mistakes else function
            elif reply.get("kind") == "value":
                self.namespace[name] = reply["value"]


def _hidden_message(failure):
    """What a hidden test says of an exception that no check raised: the grader's words only
    (the test's own code may have failed on a value from the kernel, which its message could quote)."""
    if isinstance(failure, (StudentError, NotImplementedError, ReferenceWithheld)):
        return str(failure)  # the link already kept only what may be shown
    if isinstance(failure, wire.WireError):
        return "your function's result could not be read (hidden tests do not say more)"
    return "the test could not use your function's result (hidden tests do not say more)"


@contextlib.contextmanager
def _quiet(stream=None):
    """Test code's prints into ``stream`` (or nowhere); warnings dropped."""
    sink = stream if stream is not None else io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(io.StringIO()), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
