"""Command line: ``skoptnn tune`` and ``skoptnn predict``.

TensorFlow is imported inside the commands, never at module level, so that
``skoptnn --help`` answers instantly.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["main"]

# The step names make_pipeline would give.
STEPS = {"classification": "optimizedmlpclassifier", "regression": "optimizedmlpregressor"}
STEP = STEPS["classification"]
DEFAULT_SCORING = {"classification": "accuracy", "regression": "r2"}
# --task auto: a numeric target is a quantity (regression) if it has a non-integer
# value, or more than MAX_CLASSES distinct values that are also more than
# MIN_DISTINCT_SHARE of the rows; anything else is class labels.
MAX_CLASSES = 20
MIN_DISTINCT_SHARE = 0.05
# What tune writes to --output, besides the results.
CHECKPOINT = "checkpoint.json"
SETTINGS = "tune-settings.json"
OUTPUTS = ("model.skops", "model.joblib", "trials.csv", "convergence.png")


class CLIError(Exception):
    """A problem with the user's input: reported in one line, exit code 2."""


# -- argument parsing ---------------------------------------------------------
def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _folds(text: str) -> int:
    value = int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"cross-validation needs at least 2 folds, got {value}")
    return value


def _n_jobs(text: str) -> int:
    value = int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be >= 1, or negative to count back from all "
                                          "cores (-1: every core), not 0")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), got {value}")
    return value


_DATA_HELP = "CSV file, with a header row unless --no-header"


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skoptnn",
        description="Tune a Keras MLP classifier or regressor with BayesSearchCV and predict "
                    "with it.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    tune = commands.add_parser(
        "tune",
        help="tune a classifier or regressor on a CSV file",
        description=(
            "Hold out a test set (stratified for classification), tune an "
            "imputing/scaling/one-hot pipeline ending in OptimizedMLPClassifier or "
            "OptimizedMLPRegressor with BayesSearchCV on the rest, and save the best "
            "pipeline (model.skops, and model.joblib), the trials (trials.csv) and a "
            "convergence plot (convergence.png). After every finished trial the search is "
            f"saved to {CHECKPOINT} in the output folder; if the run is killed, the same "
            "command with --resume continues it. Without DATA it runs a quick demo on "
            "scikit-learn's breast-cancer data."
        ),
    )
    tune.add_argument("data", nargs="?", metavar="DATA.csv", help=_DATA_HELP)
    tune.add_argument("--target", metavar="COLUMN", help="column to predict (required with DATA)")
    tune.add_argument("--no-header", action="store_true",
                      help="DATA.csv has no header row (like the Pima CSV): columns are named "
                           "by their 0-based position, so --target 8 is the ninth column")
    tune.add_argument(
        "--task", choices=["auto", "classification", "regression"], default="auto",
        help=f"auto (the default): regression if the target is numeric and has a non-integer "
             f"value, or more than {MAX_CLASSES} distinct values that are also more than "
             f"{MIN_DISTINCT_SHARE * 100:g}%% of the rows; classification otherwise",
    )
    tune.add_argument("--n-iter", type=_positive_int,
                      help="configurations to try (default: 30; 15 for the demo)")
    tune.add_argument("--cv", type=_folds,
                      help="cross-validation folds, >= 2 (default: 5)")
    tune.add_argument("--n-jobs", type=_n_jobs, default=1,
                      help="parallel fits; -1 for one per core (default: 1)")
    tune.add_argument(
        "--parallel", choices=["threads", "processes"], default="threads",
        help="with --n-jobs > 1: threads share each architecture's compiled graph and "
             "start at once; processes compile it in each worker and first import "
             "TensorFlow there (a few seconds), then ran full-space searches 5-10%% "
             "faster in benchmarks/search_scaling.py (default: threads)",
    )
    tune.add_argument("--scoring",
                      help="scikit-learn scorer name (default: accuracy for classification, "
                           "r2 for regression)")
    tune.add_argument("--test-size", type=_fraction, default=0.2,
                      help="held-out test fraction (default: 0.2)")
    tune.add_argument("--output", default="skoptnn-output", metavar="DIR",
                      help="output directory (default: skoptnn-output)")
    tune.add_argument("--random-state", type=int, default=0, help="seed (default: 0)")
    tune.add_argument("--epochs", type=_positive_int,
                      help="maximum epochs per fit, with early stopping "
                           "(default: 100; 60 for the demo)")
    tune.add_argument("--time-budget", type=_seconds, metavar="SECONDS",
                      help="stop after the trial that takes the search past SECONDS, and "
                           "write every output as usual (--resume continues it later)")
    tune.add_argument("--resume", action="store_true",
                      help=f"continue the search saved in --output's {CHECKPOINT} (after a "
                           "kill, a time budget or to raise --n-iter) instead of starting over; "
                           "refused if the data file or a setting differs")
    tune.add_argument("--no-prune", action="store_true",
                      help="train every configuration to the end; by default a fit stops "
                           "when its best validation loss (the regressor's: MAE) is worse "
                           "than the median of earlier configurations' on the same fold at "
                           "the same epoch (checked after 8, 16, 32 and 64 epochs, those "
                           "below --epochs)")
    tune.add_argument("--no-defaults-first", action="store_true",
                      help="do not try the model's default configuration as the first one")

    predict = commands.add_parser(
        "predict",
        help="predict with a model saved by 'skoptnn tune'",
        description=(
            "Write the prediction for every row of DATA (for a classifier also one "
            "probability column per class). Columns the model was not trained on (such as "
            "the target) are ignored. model.skops loads without running code: anything in "
            "it beyond scikit-learn's and skoptnn's own types is refused. model.joblib runs "
            "code on load: only load joblib files you trust."
        ),
    )
    predict.add_argument("model", metavar="MODEL",
                         help="model.skops (or model.joblib) written by 'skoptnn tune'")
    predict.add_argument("data", metavar="DATA.csv", help=_DATA_HELP)
    predict.add_argument("--no-header", action="store_true",
                         help="DATA.csv has no header row, for a model tuned with --no-header: "
                              "either the training file's columns, or only the features, in "
                              "their training order")
    predict.add_argument("--output", default="predictions.csv",
                         help="output CSV (default: predictions.csv)")
    return parser


# -- shared helpers -----------------------------------------------------------
def _read_csv(path: str, header: bool = True):
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
        raise CLIError(f"cannot read {path} as CSV: {_one_line(exc)}") from None
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


def _text_cells(values):
    """Mask of the cells of a column that hold something other than a number."""
    import pandas as pd

    return values.notna() & pd.to_numeric(values, errors="coerce").isna()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


# -- tune ---------------------------------------------------------------------
def _load_tune_data(args: argparse.Namespace):
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
    frame = _read_csv(args.data, header=not args.no_header)
    if args.target not in frame.columns:
        raise CLIError(
            f"target column {args.target!r} not in {args.data}; available columns: "
            + ", ".join(map(str, frame.columns))
        )
    return frame, args.target


def _plain(value):
    # numpy scalars print as np.int64(3) under repr; users wrote 3.
    return value.item() if hasattr(value, "item") else value


# -- the task and its target ----------------------------------------------------
def _infer_task(y) -> str:
    """'regression' for a numeric target that looks like a quantity (see MAX_CLASSES)."""
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


def _check_classification_target(y, inferred: bool) -> None:
    from pandas.api.types import is_numeric_dtype
    from sklearn.utils.multiclass import type_of_target

    counts = y.value_counts()
    if len(counts) < 2:
        only = f" (only {_plain(counts.index[0])!r})" if len(counts) else ""
        raise CLIError(f"target {y.name!r} needs at least 2 classes, found {len(counts)}{only}")
    if type_of_target(y) == "continuous":
        example = next(v for v in y if float(v) != round(float(v)))
        raise CLIError(
            f"target {y.name!r} has non-integer values (e.g. {_plain(example)!r}), which "
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
            f"class {_plain(counts.idxmin())!r} of {y.name!r} has a single row; every class needs "
            "at least 2 for the stratified test split"
        )


def _check_target_finite(y) -> None:
    import numpy as np
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    if not is_numeric_dtype(y) or is_bool_dtype(y):
        return
    n_inf = int(np.isinf(y.to_numpy(dtype=float)).sum())
    if n_inf:
        raise CLIError(f"target {y.name!r} has {n_inf} infinite value(s); replace them, or "
                       "blank them to drop those rows")


def _check_regression_target(y) -> None:
    from pandas.api.types import is_numeric_dtype

    if not is_numeric_dtype(y):
        example = y[_text_cells(y)].iloc[0] if _text_cells(y).any() else y.iloc[0]
        raise CLIError(f"target {y.name!r} is not numeric (e.g. {_plain(example)!r}); "
                       "--task regression needs numbers")
    if y.nunique() < 2:
        raise CLIError(f"target {y.name!r} is constant ({_plain(y.iloc[0])!r} in every row): "
                       "there is nothing to predict")


def _check_finite(X, path: str | None) -> None:
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


def _note_mostly_numeric(X, path) -> None:
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
        bad = _text_cells(values)
        if bad.any() and values.notna().sum() > 2 * bad.sum():  # numbers are the majority
            print(
                f"skoptnn: note: column {column!r} of {path} is mostly numbers but has "
                f"{bad.sum()} text value(s), e.g. {_plain(values[bad].iloc[0])!r}, so each "
                "distinct value becomes a category; if it is numeric, blank those cells "
                "(blanks are imputed)",
                file=sys.stderr,
            )


# -- sizes: what would fail after the search is refused before it ----------------
def _check_classification_sizes(y, test_size: float, cv: int) -> None:
    # train_test_split's own error for this does not name the option to change.
    n_test = math.ceil(test_size * len(y))
    n_classes = y.nunique()
    if min(n_test, len(y) - n_test) < n_classes:
        raise CLIError(
            f"--test-size {test_size} leaves {n_test} test and {len(y) - n_test} training "
            f"rows of {len(y)}; each split needs at least one row per class ({n_classes})"
        )


def _check_stratified_folds(y_train, cv: int) -> None:
    smallest = y_train.value_counts().min()
    if smallest < cv:
        raise CLIError(
            f"the smallest class has {smallest} training rows, fewer than --cv {cv}; "
            "lower --cv or add data"
        )
    _check_early_stopping_split(y_train, cv)


def _check_early_stopping_split(y_train, cv: int) -> None:
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


# -- the pipeline -----------------------------------------------------------------
def _as_object(X):
    # No longer in new pipelines (bool columns get a branch of their own, so that
    # model.skops holds nothing but scikit-learn and skoptnn types); kept so that
    # model.joblib files saved by earlier versions still unpickle.
    return X.astype(object)


def _make_pipeline(X, task: str, args: argparse.Namespace, epochs: int):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from skoptnn import OptimizedMLPClassifier, OptimizedMLPRegressor

    numeric = list(X.select_dtypes(include="number").columns)
    # pandas reads a column of True/False with no blanks as bool, which
    # SimpleImputer rejects; having no blanks, it needs no imputing.
    boolean = list(X.select_dtypes(include="bool").columns)
    categorical = [c for c in X.columns if c not in numeric and c not in boolean]
    preprocess = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(), StandardScaler()), numeric),
            ("categorical", make_pipeline(
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
        epochs=epochs, early_stopping=True, patience=10, random_state=args.random_state,
    )
    return Pipeline([("preprocess", preprocess), (STEPS[task], model)])


# -- the output folder, its settings and checkpoint ---------------------------------
def _prepare_output(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"cannot create output directory {out}: {_one_line(exc)}") from None
    try:  # now, not after the search
        tempfile.TemporaryFile(dir=out).close()
    except OSError as exc:
        raise CLIError(f"cannot write to output directory {out}: {_one_line(exc)}") from None
    for name in (*OUTPUTS, CHECKPOINT, SETTINGS):
        if (out / name).is_dir():
            raise CLIError(f"{out / name} is a directory; tune writes a file there")


def _settings(args: argparse.Namespace, task: str, scoring: str, cv: int, epochs: int) -> dict:
    """What a resumed search must share with the one it continues."""
    if args.data is None:
        data = "scikit-learn's breast-cancer data"
    else:
        data = "sha256:" + hashlib.sha256(Path(args.data).read_bytes()).hexdigest()
    return {
        "data": data, "--target": args.target or "target", "--no-header": args.no_header,
        "--task": task, "--scoring": scoring, "--cv": cv, "--test-size": args.test_size,
        "--random-state": args.random_state, "--epochs": epochs,
        "--no-prune": args.no_prune, "--no-defaults-first": args.no_defaults_first,
    }


# A settings file without these flags comes from a tune that had neither feature.
_ADDED_FLAGS = {"--no-prune": True, "--no-defaults-first": True}


def _settings_differences(saved: dict, now: dict, data_path: str | None) -> list[str]:
    found = []
    for key, value in now.items():
        before = saved.get(key, _ADDED_FLAGS.get(key))
        if before == value:
            continue
        if key == "data":
            found.append(f"{data_path or 'the demo data'} is not the data it was started on "
                         "(the file's contents differ)")
        else:
            found.append(f"{key} was {before!r}, now {value!r}")
    return found


def _start_or_resume(out: Path, settings: dict, args: argparse.Namespace, n_iter: int) -> int:
    """Check --resume against the saved settings; return the trials already done."""
    from ..search.checkpoint import Checkpoint, atomic_write_text

    try:
        checkpoint = Checkpoint.load(out / CHECKPOINT)
    except ValueError:
        checkpoint = None
    n_done = len(checkpoint.trials) if checkpoint is not None else 0
    if not args.resume:
        if 0 < n_done < n_iter:
            print(f"skoptnn: note: {out} holds an unfinished search ({n_done} trials); "
                  "starting a new one over it (--resume would continue it)", file=sys.stderr)
        atomic_write_text(out / SETTINGS, json.dumps(settings, indent=1))
        return 0
    try:
        saved = json.loads((out / SETTINGS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise CLIError(f"--resume: there is no search to resume in {out} (no readable "
                       f"{SETTINGS}); run without --resume to start one") from None
    differ = _settings_differences(saved, settings, args.data)
    if differ:
        raise CLIError(f"cannot resume the search in {out}: " + "; ".join(differ)
                       + "; run without --resume to start over, or choose another --output")
    return n_done


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


# -- tune -------------------------------------------------------------------------
def _tune(args: argparse.Namespace) -> int:
    demo = args.data is None
    n_iter = args.n_iter or (15 if demo else 30)
    cv = args.cv or 5
    epochs = args.epochs or (60 if demo else 100)

    X, y, task = _tune_data(args)
    scoring = args.scoring or DEFAULT_SCORING[task]
    from sklearn.metrics import get_scorer

    try:
        scorer = get_scorer(scoring)
    except ValueError:
        raise CLIError(f"unknown --scoring {scoring!r}") from None
    out = Path(args.output)
    _prepare_output(out)
    X_train, X_test, y_train, y_test, splitter = _split(X, y, task, args, cv)
    settings = _settings(args, task, scoring, cv, epochs)
    n_done = _start_or_resume(out, settings, args, n_iter)

    search = _make_search(X_train, task, args, n_iter, splitter, scoring, epochs, out)
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
    _write_outputs(search, out)
    print("Wrote " + ", ".join(str(out / name) for name in OUTPUTS))
    return 0


def _tune_data(args: argparse.Namespace):
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
    task = _infer_task(y) if args.task == "auto" else args.task
    if task == "classification":
        _check_classification_target(y, inferred=args.task == "auto")
    else:
        _check_regression_target(y)
    _check_finite(X, args.data)
    _note_mostly_numeric(X, args.data)
    return X, y, task


def _split(X, y, task: str, args: argparse.Namespace, cv: int):
    """Hold out the test rows; return them with the CV splitter for the rest."""
    from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

    if task == "classification":
        _check_classification_sizes(y, args.test_size, cv)
    else:
        _check_regression_sizes(len(y), args.test_size, cv)
    stratify = y if task == "classification" else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=args.test_size, stratify=stratify, random_state=args.random_state
    )
    if task == "classification":
        _check_stratified_folds(y_train, cv)
        splitter = StratifiedKFold(cv, shuffle=True, random_state=args.random_state)
    else:
        splitter = KFold(cv, shuffle=True, random_state=args.random_state)
    return X_train, X_test, y_train, y_test, splitter


def _make_search(X_train, task, args, n_iter, splitter, scoring, epochs, out):
    from ..search import ResumableBayesSearchCV
    from ..spaces import classifier_space, regressor_space

    space = classifier_space if task == "classification" else regressor_space
    return ResumableBayesSearchCV(
        _make_pipeline(X_train, task, args, epochs),
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


def _run_search(search, X_train, y_train, args, n_iter: int, n_done: int, out: Path):
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
        raise CLIError(f"the search failed: {_one_line(exc)}") from None
    except KeyboardInterrupt:
        progress.close()
        raise CLIError(f"interrupted; the finished trials are saved in {out / CHECKPOINT}: "
                       "the same command with --resume continues the search") from None
    progress.close()
    return budget


def _report(search, scoring, elapsed, test_score, n_iter, budget, args) -> None:
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


def _write_outputs(search: Any, out: Path) -> None:
    """Write the model files, the trials table and the plot, each atomically."""
    import joblib
    import skops.io

    from ..search import trials_dataframe
    from ..search.checkpoint import atomic_path

    writers = {
        "model.skops": lambda path: skops.io.dump(search.best_estimator_, path),
        "model.joblib": lambda path: joblib.dump(search.best_estimator_, path),
        "trials.csv": lambda path: trials_dataframe(search).to_csv(path),
        "convergence.png": lambda path: _save_convergence(search, path),
    }
    try:
        for name in OUTPUTS:
            with atomic_path(out / name) as tmp:
                writers[name](tmp)
    except OSError as exc:
        raise CLIError(f"cannot write the results to {out}: {_one_line(exc)}") from None


def _save_convergence(search: Any, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    from ..plotting import plot_convergence

    ax = plot_convergence(search)
    ax.figure.savefig(path, dpi=100, bbox_inches="tight", format="png")
    plt.close(ax.figure)


# -- predict ------------------------------------------------------------------
def _load_model(path: str):
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


def _load_skops(path: str):
    """Load a .skops file, refusing any type beyond skoptnn's and skops' trusted ones."""
    import skops.io

    from skoptnn import trusted_types

    try:
        # Reads the file's schema only: nothing in it is constructed or run.
        untrusted = skops.io.get_untrusted_types(file=path)
    except Exception as exc:  # a bad zip or schema fails in many ways; all mean "not a model"
        raise CLIError(f"{path} is not a model saved by 'skoptnn tune': {_one_line(exc)}") from None
    unexpected = sorted(set(untrusted) - set(trusted_types()))
    if unexpected:
        raise CLIError(
            f"{path} was not loaded: it refers to types that neither skops nor skoptnn trusts, "
            f"and loading them could run code: {', '.join(unexpected)}"
        )
    try:
        return skops.io.load(path, trusted=untrusted)
    except Exception as exc:
        raise CLIError(f"{path} is not a model saved by 'skoptnn tune': {_one_line(exc)}") from None


def _load_joblib(path: str):
    import joblib

    print(f"skoptnn: note: loading {path} runs code stored in it (joblib is pickle): use only "
          "files you trust; model.skops loads without running code", file=sys.stderr)
    try:
        return joblib.load(path)
    except Exception as exc:  # unpickling fails in many ways; all mean "not a model"
        raise CLIError(f"{path} is not a model saved by 'skoptnn tune': {_one_line(exc)}") from None


def _check_numeric(model, X, path: str) -> None:
    """Name a column that was numeric in training but holds text in ``X``."""
    # A pipeline saved by tune has this step; other pipelines are left to themselves.
    transformers = getattr(model.named_steps.get("preprocess"), "transformers_", [])
    numeric = next((cols for name, _, cols in transformers if name == "numeric"), [])
    for column in numeric:
        values = X[column]
        bad = _text_cells(values)
        if bad.any():
            raise CLIError(
                f"column {column!r} was numeric in training but {path} has non-numeric "
                f"values in it, e.g. {_plain(values[bad].iloc[0])!r}"
            )


def _position_columns(frame, expected: list, path: str):
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


def _predictions(model, X, index):
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


def _predict(args: argparse.Namespace) -> int:
    model = _load_model(args.model)
    frame = _read_csv(args.data, header=not args.no_header)
    expected = list(model.feature_names_in_)
    if args.no_header:
        frame = _position_columns(frame, expected, args.data)
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise CLIError(f"{args.data} lacks the model's columns: {', '.join(map(str, missing))}")
    X = frame[expected]  # drops the target and any other column the model did not see
    _check_numeric(model, X, args.data)
    _check_finite(X, args.data)
    result = _predictions(model, X, frame.index)
    try:
        result.to_csv(args.output, index=False)
    except OSError as exc:
        raise CLIError(f"cannot write {args.output}: {_one_line(exc)}") from None
    print(f"Wrote {len(result)} predictions to {args.output}")
    return 0


# -- entry point --------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """Run the ``skoptnn`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; None reads ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 2 on bad input (after a one-line ``skoptnn: error:``
        message on stderr).

    Examples
    --------
    >>> from skoptnn.cli import main
    >>> main(["tune", "--n-iter", "12", "--output", "demo-output"])  # doctest: +SKIP
    0
    >>> main(["predict", "demo-output/model.skops", "new.csv"])  # doctest: +SKIP
    0
    """
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits; main() returns instead
        return int(exc.code or 0)
    try:
        return _tune(args) if args.command == "tune" else _predict(args)
    except CLIError as exc:
        print(f"skoptnn: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    # Run the importable module, not this __main__ copy: the saved pipeline must
    # refer to skoptnn.cli._as_object, which any other process can import.
    from skoptnn.cli import main as _main

    raise SystemExit(_main())
