"""What ``skoptnn tune`` searches: the preprocessing and model pipeline, and its search."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from .resume import CHECKPOINT

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.model_selection import BaseCrossValidator
    from sklearn.pipeline import Pipeline

    from ..search import ResumableBayesSearchCV

__all__ = ["STEPS", "make_pipeline", "make_search"]

# The step names make_pipeline would give; the search space's parameters carry them.
STEPS = {"classification": "optimizedmlpclassifier", "regression": "optimizedmlpregressor"}


def make_pipeline(X: pd.DataFrame, task: str, random_state: int, epochs: int) -> Pipeline:
    """Impute and scale numeric columns, one-hot encode the others, then the network."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.pipeline import make_pipeline as chain
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from skoptnn import OptimizedMLPClassifier, OptimizedMLPRegressor

    numeric = list(X.select_dtypes(include="number").columns)
    # pandas reads a column of True/False with no blanks as bool, which
    # SimpleImputer rejects; having no blanks, it needs no imputing.
    boolean = list(X.select_dtypes(include="bool").columns)
    categorical = [c for c in X.columns if c not in numeric and c not in boolean]
    preprocess = ColumnTransformer(
        [
            ("numeric", chain(SimpleImputer(), StandardScaler()), numeric),
            ("categorical", chain(
                SimpleImputer(strategy="most_frequent"),
                OneHotEncoder(handle_unknown="ignore"),
            ), categorical),
            ("boolean", OneHotEncoder(handle_unknown="ignore"), boolean),
        ],
        # Dense output: the network densifies anyway, and one-hot blocks are small.
        sparse_threshold=0.0,
    )
    model_class = OptimizedMLPClassifier if task == "classification" else OptimizedMLPRegressor
    model = model_class(
        epochs=epochs, early_stopping=True, patience=10, random_state=random_state,
    )
    return Pipeline([("preprocess", preprocess), (STEPS[task], model)])


def make_search(
    X_train: pd.DataFrame,
    task: str,
    args: argparse.Namespace,
    n_iter: int,
    splitter: BaseCrossValidator,
    scoring: str,
    epochs: int,
    out: Path,
) -> ResumableBayesSearchCV:
    """The search over the task's space, checkpointed to ``out`` after every trial."""
    from ..search import ResumableBayesSearchCV
    from ..spaces import classifier_space, regressor_space

    space = classifier_space if task == "classification" else regressor_space
    return ResumableBayesSearchCV(
        make_pipeline(X_train, task, args.random_state, epochs),
        space(prefix=STEPS[task]),
        n_iter=n_iter,
        cv=splitter,
        scoring=scoring,
        n_jobs=args.n_jobs,
        random_state=args.random_state,
        checkpoint=out / CHECKPOINT,
        resume=args.resume,
        defaults_first=not args.no_defaults_first,
        prune=not args.no_prune,
    )
