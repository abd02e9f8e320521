"""The held-out test rows and the cross-validation folds, with the sizes they need.

Every fit inside the search holds out 10% of its rows for early stopping, and
every score needs rows (and, for a classifier, every class) to be computed on:
sizes that would fail after the search are refused before it, naming the
option to change.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .errors import CLIError

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.model_selection import BaseCrossValidator

__all__ = ["split"]


def split(
    X: pd.DataFrame, y: pd.Series, task: str, test_size: float, cv: int, random_state: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series, BaseCrossValidator]:
    """Hold out the test rows; return them with the CV splitter for the rest."""
    from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

    if task == "classification":
        _check_classification_sizes(y, test_size)
    else:
        _check_regression_sizes(len(y), test_size, cv)
    stratify = y if task == "classification" else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, stratify=stratify, random_state=random_state
    )
    if task == "classification":
        _check_stratified_folds(y_train, cv)
        splitter = StratifiedKFold(cv, shuffle=True, random_state=random_state)
    else:
        splitter = KFold(cv, shuffle=True, random_state=random_state)
    return X_train, X_test, y_train, y_test, splitter


def _check_classification_sizes(y: pd.Series, test_size: float) -> None:
    # train_test_split's own error for this does not name the option to change.
    n_test = math.ceil(test_size * len(y))
    n_classes = y.nunique()
    if min(n_test, len(y) - n_test) < n_classes:
        raise CLIError(
            f"--test-size {test_size} leaves {n_test} test and {len(y) - n_test} training "
            f"rows of {len(y)}; each split needs at least one row per class ({n_classes})"
        )


def _check_stratified_folds(y_train: pd.Series, cv: int) -> None:
    smallest = y_train.value_counts().min()
    if smallest < cv:
        raise CLIError(
            f"the smallest class has {smallest} training rows, fewer than --cv {cv}; "
            "lower --cv or add data"
        )
    _check_early_stopping_split(y_train, cv)


def _check_early_stopping_split(y_train: pd.Series, cv: int) -> None:
    """Each inner fit holds out 10% for early stopping, stratified by class."""
    n_classes = y_train.nunique()
    n_fit = len(y_train) - math.ceil(len(y_train) / cv)  # rows an inner fit trains on
    n_val = math.ceil(0.1 * n_fit)
    smallest = y_train.value_counts().min()
    smallest_fit = smallest - math.ceil(smallest / cv)
    problems = []
    if n_val < n_classes or n_fit - n_val < n_classes:
        problems.append(f"each fit trains on about {n_fit} rows and holds out {n_val} of them, "
                        f"and both parts need every class ({n_classes})")
    if smallest_fit < 2:
        problems.append(f"the smallest class has {smallest} training rows, so a fit sees "
                        f"{smallest_fit} of them and needs 2")
    if problems:
        # More folds leave more rows to each fit, up to the smallest class's count.
        advice = f"raise --cv (up to {smallest}) or add data" if cv < smallest else "add data"
        raise CLIError(
            f"too little data for early stopping inside {cv}-fold CV: " + "; ".join(problems)
            + f"; {advice}"
        )


def _check_regression_sizes(n_rows: int, test_size: float, cv: int) -> None:
    # A score such as R^2 needs at least 2 rows in every set it is computed on.
    n_test = math.ceil(test_size * n_rows)
    n_train = n_rows - n_test
    if min(n_test, n_train) < 2:
        raise CLIError(
            f"--test-size {test_size} leaves {n_test} test and {n_train} training rows of "
            f"{n_rows}; each split needs at least 2 rows to be scored"
        )
    if n_train // cv < 2:
        raise CLIError(
            f"{n_train} training rows make {cv} folds of fewer than 2 rows; each fold needs 2 "
            "to be scored: lower --cv or add data"
        )
    n_fit = n_train - math.ceil(n_train / cv)
    n_val = math.ceil(0.1 * n_fit)
    if n_fit - n_val < 2:
        raise CLIError(
            f"too little data for early stopping inside {cv}-fold CV: each fit trains on about "
            f"{n_fit} rows and holds out {n_val} of them; add data"
        )
