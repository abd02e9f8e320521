"""The search side of pruning: scorer wrappers, per-fold records, thresholds, ranks.

TensorFlow-free. :class:`skoptnn.search.ResumableBayesSearchCV` passes one
:class:`~skoptnn.engine.pruning.PruningSchedule` to every fit and needs back, per
fold, how far the fit got. Workers may be processes, and what comes back from
scikit-learn's ``_fit_and_score`` is only the scores, so the scorer carries it:
wrapped, it returns the user's score(s) plus a few numbers read off the fitted
estimator (its fold's key, its pruned epoch, its epochs and its best validation
score at each rung). :func:`strip_extras` moves those numbers out of the
scores, into the record's ``"pruning"`` entry, before ``cv_results_`` is
formatted.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from itertools import pairwise
from numbers import Integral
from typing import Any

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics._scorer import _MultimetricScorer

from ..engine.pruning import WATCHED, best_so_far, validation_scores

# Keys of the extra numbers in a wrapped scorer's dict; none can clash with a scorer name
# a user would choose.
_PREFIX = "__skoptnn_"
_SCALAR = _PREFIX + "scalar"  # present when the user's scorer returned one number
_PRUNED_EPOCH = _PREFIX + "pruned_epoch"
_N_EPOCHS = _PREFIX + "n_epochs"
_FOLD_KEY = _PREFIX + "fold_key"
_RUNG = _PREFIX + "rung_"
# A rung's threshold needs this many finished candidates with a value there (Optuna's
# MedianPruner waits for 5 trials too).
MIN_CANDIDATES = 5
# What add_columns adds to cv_results_.
COLUMNS = ("pruned", "pruned_epoch", "mean_n_epochs")


def check_rungs(rungs: Any) -> tuple[int, ...]:
    """``prune_rungs`` as a tuple of ints, or a ValueError saying what it must be."""
    try:
        values = tuple(rungs)
    except TypeError:
        values = ()
    # Two at least: the first rung never prunes (see thresholds_by_fold).
    ok = (len(values) >= 2
          and all(isinstance(r, Integral) and not isinstance(r, bool) and r >= 1 for r in values)
          and all(a < b for a, b in pairwise(values)))
    if not ok:
        raise ValueError(
            "prune_rungs must be at least 2 ascending epoch counts >= 1 (the first rung "
            f"never prunes), such as (4, 8, 16, 32, 64); got {rungs!r}.")
    return tuple(int(r) for r in values)


def final_step(estimator: Any) -> tuple[Any, str]:
    """The estimator a search fits and the prefix its fit parameters take in it."""
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline):
        name, step = estimator.steps[-1]
        return step, f"{name}__"
    return estimator, ""


def pruning_fit_param(estimator: Any) -> str | None:
    """The fit parameter that takes the schedule, or None if the estimator takes none.

    skoptnn's estimators (and a Pipeline ending in one) take ``pruning``: they
    have a watched ``_metric`` and ``fit(..., pruning=...)`` (or a wrapper of
    that fit, taking ``**kwargs``).
    """
    step, prefix = final_step(estimator)
    if getattr(type(step), "_metric", None) not in WATCHED or not hasattr(step, "fit"):
        return None
    parameters = inspect.signature(step.fit).parameters.values()
    if not any(p.name == "pruning" or p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return prefix + "pruning"


def fold_extras(estimator: Any, rungs: Sequence[int]) -> dict[str, float]:
    """What a fitted fold tells the search: fold key, pruned epoch (-1: not), epochs, rung scores.

    The fold key is the estimator's ``_fold_key`` (see
    :func:`skoptnn.engine.pruning.fold_key`) as a float, exact below 2**52; NaN if
    the fit had none (no schedule or no early stopping). A rung after the
    pruned epoch gets NaN: the fit never got there. A rung after an early
    stop gets the final best (see :func:`best_so_far`).
    """
    step, _ = final_step(estimator)
    pruned = getattr(step, "pruned_epoch_", None)
    history = getattr(step, "history_", None)
    scores = None if history is None else validation_scores(history, type(step)._metric)
    at_rungs = np.full(len(rungs), np.nan) if scores is None else best_so_far(scores, rungs)
    if pruned is not None:
        at_rungs[np.asarray(rungs) > pruned] = np.nan
    key = getattr(step, "_fold_key", None)
    extras = {_FOLD_KEY: np.nan if key is None else float(key),
              _PRUNED_EPOCH: -1.0 if pruned is None else float(pruned),
              _N_EPOCHS: float(getattr(step, "n_epochs_", np.nan))}
    extras.update({f"{_RUNG}{i}": float(v) for i, v in enumerate(at_rungs)})
    return extras


class PruningScorer:
    """A scorer that also returns :func:`fold_extras`, as a dict.

    For a single scorer (a name, None or a callable, which may itself return
    a dict): scikit-learn takes any dict of numbers from a scorer.
    """

    def __init__(self, scorer: Any, rungs: Sequence[int]) -> None:
        self.scorer = scorer
        self.rungs = tuple(rungs)

    def __call__(self, estimator: Any, *args: Any, **kwargs: Any) -> dict[str, float]:
        score = self.scorer(estimator, *args, **kwargs)
        scores = dict(score) if isinstance(score, Mapping) else {"score": score, _SCALAR: 1.0}
        return {**scores, **fold_extras(estimator, self.rungs)}


class PruningMultimetricScorer(_MultimetricScorer):
    """scikit-learn's multi-metric scorer, plus :func:`fold_extras`.

    A subclass, not a wrapper: scikit-learn's error handling (``error_score``)
    and its ``scorer_`` (the dict of scorers) treat a ``_MultimetricScorer``
    apart from any other callable.
    """

    def __init__(self, *, scorers: dict, raise_exc: bool = True,
                 rungs: Sequence[int] = ()) -> None:
        super().__init__(scorers=scorers, raise_exc=raise_exc)
        self.rungs = tuple(rungs)

    def __call__(self, estimator: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        scores = super().__call__(estimator, *args, **kwargs)
        return {**scores, **fold_extras(estimator, self.rungs)}


def wrap_scorer(scorer: Any, rungs: Sequence[int]) -> Any:
    """``scorer`` (from ``BaseSearchCV._get_scorers``) returning the extras too."""
    if isinstance(scorer, _MultimetricScorer):
        return PruningMultimetricScorer(scorers=scorer._scorers, raise_exc=scorer._raise_exc,
                                        rungs=rungs)
    return PruningScorer(scorer, rungs)


def unwrap_scorer(scorer: Any) -> Any:
    """The user's scorer again (a multi-metric ``scorer_`` is already a plain dict)."""
    return scorer.scorer if isinstance(scorer, PruningScorer) else scorer


def strip_extras(record: dict) -> None:
    """Move the extras of one ``_fit_and_score`` record out of its scores, in place.

    Afterwards the scores are the user's alone and ``record["pruning"]`` is
    ``{"fold_key", "pruned_epoch", "n_epochs", "rungs"}`` or None (a failed
    fit or scorer). ``fold_key`` is a float, NaN if the fit had none.
    Idempotent: scikit-learn formats every record again after each round.
    """
    if "pruning" in record:
        return
    extras = None
    for key in ("test_scores", "train_scores"):
        scores = record.get(key)
        if not (isinstance(scores, dict) and _N_EPOCHS in scores):
            continue
        found = {k: v for k, v in scores.items() if k.startswith(_PREFIX)}
        plain = {k: v for k, v in scores.items() if not k.startswith(_PREFIX)}
        record[key] = plain["score"] if _SCALAR in found else plain
        if key == "test_scores":
            extras = found
    if extras is None or record.get("fit_error") is not None:
        record["pruning"] = None
        return
    n_rungs = sum(k.startswith(_RUNG) for k in extras)
    pruned = float(extras[_PRUNED_EPOCH])
    record["pruning"] = {
        "fold_key": float(extras.get(_FOLD_KEY, np.nan)),
        "pruned_epoch": None if pruned < 0 else int(pruned),
        "n_epochs": float(extras[_N_EPOCHS]),
        "rungs": [float(extras[f"{_RUNG}{i}"]) for i in range(n_rungs)],
    }


def _fold_values(candidate: Sequence[Mapping], n_rungs: int) -> dict[int, np.ndarray]:
    """A candidate's best score so far at each rung, by fold key; NaN where a fold has none.

    A failed fold, or one without a key (a fit that had no schedule, a
    checkpoint of before per-fold thresholds), gives nothing. Folds with the
    same key (the same data) count once, as their mean.
    """
    rows: dict[int, list] = {}
    for record in candidate:
        fold = record.get("pruning")
        key = np.nan if fold is None else fold.get("fold_key", np.nan)
        if key is None or not np.isfinite(key):
            continue
        rows.setdefault(int(key), []).append(fold["rungs"])
    return {key: np.array(r, dtype=float).reshape(len(r), n_rungs).mean(axis=0)
            for key, r in rows.items()}


def thresholds_by_fold(candidates: Sequence[Sequence[Mapping]],
                       n_rungs: int) -> dict[int, tuple[float, ...]]:
    """The median pruning rule over finished candidates, per fold: thresholds by fold key.

    ``candidates`` holds each finished candidate's per-fold records. For each
    fold (a key of :func:`skoptnn.engine.pruning.fold_key`) and each rung from the
    second on, once at least :data:`MIN_CANDIDATES` candidates have a value
    there for that fold, the threshold is the median of their values. Per
    fold, because folds differ in level: against a median pooled over folds,
    a candidate's hard fold would look hopeless. None at the first rung: a
    slow start (a small learning rate, say) is no sign of a poor end, and the
    first rung's scores are the noisiest. Folds without any threshold are
    left out.
    """
    values: dict[int, list[np.ndarray]] = {}
    for candidate in candidates:
        for key, row in _fold_values(candidate, n_rungs).items():
            values.setdefault(key, []).append(row)
    out = {}
    for key, rows in values.items():
        table = np.array(rows, dtype=float).reshape(len(rows), n_rungs)
        levels = [np.nan] * n_rungs
        for i in range(1, n_rungs):
            finite = table[np.isfinite(table[:, i]), i]
            if len(finite) >= MIN_CANDIDATES:
                levels[i] = float(np.median(finite))
        if np.isfinite(levels).any():
            out[key] = tuple(levels)
    return out


def add_columns(results: dict, records: Sequence[Mapping], n_splits: int) -> None:
    """Add ``pruned``, ``pruned_epoch`` and ``mean_n_epochs``; rank by outcome, then score.

    ``records`` are every candidate's per-fold records, candidate by
    candidate. A candidate is pruned if any fold was; ``pruned_epoch`` is the
    smallest pruned epoch over its folds (NaN if none). It failed if any fold
    did (a fit or scorer that raised: no pruning record). See
    :func:`rank_by_outcome`.
    """
    n = len(results["params"])
    pruned_epoch = np.full(n, np.nan)
    n_epochs = np.full(n, np.nan)
    failed = np.zeros(n, dtype=bool)
    for i in range(n):
        folds = [r.get("pruning") for r in records[i * n_splits:(i + 1) * n_splits]]
        failed[i] = any(f is None for f in folds)
        folds = [f for f in folds if f is not None]
        epochs = [f["pruned_epoch"] for f in folds if f["pruned_epoch"] is not None]
        if epochs:
            pruned_epoch[i] = min(epochs)
        if folds:
            n_epochs[i] = np.mean([f["n_epochs"] for f in folds])
    pruned = np.isfinite(pruned_epoch)
    for key in [k for k in results if k.startswith("rank_test_")]:
        results[key] = rank_by_outcome(results[key], pruned, failed)
    results["pruned"] = pruned
    results["pruned_epoch"] = pruned_epoch
    results["mean_n_epochs"] = n_epochs


def rank_by_outcome(ranks: Any, pruned: np.ndarray, failed: np.ndarray) -> np.ndarray:
    """Ranks in three groups, each by its ranks (ties kept): succeeded, pruned, failed.

    A failed candidate comes last whatever its ``error_score``; a pruned one
    (that did not fail) comes after every candidate that ran to the end, so
    it is best only if every candidate was pruned or failed.
    """
    ranks = np.asarray(ranks)
    out = np.empty(len(ranks), dtype=np.int32)
    before = 0
    for group in (~pruned & ~failed, pruned & ~failed, failed):
        if group.any():
            out[group] = before + rankdata(ranks[group], method="min")
            before += int(group.sum())
    return out
