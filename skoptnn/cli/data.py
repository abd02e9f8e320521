"""Reading a CSV file, inferring the task from its target, and checking both up front.

What would make the search fail after minutes, or quietly learn the wrong thing, is
refused (or noted) here, in one line, before any training starts.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from .errors import CLIError, one_line

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MAX_CLASSES", "MIN_DISTINCT_SHARE", "check_finite", "infer_task", "plain",
           "read_csv", "text_cells", "tune_data"]

# --task auto: a numeric target is a quantity (regression) if it has a non-integer
# value, or more than MAX_CLASSES distinct values that are also more than
# MIN_DISTINCT_SHARE of the rows; anything else is class labels.
MAX_CLASSES = 20
MIN_DISTINCT_SHARE = 0.05


# -- reading ------------------------------------------------------------------------
def read_csv(path: str, header: bool = True) -> pd.DataFrame:
    """Read ``path``, naming a headerless file's columns by their 0-based position."""
    import pandas as pd

    try:
        frame = pd.read_csv(path, header=0 if header else None)
    except FileNotFoundError:
        raise CLIError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise CLIError(f"{path} is a directory, not a CSV file") from None
    except pd.errors.EmptyDataError:
        raise CLIError(f"{path} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise CLIError(f"cannot read {path} as CSV: {one_line(exc)}") from None
    if frame.empty:
        raise CLIError(f"{path} has a header but no data rows")
    if not header:
        frame.columns = [str(i) for i in range(frame.shape[1])]
        # A header read as data: text all along the first row, numbers below it.
        first, rest = frame.iloc[0], frame.iloc[1:].apply(pd.to_numeric, errors="coerce")
        numbers_below = bool(rest.notna().to_numpy().any())
        if numbers_below and not any(_is_number(v) for v in first.dropna()):
            raise CLIError(
                f"the first row of {path} looks like a header ({', '.join(map(str, first))}); "
                "drop --no-header"
            )
    elif all(_is_number(name) for name in frame.columns):
        print(f"skoptnn: note: every column name in the first row of {path} is a number; if "
              "the file has no header row, pass --no-header", file=sys.stderr)
    return frame


def text_cells(values: pd.Series) -> pd.Series:
    """Mask of the cells of a column that hold something other than a number."""
    import pandas as pd

    return values.notna() & pd.to_numeric(values, errors="coerce").isna()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def plain(value: Any) -> Any:
    """``value`` as a Python scalar, to quote it in a message as the user wrote it."""
    # numpy scalars print as np.int64(3) under repr; users wrote 3.
    return value.item() if hasattr(value, "item") else value


# -- what tune trains on ----------------------------------------------------------------
def tune_data(args: argparse.Namespace) -> tuple[pd.DataFrame, pd.Series, str]:
    """The features, the target and the task, after every up-front check."""
    frame, target = _load_tune_data(args)
    n_rows = len(frame)
    frame = frame.dropna(subset=[target])
    if frame.empty:
        raise CLIError(f"target column {target!r} has no values")
    if len(frame) < n_rows:
        print(f"Dropped {n_rows - len(frame)} of {n_rows} rows with no value in {target!r}.")
    X = frame.drop(columns=[target])
    y = frame[target]
    if X.shape[1] == 0:
        raise CLIError(f"no feature columns besides the target {target!r}")
    _check_target_finite(y)
    task = infer_task(y) if args.task == "auto" else args.task
    if task == "classification":
        _check_classification_target(y, inferred=args.task == "auto")
    else:
        _check_regression_target(y)
    check_finite(X, args.data)
    _note_mostly_numeric(X, args.data)
    return X, y, task


def _load_tune_data(args: argparse.Namespace) -> tuple[pd.DataFrame, str]:
    if args.data is None:
        from sklearn.datasets import load_breast_cancer

        frame = load_breast_cancer(as_frame=True).frame
        if args.target is not None and args.target != "target":
            raise CLIError("--target needs DATA.csv (the demo data's target is 'target')")
        if args.no_header:
            raise CLIError("--no-header needs DATA.csv")
        return frame, "target"
    if args.target is None:
        raise CLIError("tune DATA.csv needs --target COLUMN")
    frame = read_csv(args.data, header=not args.no_header)
    if args.target not in frame.columns:
        raise CLIError(
            f"target column {args.target!r} not in {args.data}; available columns: "
            + ", ".join(map(str, frame.columns))
        )
    return frame, args.target


# -- the task and its target ------------------------------------------------------------
def infer_task(y: pd.Series) -> str:
    """'regression' for a numeric target that looks like a quantity (see MAX_CLASSES).

    Examples
    --------
    >>> import pandas as pd
    >>> infer_task(pd.Series([0.5, 1.0, 2.0]))
    'regression'
    >>> infer_task(pd.Series([0, 1, 1, 0]))
    'classification'
    """
    import numpy as np
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    if not is_numeric_dtype(y) or is_bool_dtype(y):
        return "classification"
    values = y.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    if (finite != np.round(finite)).any():
        return "regression"
    n_distinct = y.nunique()
    if n_distinct > MAX_CLASSES and n_distinct > MIN_DISTINCT_SHARE * len(y):
        return "regression"
    return "classification"


def _check_classification_target(y: pd.Series, inferred: bool) -> None:
    from pandas.api.types import is_numeric_dtype
    from sklearn.utils.multiclass import type_of_target

    counts = y.value_counts()
    if len(counts) < 2:
        only = f" (only {plain(counts.index[0])!r})" if len(counts) else ""
        raise CLIError(f"target {y.name!r} needs at least 2 classes, found {len(counts)}{only}")
    if type_of_target(y) == "continuous":
        example = next(v for v in y if float(v) != round(float(v)))
        raise CLIError(
            f"target {y.name!r} has non-integer values (e.g. {plain(example)!r}), which "
            "cannot be class labels; use --task regression (or auto)"
        )
    if counts.min() < 2 and is_numeric_dtype(y) and len(counts) > len(y) // 2:
        # Numbers, most of them once: a small quantity rather than classes.
        how = "tune treats it as classes by the --task auto rule" if inferred else "as classes"
        raise CLIError(
            f"target {y.name!r} has {len(counts)} distinct values in {len(y)} rows, and {how} "
            "each needs at least 2 rows; if it is a quantity, pass --task regression"
        )
    if counts.min() < 2:
        raise CLIError(
            f"class {plain(counts.idxmin())!r} of {y.name!r} has a single row; every class needs "
            "at least 2 for the stratified test split"
        )


def _check_target_finite(y: pd.Series) -> None:
    import numpy as np
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    if not is_numeric_dtype(y) or is_bool_dtype(y):
        return
    n_inf = int(np.isinf(y.to_numpy(dtype=float)).sum())
    if n_inf:
        raise CLIError(f"target {y.name!r} has {n_inf} infinite value(s); replace them, or "
                       "blank them to drop those rows")


def _check_regression_target(y: pd.Series) -> None:
    from pandas.api.types import is_numeric_dtype

    if not is_numeric_dtype(y):
        example = y[text_cells(y)].iloc[0] if text_cells(y).any() else y.iloc[0]
        raise CLIError(f"target {y.name!r} is not numeric (e.g. {plain(example)!r}); "
                       "--task regression needs numbers")
    if y.nunique() < 2:
        raise CLIError(f"target {y.name!r} is constant ({plain(y.iloc[0])!r} in every row): "
                       "there is nothing to predict")


# -- the features -----------------------------------------------------------------------
def check_finite(X: pd.DataFrame, path: str | None) -> None:
    """Refuse infinite values now: the search would stop on them, trials later."""
    import numpy as np

    where = f" of {path}" if path else ""
    for column in X.select_dtypes(include="number").columns:
        values = X[column].to_numpy(dtype=float)
        infinite = np.isinf(values)
        if infinite.any():
            raise CLIError(
                f"column {column!r}{where} has {int(infinite.sum())} infinite value(s) (e.g. "
                f"{values[infinite][0]}); replace them with numbers, or blank them to have them "
                "imputed"
            )


def _note_mostly_numeric(X: pd.DataFrame, path: str | None) -> None:
    """Point out a column of numbers with some text values in it.

    pandas reads it as text, so the pipeline one-hot encodes every number as a
    category of its own: right for ticket or zip codes, wrong for a numeric
    column with a few typos or '?' markers, which would go unnoticed.
    """
    from pandas.api.types import is_numeric_dtype

    for column in X.columns:
        values = X[column]
        if is_numeric_dtype(values):
            continue
        bad = text_cells(values)
        if bad.any() and values.notna().sum() > 2 * bad.sum():  # numbers are the majority
            print(
                f"skoptnn: note: column {column!r} of {path} is mostly numbers but has "
                f"{bad.sum()} text value(s), e.g. {plain(values[bad].iloc[0])!r}, so each "
                "distinct value becomes a category; if it is numeric, blank those cells "
                "(blanks are imputed)",
                file=sys.stderr,
            )
