"""Import TensorFlow and Keras once, quietly.

TensorFlow's C++ runtime writes oneDNN and CUDA notices straight to file
descriptor 2 while it loads, before any Python logging setting can stop it.
A user who asked for ``verbose=0`` should not see them, so the first import
runs with descriptor 2 pointed at ``/dev/null``. Set ``SKOPTNN_TF_LOGS=1`` to
see them again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys

from .threads import limit_tensorflow_threads


@contextlib.contextmanager
def _quiet_stderr():
    if os.environ.get("SKOPTNN_TF_LOGS") or "tensorflow" in sys.modules:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


# Checked before importing Keras: with another backend Keras would first try to
# import it and fail with its own error if that framework is not installed.
if os.environ.get("KERAS_BACKEND", "tensorflow") not in ("", "tensorflow"):
    raise ImportError(
        f"skoptnn trains with TensorFlow; KERAS_BACKEND={os.environ['KERAS_BACKEND']!r} "
        "is not supported. Unset KERAS_BACKEND."
    )
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
with _quiet_stderr():
    import keras
    import tensorflow as tf

    # Device discovery prints the CUDA notices; do it while still silenced.
    tf.config.list_physical_devices()

# Before TensorFlow runs any op: its thread pools are fixed from then on. A bad
# SKOPTNN_NUM_THREADS is reported by the first fit or predict, not here: an
# import error inside a joblib worker surfaces as an unrelated unpickling error.
try:
    NUM_THREADS = limit_tensorflow_threads(tf)
    THREADS_ERROR: ValueError | None = None
except ValueError as exc:
    NUM_THREADS, THREADS_ERROR = None, exc


class _OwnRetracingFilter(logging.Filter):
    # skoptnn traces one graph per key on purpose (see _cache.py);
    # TensorFlow's "excessive retracing" hint would only confuse users.
    def filter(self, record: logging.LogRecord) -> bool:
        return "skoptnn" not in record.getMessage()


tf.get_logger().addFilter(_OwnRetracingFilter())

if keras.backend.backend() != "tensorflow":  # pragma: no cover - depends on env
    raise ImportError(
        "skoptnn trains with TensorFlow; KERAS_BACKEND="
        f"{keras.backend.backend()!r} is not supported. Unset KERAS_BACKEND."
    )

__all__ = ["keras", "tf"]
