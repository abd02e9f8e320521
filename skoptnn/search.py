"""Helpers around ``skopt.BayesSearchCV``: a trials table and a progress bar.

Neither imports TensorFlow: they only read what the search reports.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ProgressCallback", "trials_dataframe"]


def _strip_prefixes(names: list[str]) -> dict[str, str]:
    # "optimizedmlpclassifier__units" -> "units", unless two parameters of
    # different steps would then share a column name.
    short = {name: name.rsplit("__", 1)[-1] for name in names}
    if len(set(short.values())) < len(short):
        return {name: name for name in names}
    return short


def trials_dataframe(
    search: Any, *, strip_prefix: bool = True, metric: str | None = None
) -> pd.DataFrame:
    """One row per evaluated configuration of a fitted search, best first.

    Parameters
    ----------
    search : fitted BayesSearchCV, GridSearchCV or RandomizedSearchCV
        Any search with a ``cv_results_`` attribute.
    strip_prefix : bool, default=True
        Drop pipeline step prefixes from parameter names
        (``"optimizedmlpclassifier__units"`` becomes ``"units"``) when that
        leaves the names unique.
    metric : str, default=None
        With multi-metric scoring, the scorer whose scores and ranks are
        reported. None takes the search's ``refit`` metric; it is required
        when ``refit`` is False or a callable.

    Returns
    -------
    trials : pandas.DataFrame
        Columns ``rank``, ``mean_test_score``, ``std_test_score``,
        ``mean_fit_time``, then one column per searched parameter. The index
        ``trial`` is the evaluation order (0 for the first). Rows are sorted by
        rank; failed fits (NaN scores) come last.

    Raises
    ------
    ValueError
        If ``search`` is not a fitted search, or ``metric`` names no scorer
        of it.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skoptnn.search import trials_dataframe
    >>> X, y = load_iris(return_X_y=True)
    >>> search = GridSearchCV(LogisticRegression(max_iter=500), {"C": [0.01, 1.0]}, cv=3)
    >>> trials = trials_dataframe(search.fit(X, y))
    >>> list(trials.columns)
    ['rank', 'mean_test_score', 'std_test_score', 'mean_fit_time', 'C']
    >>> float(trials["C"].iloc[0])
    1.0
    """
    results: Mapping[str, Any] | None = getattr(search, "cv_results_", None)
    if results is None:
        raise ValueError(
            f"{type(search).__name__} has no cv_results_: pass a search (BayesSearchCV, "
            "GridSearchCV, ...) that is fitted: call fit() first."
        )
    scorers = sorted(k[len("rank_test_"):] for k in results if k.startswith("rank_test_"))
    if metric is None:
        refit = getattr(search, "refit", True)
        metric = refit if isinstance(refit, str) and refit in scorers else "score"
    if metric not in scorers:
        raise ValueError(
            f"metric={metric!r} is not a scorer of this search; choose one of "
            f"{', '.join(scorers)} (required with several scorers and refit=False)."
        )

    params = pd.DataFrame(list(results["params"]))
    if strip_prefix:
        params = params.rename(columns=_strip_prefixes(list(params.columns)))
    scores = pd.DataFrame(
        {
            "rank": np.asarray(results[f"rank_test_{metric}"]),
            "mean_test_score": np.asarray(results[f"mean_test_{metric}"], dtype=float),
            "std_test_score": np.asarray(results[f"std_test_{metric}"], dtype=float),
            "mean_fit_time": np.asarray(results["mean_fit_time"], dtype=float),
        }
    )
    trials = pd.concat([scores, params], axis=1)
    trials.index.name = "trial"
    # A stable sort keeps ties in evaluation order.
    return trials.sort_values(["rank", "mean_test_score"], ascending=[True, False],
                              kind="stable", na_position="last")


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
        try:
            from tqdm.auto import tqdm
        except ImportError as exc:  # tqdm is the optional "progress" extra
            raise ImportError(
                "ProgressCallback needs tqdm: pip install 'skoptnn[progress]'"
            ) from exc
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
        """Advance the bar; return False so the search continues."""
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
