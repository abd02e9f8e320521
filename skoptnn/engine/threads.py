"""How many CPU threads TensorFlow may use in this process.

A search runs many small fits at once, one per joblib or Dask worker. By
default TensorFlow sizes its thread pools to every core of the machine in each
worker, so ``n_jobs=2`` on 2 cores runs 2 x 2 busy threads that fight over the
cores. joblib's process workers and Dask's nanny-started workers already tell
native libraries their share of the machine through ``OMP_NUM_THREADS``
(joblib: cores // n_jobs; Dask: 1), so skoptnn gives TensorFlow the same.

``SKOPTNN_NUM_THREADS`` overrides it:

* unset or ``auto``: ``OMP_NUM_THREADS`` if set, else TensorFlow's defaults;
* an integer from 1 to 4096: use that many threads;
* ``0``: always TensorFlow's defaults.

The limit must be set before TensorFlow runs its first operation, so it is
applied when skoptnn first imports TensorFlow.
"""

from __future__ import annotations

import contextlib
import os

ENV_VAR = "SKOPTNN_NUM_THREADS"
# TensorFlow stores the pool sizes in an int32; far more than any machine's cores.
_MAX_THREADS = 4096


def _count(text: str) -> int | None:
    # isdecimal, not isdigit: "²" is a digit that int() refuses.
    return int(text) if text.isascii() and text.isdecimal() else None


def thread_budget(environ: os._Environ | dict | None = None) -> int | None:
    """Return TensorFlow's thread count for this process, or None for its defaults.

    Raises
    ------
    ValueError
        If ``SKOPTNN_NUM_THREADS`` is neither ``auto`` nor an integer from 0 to 4096.
    """
    environ = os.environ if environ is None else environ
    raw = environ.get(ENV_VAR, "auto").strip().lower() or "auto"
    if raw == "auto":
        omp = environ.get("OMP_NUM_THREADS", "").strip()
        # OMP_NUM_THREADS may be a list ("4,2") for nested OpenMP: its first level.
        omp = _count(omp.split(",")[0])
        return min(omp, _MAX_THREADS) if omp else None
    n = _count(raw)
    if n is None or n > _MAX_THREADS:
        raise ValueError(
            f"{ENV_VAR} must be 'auto' or an integer from 0 to {_MAX_THREADS}; "
            f"got {environ[ENV_VAR]!r}."
        )
    return n or None


def limit_tensorflow_threads(tf) -> None:
    """Apply :func:`thread_budget` to TensorFlow's thread pools, for the whole process.

    Raises
    ------
    ValueError
        As :func:`thread_budget`.
    """
    n = thread_budget()
    if n is None:
        return
    # TensorFlow was already running (imported and used before skoptnn): its
    # pools are fixed for this process and stay as they are.
    with contextlib.suppress(RuntimeError):
        tf.config.threading.set_intra_op_parallelism_threads(n)
        # Independent ops of a small MLP are few; the budget caps both pools.
        tf.config.threading.set_inter_op_parallelism_threads(n)
