"""Import TensorFlow, Keras and scikeras once, quietly.

TensorFlow's C++ runtime writes oneDNN and CUDA notices straight to file
descriptor 2 while it loads, before any Python logging setting can stop it.
A user who asked for ``verbose=0`` should not see them, so the first import
runs with descriptor 2 pointed at ``/dev/null``. Set ``SKOPTNN_TF_LOGS=1`` to
see them again.
"""

from __future__ import annotations

import contextlib
import os
import sys


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


os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
with _quiet_stderr():
    import keras
    import tensorflow as tf
    from scikeras.utils.transformers import ClassifierLabelEncoder
    from scikeras.wrappers import KerasClassifier, KerasRegressor

    # Device discovery prints the CUDA notices; do it while still silenced.
    tf.config.list_physical_devices()

if keras.backend.backend() != "tensorflow":  # pragma: no cover - depends on env
    raise ImportError(
        "skoptnn trains with TensorFlow; KERAS_BACKEND="
        f"{keras.backend.backend()!r} is not supported. Unset KERAS_BACKEND."
    )

__all__ = ["ClassifierLabelEncoder", "KerasClassifier", "KerasRegressor", "keras", "tf"]
