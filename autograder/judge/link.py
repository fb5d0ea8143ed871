"""The grader's link to a submission's kernel: requests over a Unix socket, calls of its functions.

A :class:`KernelLink` sends requests (plain data, ``autograder.judge.wire``) to
``autograder.judge.kernel_calls.serve`` running in the kernel, each within the test's deadline:
a call past it is interrupted, a kernel that dies or breaks the connection ends the call, and
either way the executor makes the kernel responsive again. A :class:`StudentFunction` is the
student's function as a test sees it: calling it copies the arguments into the kernel, runs the
function there and copies the result back. An argument it changes in place fails the test
("changed its argument `x`"), unless the notebook declares that the function may change it
(``"mutates"``, see ``autograder.judge.withheld``), in which case the change is copied back into
the test's object. Messages about hidden tests quote neither the student's exception messages
nor names of exceptions that are not Python's own, which could carry the inputs back out.

A function that runs past the time limit once is not called again in that submission: its later
calls fail at once, "not called again: it ran past the time limit in test_…", so that one endless
loop costs the time limit once, not once per test that calls the function.

Every call starts from seeded random number generators in the kernel (Python's, NumPy's and, where
loaded, Keras' and its backend's): the k-th call of a test gets seed k. A test cell's own
``keras.utils.set_random_seed`` seeds the grader, where the test runs, not the kernel, where the
function trains; without a seed there, a training test could pass or fail by the shuffle of one
run, and grading the same submission twice give two grades.
"""

import builtins
import contextlib
import copy
import os
import re
import queue
import secrets
import socket
import time
from pathlib import Path

import numpy as np
from jupyter_core.utils import run_sync

from autograder.checks import CheckFailed
from autograder.judge import wire
from autograder.judge.bounded import FLOOR, call_within
from autograder.judge.allowed import BLOCKED, BLOCKED_PATTERN
from autograder.judge.numpy_only import BREACH, FRAMEWORKS, breach_message
from autograder.judge.withheld import ReferenceWithheld

NOT_SHOWN = "its message is not shown for hidden tests"
RESULT_FLOOR = 16 * 2**20  # characters a reply may take beyond 4 times the call's arguments, with no reference
MAX_PARAMETERS = 40_000_000  # parameters of the Keras models in a reply, with no reference
MARGIN = 4  # a reply may take this many times the reference's result (and the call's arguments)
WITHHELD = re.compile(r"(cnnlib(?:\.[A-Za-z_]\w*)+) is withheld")
POLL_SECONDS = 0.2  # how often a wait for the kernel checks that it lives and is in time


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
    """Requests to the submission's kernel through a running ``GuardedExecute``.

    The first request opens a connection: a Unix socket this side listens on, in the kernel's own
    folder, and ``autograder.judge.kernel_calls.serve`` run in the kernel, which connects and proves
    itself with a one-time token. A call that times out, a kernel that dies or a connection that
    breaks closes it (and the executor makes the kernel responsive again); the next request opens
    a new one.
    """

    def __init__(self, executor, settle_timeout=5):
        self.executor = executor
        self.settle_timeout = settle_timeout
        self.deadline = None
        self.hidden = False  # the current test is hidden, or one before it was
        self.test = None  # the grade id of the current test
        self.calls = 0  # calls of the student's functions in the current test: the next one's seed
        self.ran_past = {}  # function name -> the test in which it ran past the time limit
        self._callback_bytes = FLOOR
        self.connection = None
        self._interrupted = None

    def request(self, payload, callbacks=None, max_chars=RESULT_FLOOR, max_parameters=MAX_PARAMETERS,
                callback_bytes=FLOOR):
        """Send one request (a dict, see ``autograder.judge.kernel_calls``) and return the reply dict:
        one longer than ``max_chars``, or with Keras models of more than ``max_parameters``
        parameters, is refused before it is decoded (``wire.WireError``). A reference in
        ``callbacks`` that the kernel asks for may take ``callback_bytes`` of memory here
        (``autograder.judge.bounded``), and its result no more."""
        self._interrupted = None
        self._callback_bytes = callback_bytes
        try:
            if self.connection is None:
                self._connect()
            self._send(payload)
            while True:
                message = self._receive(max_chars, max_parameters)
                if "callback" not in message:
                    return message
                self._send(self._answer_callback(message, callbacks or {}))
        except TimeoutError:
            self._broken()
            raise CallTimeout("the kernel did not take the function's arguments in time") from None
        except OSError as error:
            self._broken(stopped=True)
            raise KernelStopped(f"the connection to the kernel broke ({error.strerror or error})") from None
        except KernelStopped:
            self._broken(stopped=True)
            raise
        except (CallTimeout, StudentError, wire.WireError):
            self._broken()
            raise

    def close(self):
        """Tell the kernel's loop to return, and close the connection."""
        if self.connection is not None:
            with contextlib.suppress(OSError):
                self._send({"op": "stop"})
        self._disconnect()

    def _broken(self, stopped=False):
        self._disconnect()
        self.executor.recover_after_call(stopped)

    def _disconnect(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def _connect(self):
        token = secrets.token_hex(16)
        path = Path(self.executor.km.run_dir) / f"calls-{token[:8]}.sock"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(path))
            os.chmod(path, 0o600)
            listener.listen(4)
            listener.settimeout(POLL_SECONDS)
            code = f"__import__('autograder.judge.kernel_calls', fromlist=['serve']).serve({str(path)!r}, {token!r})"
            msg_id = self.executor.kc.execute(code, silent=True, store_history=False, stop_on_error=False)
            while self.connection is None:
                try:
                    connection, _ = listener.accept()
                except socket.timeout:
                    self._check_kernel(msg_id)
                    continue
                self.connection = connection
                try:
                    hello = self._receive()
                except (KernelStopped, wire.WireError):
                    hello = None
                if hello != {"token": token}:  # not the kernel we started
                    connection.close()
                    self.connection = None
        finally:
            listener.close()
            with contextlib.suppress(OSError):
                path.unlink()

    def _check_kernel(self, msg_id):
        """While waiting for the kernel to connect: it must be alive, in time, and still trying."""
        self._check_time()
        try:
            reply = run_sync(self.executor.kc.get_shell_msg)(timeout=0)
        except queue.Empty:
            return
        if reply.get("parent_header", {}).get("msg_id") == msg_id:
            raise StudentError("NoAnswer", "the kernel did not connect to the grader (did the notebook "
                               "replace Python's built-ins?)")

    def _send(self, value):
        """Send one message; a kernel that does not read it in time raises ``TimeoutError``."""
        left = self.settle_timeout if self.deadline is None else max(self.deadline - time.monotonic(), 0)
        self.connection.settimeout(left + self.settle_timeout)
        wire.send_message(self.connection, value)

    def _receive(self, max_chars=RESULT_FLOOR, max_parameters=MAX_PARAMETERS):
        """The next message from the kernel, within the deadline and the given bounds."""
        self.connection.settimeout(POLL_SECONDS)
        message = wire.receive_message(self.connection, max_chars, self._check_time, max_parameters)
        if message is None:
            raise KernelStopped("the kernel stopped answering the grader while running the function")
        if self._interrupted is not None:
            raise CallTimeout("the function ran past the time limit and was stopped")
        if not isinstance(message, dict):
            raise wire.WireError("the kernel sent a message that is not a dict")
        return message

    def _check_time(self):
        """Between reads: a dead kernel stops the call; one past the deadline is interrupted, once,
        and given ``settle_timeout`` seconds to answer."""
        if not run_sync(self.executor.km.is_alive)():
            raise KernelStopped("the kernel stopped while running the function")
        now = time.monotonic()
        if self._interrupted is None and self.deadline is not None and now > self.deadline:
            run_sync(self.executor.km.interrupt_kernel)()
            self._interrupted = now
        elif self._interrupted is not None and now > self._interrupted + self.settle_timeout:
            raise CallTimeout("the function ran past the time limit and did not stop")

    def _answer_callback(self, message, callbacks):
        """Compute the reference that the student's function asked for in place of one of theirs,
        on the kernel's arguments: within the memory bound of the call, and refused when its
        result is larger than that bound."""
        try:
            reference = callbacks[message["callback"]]
            value = call_within(self._callback_bytes, reference, *message["args"], **message["kwargs"])
            if wire.size_bound(value) > self._callback_bytes:
                raise MemoryError(f"the result would take more than {self._callback_bytes} bytes")
            return {"value": value}
        except MemoryError as error:
            return {"error": "MemoryError: the reference was asked for more memory than the test allows "
                             f"({error})"[:500]}
        except Exception as error:  # the student's call of the reference was wrong
            return {"error": f"{type(error).__name__}: {error}"[:500]}


class StudentFunction:
    """The student's function ``name`` in the kernel, called from a test in the grader."""

    def __init__(self, link, name, mutates=(), numpy_only=False):
        self.link, self.__name__ = link, name
        self.mutates = set(mutates)
        self.numpy_only = numpy_only  # called under autograder.judge.numpy_only's watch
        self.substitutes = {}
        self.expected = None

    def with_substitutes(self, substitutes):
        """The same function, run with the student's functions named in ``substitutes`` replaced
        by the given references (computed here, on request of the kernel)."""
        return self._with(substitutes=dict(substitutes))

    def bounded_by(self, expected):
        """The same function, whose results may take at most ``MARGIN`` times the size (and the
        Keras parameters) of ``expected``, the reference's result, before they are refused."""
        return self._with(expected=(expected,))

    def _with(self, **changes):
        changed = copy.copy(self)
        changed.__dict__.update(changes)
        return changed

    def _bounds(self, args, kwargs):
        """(characters, Keras parameters) a reply to a call with these arguments may hold (the
        changed arguments come back too), and the bytes a reference it asks for may take here:
        ``MARGIN`` times the reference's result and the arguments, beyond ``bounded.FLOOR``."""
        arguments = wire.size_bound([list(args), kwargs])
        if self.expected is None:
            return RESULT_FLOOR + MARGIN * arguments, MAX_PARAMETERS, FLOOR + RESULT_FLOOR + MARGIN * arguments
        (expected,) = self.expected
        parameters = wire.parameter_count(expected)
        chars = MARGIN * (wire.size_bound(expected) + arguments)
        return chars + 2**16, MARGIN * parameters if parameters else MAX_PARAMETERS, FLOOR + chars

    def __call__(self, *args, **kwargs):
        test = self.link.ran_past.get(self.__name__)
        if test is not None:
            raise CheckFailed(f"{self.__name__}: not called again: it ran past the time limit in {test}.")
        request = {"op": "call", "name": self.__name__, "args": list(args), "kwargs": kwargs,
                   "substitute": sorted(self.substitutes), "seed": self.link.calls}
        self.link.calls += 1
        if self.numpy_only:
            request["numpy_only"] = list(FRAMEWORKS)
        try:
            reply = self.link.request(request, self.substitutes, *self._bounds(args, kwargs))
        except CallTimeout:
            self.link.ran_past[self.__name__] = self.link.test
            raise
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
    """The exception a test sees for one the student's function raised in the kernel. For hidden
    tests, only Python's own exception names and the grader's own withheld message are kept."""
    withheld = WITHHELD.match(str(message)) if ename == "ReferenceWithheld" else None
    if withheld:
        return ReferenceWithheld(f"{withheld.group(1)} is withheld while this assignment is graded: "
                                 "the grade is for your own implementation.")
    blocked = BLOCKED_PATTERN.match(str(message)) if ename == "ModuleNotFoundError" else None
    if blocked:
        return StudentError(ename, BLOCKED.format(module=blocked.group(1)))
    breach = breach_message(name, str(message)) if ename == BREACH else None
    if breach:
        return StudentError("NotAllowed", breach)
    if not hidden:
        return NotImplementedError(message) if ename == "NotImplementedError" else StudentError(ename, message)
    if ename == "NotImplementedError":
        return NotImplementedError(NOT_SHOWN)
    builtin = isinstance(getattr(builtins, str(ename), None), type)
    return StudentError(ename if builtin else "an exception", NOT_SHOWN)
