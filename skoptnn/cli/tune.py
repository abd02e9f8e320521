"""``skoptnn tune``: run the search on a CSV file and report it."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .data import tune_data
from .errors import CLIError, one_line
from .outputs import OUTPUTS, prepare_output, write_outputs
from .pipeline import fix_parameters, make_pipeline, make_search
from .resume import CHECKPOINT, settings, start_or_resume
from .split import split

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_SCORING", "tune"]

DEFAULT_SCORING = {"classification": "accuracy", "regression": "r2"}


def tune(args: argparse.Namespace) -> int:
    """Run ``skoptnn tune`` with parsed ``args``; return the exit status."""
    demo = args.data is None
    n_iter = args.n_iter or (15 if demo else 30)
    cv = args.cv or 5
    epochs = args.epochs or (60 if demo else 100)

    X, y, task = tune_data(args)
    scoring = args.scoring or DEFAULT_SCORING[task]
    from sklearn.metrics import get_scorer

    try:
        scorer = get_scorer(scoring)
    except ValueError:
        raise CLIError(f"unknown --scoring {scoring!r}") from None
    # --set is checked before the output folder is touched: a bad value must not
    # overwrite the settings a later --resume of a search there compares with.
    fix_parameters(make_pipeline(X, task, args.random_state, epochs), task,
                   getattr(args, "fixed", []))
    out = Path(args.output)
    prepare_output(out)
    X_train, X_test, y_train, y_test, splitter = split(
        X, y, task, args.test_size, cv, args.random_state
    )
    n_done = start_or_resume(out, settings(args, task, scoring, cv, epochs), args, n_iter)

    search = make_search(X_train, task, args, n_iter, splitter, scoring, epochs, out)
    kind = "classifier" if task == "classification" else "regressor"
    print(f"Tuning a {kind} on {len(X_train)} rows ({X.shape[1]} features), "
          f"{len(X_test)} held out; {n_iter} configurations x {cv} folds.")
    if args.resume:
        print(f"Resuming: {min(n_done, n_iter)} of {n_iter} configurations done "
              f"(from {out / CHECKPOINT}).")
    start = time.perf_counter()
    budget = _run_search(search, X_train, y_train, args, n_iter, n_done, out)
    elapsed = time.perf_counter() - start

    test_score = scorer(search.best_estimator_, X_test, y_test)
    _report(search, scoring, elapsed, test_score, n_iter, budget, args)
    write_outputs(search, out)
    print("Wrote " + ", ".join(str(out / name) for name in OUTPUTS))
    return 0


class _TimeBudget:
    """Stop the search after the trial that takes it past ``seconds``.

    Not skopt's DeadlineStopper, which stops before a trial it predicts would
    cross the budget: a budget here is a point in time after which no trial starts.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.start = time.perf_counter()
        self.spent = False

    def __call__(self, result: Any) -> bool:
        self.spent = time.perf_counter() - self.start >= self.seconds
        return self.spent


def _run_search(search: Any, X_train: pd.DataFrame, y_train: pd.Series,
                args: argparse.Namespace, n_iter: int, n_done: int,
                out: Path) -> _TimeBudget | None:
    """Fit the search with a progress bar (and a time budget); return the budget."""
    import joblib
    from threadpoolctl import threadpool_limits

    from ..search import ProgressCallback
    from ..search.checkpoint import CheckpointMismatch

    # scikit-optimize's Gaussian process is thousands of tiny BLAS calls: one
    # BLAS thread is much faster for them beside TensorFlow's thread pools.
    backend = "threading" if args.parallel == "threads" else "loky"
    # No bar when the checkpoint holds every trial: nothing is left to run.
    progress = ProgressCallback(n_iter, file=sys.stderr, disable=n_done >= n_iter)
    budget = _TimeBudget(args.time_budget) if args.time_budget else None
    callbacks = [progress] + ([budget] if budget else [])
    try:
        with threadpool_limits(1, user_api="blas"), joblib.parallel_backend(backend):
            search.fit(X_train, y_train, callback=callbacks)
    except CheckpointMismatch as exc:  # same options, but e.g. another skoptnn's defaults
        progress.close()
        raise CLIError(f"cannot resume the search in {out}: {'; '.join(exc.differences)}; "
                       "run without --resume to start over") from None
    except ValueError as exc:  # e.g. a --scoring that does not fit these labels
        progress.close()  # the error goes on a line of its own
        raise CLIError(f"the search failed: {one_line(exc)}") from None
    except KeyboardInterrupt:
        progress.close()
        raise CLIError(f"interrupted; the finished trials are saved in {out / CHECKPOINT}: "
                       "the same command with --resume continues the search") from None
    progress.close()
    return budget


def _report(search: Any, scoring: str, elapsed: float, test_score: float, n_iter: int,
            budget: _TimeBudget | None, args: argparse.Namespace) -> None:
    step = search.best_estimator_.steps[-1][0]
    n_trials = len(search.cv_results_["params"])
    print(f"Search took {elapsed:.0f} s.")
    if search.n_resumed_trials_:
        print(f"Resumed {search.n_resumed_trials_} finished configurations; ran "
              f"{n_trials - search.n_resumed_trials_} more.")
    if budget is not None and budget.spent and n_trials < n_iter:
        print(f"Stopped by --time-budget {args.time_budget:g} after {n_trials} of {n_iter} "
              "configurations; --resume continues the search.")
    print("Best parameters:")
    for name, value in sorted(search.best_params_.items()):
        print(f"  {name.removeprefix(step + '__')} = {value}")
    print(f"CV {scoring}: {search.best_score_:.4f}")
    print(f"Held-out test {scoring}: {test_score:.4f}")
