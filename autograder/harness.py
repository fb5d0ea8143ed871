"""Graded test cells run in the grader's process, calling the student's functions in the kernel.

The verdict of a test cell depends on nothing the submission's process can change. The test's
code (the release's, restored by nbgrader), the reference library and the checks all live here;
the kernel only runs the student's functions on the test's inputs and sends back their results,
as plain data (``autograder.wire``). A name that the student's solution cells bind becomes, in
the test's namespace:

- a :class:`StudentFunction` when the kernel holds a function under that name: calling it copies
  the arguments into the kernel, runs the student's function there and copies the result back.
  An argument it changes in place fails the test ("changed its argument `x`"), unless the
  notebook declares that the function may change it (``"mutates"``, see ``autograder.withheld``),
  in which case the change is copied back into the test's object;
- a copy of the value otherwise.

The kernel sees the hidden tests' inputs, never their code or the reference's results, and what
it prints while it answers is not kept. Messages about hidden tests do not quote the student's
exception messages, which could carry the inputs back out.
"""

import asyncio
import contextlib
import io
import time
import warnings

import numpy as np
from jupyter_core.utils import run_sync

from autograder import wire
from autograder.checks import CheckFailed, values_hidden
from autograder.kernel_calls import CALLBACK_PROMPT, REPLY_MIME
from autograder.testcells import free_names, is_hidden, nbgrader_flags, python_source
from autograder.withheld import ReferenceWithheld

NOT_SHOWN = "its message is not shown for hidden tests"


class CallTimeout(BaseException):
    """The student's function ran past the test's time limit (ends the test cell)."""


class KernelStopped(BaseException):
    """The kernel died while the student's function ran (ends the test cell)."""


class StudentError(Exception):
    """The student's function raised; ``ename`` is the name of its exception."""

    def __init__(self, ename, message):
        super().__init__(message)
        self.ename = ename


class KernelLink:
    """Requests to the submission's kernel through a running ``GuardedExecute``."""

    def __init__(self, executor, settle_timeout=5):
        self.executor = executor
        self.settle_timeout = settle_timeout
        self.deadline = None
        self.hidden = False

    def request(self, payload, callbacks=None):
        """Send one request (a dict, see ``autograder.kernel_calls``) and return the reply dict."""
        code = f"__import__('autograder.kernel_calls').kernel_calls.serve({wire.dumps(payload)!r})"
        try:
            return run_sync(self._exchange)(code, callbacks or {})
        except (CallTimeout, KernelStopped):
            self.executor.recover_after_call()
            raise

    async def _exchange(self, code, callbacks):
        kc, km = self.executor.kc, self.executor.km
        msg_id = kc.execute(code, store_history=False, allow_stdin=True, stop_on_error=False)
        getters = {"iopub": kc.get_iopub_msg, "stdin": kc.get_stdin_msg, "shell": kc.get_shell_msg}
        pending = {asyncio.ensure_future(get()): name for name, get in getters.items()}
        reply, idle, answered, interrupted = None, False, False, None
        try:
            while not (idle and answered):
                done, _ = await asyncio.wait(pending, timeout=1, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    channel = pending.pop(task)
                    pending[asyncio.ensure_future(getters[channel]())] = channel
                    message = task.result()
                    if message.get("parent_header", {}).get("msg_id") != msg_id:
                        continue
                    kind, content = message["msg_type"], message["content"]
                    if channel == "stdin" and kind == "input_request":
                        kc.input(self._answer_callback(content.get("prompt", ""), callbacks))
                    elif kind == "display_data" and reply is None and REPLY_MIME in content.get("data", {}):
                        reply = content["data"][REPLY_MIME]
                    elif kind == "status" and content.get("execution_state") == "idle":
                        idle = True
                    elif kind == "execute_reply":
                        answered = True
                if done:
                    continue
                if not await km.is_alive():
                    raise KernelStopped("the kernel stopped while running the function")
                now = time.monotonic()
                if interrupted is None and self.deadline is not None and now > self.deadline:
                    await km.interrupt_kernel()
                    interrupted = now
                elif interrupted is not None and now > interrupted + self.settle_timeout:
                    raise CallTimeout("the function ran past the time limit and did not stop")
        finally:
            for task in pending:
                task.cancel()
        if interrupted is not None:
            raise CallTimeout("the function ran past the time limit and was stopped")
        if reply is None:
            raise StudentError("NoAnswer", "the kernel gave no answer (did the notebook replace "
                               "Python's built-ins?)")
        return wire.loads(reply)

    def _answer_callback(self, prompt, callbacks):
        """Compute the reference that the student's function asked for in place of one of theirs."""
        try:
            if not prompt.startswith(CALLBACK_PROMPT):
                raise wire.WireError("the function asked for input")
            request = wire.loads(prompt[len(CALLBACK_PROMPT):])
            reference = callbacks[request["name"]]
            return wire.dumps({"value": reference(*request["args"], **request["kwargs"])})
        except Exception as error:  # the student's call of the reference was wrong
            return wire.dumps({"error": f"{type(error).__name__}: {error}"[:500]})


class StudentFunction:
    """The student's function ``name`` in the kernel, called from a test in the grader."""

    def __init__(self, link, name, mutates=(), substitutes=None):
        self.link, self.__name__ = link, name
        self.mutates = set(mutates)
        self.substitutes = substitutes or {}

    def with_substitutes(self, substitutes):
        """The same function, run with the student's functions named in ``substitutes`` replaced
        by the given references (computed here, on request of the kernel)."""
        return StudentFunction(self.link, self.__name__, self.mutates, dict(substitutes))

    def __call__(self, *args, **kwargs):
        reply = self.link.request({"op": "call", "name": self.__name__, "args": list(args),
                                   "kwargs": kwargs, "substitute": sorted(self.substitutes)},
                                  callbacks=self.substitutes)
        if "error" in reply:
            raise _student_exception(self.__name__, *reply["error"], hidden=self.link.hidden)
        originals = dict(zip(reply.get("positional", []), args), **kwargs)
        for argument, value in reply.get("changed", {}).items():
            if argument not in originals:
                continue
            if argument not in self.mutates:
                raise CheckFailed(f"{self.__name__} changed its argument `{argument}` in place. Tests (and "
                                  "the code that calls your function) expect it unchanged: work on a "
                                  f"copy (`{argument} = {argument}.copy()`) or build a new array.")
            _copy_back(originals[argument], value)
        return reply["result"]

    def __repr__(self):
        return f"<your function {self.__name__}>"


def _copy_back(original, value):
    if isinstance(original, np.ndarray) and isinstance(value, np.ndarray) and original.shape == value.shape:
        original[...] = value
    elif isinstance(original, dict) and isinstance(value, dict):
        original.clear()
        original.update(value)
    elif isinstance(original, list) and isinstance(value, list):
        original[:] = value


def _student_exception(name, ename, message, hidden):
    if ename == "ReferenceWithheld":
        return ReferenceWithheld(message)
    shown = NOT_SHOWN if hidden else message
    if ename == "NotImplementedError":
        return NotImplementedError(shown)
    return StudentError(ename, shown)


class TestHarness:
    """Runs one notebook's graded test cells here, against the kernel of a ``GuardedExecute``.

    Args:
        executor: the running ``GuardedExecute`` (its kernel holds the student's answers).
        first_cell: the source of the notebook's first code cell (its imports), run here first.
        answers: names bound by the notebook's solution cells.
        mutates: function name -> arguments it may change in place.
        cell_timeout: seconds a test cell may take, its calls into the kernel included.
        output_chars: characters of printed output kept per test cell.
        settle_timeout: seconds a kernel gets to stop after a timed-out call is interrupted.
    """

    def __init__(self, executor, first_cell, answers, mutates, cell_timeout, output_chars, settle_timeout):
        self.link = KernelLink(executor, settle_timeout)
        self.answers = set(answers)
        self.mutates = mutates
        self.cell_timeout = cell_timeout
        self.output_chars = output_chars
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
        self.link.hidden = is_hidden(cell.source)
        self.link.deadline = time.monotonic() + self.cell_timeout
        try:
            if self.setup_error:
                raise RuntimeError(f"the grader could not run the notebook's imports ({self.setup_error})")
            self._bind_answers(cell.source)
            code = compile(python_source(cell.source), f"<{nbgrader_flags(cell).get('grade_id')}>", "exec")
            with _quiet(printed), values_hidden(self.link.hidden):
                exec(code, self.namespace)
        except CheckFailed as failure:
            error = ("CheckFailed", str(failure), [str(failure)])
        except CallTimeout as stop:
            error = ("CellTimeoutError", str(stop), [f"CellTimeoutError: {stop}"])
        except KernelStopped as stop:
            error = ("KernelDied", str(stop), [f"KernelDied: {stop}"])
        except Exception as failure:
            ename = getattr(failure, "ename", type(failure).__name__)
            error = (ename, str(failure), [f"{ename}: {failure}"])
        finally:
            self.link.deadline = None
        outputs = []
        text = printed.getvalue()
        if text:
            if len(text) > self.output_chars:
                text = text[:self.output_chars] + "\n[output truncated]\n"
            outputs.append(new_output("stream", name="stdout", text=text))
        if error:
            outputs.append(new_output("error", ename=error[0], evalue=error[1], traceback=error[2]))
        return outputs

    def _bind_answers(self, source):
        for name in self.answers:
            self.namespace.pop(name, None)
        for name in sorted(free_names(source) & self.answers):
            reply = self.link.request({"op": "lookup", "name": name})
            if reply.get("kind") == "function":
                self.namespace[name] = StudentFunction(self.link, name, self.mutates.get(name, ()))
            elif reply.get("kind") == "value":
                self.namespace[name] = reply["value"]


@contextlib.contextmanager
def _quiet(stream=None):
    """Test code's prints into ``stream`` (or nowhere); warnings dropped."""
    sink = stream if stream is not None else io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(io.StringIO()), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
