"""Helpers around ``skopt.BayesSearchCV``: a trials table, a progress bar and a
search that survives being killed.

None imports TensorFlow: they only read what the search reports.
"""

from __future__ import annotations

import numbers
import time
import warnings
from collections.abc import Mapping, Sequence
from itertools import pairwise
from numbers import Integral
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from skopt import BayesSearchCV
from skopt.space import Categorical, Integer, Real
from skopt.utils import dimensions_aslist, eval_callbacks, point_asdict

from ..engine.pruning import PruningSchedule
from . import checkpoint as _resume
from . import pruning as _search_pruning

__all__ = ["ProgressCallback", "ResumableBayesSearchCV", "trials_dataframe"]


# What ResumableBayesSearchCV adds to cv_results_ when it prunes.
_PRUNING_COLUMNS = ("pruned", "pruned_epoch", "mean_n_epochs")


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
            **{name: np.asarray(results[name]) for name in _PRUNING_COLUMNS if name in results},
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


class ResumableBayesSearchCV(BayesSearchCV):
    """``BayesSearchCV`` that saves every finished trial and resumes after a crash.

    After each finished trial (each batch of ``n_points`` trials) the search
    writes a checkpoint file: the random state it started from, every trial's
    point and cross-validation results, and a fingerprint of the data and
    settings. The file is replaced atomically, so a kill at any moment
    (SIGKILL, out of memory, a preempted job) loses at most the trials in
    flight. Fitting again with the same ``checkpoint`` continues the search:
    the finished trials are read back, not rerun, the optimizer is brought to
    the state it had after them, and the remaining ``n_iter - n_done`` trials
    run. The result (``cv_results_`` with every trial, old and new, the best
    estimator, ``optimizer_results_``) is that of an uninterrupted search
    whenever the fits themselves are reproducible (a fixed ``random_state``
    everywhere).

    By default the first trial of each search space is the estimator's own
    configuration (``defaults_first``), and fits that cannot win stop early
    (``prune``; see Notes).

    The checkpoint is JSON, so reading it runs no code. A checkpoint written
    for other data (``X``, ``y``, ``groups``, fit parameters) or other
    settings (the estimator's parameters, the search spaces, ``cv``,
    ``scoring``, ``refit``, ``optimizer_kwargs``, ``n_points``,
    ``error_score``, ``return_train_score``, ``random_state``,
    ``defaults_first``, pruning) is refused with a ``ValueError`` listing
    what differs, and so is one of an earlier skoptnn (another format), with
    the reason. ``n_iter`` may differ: a
    larger one extends a finished search, a smaller one uses the first
    ``n_iter`` finished trials.

    Parameters
    ----------
    estimator, search_spaces, optimizer_kwargs, n_iter, scoring, fit_params, \
n_jobs, n_points, refit, cv, verbose, pre_dispatch, random_state, \
error_score, return_train_score
        As for :class:`skopt.BayesSearchCV`.
    checkpoint : str or path-like, default=None
        The checkpoint file (JSON), created with the search. Its folder must
        exist. None keeps no checkpoint: a plain ``BayesSearchCV``.
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

    Callbacks passed to ``fit`` run after each new trial, once its checkpoint
    is written; a callback that stops the search (such as
    ``skopt.callbacks.DeadlineStopper``) leaves a checkpoint that a later
    ``fit`` continues. Their first call after a resume sees the resumed trials
    too. Resuming replays the optimizer: Gaussian-process fits, a fraction of
    a second per trial, no model training. If the replayed optimizer proposes
    other points than the checkpoint holds (another scikit-optimize version,
    say), a warning says so and the search continues from the saved trials.

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
            self._state = self._open_checkpoint(X, y, groups, fit_params)
            self._old_params, self._old_out = self._resumed_results()
            self.n_resumed_trials_ = len(self._old_params)
            if self._old_params and self._every_trial_done():
                return self._fit_from_checkpoint(X, y, **fit_params)
            if self._schedule is None:
                return super().fit(X, y, groups=groups, callback=callback, **fit_params)
            self._wrap_scorers = True
            # One schedule for every fit: _run_search sets its thresholds between rounds.
            super().fit(X, y, groups=groups, callback=callback,
                        **{**fit_params, key: self._schedule})
            self.scorer_ = _search_pruning.unwrap_scorer(self.scorer_)  # for score()
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
        schedule = PruningSchedule(_check_rungs(self.prune_rungs))
        key = _search_pruning.pruning_fit_param(self.estimator)
        # With metadata routing, the estimator would have to request "pruning" itself.
        if (key is None or key in fit_params
                or sklearn.get_config().get("enable_metadata_routing", False)):
            return None, None
        step, prefix = _search_pruning.final_step(self.estimator)
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
            scorers = _search_pruning.wrap_scorer(scorers, self._schedule.rungs)
        return scorers, refit_metric

    def _subspaces(self) -> list[tuple[dict, int]]:
        spaces = self.search_spaces
        spaces = [spaces] if isinstance(spaces, dict) else list(spaces)
        return [s if isinstance(s, tuple) else (s, self.n_iter) for s in spaces]

    def _fingerprint(self, X: Any, y: Any, groups: Any, fit_params: dict) -> dict:
        describe, data_hash = _resume.describe, _resume.data_hash
        return {
            "X": data_hash(X), "y": data_hash(y), "groups": data_hash(groups),
            "fit_params": {k: data_hash(v) for k, v in sorted(fit_params.items())},
            "estimator": {"(class)": describe(self.estimator),
                          **_resume.estimator_params(self.estimator)},
            # Without each subspace's n_iter: a resume may ask for more trials.
            "search_space": self._describe_spaces(),
            "constructor fit_params": describe(self.fit_params),
            "defaults_first": describe(self.defaults_first),
            # Whether pruning is on, not the schedule, whose thresholds change as it runs.
            "prune": False if self._schedule is None else list(self._schedule.rungs),
            **{name: describe(getattr(self, name)) for name in (
                "cv", "scoring", "refit", "optimizer_kwargs", "n_points", "error_score",
                "return_train_score", "random_state")},
        }

    def _describe_spaces(self) -> dict[str, str]:
        subspaces = self._subspaces()
        return {(name if len(subspaces) == 1 else f"{i}:{name}"): _resume.describe_dimension(dim)
                for i, (space, _) in enumerate(subspaces) for name, dim in sorted(space.items())}

    def _open_checkpoint(self, X: Any, y: Any, groups: Any,
                         fit_params: dict) -> _resume.Checkpoint:
        from sklearn.utils import check_random_state

        path = None if self.checkpoint is None else Path(self.checkpoint)
        # Hashing the data is for checkpoints only.
        fingerprint = {} if path is None else self._fingerprint(X, y, groups, fit_params)
        if path is not None and not path.parent.is_dir():
            raise ValueError(f"checkpoint={str(path)!r}: its folder {str(path.parent)!r} does "
                             "not exist; create it first.")
        state = _resume.Checkpoint.load(path) if path is not None and self.resume else None
        if state is None:
            # A copy of the start state: a resume recreates it from the file.
            start = _resume.random_state_json(check_random_state(self.random_state))
            return _resume.Checkpoint(path, fingerprint, start)
        differ = _resume.differences(state.fingerprint, fingerprint)
        if differ:
            raise _resume.CheckpointMismatch(
                f"checkpoint={str(path)!r} holds a search of other data or settings; "
                f"these differ: {'; '.join(differ)}. Pass resume=False to start over "
                "(overwriting it), or another checkpoint path.", differ)
        # A smaller n_iter than the checkpoint's trials: the first n_iter of them.
        keep, counts = [], {}
        subspaces = self._subspaces()
        for trial in state.trials:
            i = trial["subspace"]
            if i < len(subspaces) and counts.get(i, 0) < subspaces[i][1]:
                counts[i] = counts.get(i, 0) + 1
                keep.append(trial)
        state.trials = keep
        return state

    def _resumed_results(self) -> tuple[list[dict], list[dict]]:
        """The checkpoint's trials as scikit-learn's candidate params and split records."""
        subspaces = self._subspaces()
        params, out = [], []
        for trial in self._state.trials:
            space = subspaces[trial["subspace"]][0]
            point = _resume.decode_point(trial["x"], dimensions_aslist(space))
            params.append(dict(point_asdict(space, point)))
            out.extend(trial["out"])
        return params, out

    def _every_trial_done(self) -> bool:
        return all(self._state.count(i) >= n_iter
                   for i, (_, n_iter) in enumerate(self._subspaces()))

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
            result, n_left = self._replay(i, optimizer), n_iter - state.count(i)
            while n_left > 0:
                self._set_thresholds()
                if self.defaults_first and state.count(i) == 0:
                    # skopt's _step, with the defaults for the point it asks for.
                    asking, n_points = _Asking(optimizer, self._defaults_point(i)), 1
                else:
                    asking, n_points = _Asking(optimizer), min(n_left, self.n_points)
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
            self._schedule.by_fold = _search_pruning.thresholds_by_fold(
                [trial["out"] for trial in self._state.trials], len(self._schedule.rungs))

    def _defaults_point(self, subspace: int) -> list:
        """The estimator's own configuration as a point of one subspace."""
        space = self._subspaces()[subspace][0]
        # Its own random state, derived from the search's start, so that drawing a
        # value leaves the optimizer's draws as they were.
        seed = self._state.rng().randint(np.iinfo(np.int32).max)
        rng = np.random.RandomState([seed, subspace])
        params = self.estimator.get_params(deep=True)
        # What skoptnn's None parameters stand for (learning_rate=None: the optimizer's
        # default), so that they are the estimator's own values, not random ones.
        step, prefix = _search_pruning.final_step(self.estimator)
        meanings = getattr(step, "_search_defaults", None)
        dims = dict(zip(sorted(space), dimensions_aslist(space), strict=True))
        for name, value in (meanings() if callable(meanings) else {}).items():
            dim = dims.get(prefix + name)
            held = isinstance(dim, Categorical) and None in dim.categories
            if params.get(prefix + name, _MISSING) is None and not held:
                params[prefix + name] = value
        return [_project(params.get(name, _MISSING), dim, rng)
                for name, dim in zip(sorted(space), dimensions_aslist(space), strict=True)]

    def _score_name(self) -> str | None:
        # As skopt's _run_search: a callable scoring's name is known after a trial.
        if callable(self.scoring):
            return None
        if self.scoring is None or isinstance(self.scoring, str):
            return "mean_test_score"
        return f"mean_test_{self.refit}"

    def _replay(self, subspace: int, optimizer: Any) -> Any:
        """Ask and tell the checkpoint's trials, as the interrupted search did."""
        result = None
        dimensions = optimizer.space.dimensions
        for n, batch in enumerate(self._state.steps(subspace)):
            if n == 0 and self.defaults_first:
                asked = [self._defaults_point(subspace)]  # told, never asked
            else:
                asked = _Asking(optimizer).ask(len(batch))  # draws from the random state as then
            points = [_resume.decode_point(t["x"], dimensions) for t in batch]
            if not _same_points(asked, points):
                warnings.warn(
                    f"Resuming from {self.checkpoint}: the optimizer proposed other points "
                    f"than the checkpoint holds (subspace {subspace}, step {n}); the finished "
                    "trials are kept, but the rest of the search will differ from an "
                    "uninterrupted one.", UserWarning, stacklevel=4)
            result = optimizer.tell(points, [t["y"] for t in batch])
        return result

    def _format_results(self, candidate_params, n_splits, out, more_results=None):
        if self._schedule is not None:
            for record in out:  # in place: BaseSearchCV.fit reads multimetric_ off them
                _search_pruning.strip_extras(record)
        # This fit's trials come after the checkpoint's: cv_results_ covers both.
        self._session_out, self._session_n_splits = out, n_splits
        records = self._old_out + list(out)
        results = super()._format_results(
            self._old_params + list(candidate_params), n_splits,
            [{k: v for k, v in r.items() if k != "pruning"} for r in records], more_results)
        if self._schedule is not None:
            _search_pruning.add_columns(results, records, n_splits)
        return results

    def _record(self, subspace: int, step: int, optimizer: Any, n_points: int) -> None:
        """Add the trials just told to the optimizer to the checkpoint, and save it."""
        n_splits = self._session_n_splits  # n_splits_ is set after the search (sklearn < 1.9)
        records = self._session_out[len(self._session_out) - n_points * n_splits:]
        points, values = optimizer.Xi[-n_points:], optimizer.yi[-n_points:]
        for j in range(n_points):
            self._state.trials.append({
                "subspace": subspace, "step": step, "x": _resume.encode_point(points[j]),
                "y": float(values[j]),
                "out": _resume.encode_out(records[j * n_splits:(j + 1) * n_splits]),
            })
        if self._state.path is not None:
            self._state.save()

    # -- every trial already in the checkpoint ------------------------------------
    def _fit_from_checkpoint(self, X: Any, y: Any, **fit_params: Any) -> ResumableBayesSearchCV:
        """Rebuild the fitted search from the checkpoint alone: no trial runs.

        BaseSearchCV.fit needs at least one new evaluation, so this does what
        it does after its search: results, best trial, refit, scorer.
        """
        from sklearn.base import clone
        from sklearn.metrics import check_scoring
        from sklearn.metrics._scorer import _MultimetricScorer

        self.optimizer_kwargs_ = dict(self.optimizer_kwargs or {})
        self._callbacks = []
        self._run_search(None)  # replays only: nothing is left to evaluate
        n_splits = len(self._state.trials[0]["out"])
        results = self._format_results([], n_splits, [], None)
        self.multimetric_ = isinstance(self._old_out[0]["test_scores"], dict)
        metric = self.refit if self.multimetric_ else "score"
        if self.refit or not self.multimetric_:
            self.best_index_ = int(np.asarray(results[f"rank_test_{metric}"]).argmin())
            self.best_score_ = results[f"mean_test_{metric}"][self.best_index_]
            self.best_params_ = results["params"][self.best_index_]
        if self.refit:
            self.best_estimator_ = clone(self.estimator).set_params(
                **clone(self.best_params_, safe=False))
            start = time.time()
            if y is None:
                self.best_estimator_.fit(X, **fit_params)
            else:
                self.best_estimator_.fit(X, y, **fit_params)
            self.refit_time_ = time.time() - start
            if hasattr(self.best_estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.best_estimator_.feature_names_in_
        scorer = check_scoring(self.estimator, scoring=self.scoring)
        self.scorer_ = scorer._scorers if isinstance(scorer, _MultimetricScorer) else scorer
        self.cv_results_ = results
        self.n_splits_ = n_splits
        return self


class _Asking:
    """The optimizer as skopt's ``_step`` asks it, or one that proposes ``point``.

    skopt's ``ask(n_points=k)`` copies the optimizer (refitting its model) and
    tells the copy a made-up value for each point it proposes, so that the k
    points differ: for k=1 that is two model fits and acquisition searches
    for nothing, twice the cost of the ``tell`` that already found the next
    point. One point is asked for with plain ``ask()``.
    """

    def __init__(self, optimizer: Any, point: list | None = None) -> None:
        self.optimizer, self.point = optimizer, point

    def ask(self, n_points: int = 1) -> list:
        if self.point is not None:
            return [list(self.point)]
        if n_points == 1:
            return [self.optimizer.ask()]
        return self.optimizer.ask(n_points=n_points)

    def tell(self, x: list, y: list) -> Any:
        return self.optimizer.tell(x, y)


_MISSING = object()  # a searched name the estimator has no parameter for


def _check_rungs(rungs: Any) -> tuple[int, ...]:
    """``prune_rungs`` as a tuple of ints, or a ValueError saying what it must be."""
    try:
        values = tuple(rungs)
    except TypeError:
        values = ()
    # Two at least: the first rung never prunes (see _search_pruning.thresholds_by_fold).
    ok = (len(values) >= 2
          and all(isinstance(r, Integral) and not isinstance(r, bool) and r >= 1 for r in values)
          and all(a < b for a, b in pairwise(values)))
    if not ok:
        raise ValueError(
            "prune_rungs must be at least 2 ascending epoch counts >= 1 (the first rung "
            f"never prunes), such as (4, 8, 16, 32, 64); got {rungs!r}.")
    return tuple(int(r) for r in values)


def _project(value: Any, dimension: Any, rng: np.random.RandomState) -> Any:
    """``value`` as a point of ``dimension``: kept, clipped, or drawn as the optimizer would.

    An infinite number is clipped too (no clipping, ``clipnorm=inf``, is the
    largest threshold the dimension has); NaN is drawn.
    """
    if isinstance(dimension, Categorical):
        for category in dimension.categories:
            if _same(category, value):
                return category
    elif (isinstance(dimension, (Integer, Real)) and isinstance(value, numbers.Real)
          and not isinstance(value, (bool, np.bool_)) and not np.isnan(value)):
        value = min(max(value, dimension.low), dimension.high)
        return int(round(value)) if isinstance(dimension, Integer) else float(value)
    drawn = dimension.rvs(n_samples=1, random_state=rng)[0]
    return drawn.item() if isinstance(drawn, np.generic) else drawn


def _same(category: Any, value: Any) -> bool:
    # True is not the category 1, nor 1.0 the category True.
    if isinstance(category, (bool, np.bool_)) != isinstance(value, (bool, np.bool_)):
        return False
    try:
        return bool(category == value)
    except (TypeError, ValueError):  # e.g. an array compared with a string
        return False


def _same_points(asked: list, saved: list) -> bool:
    """Whether the optimizer asked for the saved points (floats to 1e-9)."""
    flat_asked = [np.asarray(v).item() for point in asked for v in point]
    flat_saved = [v for point in saved for v in point]
    return len(flat_asked) == len(flat_saved) and all(
        np.isclose(a, s, rtol=1e-9, atol=0) if isinstance(a, float) and isinstance(s, float)
        else a == s
        for a, s in zip(flat_asked, flat_saved, strict=True)
    )
