"""A search whose checkpoint holds every trial, fitted without running one.

``BaseSearchCV.fit`` needs at least one new evaluation, so this does what it
and ``BayesSearchCV.fit`` do around the search, with scikit-learn's own steps
where they are methods of the search: parameter checks, scorers, routing of
the fit parameters and the best trial (``_select_best_index``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np


def fit_from_checkpoint(search: Any, X: Any, y: Any, groups: Any, fit_params: dict) -> Any:
    """Fit ``search`` (a :class:`ResumableBayesSearchCV` in its ``fit``) from its checkpoint.

    Sets every attribute a fit sets: ``cv_results_`` (all the checkpoint's
    trials), ``best_index_``, ``best_score_`` and ``best_params_`` as
    scikit-learn selects them, ``best_estimator_`` refitted on ``X`` and
    ``y``, ``scorer_``, ``multimetric_``, ``n_splits_``, the optimizers.

    Parameters
    ----------
    search : ResumableBayesSearchCV
        In its ``fit``, with the checkpoint read back (``_state``, ``_old_out``).
    X, y, groups, fit_params
        As ``fit`` got them; the refit is on ``X`` and ``y``.

    Returns
    -------
    search : ResumableBayesSearchCV
        The fitted search.
    """
    from sklearn.base import clone
    from sklearn.metrics._scorer import _MultimetricScorer
    from sklearn.utils.validation import _check_method_params, indexable

    search._validate_params()  # as BaseSearchCV.fit's _fit_context
    search.optimizer_kwargs_ = dict(search.optimizer_kwargs or {})
    search._callbacks = []
    scorers, refit_metric = search._get_scorers()
    X, y = indexable(X, y)
    params = _check_method_params(X, params={**fit_params, "groups": groups})
    routed_params = search._get_routed_params_for_fit(params)

    search._run_search(None)  # replays only: nothing is left to evaluate
    n_splits = len(search._state.trials[0]["out"])
    results = search._format_results([], n_splits, [], None)
    first_test_score = search._old_out[0]["test_scores"]
    search.multimetric_ = isinstance(first_test_score, dict)
    if callable(search.scoring) and search.multimetric_:
        search._check_refit_for_multimetric(first_test_score)
        refit_metric = search.refit
    # BayesSearchCV.fit refuses a callable refit before any trial, and refit is in the
    # fingerprint, so none gets here; _select_best_index would call it as scikit-learn does.
    if search.refit or not search.multimetric_:
        search.best_index_ = search._select_best_index(search.refit, refit_metric, results)
        if not callable(search.refit):
            search.best_score_ = results[f"mean_test_{refit_metric}"][search.best_index_]
        search.best_params_ = results["params"][search.best_index_]
    if search.refit:
        search.best_estimator_ = clone(search.estimator).set_params(
            **clone(search.best_params_, safe=False))
        start = time.time()
        if y is not None:
            search.best_estimator_.fit(X, y, **routed_params.estimator.fit)
        else:
            search.best_estimator_.fit(X, **routed_params.estimator.fit)
        search.refit_time_ = time.time() - start
        if hasattr(search.best_estimator_, "feature_names_in_"):
            search.feature_names_in_ = search.best_estimator_.feature_names_in_
    search.scorer_ = scorers._scorers if isinstance(scorers, _MultimetricScorer) else scorers
    search.cv_results_ = results
    search.n_splits_ = n_splits
    _rank_train_scores(search)
    return search


def _rank_train_scores(search: Any) -> None:
    """Add ``rank_train_*``, as ``BayesSearchCV.fit`` does after scikit-learn's search."""
    from scipy.stats import rankdata
    from skopt.searchcv import _get_score_names

    if search.return_train_score:
        for name in _get_score_names(search.cv_results_, kind="train"):
            ranks = rankdata(-np.array(search.cv_results_[f"mean_train_{name}"]), method="min")
            search.cv_results_[f"rank_train_{name}"] = ranks.astype(int)
