"""A fitted search's results as a table: one row per trial, best first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .pruning import COLUMNS as PRUNING_COLUMNS

__all__ = ["trials_dataframe"]


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
        ``mean_fit_time``, then, for a :class:`ResumableBayesSearchCV` that
        pruned, ``pruned``, ``pruned_epoch`` and ``mean_n_epochs``, then one
        column per searched parameter. The index ``trial`` is the evaluation
        order (0 for the first). Rows are sorted by rank; failed fits (NaN
        scores) come last.

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
            **{name: np.asarray(results[name]) for name in PRUNING_COLUMNS if name in results},
        }
    )
    trials = pd.concat([scores, params], axis=1)
    trials.index.name = "trial"
    # A stable sort keeps ties in evaluation order.
    return trials.sort_values(["rank", "mean_test_score"], ascending=[True, False],
                              kind="stable", na_position="last")


def _strip_prefixes(names: list[str]) -> dict[str, str]:
    # "optimizedmlpclassifier__units" -> "units", unless two parameters of
    # different steps would then share a column name.
    short = {name: name.rsplit("__", 1)[-1] for name in names}
    if len(set(short.values())) < len(short):
        return {name: name for name in names}
    return short
