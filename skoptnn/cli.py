"""Command line: ``skoptnn tune`` and ``skoptnn predict``.

TensorFlow is imported inside the commands, never at module level, so that
``skoptnn --help`` answers instantly.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["main"]

STEP = "optimizedmlpclassifier"  # the step name make_pipeline would give


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


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), got {value}")
    return value


_DATA_HELP = "CSV file, with a header row unless --no-header"


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skoptnn",
        description="Tune a Keras MLP classifier with BayesSearchCV and predict with it.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    tune = commands.add_parser(
        "tune",
        help="tune a classifier on a CSV file",
        description=(
            "Hold out a stratified test set, tune an imputing/scaling/one-hot pipeline "
            "ending in OptimizedMLPClassifier with BayesSearchCV on the rest, and save "
            "the best pipeline (model.joblib), the trials (trials.csv) and a "
            "convergence plot (convergence.png). Without DATA it runs a quick demo on "
            "scikit-learn's breast-cancer data."
        ),
    )
    tune.add_argument("data", nargs="?", metavar="DATA.csv", help=_DATA_HELP)
    tune.add_argument("--target", metavar="COLUMN", help="column to predict (required with DATA)")
    tune.add_argument("--no-header", action="store_true",
                      help="DATA.csv has no header row (like the Pima CSV): columns are named "
                           "by their 0-based position, so --target 8 is the ninth column")
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
    tune.add_argument("--scoring", default="accuracy",
                      help="scikit-learn scorer name (default: accuracy)")
    tune.add_argument("--test-size", type=_fraction, default=0.2,
                      help="held-out test fraction (default: 0.2)")
    tune.add_argument("--output", default="skoptnn-output", metavar="DIR",
                      help="output directory (default: skoptnn-output)")
    tune.add_argument("--random-state", type=int, default=0, help="seed (default: 0)")
    tune.add_argument("--epochs", type=_positive_int,
                      help="maximum epochs per fit, with early stopping "
                           "(default: 100; 60 for the demo)")

    predict = commands.add_parser(
        "predict",
        help="predict with a model saved by 'skoptnn tune'",
        description=(
            "Write the predicted class and one probability column per class for every "
            "row of DATA. Columns the model was not trained on (such as the target) "
            "are ignored. Only load model files you trust: joblib runs code on load."
        ),
    )
    predict.add_argument("model", metavar="MODEL", help="model.joblib written by 'skoptnn tune'")
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


def _check_target(y) -> None:
    from pandas.api.types import is_numeric_dtype
    from sklearn.utils.multiclass import type_of_target

    counts = y.value_counts()
    if len(counts) < 2:
        only = f" (only {_plain(counts.index[0])!r})" if len(counts) else ""
        raise CLIError(f"target {y.name!r} needs at least 2 classes, found {len(counts)}{only}")
    if type_of_target(y) == "continuous":
        raise CLIError(
            f"target {y.name!r} looks continuous (float values); tune trains a classifier"
        )
    if counts.min() < 2 and is_numeric_dtype(y) and len(counts) > len(y) // 2:
        raise CLIError(
            f"target {y.name!r} has {len(counts)} distinct values in {len(y)} rows: it looks "
            "like a regression target, but tune trains a classifier"
        )
    if counts.min() < 2:
        raise CLIError(
            f"class {_plain(counts.idxmin())!r} of {y.name!r} has a single row; every class needs "
            "at least 2 for the stratified test split"
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


def _as_object(X):
    # SimpleImputer rejects bool columns; as objects they are plain categories.
    # Module level so that the saved pipeline can be unpickled.
    return X.astype(object)


def _make_pipeline(X, args: argparse.Namespace, epochs: int):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    from skoptnn import OptimizedMLPClassifier

    numeric = list(X.select_dtypes(include="number").columns)
    categorical = [c for c in X.columns if c not in numeric]
    preprocess = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(), StandardScaler()), numeric),
            ("categorical", make_pipeline(
                FunctionTransformer(_as_object, feature_names_out="one-to-one"),
                SimpleImputer(strategy="most_frequent"),
                OneHotEncoder(handle_unknown="ignore"),
            ), categorical),
        ],
        # Dense output: the network densifies anyway, and one-hot blocks are small.
        sparse_threshold=0.0,
    )
    model = OptimizedMLPClassifier(
        epochs=epochs, early_stopping=True, patience=10, random_state=args.random_state,
    )
    return Pipeline([("preprocess", preprocess), (STEP, model)])


def _tune(args: argparse.Namespace) -> int:
    demo = args.data is None
    n_iter = args.n_iter or (15 if demo else 30)
    cv = args.cv or 5
    epochs = args.epochs or (60 if demo else 100)

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
    _check_target(y)
    _note_mostly_numeric(X, args.data)

    from sklearn.metrics import get_scorer

    try:
        scorer = get_scorer(args.scoring)
    except ValueError:
        raise CLIError(f"unknown --scoring {args.scoring!r}") from None
    out = Path(args.output)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"cannot create output directory {out}: {_one_line(exc)}") from None
    try:  # now, not after the search
        tempfile.TemporaryFile(dir=out).close()
    except OSError as exc:
        raise CLIError(f"cannot write to output directory {out}: {_one_line(exc)}") from None
    for name in ("model.joblib", "trials.csv", "convergence.png"):
        if (out / name).is_dir():
            raise CLIError(f"{out / name} is a directory; tune writes a file there")

    from sklearn.model_selection import StratifiedKFold, train_test_split

    # train_test_split's own error for this does not name the option to change.
    n_test = math.ceil(args.test_size * len(y))
    n_classes = y.nunique()
    if min(n_test, len(y) - n_test) < n_classes:
        raise CLIError(
            f"--test-size {args.test_size} leaves {n_test} test and {len(y) - n_test} training "
            f"rows of {len(y)}; each split needs at least one row per class ({n_classes})"
        )
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=args.test_size, stratify=y, random_state=args.random_state
    )
    smallest = y_train.value_counts().min()
    if smallest < cv:
        raise CLIError(
            f"the smallest class has {smallest} training rows, fewer than --cv {cv}; "
            "lower --cv or add data"
        )
    _check_early_stopping_split(y_train, cv)

    import joblib
    from skopt import BayesSearchCV
    from threadpoolctl import threadpool_limits

    from .search import ProgressCallback, trials_dataframe
    from .spaces import classifier_space

    pipeline = _make_pipeline(X_train, args, epochs)
    search = BayesSearchCV(
        pipeline,
        classifier_space(prefix=STEP),
        n_iter=n_iter,
        cv=StratifiedKFold(cv, shuffle=True, random_state=args.random_state),
        scoring=args.scoring,
        n_jobs=args.n_jobs,
        random_state=args.random_state,
    )
    print(f"Tuning on {len(X_train)} rows ({X.shape[1]} features), {len(X_test)} held out; "
          f"{n_iter} configurations x {cv} folds.")
    start = time.perf_counter()
    # scikit-optimize's Gaussian process is thousands of tiny BLAS calls: one
    # BLAS thread is much faster for them beside TensorFlow's thread pools.
    backend = "threading" if args.parallel == "threads" else "loky"
    progress = ProgressCallback(n_iter, file=sys.stderr)
    try:
        with threadpool_limits(1, user_api="blas"), joblib.parallel_backend(backend):
            search.fit(X_train, y_train, callback=progress)
    except ValueError as exc:  # e.g. a --scoring that does not fit these labels
        progress.close()  # the error goes on a line of its own
        raise CLIError(f"the search failed: {_one_line(exc)}") from None
    elapsed = time.perf_counter() - start

    test_score = scorer(search.best_estimator_, X_test, y_test)
    print(f"Search took {elapsed:.0f} s.")
    print("Best parameters:")
    for name, value in sorted(search.best_params_.items()):
        print(f"  {name.removeprefix(STEP + '__')} = {value}")
    print(f"CV {args.scoring}: {search.best_score_:.4f}")
    print(f"Held-out test {args.scoring}: {test_score:.4f}")

    try:
        joblib.dump(search.best_estimator_, out / "model.joblib")
        trials_dataframe(search).to_csv(out / "trials.csv")
        _save_convergence(search, out / "convergence.png")
    except OSError as exc:
        raise CLIError(f"cannot write the results to {out}: {_one_line(exc)}") from None
    print(f"Wrote {out / 'model.joblib'}, {out / 'trials.csv'}, {out / 'convergence.png'}")
    return 0


def _save_convergence(search: Any, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt
    from skopt.plots import plot_convergence

    ax = plot_convergence(search.optimizer_results_[0])
    ax.set_ylabel("min of -(CV score) after n trials")
    ax.figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(ax.figure)


# -- predict ------------------------------------------------------------------
def _load_model(path: str):
    if not Path(path).is_file():
        raise CLIError(f"no such model file: {path}")
    import joblib
    from sklearn.pipeline import Pipeline

    from skoptnn import OptimizedMLPClassifier

    try:
        model = joblib.load(path)
    except Exception as exc:  # unpickling fails in many ways; all mean "not a model"
        raise CLIError(f"{path} is not a model saved by 'skoptnn tune': {_one_line(exc)}") from None
    if not (isinstance(model, Pipeline) and isinstance(model[-1], OptimizedMLPClassifier)):
        raise CLIError(
            f"{path} is not a model saved by 'skoptnn tune' (found {type(model).__name__})"
        )
    return model


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


def _predict(args: argparse.Namespace) -> int:
    import pandas as pd

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
    result = pd.DataFrame({"prediction": model.predict(X)}, index=frame.index)
    proba = model.predict_proba(X)
    for i, label in enumerate(model.classes_):
        result[f"proba_{label}"] = proba[:, i]
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
    >>> main(["predict", "demo-output/model.joblib", "new.csv"])  # doctest: +SKIP
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
