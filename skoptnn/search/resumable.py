"""The resumable search: ``BayesSearchCV`` with checkpoints, defaults first and pruning."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from skopt import BayesSearchCV
from skopt.utils import eval_callbacks

from ..engine.pruning import PruningSchedule
from . import checkpoint, pruning
from .defaults import defaults_point
from .proposals import Asking
from .rebuild import fit_from_checkpoint
from .replay import open_checkpoint, replay, resumed_results

__all__ = ["ResumableBayesSearchCV"]


class ResumableBayesSearchCV(BayesSearchCV):
    """``BayesSearchCV`` that saves every finished trial and resumes after a crash.

    After each finished trial (each batch of ``n_points`` trials) the search
    adds it to a checkpoint file, which also holds the random state the search
    started from and a fingerprint of the data and settings. Trials are
    appended, each written once, and flushed to disk before the search goes
    on, so a kill at any moment (SIGKILL, out of memory, a preempted job)
    loses at most the trials in flight. Fitting again with the same
    ``checkpoint`` continues the search: the finished trials are read back,
    not rerun, the optimizer is brought to the state it had after them, and
    the remaining ``n_iter - n_done`` trials run. The result (``cv_results_``
    with every trial, old and new, the best estimator,
    ``optimizer_results_``) is that of an uninterrupted search whenever the
    fits themselves are reproducible (a fixed ``random_state`` everywhere).

    By default the first trial of each search space is the estimator's own
    configuration (``defaults_first``), and fits that cannot win stop early
    (``prune``; see Notes).

    The checkpoint is JSON Lines (strict JSON, a line per trial), so reading
    it runs no code. A checkpoint written for other data (``X``, ``y``,
    ``groups``, fit parameters) or other settings (the estimator's
    parameters, the search spaces, ``cv``, ``scoring``, ``refit``,
    ``optimizer_kwargs``, ``n_points``, ``error_score``,
    ``return_train_score``, ``random_state``, ``defaults_first``, pruning) is
    refused with a ``ValueError`` listing what differs, and so is one of an
    earlier skoptnn whose search asked its optimizer otherwise (format
    versions 1 and 2), with the reason; one of version 3 (a single JSON
    document) is read and continued in the current format. ``n_iter`` may
    differ: a larger one extends a finished search, a smaller one uses the
    first ``n_iter`` finished trials.

    Parameters
    ----------
    estimator, search_spaces, optimizer_kwargs, n_iter, scoring, fit_params, \
n_jobs, n_points, refit, cv, verbose, pre_dispatch, random_state, \
error_score, return_train_score
        As for :class:`skopt.BayesSearchCV`.
    checkpoint : str or path-like, default=None
        The checkpoint file (JSON Lines), created with the search. Its folder
        must exist. None keeps no checkpoint: a plain ``BayesSearchCV``.
    resume : bool, default=True
        Continue from ``checkpoint`` when it exists. False starts a new search
        and overwrites it.
    defaults_first : bool, default=True
        Make the first trial of each search space the estimator's own
        configuration, projected into the space: a searched parameter keeps
        the estimator's value (``estimator.get_params()``) if the dimension
        holds it; an out-of-range number is clipped to the bounds. A None
        parameter of a skoptnn estimator (the final step of a Pipeline) is
        first read as what it stands for: ``learning_rate=None`` is the
        optimizer's Keras default (1e-3 for Adam), and ``clipnorm=None`` or
        ``clipvalue=None``, no clipping, is infinite, so clipped to the
        dimension's upper bound. Anything else (None, a value that is not a
        category) is drawn at random as the optimizer would, reproducibly from
        ``random_state``. It counts towards ``n_iter`` and is told to the
        optimizer as any trial, so the search never ends below that
        configuration's cross-validated score.
    prune : bool, default=True
        Stop hopeless fits early (median pruning per fold, see Notes). Needs
        an estimator whose ``fit`` takes ``pruning``, as skoptnn's estimators
        do (or a Pipeline ending in one), fitted with ``early_stopping=True``
        (pruning watches the validation split it holds out). With any other
        estimator it is silently off; with a skoptnn estimator whose
        ``early_stopping=False`` (and not searched), ``fit`` warns and it is
        off.
    prune_rungs : sequence of int, default=(4, 8, 16, 32, 64)
        Epoch counts, at least 2 and ascending, after which a fit compares
        its best validation loss so far (the regressor's: MAE) with its
        fold's threshold. The first rung never prunes (see Notes).

    Attributes
    ----------
    n_resumed_trials_ : int
        Trials of the last ``fit`` read from the checkpoint instead of run.
    cv_results_ : dict of numpy arrays
        As for :class:`skopt.BayesSearchCV`; when pruning is on, also
        ``pruned`` (bool: a fold of the trial was pruned), ``pruned_epoch``
        (the smallest epoch a fold was pruned at, NaN if none) and
        ``mean_n_epochs`` (epochs run, mean over folds). Trials that ran to
        the end rank first, then pruned ones, then failed ones (a fit that
        raised, scored ``error_score``), each group by score.
    best_estimator_, best_score_, best_params_, best_index_, \
optimizer_results_, optimizers_
        As for :class:`skopt.BayesSearchCV`, covering every trial.

    Raises
    ------
    ValueError
        From ``fit``, if the checkpoint was written for other data or settings,
        or is not a checkpoint, or if ``prune_rungs`` is not at least 2
        ascending epoch counts >= 1 (with ``prune=True``).

    See Also
    --------
    trials_dataframe : One row per trial of a fitted search.

    Notes
    -----
    With ``n_points=1`` the next trial is asked for with the optimizer's plain
    ``ask()``, the point its last ``tell`` found; ``BayesSearchCV`` asks with
    ``ask(n_points=1)``, which refits a copy of the optimizer's model twice
    per trial for the same purpose. So the two searches propose other points
    after the random start, and this one spends far less time in
    scikit-optimize.

    The optimizer's own work (``ask``, ``tell`` and the acquisition searches in
    them) runs in the searching process, in threads if its
    ``acq_optimizer_kwargs`` ask for ``n_jobs > 1``, under any joblib backend;
    only the fits go to the workers. With joblib's Dask backend, ``BayesSearchCV``
    ships scikit-optimize's acquisition searches to the cluster as well,
    since that backend ignores their ``n_jobs=1`` (see ``docs/scaling.md``).

    Callbacks passed to ``fit`` run after each new trial, once its checkpoint
    is written; a callback that stops the search (such as
    ``skopt.callbacks.DeadlineStopper``) leaves a checkpoint that a later
    ``fit`` continues. Their first call after a resume sees the resumed trials
    too. Resuming replays the optimizer (its Gaussian-process fits), not the
    model training. If the replayed optimizer proposes other points than the
    checkpoint holds (another scikit-optimize version, say), a warning says
    so and the search continues from the saved trials.

    Pruning works by rounds: a round is the ``n_points`` trials asked for
    together (the defaults-first trial is a round of its own). Each fit
    watches its best validation loss so far (the classifier's cross-entropy,
    lower is better; the regressor's validation MAE) and stops after a rung
    where it is worse than its fold's threshold, keeping the weights early
    stopping would keep. Thresholds are per fold, since folds differ in
    level: before each round, the threshold of a fold at each rung from the
    second on is the median of that fold's best-so-far values there over the
    trials finished in earlier rounds, once 5 of them have one; there is none
    at the first rung, where slow starters still look poor. A fold pruned at
    a rung has no value at later rungs; one that early stopping ended sooner
    keeps its final best. Trials in flight never count, so ``n_jobs``,
    ``n_points`` and resuming prune exactly as a serial, uninterrupted search
    with the same rounds. A pruned trial's score is the one its fit reached,
    and that is what the optimizer is told; but it ranks after every trial
    that ran to the end, so it is never ``best_index_``, unless every trial
    was pruned or failed (the first round is never pruned, so only an
    estimator that prunes itself can cause that). Pruning is off with
    scikit-learn's metadata routing enabled, or when ``fit`` is given a
    ``pruning`` parameter itself.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skopt.space import Real
    >>> from skoptnn.search import ResumableBayesSearchCV
    >>> X, y = load_iris(return_X_y=True)
    >>> path = os.path.join(tempfile.mkdtemp(), "search.json")
    >>> space = {"C": Real(1e-3, 1e3, prior="log-uniform")}
    >>> search = ResumableBayesSearchCV(LogisticRegression(max_iter=500), space,
    ...                                 n_iter=3, cv=3, random_state=0, checkpoint=path)
    >>> len(search.fit(X, y).cv_results_["params"])
    3

    The first trial was the estimator's own configuration:

    >>> dict(search.cv_results_["params"][0])
    {'C': 1.0}

    Fitting again with a larger ``n_iter`` (or after a crash) runs only the
    trials the checkpoint lacks:

    >>> search.set_params(n_iter=5).fit(X, y).n_resumed_trials_
    3
    >>> len(search.cv_results_["params"])
    5
    """

    def __init__(
        self,
        estimator: Any,
        search_spaces: Any,
        optimizer_kwargs: dict | None = None,
        n_iter: int = 50,
        scoring: Any = None,
        fit_params: dict | None = None,
        n_jobs: int = 1,
        n_points: int = 1,
        refit: bool | str = True,
        cv: Any = None,
        verbose: int = 0,
        pre_dispatch: str | int = "2*n_jobs",
        random_state: Any = None,
        error_score: Any = "raise",
        return_train_score: bool = False,
        checkpoint: str | Path | None = None,
        resume: bool = True,
        defaults_first: bool = True,
        prune: bool = True,
        prune_rungs: Sequence[int] = (4, 8, 16, 32, 64),
    ) -> None:
        super().__init__(
            estimator, search_spaces, optimizer_kwargs=optimizer_kwargs, n_iter=n_iter,
            scoring=scoring, fit_params=fit_params, n_jobs=n_jobs, n_points=n_points,
            refit=refit, cv=cv, verbose=verbose, pre_dispatch=pre_dispatch,
            random_state=random_state, error_score=error_score,
            return_train_score=return_train_score,
        )
        self.checkpoint = checkpoint
        self.resume = resume
        self.defaults_first = defaults_first
        self.prune = prune
        self.prune_rungs = prune_rungs

    # -- fit -------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, *, groups: Any = None, callback: Any = None,
            **fit_params: Any) -> ResumableBayesSearchCV:
        """Run the search, or continue it from ``checkpoint``.

        Parameters
        ----------
        X, y, groups, callback, **fit_params
            As for :meth:`skopt.BayesSearchCV.fit`.

        Returns
        -------
        self : ResumableBayesSearchCV
            The fitted search.
        """
        self._schedule, key = self._pruning_schedule(fit_params)
        try:
            subspaces = self._subspaces()
            prune = False if self._schedule is None else list(self._schedule.rungs)
            self._state = open_checkpoint(self, subspaces, X, y, groups, fit_params, prune)
            self._old_params, self._old_out = resumed_results(self._state, subspaces)
            self.n_resumed_trials_ = len(self._old_params)
            if self._old_params and all(self._state.count(i) >= n_iter
                                        for i, (_, n_iter) in enumerate(subspaces)):
                return fit_from_checkpoint(self, X, y, groups, fit_params)
            if self._schedule is None:
                return super().fit(X, y, groups=groups, callback=callback, **fit_params)
            self._wrap_scorers = True
            # One schedule for every fit: _run_search sets its thresholds between rounds.
            super().fit(X, y, groups=groups, callback=callback,
                        **{**fit_params, key: self._schedule})
            self.scorer_ = pruning.unwrap_scorer(self.scorer_)  # for score()
            return self
        finally:
            # Plain data only: a fitted search pickles and clones as BayesSearchCV's does.
            for name in ("_state", "_old_params", "_old_out", "_schedule", "_session_out",
                         "_session_n_splits", "_wrap_scorers"):
                self.__dict__.pop(name, None)

    def _pruning_schedule(self, fit_params: dict) -> tuple[PruningSchedule | None, str | None]:
        """The schedule the fits share and the fit parameter taking it; (None, None): off."""
        import sklearn

        if not self.prune:
            return None, None
        schedule = PruningSchedule(pruning.check_rungs(self.prune_rungs))
        key = pruning.pruning_fit_param(self.estimator)
        # With metadata routing, the estimator would have to request "pruning" itself.
        if (key is None or key in fit_params
                or sklearn.get_config().get("enable_metadata_routing", False)):
            return None, None
        step, prefix = pruning.final_step(self.estimator)
        early_stopping = getattr(step, "early_stopping", None)
        searched = any(prefix + "early_stopping" in space for space, _ in self._subspaces())
        if isinstance(early_stopping, (bool, np.bool_)) and not early_stopping and not searched:
            # No fit would hold out the validation split pruning watches: every column
            # pruning adds would be False, and the user most likely meant it to act.
            warnings.warn(
                f"prune=True has no effect: {type(step).__name__} has early_stopping=False, "
                "and pruning watches the validation split of early stopping. Set "
                "early_stopping=True (or search it), or pass prune=False.",
                UserWarning, stacklevel=3)
            return None, None
        return schedule, key

    def _get_scorers(self) -> tuple[Any, str]:
        # BaseSearchCV.fit calls this first, for the scorers every fit is scored with:
        # that call (only) gets the scorer that also reports how far each fit got.
        scorers, refit_metric = super()._get_scorers()
        if self.__dict__.pop("_wrap_scorers", False):
            scorers = pruning.wrap_scorer(scorers, self._schedule.rungs)
        return scorers, refit_metric

    def _subspaces(self) -> list[tuple[dict, int]]:
        spaces = self.search_spaces
        spaces = [spaces] if isinstance(spaces, dict) else list(spaces)
        return [s if isinstance(s, tuple) else (s, self.n_iter) for s in spaces]

    # -- the search loop (skopt's, with replay and checkpoints) -----------------
    def _run_search(self, evaluate_candidates: Any) -> None:
        state = self._state
        subspaces = self._subspaces()
        self.optimizer_kwargs_["random_state"] = state.rng()
        self.optimizers_ = [self._make_optimizer(space) for space, _ in subspaces]
        self._optim_results = []
        if state.path is not None and not state.trials:
            state.save()  # a new search: the start state, before any trial
        score_name = self._score_name()
        step = 1 + max((t["step"] for t in state.trials), default=-1)
        for i, (space, n_iter) in enumerate(subspaces):
            optimizer = self.optimizers_[i]
            defaults = partial(self._defaults_point, i) if self.defaults_first else None
            result, n_left = replay(state, i, optimizer, defaults), n_iter - state.count(i)
            while n_left > 0:
                self._set_thresholds()
                if self.defaults_first and state.count(i) == 0:
                    # skopt's _step, with the defaults for the point it asks for.
                    asking, n_points = Asking(optimizer, self._defaults_point(i)), 1
                else:
                    asking, n_points = Asking(optimizer), min(n_left, self.n_points)
                result, score_name = self._step(space, asking, score_name,
                                                evaluate_candidates, n_points=n_points)
                n_left -= n_points
                self._record(i, step, optimizer, n_points)
                step += 1
                if eval_callbacks(self._callbacks, result):
                    break
            self._optim_results.append(result)
        if self._schedule is not None:  # the refit on all the data is never pruned
            self._schedule.by_fold = {}

    def _set_thresholds(self) -> None:
        # From the trials of earlier rounds only (all of them are in the checkpoint's
        # list, resumed ones too): a round prunes as in a serial, uninterrupted search.
        # Per fold only: ``thresholds``, for a fold no earlier trial had, stay NaN, so
        # that a fold is only ever compared with itself (see docs/pruning.md).
        if self._schedule is not None:
            self._schedule.by_fold = pruning.thresholds_by_fold(
                [trial["out"] for trial in self._state.trials], len(self._schedule.rungs))

    def _defaults_point(self, subspace: int) -> list:
        """The estimator's own configuration as a point of one subspace."""
        return defaults_point(self.estimator, self._subspaces()[subspace][0], self._state.rng(),
                              subspace)

    def _score_name(self) -> str | None:
        # As skopt's _run_search: a callable scoring's name is known after a trial.
        if callable(self.scoring):
            return None
        if self.scoring is None or isinstance(self.scoring, str):
            return "mean_test_score"
        return f"mean_test_{self.refit}"

    def _format_results(self, candidate_params, n_splits, out, more_results=None):
        if self._schedule is not None:
            for record in out:  # in place: BaseSearchCV.fit reads multimetric_ off them
                pruning.strip_extras(record)
        # This fit's trials come after the checkpoint's: cv_results_ covers both.
        self._session_out, self._session_n_splits = out, n_splits
        records = self._old_out + list(out)
        results = super()._format_results(
            self._old_params + list(candidate_params), n_splits,
            [{k: v for k, v in r.items() if k != "pruning"} for r in records], more_results)
        if self._schedule is not None:
            pruning.add_columns(results, records, n_splits)
        return results

    def _record(self, subspace: int, step: int, optimizer: Any, n_points: int) -> None:
        """Add the trials just told to the optimizer to the checkpoint, and write them."""
        n_splits = self._session_n_splits  # n_splits_ is set after the search (sklearn < 1.9)
        records = self._session_out[len(self._session_out) - n_points * n_splits:]
        points, values = optimizer.Xi[-n_points:], optimizer.yi[-n_points:]
        self._state.append([{
            "subspace": subspace, "step": step, "x": checkpoint.encode_point(points[j]),
            "y": float(values[j]),
            "out": checkpoint.encode_out(records[j * n_splits:(j + 1) * n_splits]),
        } for j in range(n_points)])
