"""A progress bar for a search: ``BayesSearchCV.fit(..., callback=ProgressCallback(n_iter))``."""

from __future__ import annotations

import time
from numbers import Integral
from typing import Any

import numpy as np
from tqdm.auto import tqdm

__all__ = ["ProgressCallback"]


class ProgressCallback:
    """A tqdm progress bar for ``BayesSearchCV.fit(..., callback=...)``.

    Shows the number of evaluated configurations out of ``n_iter``, the best
    cross-validated score so far and the elapsed time. scikit-optimize calls
    callbacks once per batch of ``n_points`` configurations, so the bar
    advances by the size of each batch.

    BayesSearchCV minimizes the negative score, so the best score so far is
    ``-res.fun`` of the ``OptimizeResult`` the callback receives.

    Parameters
    ----------
    n_iter : int
        Total number of configurations, the search's ``n_iter`` (summed over
        the subspaces when ``search_spaces`` is a list). Use one callback per
        search: its counts carry over.
    desc : str, default="search"
        Label of the bar.
    **tqdm_kwargs
        Passed to ``tqdm.tqdm`` (e.g. ``file``, ``disable``, ``leave``).

    Attributes
    ----------
    best_score_ : float
        Best cross-validated score seen so far (NaN before the first call).
    n_done_ : int
        Configurations evaluated so far.

    Examples
    --------
    Stop a search after a time budget with scikit-optimize's own
    ``DeadlineStopper``, next to the progress bar:

    >>> from skopt import BayesSearchCV
    >>> from skopt.callbacks import DeadlineStopper
    >>> from skoptnn.search import ProgressCallback
    >>> callbacks = [ProgressCallback(30), DeadlineStopper(total_time=600)]
    >>> # search = BayesSearchCV(model, space, n_iter=30)
    >>> # search.fit(X, y, callback=callbacks)
    """

    def __init__(self, n_iter: int, desc: str = "search", **tqdm_kwargs: Any) -> None:
        if not isinstance(n_iter, Integral) or isinstance(n_iter, bool) or n_iter < 1:
            raise ValueError(f"n_iter must be an int >= 1, the search's n_iter; got {n_iter!r}.")
        if "total" in tqdm_kwargs:
            raise TypeError("ProgressCallback sets the bar's total from n_iter; do not pass "
                            "total.")
        self.n_iter = int(n_iter)
        self.best_score_ = float("nan")
        self.n_done_ = 0
        self._start = time.perf_counter()
        # Evaluations already counted per subspace: each subspace has its own
        # optimizer, hence its own res.space and its own res.x_iters. The space
        # is kept alive with its count so that its id is never reused.
        self._seen: dict[int, tuple[Any, int]] = {}
        self._bar = tqdm(total=self.n_iter, desc=desc, unit="trial", **tqdm_kwargs)

    def __getstate__(self) -> dict:
        # scikit-learn hands the search, callbacks included, to every worker
        # process; the bar and its stream stay in this one.
        return {**self.__dict__, "_bar": None, "_seen": {}}

    def __call__(self, res: Any) -> bool:
        """Advance the bar; return False so the search continues.

        Parameters
        ----------
        res : scipy.optimize.OptimizeResult
            What scikit-optimize passes callbacks: the subspace's results so far.

        Returns
        -------
        stop : bool
            Always False.
        """
        if self._bar is None:
            raise RuntimeError("ProgressCallback: this is a copy sent to a worker; it has no bar.")
        key = id(res.space)
        n_new = len(res.x_iters) - self._seen.get(key, (None, 0))[1]
        self._seen[key] = (res.space, len(res.x_iters))
        self.n_done_ += n_new
        score = -float(res.fun)
        if np.isfinite(score) and not self.best_score_ >= score:  # also replaces NaN
            self.best_score_ = score
        self._bar.set_postfix(best=f"{self.best_score_:.4f}", refresh=False)
        self._bar.update(n_new)
        if self.n_done_ >= self.n_iter:
            self.close()
        return False

    @property
    def elapsed_(self) -> float:
        """Seconds since the callback was created."""
        return time.perf_counter() - self._start

    def close(self) -> None:
        """Close the bar (also done automatically after ``n_iter`` trials)."""
        if self._bar is not None:
            self._bar.close()
