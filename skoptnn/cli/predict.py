"""``skoptnn predict``: load a model saved by ``skoptnn tune`` and predict a CSV file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .data import check_finite, plain, read_csv, text_cells
from .errors import CLIError, one_line

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline

__all__ = ["load_model", "predict"]


def predict(args: argparse.Namespace) -> int:
    """Run ``skoptnn predict`` with parsed ``args``; return the exit status."""
    model = load_model(args.model)
    frame = read_csv(args.data, header=not args.no_header)
    expected = list(model.feature_names_in_)
    if args.no_header:
        frame = _position_columns(frame, expected, args.data)
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise CLIError(f"{args.data} lacks the model's columns: {', '.join(map(str, missing))}")
    X = frame[expected]  # drops the target and any other column the model did not see
    _check_numeric(model, X, args.data)
    check_finite(X, args.data)
    result = _predictions(model, X, frame.index)
    try:
        result.to_csv(args.output, index=False)
    except OSError as exc:
        raise CLIError(f"cannot write {args.output}: {one_line(exc)}") from None
    print(f"Wrote {len(result)} predictions to {args.output}")
    return 0


# -- loading ------------------------------------------------------------------------------
def load_model(path: str) -> Pipeline:
    """The pipeline in ``path`` (.skops, else joblib), if it ends in a skoptnn estimator."""
    if not Path(path).is_file():
        raise CLIError(f"no such model file: {path}")
    from sklearn.pipeline import Pipeline

    from skoptnn import OptimizedMLPClassifier, OptimizedMLPRegressor

    model = _load_skops(path) if Path(path).suffix == ".skops" else _load_joblib(path)
    if not (isinstance(model, Pipeline)
            and isinstance(model[-1], (OptimizedMLPClassifier, OptimizedMLPRegressor))):
        raise CLIError(
            f"{path} is not a model saved by 'skoptnn tune' (found {type(model).__name__})"
        )
    return model


def _load_skops(path: str) -> object:
    """Load a .skops file, refusing any type beyond skoptnn's and skops' trusted ones."""
    import skops.io

    from skoptnn import trusted_types

    try:
        # Reads the file's schema only: nothing in it is constructed or run.
        untrusted = skops.io.get_untrusted_types(file=path)
    except Exception as exc:  # a bad zip or schema fails in many ways; all mean "not a model"
        raise CLIError(f"{path} is not a model saved by 'skoptnn tune': {one_line(exc)}") from None
    unexpected = sorted(set(untrusted) - set(trusted_types()))
    if unexpected:
        raise CLIError(
            f"{path} was not loaded: it refers to types that neither skops nor skoptnn trusts, "
            f"and loading them could run code: {', '.join(unexpected)}"
        )
    try:
        return skops.io.load(path, trusted=untrusted)
    except Exception as exc:
        raise CLIError(f"{path} is not a model saved by 'skoptnn tune': {one_line(exc)}") from None


def _load_joblib(path: str) -> object:
    import joblib

    print(f"skoptnn: note: loading {path} runs code stored in it (joblib is pickle): use only "
          "files you trust; model.skops loads without running code", file=sys.stderr)
    try:
        return joblib.load(path)
    except Exception as exc:  # unpickling fails in many ways; all mean "not a model"
        if isinstance(exc, ModuleNotFoundError) and (exc.name or "").startswith("numpy._core"):
            raise CLIError(_numpy_2_file(path)) from None
        raise CLIError(f"{path} is not a model saved by 'skoptnn tune': {one_line(exc)}") from None


def _numpy_2_file(path: str) -> str:
    # NumPy 2 pickles its arrays under numpy._core, a module NumPy 1.x does not have.
    import numpy as np

    skops = Path(path).with_suffix(".skops")
    return (f"{path} was saved under NumPy 2 and this environment has NumPy {np.__version__}: "
            "install numpy>=2 to load it"
            + (f", or predict with {skops}, which loads under either" if skops.is_file() else ""))


# -- the rows to predict --------------------------------------------------------------------
def _check_numeric(model: Pipeline, X: pd.DataFrame, path: str) -> None:
    """Name a column that was numeric in training but holds text in ``X``."""
    # A pipeline saved by tune has this step; other pipelines are left to themselves.
    transformers = getattr(model.named_steps.get("preprocess"), "transformers_", [])
    numeric = next((cols for name, _, cols in transformers if name == "numeric"), [])
    for column in numeric:
        values = X[column]
        bad = text_cells(values)
        if bad.any():
            raise CLIError(
                f"column {column!r} was numeric in training but {path} has non-numeric "
                f"values in it, e.g. {plain(values[bad].iloc[0])!r}"
            )


def _position_columns(frame: pd.DataFrame, expected: list, path: str) -> pd.DataFrame:
    """Name a headerless file's columns as in training, where its width says how."""
    if not all(str(name).isdecimal() for name in expected):
        raise CLIError("the model was tuned on a CSV with a header row; drop --no-header")
    if frame.shape[1] == len(expected):  # the features alone, in training order
        return frame.set_axis(expected, axis=1)
    if frame.shape[1] == len(expected) + 1:
        return frame  # the training file's layout: features and target
    raise CLIError(
        f"{path} has {frame.shape[1]} columns; the model takes {len(expected)} features "
        f"(columns {', '.join(expected)} of its training file): give those, in that order, "
        "or the training file's columns"
    )


def _predictions(model: Pipeline, X: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """A prediction column (one per output), and a classifier's class probabilities."""
    import pandas as pd

    predicted = model.predict(X)
    if predicted.ndim == 1:
        result = pd.DataFrame({"prediction": predicted}, index=index)
    else:  # a multi-output regressor, or multilabel classifier, of the user's own
        result = pd.DataFrame(predicted, index=index).add_prefix("prediction_")
    if hasattr(model, "predict_proba") and predicted.ndim == 1:
        proba = model.predict_proba(X)
        for i, label in enumerate(model.classes_):
            result[f"proba_{label}"] = proba[:, i]
    return result
