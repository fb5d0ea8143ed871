"""TensorFlow without its start-up noise: the one place the course silences it.

TensorFlow prints oneDNN, CUDA-not-found and absl notices to stderr as it starts. Students read
them as errors, and nbgrader scores a graded cell that writes to stderr as failed. Only the
informational and warning levels are hidden; errors still show.
"""

import contextlib
import logging
import os
import sys
import warnings


def quiet_tensorflow_logs():
    """Hide TensorFlow's C++ INFO and WARNING lines for any later ``import tensorflow``.

    Cheap (sets environment variables, imports nothing); a value the user already set wins.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Keras 3 picks TensorFlow unless told otherwise; JAX users set KERAS_BACKEND themselves.
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def import_tensorflow():
    """Import and return ``tensorflow`` with its Python-side notices quietened too.

    Returns:
        the ``tensorflow`` module.
    """
    quiet_tensorflow_logs()
    with warnings.catch_warnings(), _stderr_fd_silenced():
        # Import-time deprecation notices from TensorFlow's dependencies, not the student's code.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        import tensorflow as tf
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    try:
        from absl import logging as absl_logging
        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:  # absl is a TensorFlow dependency, but be safe on slimmer installs
        pass
    return tf


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
