"""How the search asks its optimizer for points, and checks a replay asked for the saved ones."""

from __future__ import annotations

from typing import Any

import numpy as np
from joblib import parallel_config


class Asking:
    """The optimizer as skopt's ``_step`` asks it, or one that proposes ``point``.

    skopt's ``ask(n_points=k)`` copies the optimizer (refitting its model) and
    tells the copy a made-up value for each point it proposes, so that the k
    points differ: for k=1 that is two model fits and acquisition searches
    for nothing, twice the cost of the ``tell`` that already found the next
    point. One point is asked for with plain ``ask()``.

    ``ask`` and ``tell`` run with joblib's threading backend. The optimizer
    searches its acquisition function through ``joblib.Parallel(n_jobs)``
    (``acq_optimizer_kwargs``, default 1), which the threading backend runs
    here, as the process backends do; joblib's Dask backend ignores ``n_jobs``
    and would ship each of those small tasks, with the Gaussian process, to
    the cluster while every worker waits for the next round of fits.
    """

    def __init__(self, optimizer: Any, point: list | None = None) -> None:
        self.optimizer, self.point = optimizer, point

    def ask(self, n_points: int = 1) -> list:
        """``n_points`` points to evaluate (``[point]`` if one was given)."""
        if self.point is not None:
            return [list(self.point)]
        with parallel_config(backend="threading"):
            if n_points == 1:
                return [self.optimizer.ask()]
            return self.optimizer.ask(n_points=n_points)

    def tell(self, x: list, y: list) -> Any:
        """Tell the optimizer the points' values; its ``OptimizeResult``."""
        with parallel_config(backend="threading"):
            return self.optimizer.tell(x, y)


def same_points(asked: list, saved: list) -> bool:
    """Whether the optimizer asked for the saved points (floats to 1e-9)."""
    flat_asked = [np.asarray(v).item() for point in asked for v in point]
    flat_saved = [v for point in saved for v in point]
    return len(flat_asked) == len(flat_saved) and all(
        np.isclose(a, s, rtol=1e-9, atol=0) if isinstance(a, float) and isinstance(s, float)
        else a == s
        for a, s in zip(flat_asked, flat_saved, strict=True)
    )
