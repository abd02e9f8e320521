"""Import TensorFlow and Keras once, quietly.

TensorFlow's C++ runtime writes oneDNN and CUDA notices straight to file
descriptor 2 while it loads, before any Python logging setting can stop it.
A user who asked for ``verbose=0`` should not see them, so the first import
runs with descriptor 2 pointed at a temporary file. Descriptor 2 is the whole
process's, so whatever else reached it meanwhile (another thread's logging) is
written to stderr once TensorFlow has loaded: only TensorFlow's log records are
dropped. Set ``SKOPTNN_TF_LOGS=1`` to see them. What this changes in the process
is listed in docs/compatibility.md ("What importing skoptnn changes").
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile

from .threads import limit_tensorflow_threads

# One line of TensorFlow's C++ logging: absl's format (TensorFlow >= 2.16,
# "I0000 00:00:1712345678.123456   4242 port.cc:153] ..."), the older
# "2024-01-31 12:00:00.123456: I tensorflow/core/util/port.cc:113] ...", and
# absl's notice that it writes to stderr before it is initialised.
_TF_RECORD = re.compile(
    rb"[IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^\s\]]+:\d+\] "
    rb"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] [^\s\]]+:\d+\] "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called"
)


def _flush_stderr() -> None:
    # What Python buffered goes out on its own side of the switch. sys.stderr
    # is None under pythonw and in some daemons.
    with contextlib.suppress(AttributeError, OSError, ValueError):
        sys.stderr.flush()


def _write_fd2(data: bytes) -> None:
    with contextlib.suppress(OSError):  # a closed pipe: nobody left to tell
        while data:
            data = data[os.write(2, data):]


@contextlib.contextmanager
def _quiet_stderr():
    if os.environ.get("SKOPTNN_TF_LOGS") or "tensorflow" in sys.modules:
        yield
        return
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 (a daemon's): nothing to keep quiet
        yield
        return
    try:
        capture = tempfile.TemporaryFile()
    except OSError:  # no writable temporary directory: discard all of it instead
        capture = open(os.devnull, "w+b")  # closed below
    _flush_stderr()
    os.dup2(capture.fileno(), 2)
    try:
        yield
    finally:
        _flush_stderr()
        os.dup2(saved, 2)
        os.close(saved)
        with capture:
            capture.seek(0)
            others = b"".join(line for line in capture if not _TF_RECORD.match(line))
        _write_fd2(others)


# Checked before importing Keras: with another backend Keras would first try to
# import it and fail with its own error if that framework is not installed.
if os.environ.get("KERAS_BACKEND", "tensorflow") not in ("", "tensorflow"):
    raise ImportError(
        f"skoptnn trains with TensorFlow; KERAS_BACKEND={os.environ['KERAS_BACKEND']!r} "
        "is not supported. Unset KERAS_BACKEND."
    )
# Kept after the import: TensorFlow reads it at its first log record, which may
# come later (at a first fit), so removing it again could bring notices back.
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
    limit_tensorflow_threads(tf)
    THREADS_ERROR: ValueError | None = None
except ValueError as exc:
    THREADS_ERROR = exc


class _OwnRetracingFilter(logging.Filter):
    # skoptnn traces one graph per key on purpose (see cache.py); TensorFlow's
    # "excessive retracing" hint about those would only confuse users. Any other
    # record, the same hint about the user's own functions included, passes.
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("retracing" in message and "skoptnn" in message)


tf.get_logger().addFilter(_OwnRetracingFilter())

if keras.backend.backend() != "tensorflow":  # pragma: no cover - depends on env
    raise ImportError(
        "skoptnn trains with TensorFlow; KERAS_BACKEND="
        f"{keras.backend.backend()!r} is not supported. Unset KERAS_BACKEND."
    )

__all__ = ["keras", "tf"]
