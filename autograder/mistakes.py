"""Classic mistakes: the course's catalogue of them, and naming the one that a wrong result matches.

Each source assignment may keep a ``mistakes.py`` beside its notebook (``course/01-edge-detection/
mistakes.py``): a list ``MISTAKES`` of :class:`Mistake`, each a small runnable variant of one graded
function that makes one mistake students really make, with a line that names it and the section to
reread. The catalogue is the instructor's: it is never released to students, never copied into a
grading kernel, and its variants run only in the grader (or, in a student's own JupyterLab, in the
process that runs the checks).

While a test cell runs, a :class:`CallLog` records the calls of the student's functions (arguments
and results). When a check fails, :func:`named` runs the variants of the function called last on
the same arguments: one that returns what the student's function returned, on every call the cell
made, is the mistake named to the student. While graded, the test harness keeps that log in the
grader; in a student's own JupyterLab, :class:`NotebookWatch` keeps it in the notebook's kernel,
where the checks run.
"""

import importlib.util
import inspect
import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

FILE_NAME = "mistakes.py"
MESSAGE = "This looks like a classic mistake: {says} (reread section {section})."
_NAMED = re.compile(r"This looks like a classic mistake: (.+?) \(reread section (.+?)\)\.")
COURSE = Path(__file__).resolve().parents[1] / "course"  # the project's source assignments


@dataclass(frozen=True)
class Mistake:
    """One classic mistake in one graded function.

    Attributes:
        function: the student's function it is a variant of (``"correlate2d"``).
        variant: a function with the same arguments that makes the mistake; its body uses only the
            names a notebook's imports give (``np``, ``keras``), so that it runs in a notebook too.
        says: one line to the student, naming the mistake ("the kernel is flipped: ...").
        section: the section of the notebook to reread ("4. Cross-correlation or convolution?").
        by_result: whether the result tells the mistake apart. False for a variant that trains a
            network (its model differs from the student's only in weights that depend on the run):
            the tests must still catch it, but it is never named, and never run in the grader.
    """

    function: str
    variant: Callable
    says: str
    section: str
    by_result: bool = True

    @property
    def key(self):
        """The variant's name, which identifies the mistake (``correlate2d_flipped``)."""
        return self.variant.__name__

    def message(self):
        return MESSAGE.format(says=self.says, section=self.section)

    def source(self):
        """The variant as the student would have written it: ``def <function>(...)``, after the
        catalogue's private helpers (``_name``) that it calls."""
        names = self.variant.__globals__
        helpers = [names[name] for name in self.variant.__code__.co_names
                   if name.startswith("_") and inspect.isfunction(names.get(name))]
        code = inspect.getsource(self.variant)
        code = re.sub(rf"^def {re.escape(self.key)}\(", f"def {self.function}(", code, count=1)
        return "\n\n".join([*(inspect.getsource(helper) for helper in helpers), code])


def load(folder):
    """The mistakes catalogued in ``folder/mistakes.py`` (an empty list if there is none).

    Raises:
        ValueError: the file holds no list ``MISTAKES`` of ``Mistake``.
    """
    path = Path(folder) / FILE_NAME
    if not path.is_file():
        return []
    spec = importlib.util.spec_from_file_location(f"_mistakes_{Path(folder).name.replace('-', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found = getattr(module, "MISTAKES", None)
    if not isinstance(found, list) or not all(isinstance(m, Mistake) for m in found):
        raise ValueError(f"{path} must define MISTAKES, a list of autograder.mistakes.Mistake.")
    return found


def named_in(text):
    """The mistakes (their one line each) that a test's message names."""
    return [match.group(1) for match in _NAMED.finditer(text or "")]


def by_function(mistakes):
    """function name -> its mistakes, in catalogue order."""
    table = {}
    for mistake in mistakes:
        table.setdefault(mistake.function, []).append(mistake)
    return table


@dataclass
class Call:
    function: str
    args: tuple
    kwargs: dict
    result: object
    raised: bool = False
    after: tuple = None  # (args, kwargs) after the call, copied


class CallLog:
    """The calls of the student's functions made by one test cell (copies of their arguments)."""

    def __init__(self):
        self.calls = []

    def wrap(self, name, function):
        return Recorded(name, function, self)


class Recorded:
    """The student's function ``name``, each call logged. It keeps the wrapped function's own
    attributes (``__globals__`` in a notebook; ``with_substitutes`` and ``bounded_by`` while graded),
    and the functions these return log their calls too."""

    def __init__(self, name, function, log):
        self.__name__, self.function, self.log = name, function, log

    def __call__(self, *args, **kwargs):
        call = Call(self.__name__, copied(args), copied(kwargs), None, raised=True)
        self.log.calls.append(call)
        call.result = self.function(*args, **kwargs)
        call.raised = False
        call.after = (copied(args), copied(kwargs))
        return call.result

    @property
    def with_substitutes(self):
        inner = self.function.with_substitutes  # AttributeError for a plain function, as hasattr expects
        return lambda substitutes: Recorded(self.__name__, inner(substitutes), self.log)

    @property
    def bounded_by(self):
        inner = self.function.bounded_by  # as with_substitutes: only while graded
        return lambda expected: Recorded(self.__name__, inner(expected), self.log)

    def __getattr__(self, attribute):
        return getattr(self.function, attribute)

    def __repr__(self):
        return repr(self.function)


def named(log, catalogue):
    """The mistake whose variant returns what the student's function returned, and leaves the
    arguments it changes in place (``train_step``'s ``params``) as the student's function left them,
    on every call of the function called last; or None (also when that call raised: there is no result to
    match). Only mistakes named ``by_result`` are tried. ``catalogue``: function name -> mistakes."""
    if log is None or not log.calls or log.calls[-1].raised:
        return None
    last = log.calls[-1].function
    calls = [call for call in log.calls if call.function == last]
    for mistake in catalogue.get(last, []):
        if mistake.by_result and all(_agrees(mistake.variant, call) for call in calls):
            return mistake
    return None


_WITHOUT_ARGUMENTS = {}  # (file, variant's name) -> its result, for variants called without arguments (model builders)


def _agrees(variant, call):
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if not call.args and not call.kwargs:  # built once per process: a Keras model takes a second
                key = (variant.__code__.co_filename, variant.__name__)  # the catalogue is loaded anew per notebook
                if key not in _WITHOUT_ARGUMENTS:
                    _WITHOUT_ARGUMENTS[key] = variant()
                return same(_WITHOUT_ARGUMENTS[key], call.result)
            args, kwargs = _isolated(call.args), _isolated(call.kwargs)
            return same(variant(*args, **kwargs), call.result) and _same_changes(call, args, kwargs)
    except Exception:  # the variant cannot run on these arguments: it is not this mistake
        return False


def _same_changes(call, args, kwargs):
    """Whether each argument the variant changed in place (as ``train_step`` changes ``params``) ended
    as the student's call left it. Arguments the variant leaves alone are not compared: a function
    that changes its input by mistake is still matched on the input it was given. Only arrays,
    dicts and lists count, the arguments whose changes a graded call copies back from the kernel
    (a Keras model that ``freeze_up_to`` changes is compared by its result)."""
    if call.after is None:
        return True
    before = [*call.args, *call.kwargs.values()]
    after = [*call.after[0], *call.after[1].values()]
    theirs = [*args, *kwargs.values()]
    return all(same(mine, now) for was, now, mine in zip(before, after, theirs)
               if isinstance(was, (np.ndarray, dict, list)) and not same(was, mine))


def same(a, b, rtol=1e-4, atol=1e-6):
    """Whether two results are equal: numbers and arrays within tolerance (shapes equal), tuples,
    lists and dicts item by item, Keras models by their layers' kinds, settings and weights."""
    if hasattr(a, "layers") and hasattr(b, "layers"):
        return same(model_fingerprint(a), model_fingerprint(b), rtol, atol)
    if isinstance(a, dict) or isinstance(b, dict):
        return (isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys()
                and all(same(a[k], b[k], rtol, atol) for k in a))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)) and not _numeric(a):
        return len(a) == len(b) and all(same(x, y, rtol, atol) for x, y in zip(a, b))
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    try:
        x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        return a == b
    return x.shape == y.shape and bool(np.allclose(x, y, rtol=rtol, atol=atol, equal_nan=True))


def _numeric(value):
    return all(isinstance(v, (int, float, np.number)) for v in value)


def model_fingerprint(model):
    """A Keras model as plain data: per layer, its kind, its settings (names left out) and its
    number of weights, plus which layers are trainable. The settings are written as JSON, so that a
    model inside the model (a pretrained base) reads the same after the trip from the student's
    kernel to the grader, which turns its tuples into lists."""
    rows = []
    for layer in model.layers:
        config = {k: v for k, v in layer.get_config().items() if k not in ("name", "dtype", "seed")}
        rows.append((type(layer).__name__, json.dumps(config, sort_keys=True, default=repr),
                     int(layer.count_params()), bool(layer.trainable)))
    return rows


def _isolated(value):
    """A copy for a variant to run on: as :func:`copied`, Keras models cloned (weights and trainable
    flags too), so that a variant that changes a model leaves the test's own alone."""
    if hasattr(value, "layers") and hasattr(value, "get_weights"):
        import keras

        clone = keras.models.clone_model(value)
        clone.set_weights(value.get_weights())
        clone.trainable = value.trainable
        for original, layer in zip(value.layers, clone.layers):
            layer.trainable = original.trainable
        return clone
    if isinstance(value, dict):
        return {k: _isolated(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_isolated(v) for v in value)
    return copied(value)


def copied(value):
    """A copy of a call's arguments: arrays, lists, tuples and dicts copied, other objects kept."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: copied(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(copied(v) for v in value)
    return value


class NotebookWatch:
    """In a student's own JupyterLab: while a cell that calls the checks runs, the calls of the
    notebook's catalogued functions are logged, so that a failed check can name the mistake.

    Args:
        shell: the kernel's IPython shell.
        catalogue: function name -> mistakes, for the notebook's assignment.
    """

    def __init__(self, shell, catalogue):
        self.shell, self.catalogue = shell, catalogue
        self.log, self.saved = None, {}

    def before(self, info):
        self.log = CallLog()
        if "checks." not in (getattr(info, "raw_cell", "") or ""):
            return
        for name in self.catalogue:
            function = self.shell.user_ns.get(name)
            if inspect.isfunction(function):
                self.saved[name] = function
                self.shell.user_ns[name] = self.log.wrap(name, function)

    def after(self, result=None):
        for name, function in self.saved.items():
            if isinstance(self.shell.user_ns.get(name), Recorded):
                self.shell.user_ns[name] = function
        self.saved = {}

    def named(self):
        return named(self.log, self.catalogue)


def watch_notebook(shell, folder=None):
    """Start a :class:`NotebookWatch` in ``shell`` for the assignment named like ``folder`` (the
    kernel's working directory by default), if the course's catalogue for it is at hand; returns
    it, or None."""
    assignment = Path(folder or Path.cwd()).name
    try:
        catalogue = by_function(load(COURSE / assignment)) if assignment else {}
    except Exception:  # a catalogue that does not load names nothing; the checks still run
        return None
    if not catalogue:
        return None
    watch = NotebookWatch(shell, catalogue)
    shell.events.register("pre_run_cell", watch.before)
    shell.events.register("post_run_cell", watch.after)
    return watch
