"""Fits that run one at a time per estimator, and all or nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

# ids of the estimators whose fit is running (an id is unique while fit holds self).
_fitting: set[int] = set()
_lock = threading.Lock()


def guarded(estimator: Any, train: Callable, *args: Any, **kwargs: Any) -> Any:
    """Run ``train(*args, **kwargs)`` for ``estimator``, refusing a second concurrent
    fit of the same instance and restoring its attributes if ``train`` raises."""
    # Two fits of one instance at once would interleave their attributes.
    with _lock:
        if id(estimator) in _fitting:
            raise RuntimeError(
                f"{type(estimator).__name__}.fit is already running on this instance in "
                "another thread; fit one clone per thread (sklearn.base.clone)."
            )
        _fitting.add(id(estimator))
    try:
        # A failed fit leaves the estimator exactly as it was, never half-fitted.
        state = dict(estimator.__dict__)
        try:
            return train(*args, **kwargs)
        except BaseException:
            estimator.__dict__.clear()
            estimator.__dict__.update(state)
            raise
    finally:
        with _lock:
            _fitting.discard(id(estimator))
