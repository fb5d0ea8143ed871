"""NumPy-only exercises in a kernel that also holds TensorFlow: a watch on one call at a time.

A notebook whose graded functions mix NumPy exercises with Keras ones (06: dropout and batch
normalization by hand beside a Keras network) cannot stub TensorFlow out of its kernel, as
``autograder.judge.allowed`` does for 01-04. It declares instead which graded functions are
NumPy-only::

    "cnn_course": {"numpy_only": ["dropout_forward", "l2_penalty", ...]}

and while the grader calls one of them, :class:`Watch` follows every function the call enters
(``sys.setprofile``: Python 3.11 has no ``sys.monitoring``). Code from the files of a framework
(``FRAMEWORKS``: TensorFlow, Keras, SciPy, torch, JAX), a C function of theirs, a new thread or a new
process ends the call at once, and the call fails, whatever the function does next:

- the first breach is recorded before the exception is raised, so a ``try``/``except`` around it
  in the student's code hides nothing (and a profile function that raises is unset by Python);
- the hook must still be the one in place when the call returns, and an audit hook (which cannot
  be removed) records any ``sys.setprofile``/``sys.settrace`` during the call, so the watch cannot
  be switched off quietly;
- cyclic garbage collection is paused during the call, so that a framework's finalizer of an
  object dropped earlier never runs inside it and blames an honest student.

Each code object's file is looked up once per kernel (a dict keyed by the code object). The
watch costs about 0.9 µs per Python function entered and 0.5 µs per C function called (measured
on a shared two-core machine): a loop-style batch normalisation of 64 x 32 values, generators and
all, took 1.7 times as long watched (``tests/autograder/test_numpy_only.py`` prints it); the
course's NumPy exercises on their test sizes, milliseconds more.

It watches the calling thread, the one that runs the function: a thread started before the call
and fed work through a queue is not followed, nor is code that rewrites this module in the
kernel. The watch holds against using a framework, not against taking the grader apart; such a
submission is for the instructor to read.

This module runs in the kernel (``autograder.judge.kernel_calls``) and is imported by the grader
for ``FRAMEWORKS`` and :func:`breach_message`.
"""

import gc
import importlib.util
import os
import sys

FRAMEWORKS = ("tensorflow", "keras", "scipy", "torch", "jax", "jaxlib")
BREACH = "FrameworkUsed"  # the name of the exception a breached call ends with
THREADS, PROCESSES, UNWATCHED = "a new thread", "a new process", "the grader's watch switched off"
_PROCESS_EVENTS = ("os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.system", "os.exec",
                   "subprocess.Popen", "pty.spawn")
_UNSEEN = object()
_active = []  # the watch of the call in progress, if any (read by the audit hook)
_audit_installed = False


class FrameworkUsed(Exception):
    """Raised into a NumPy-only function that entered a framework's code; its message names what."""


def breach_message(function, what):
    """The grader's words for a NumPy-only function that used ``what`` (a framework or one of the
    names above); None for anything else, which the grader then does not trust."""
    from autograder.judge.allowed import BLOCKED

    if what in FRAMEWORKS:
        return f"{function} is a NumPy exercise, and it used {what}: " + BLOCKED.format(module=what)
    if what in (THREADS, PROCESSES, UNWATCHED):
        return (f"{function} is a NumPy exercise, and it used {what} while it was graded, which the grader "
                "does not allow: the grade is for your own code.")
    return None


class Watch:
    """``sys.setprofile`` hook that fails the call on the first entry into ``modules``' code."""

    def __init__(self, modules):
        self.modules = frozenset(modules)
        self.places = list(_folders_by_module(self.modules))  # (module, folder)
        self.folders = tuple(folder for _, folder in self.places)
        self.files = {}  # code object -> the framework it belongs to, or None
        self.breach = None
        self.hook = self._hook()

    def _hook(self):
        """The profile function: a closure over local names, as it runs for every call."""
        files, unseen, framework_of, owner_of, record = self.files, _UNSEEN, self._framework_of, \
            self._owner_of, self.record

        def hook(frame, event, arg):
            if event == "call":
                what = files.get(frame.f_code, unseen)
                if what is unseen:
                    what = files[frame.f_code] = framework_of(frame.f_code.co_filename)
            elif event == "c_call":
                what = owner_of(arg)
            else:
                return
            if what is not None:
                record(what)
                raise FrameworkUsed(what)

        return hook

    def record(self, what):
        if self.breach is None:
            self.breach = what

    def run(self, function, *args, **kwargs):
        """``function(*args, **kwargs)`` under the watch; raises :class:`FrameworkUsed` after a breach."""
        _install_audit_hook()
        self.breach = None
        collecting = gc.isenabled()
        gc.disable()
        previous = sys.getprofile()
        sys.setprofile(self.hook)
        _active.append(self)
        try:
            return function(*args, **kwargs)
        finally:
            still_mine = sys.getprofile() is self.hook
            _active.remove(self)
            sys.setprofile(previous)
            if collecting:
                gc.enable()
            if self.breach is None and not still_mine:
                self.breach = UNWATCHED
            if self.breach is not None:
                raise FrameworkUsed(self.breach)

    def _framework_of(self, filename):
        if filename.startswith(self.folders):
            return next(module for module, folder in self.places if filename.startswith(folder))
        return None

    def _owner_of(self, builtin):
        """The framework (or ``THREADS``) a C function belongs to, from its module's name."""
        module = getattr(builtin, "__module__", None)
        if not isinstance(module, str):  # a method of a C type: its class's module
            owner = getattr(builtin, "__self__", None)
            cls = getattr(builtin, "__objclass__", None) or type(owner)
            module = owner.__name__ if type(owner) is type(sys) else cls.__module__
        top = module.partition(".")[0] if isinstance(module, str) else ""
        if top in self.modules:
            return top
        if top == "_thread" and getattr(builtin, "__name__", "").startswith("start"):
            return THREADS
        return None


def _folders_by_module(modules):
    """(module, folder) for each framework found on the module path, without importing it."""
    for module in sorted(modules):
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            continue
        if spec is None:
            continue
        places = list(spec.submodule_search_locations or []) or ([os.path.dirname(spec.origin)] if spec.origin else [])
        for place in places:
            yield module, os.path.join(os.path.realpath(place), "")
            yield module, os.path.join(os.path.abspath(place), "")


def _audit(event, args):
    """While a watch is on: the profile switched or a process started is a breach (an audit hook
    cannot be removed, so this holds even when the profile hook itself was switched off)."""
    if not _active:
        return
    if event in ("sys.setprofile", "sys.settrace"):
        _active[-1].record(UNWATCHED)
    elif event in _PROCESS_EVENTS:
        _active[-1].record(PROCESSES)
        raise FrameworkUsed(PROCESSES)


def _install_audit_hook():
    global _audit_installed
    if not _audit_installed:
        sys.addaudithook(_audit)
        _audit_installed = True
