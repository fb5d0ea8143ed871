"""TensorFlow without its start-up noise: the one place the course silences it.

TensorFlow prints oneDNN, CUDA-not-found and absl notices to stderr as it starts. Students read
them as errors, and nbgrader scores a graded cell that writes to stderr as failed. Only the
informational and warning levels are hidden; errors still show.

Importing ``cnnlib`` is enough: from then on, the first ``import tensorflow`` (or ``import keras``,
which imports it) in that process is a quiet one, wherever it is written: in ``cnnlib``, in a
notebook's cell or in a test.
"""

import contextlib
import importlib.abc
import importlib.util
import logging
import os
import sys
import warnings


def quiet_tensorflow_logs():
    """Make this process's first ``import tensorflow`` quiet, and hide TensorFlow's C++ INFO and
    WARNING lines after it.

    Cheap (sets environment variables and an import hook, imports nothing); a value the user
    already set wins.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Keras 3 picks TensorFlow unless told otherwise; JAX users set KERAS_BACKEND themselves.
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietImport())


def import_tensorflow():
    """Import and return ``tensorflow`` quietly (see :func:`quiet_tensorflow_logs`).

    Returns:
        the ``tensorflow`` module.
    """
    quiet_tensorflow_logs()
    import tensorflow as tf
    _python_loggers_to_errors()  # also when TensorFlow was imported before cnnlib
    return tf


def _python_loggers_to_errors():
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    try:
        from absl import logging as absl_logging
        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:  # absl is a TensorFlow dependency, but be safe on slimmer installs
        pass


class _QuietImport(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` once, for an import whose start-up notices go nowhere."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # one import only; the finders after this one find the package
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


class _QuietLoader(importlib.abc.Loader):
    """Runs TensorFlow's package with file descriptor 2 silenced, then hands the module back to
    its own loader and turns TensorFlow's Python loggers down to errors."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.loader
        with warnings.catch_warnings(), _stderr_fd_silenced():
            # Import-time deprecation notices from TensorFlow's dependencies, not the student's code.
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            self.loader.exec_module(module)
        _python_loggers_to_errors()


@contextlib.contextmanager
def _stderr_fd_silenced():
    """Send file descriptor 2 to /dev/null for the duration of the block.

    TensorFlow's native library writes its oneDNN and absl notices while it loads, before any log
    level applies; only the operating-system-level stream can catch them. A failed import still
    raises its Python exception, which is reported after the stream is restored.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
