"""What ``skoptnn tune`` searches: the preprocessing and model pipeline, and its search."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .resume import CHECKPOINT

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from sklearn.model_selection import BaseCrossValidator
    from sklearn.pipeline import Pipeline

    from ..search import ResumableBayesSearchCV

__all__ = ["MAX_ONE_HOT_LEVELS", "STEPS", "fix_parameters", "make_pipeline", "make_search"]

# The step names make_pipeline would give; the search space's parameters carry them.
STEPS = {"classification": "optimizedmlpclassifier", "regression": "optimizedmlpregressor"}

# A text or category column with at most this many levels is one-hot encoded, one
# with more is target encoded. RealMLP one-hot encodes up to 9 categories counting
# its slot for missing values (pytabkit's max_one_hot_cat_size=9): 8 levels.
MAX_ONE_HOT_LEVELS = 8


def make_pipeline(
    X: pd.DataFrame,
    task: str,
    random_state: int,
    epochs: int,
    y: pd.Series | pd.DataFrame | np.ndarray | None = None,
) -> Pipeline:
    """The preprocessing and the network that ``skoptnn tune`` searches over.

    Numeric columns are imputed (mean) and scaled by
    :class:`~skoptnn.SmoothClipScaler`; bool columns one-hot encoded; text and
    category columns imputed (most frequent level) and one-hot encoded if they
    have at most ``MAX_ONE_HOT_LEVELS`` levels in ``X``, else target encoded
    (``sklearn.preprocessing.TargetEncoder``, cross-fitted) and scaled by
    ``SmoothClipScaler``.

    Parameters
    ----------
    X : pandas.DataFrame
        The training features: their dtypes and levels choose each column's encoding.
    task : {"classification", "regression"}
        The network, and what the target encoder averages.
    random_state : int
        Seed of the network and of the target encoder's folds.
    epochs : int
        The network's maximum number of epochs (it stops early).
    y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
        The target, if known. ``TargetEncoder`` takes one target column: for a
        2-D ``y`` (multilabel, say) every text column is one-hot encoded.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Steps ``"preprocess"`` (a ``ColumnTransformer``) and ``STEPS[task]``.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"size": [1.0, 2.0, 3.0], "city": ["a", "b", "a"]})
    >>> pipe = make_pipeline(X, "classification", random_state=0, epochs=5)
    >>> [(name, columns) for name, _, columns in pipe[0].transformers]
    [('numeric', ['size']), ('categorical', ['city']), ('many_levels', []), ('boolean', [])]
    """
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.model_selection import KFold, StratifiedKFold
    from sklearn.pipeline import Pipeline
    from sklearn.pipeline import make_pipeline as chain
    from sklearn.preprocessing import OneHotEncoder, TargetEncoder

    from skoptnn import OptimizedMLPClassifier, OptimizedMLPRegressor, SmoothClipScaler

    numeric = list(X.select_dtypes(include="number").columns)
    # pandas reads a column of True/False with no blanks as bool, which
    # SimpleImputer rejects; having no blanks, it needs no imputing.
    boolean = list(X.select_dtypes(include="bool").columns)
    categorical = [c for c in X.columns if c not in numeric and c not in boolean]
    one_target = y is None or np.ndim(y) == 1
    many = [c for c in categorical if one_target and X[c].nunique() > MAX_ONE_HOT_LEVELS]
    few = [c for c in categorical if c not in many]
    # Stands in for RealMLP's learned embeddings of many-level columns: one
    # number per column (per class, for more than 2 classes) where one-hot
    # would give the network a wide, sparse input of rarely seen levels.
    encoder = TargetEncoder(target_type="continuous" if task == "regression" else "auto")
    # Seeded folds for the cross-fitting, so a search can be repeated: scikit-learn
    # 1.9 takes them as a splitter (and deprecates random_state), earlier ones as
    # random_state (their cv is a number of folds).
    if "cv_object" in TargetEncoder._parameter_constraints["cv"]:
        folds = KFold if task == "regression" else StratifiedKFold
        encoder.set_params(cv=folds(5, shuffle=True, random_state=random_state))
    else:
        encoder.set_params(random_state=random_state)
    preprocess = ColumnTransformer(
        [
            ("numeric", chain(SimpleImputer(), SmoothClipScaler()), numeric),
            ("categorical", chain(
                SimpleImputer(strategy="most_frequent"),
                OneHotEncoder(handle_unknown="ignore"),
            ), few),
            # TargetEncoder encodes missing values as a level of their own.
            ("many_levels", chain(encoder, SmoothClipScaler()), many),
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


def fix_parameters(pipeline: Pipeline, task: str, fixed: list[tuple[str, Any]]) -> dict:
    """Set ``--set``'s parameters on the network step; refuse unknown names and bad values.

    Returns them as a dict, by name.
    """
    from sklearn.base import clone

    from .errors import CLIError

    values = dict(fixed)
    if not values:
        return values
    model = pipeline.named_steps[STEPS[task]]
    unknown = sorted(set(values) - set(model.get_params()))
    if unknown:
        raise CLIError(f"--set {unknown[0]}: {type(model).__name__} has no such parameter "
                       f"(its parameters: {', '.join(sorted(model.get_params()))})")
    trial = clone(model).set_params(**values)
    try:
        trial._validate_params()  # scikit-learn's own check, as fit runs it
    except ValueError as exc:
        raise CLIError(f"--set: {exc}") from None
    model.set_params(**values)
    return values


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
    pipeline = make_pipeline(X_train, task, args.random_state, epochs)
    fixed = fix_parameters(pipeline, task, getattr(args, "fixed", []))
    return ResumableBayesSearchCV(
        pipeline,
        space(prefix=STEPS[task], exclude=[n for n in fixed if n in space()]),
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
