"""Accuracy across tables: skoptnn's defaults against its peers (issue #24).

Usage::

    python benchmarks/accuracy.py                        # run what is missing, then report
    python benchmarks/accuracy.py --tables pima,wine --contenders skoptnn,hgb,realmlp
    python benchmarks/accuracy.py --report --markdown benchmarks/accuracy.md

Every contender is fitted with its defaults (nothing is tuned) on the same
folds of twelve tables and scored on the held-out fold. One score per table is
the headline: accuracy for classification, R^2 for regression; ROC AUC (binary
tables), balanced accuracy (classification) and RMSE (regression) are recorded
too, and the wall-clock time of each ``fit``.

Tables
    Every CSV in ``--data-dir`` (default ``../shared/data`` beside the
    repository): ``pima`` (no header, last column the 0/1 target), ``oj``
    (``Purchase``), ``hmda`` (``deny``), ``titanic`` (``survived``; missing
    ages), ``wage`` (``logwage``, regression) and ``carseats`` (``Sales``,
    regression); a CSV not in that list is read with a header and its last
    column as the target. Then scikit-learn's ``breast_cancer``, ``wine``,
    ``digits`` and ``diabetes`` (regression), and two generated tables:
    ``imbalanced`` = ``make_classification(n_samples=2000, n_features=20,
    n_informative=5, weights=[0.9], flip_y=0.02, random_state=0)`` (10%
    positives, 15 noise features) and ``friedman1`` =
    ``make_friedman1(n_samples=2000, noise=1.0, random_state=0)``. Columns
    of string, category or bool dtype are categorical; integer-coded ones
    (``oj``'s ``StoreID``) stay numeric. The package itself never reads the
    data folder.

Protocol
    ``--repeats`` x ``--folds`` K-fold (3 x 5 by default), stratified for
    classification, shuffled by ``RepeatedStratifiedKFold`` /
    ``RepeatedKFold`` with ``random_state=--seed``; the first repeat does not
    depend on ``--repeats``. Each fit's ``random_state`` is ``1000 * seed +
    100 * repeat + fold``. RealMLP-TD runs only the first ``--realmlp-repeats``
    repeats (1 by default: it is slow on a CPU). The standard error of a mean
    score is the standard deviation over its folds / sqrt(number of folds);
    folds of repeated CV share training rows, so it understates the
    uncertainty a little.

Preprocessing
    skoptnn, ``mlp`` and ``linear`` share a ``ColumnTransformer``: numeric
    columns get ``SimpleImputer(strategy="median")`` and the ``--scaler``
    (``standard``: ``StandardScaler``; ``smoothclip``: skoptnn's
    ``SmoothClipScaler``, robust scaling and smooth clipping as RealMLP's),
    categorical ones ``SimpleImputer(strategy="most_frequent")`` and
    ``OneHotEncoder(handle_unknown="ignore")``, dense. ``hgb`` gets the
    categoricals ordinal-encoded with ``categorical_features`` set (its
    native categorical support) and the numeric columns as they are, NaN
    included. ``realmlp`` gets the raw DataFrame with categoricals as pandas
    ``category`` columns (it one-hot or embeds them itself, and robust-scales
    and smooth-clips the numeric ones); pytabkit refuses NaN in numeric
    columns, so those (``titanic``'s ages) are filled with the training
    fold's median.

Contenders (``--contenders`` picks a subset)
    ``skoptnn``      OptimizedMLPClassifier / OptimizedMLPRegressor at their
                     current defaults.
    ``skoptnn-old``  the defaults of issue #24's first run, written out:
                     n_layers=2, units=64, activation="relu", dropout=0,
                     l1=0, l2=3 (classifier) / 10 (regressor), optimizer
                     "adam", learning_rate=None, epochs=100, batch_size=32,
                     early_stopping=False, and the parameters added since at
                     the values that train as before (lr_schedule="constant",
                     lr_warmup=0, label_smoothing=0, numeric_embedding="none",
                     n_ensemble=1) where the estimator has them. Its results stay valid
                     when the defaults change.
    ``skoptnn-es``   the current defaults with early_stopping=True.
    ``mlp``          scikit-learn's MLPClassifier / MLPRegressor defaults
                     with early_stopping=True (as the issue's table: 10%
                     validation split, patience 10); the regressor's target
                     is not scaled (scikit-learn's default).
    ``hgb``          HistGradientBoostingClassifier / Regressor defaults.
    ``linear``       LogisticRegression(max_iter=1000) / RidgeCV().
    ``realmlp``      pytabkit's RealMLP_TD_Classifier / RealMLP_TD_Regressor
                     defaults (device="cpu", n_threads=--threads, 1 by default:
                     PyTorch's 2 threads on a 2-core machine busy with other
                     work took 10-30x longer per fit than 1 thread).

RealMLP-TD lives in its own environment, never in the package's: this script
runs itself under ``--realmlp-python`` (default ``../venv-bench/bin/python``
beside the repository; install it from ``benchmarks/requirements-realmlp.txt``)
in a worker mode that fits one table's folds and prints one JSON result per
fold. The worker is given the table, seed, folds and fold numbers and builds
the same splits; each result carries a hash of its test rows, which this
process checks against its own. Without that Python the contender is skipped
with a note.

Results are appended, one JSON line per (table, contender, configuration,
folds, seed, repeat, fold), to ``--results`` (default
``benchmarks/accuracy_results.jsonl.gz``, gzip-compressed because its name ends
in .gz; each append adds a gzip member); a fit already there is not run again,
so an interrupted run resumes. The configuration is a hash of the
contender's parameters and the scaler, so a changed default gives new fits
rather than mixing two settings; a parameter added to skoptnn later, at the
value that trains as before (``NEW_PARAM_NO_OPS``), leaves the id as it was.
``--report`` only reads that file and prints
the tables (``--markdown FILE`` writes them too): each contender's mean score
+- standard error per table; each contender's mean rank over the tables that
every reported contender has finished (rank per table on the mean score,
ties averaged), mean fit time and fit time relative to realmlp (geometric
mean over tables of the ratio of mean fit times); and for each skoptnn
contender and table whether it is within one standard error (the best
contender's) of the best mean score.

Times are wall-clock seconds per ``fit`` (preprocessing included) on a shared
machine: compare them within one run. TensorFlow uses all cores, PyTorch
``--threads`` (1 by default) and scikit-learn's estimators their own defaults.
One untimed warm-up fit per process precedes the first timed skoptnn or
RealMLP fit.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import hashlib
import json
import math
import os
import platform
import re
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_wine,
    make_classification,
    make_friedman1,
)
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    mean_squared_error,
    r2_score,
    roc_auc_score,
)
from sklearn.model_selection import RepeatedKFold, RepeatedStratifiedKFold
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO.parent / "shared" / "data"
DEFAULT_RESULTS = REPO / "benchmarks" / "accuracy_results.jsonl.gz"
DEFAULT_REALMLP_PYTHON = REPO.parent / "venv-bench" / "bin" / "python"
RESULT_PREFIX = "@@RESULT "  # the worker's result lines on its standard output

CONTENDERS = ("skoptnn", "skoptnn-old", "skoptnn-es", "mlp", "hgb", "linear", "realmlp")
SKOPTNN = ("skoptnn", "skoptnn-old", "skoptnn-es")
PREPROCESSED = (*SKOPTNN, "mlp", "linear")  # the contenders behind the shared scaler

# The old defaults, written out (issue #24's first run); l2 is each estimator's
# default at the time, per training sample.
OLD_DEFAULTS = dict(n_layers=2, units=64, activation="relu", dropout=0.0, l1=0.0,
                    optimizer="adam", learning_rate=None, epochs=100, batch_size=32,
                    early_stopping=False)
OLD_L2 = {"classification": 3.0, "regression": 10.0}
# Parameters added to the estimators since that run, at the values that train as before:
# skoptnn-old sets them where they exist, and a parameter at such a value leaves a
# contender's configuration id as it was (its results stay valid). Any other value, or a
# new parameter missing here, gives a new id and new fits.
NEW_PARAM_NO_OPS = dict(lr_schedule="constant", lr_warmup=0.0, label_smoothing=0.0,
                        numeric_embedding="none", n_ensemble=1)
# New parameters that do nothing while another one is at the value given.
INERT_WHEN = {"embedding_scale": ("numeric_embedding", "none")}
REALMLP_KWARGS = dict(device="cpu", verbosity=0)

# CSV tables: file -> (name, target column (None: the last), has a header, task, description)
CSV_TABLES = {
    "pima-indians-diabetes.csv": ("pima", None, False, "classification",
                                  "UCI Pima Indians diabetes"),
    "oj.csv": ("oj", "Purchase", True, "classification", "ISLR::OJ, one categorical"),
    "hmda.csv": ("hmda", "deny", True, "classification",
                 "AER::HMDA mortgage denials, 12% yes, categoricals"),
    "titanicsurvival.csv": ("titanic", "survived", True, "classification",
                            "carData::TitanicSurvival, categoricals, missing ages"),
    "wage.csv": ("wage", "logwage", True, "regression", "ISLR::Wage, categoricals"),
    "carseats.csv": ("carseats", "Sales", True, "regression",
                     "ISLR::Carseats, categoricals"),
}
BUILTIN_TABLES = {
    "breast_cancer": ("classification", "scikit-learn's load_breast_cancer"),
    "wine": ("classification", "scikit-learn's load_wine, 3 classes"),
    "digits": ("classification", "scikit-learn's load_digits, 10 classes"),
    "diabetes": ("regression", "scikit-learn's load_diabetes"),
    "imbalanced": ("classification",
                   "make_classification, 2,000 x 20 (5 informative), 10% positives, 2% flipped"),
    "friedman1": ("regression", "make_friedman1, 2,000 x 10 (5 informative), noise 1"),
}


# -- tables ----------------------------------------------------------------------------
@dataclass
class Table:
    name: str
    task: str  # "classification" or "regression"
    description: str
    X: pd.DataFrame
    y: np.ndarray
    categorical: list[str]

    @property
    def numeric(self) -> list[str]:
        return [c for c in self.X.columns if c not in self.categorical]


def csv_tables(data_dir: Path) -> dict[str, tuple[str, str | None, bool, str | None, str]]:
    """name -> (file, target, header, task or None (inferred), description) of each CSV."""
    found = {}
    for path in sorted(Path(data_dir).glob("*.csv")) if Path(data_dir).is_dir() else ():
        if path.name in CSV_TABLES:
            name, target, header, task, description = CSV_TABLES[path.name]
        else:
            name = re.sub(r"[^0-9a-z]+", "_", path.stem.lower()).strip("_")
            target, header, task, description = None, True, None, f"{path.name} (last column)"
        found[name] = (path.name, target, header, task, description)
    order = [spec[0] for spec in CSV_TABLES.values()]
    return dict(sorted(found.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order
                                                      else len(order), kv[0])))


def table_names(data_dir: Path) -> list[str]:
    return [*csv_tables(data_dir), *BUILTIN_TABLES]


def _as_frame(X: np.ndarray, names=None) -> pd.DataFrame:
    names = list(names) if names is not None else [f"x{i}" for i in range(X.shape[1])]
    return pd.DataFrame(np.asarray(X, dtype=np.float64), columns=[str(n) for n in names])


def load_table(name: str, data_dir: Path) -> Table:
    """The table ``name``: features as a DataFrame, the target as integer classes or floats."""
    csvs = csv_tables(data_dir)
    if name in csvs:
        file, target, header, task, description = csvs[name]
        frame = pd.read_csv(Path(data_dir) / file, header=0 if header else None)
        if not header:
            frame.columns = [f"x{i}" for i in range(frame.shape[1] - 1)] + ["target"]
        target = target or frame.columns[-1]
        y = frame.pop(target)
        if task is None:  # a CSV not in the list: text or few integers classify
            task = ("classification" if not pd.api.types.is_numeric_dtype(y)
                    or (pd.api.types.is_integer_dtype(y) and y.nunique() <= 20)
                    else "regression")
        X = frame
    elif name in BUILTIN_TABLES:
        task, description = BUILTIN_TABLES[name]
        if name == "imbalanced":
            Xa, y = make_classification(n_samples=2000, n_features=20, n_informative=5,
                                        weights=[0.9], flip_y=0.02, random_state=0)
            X = _as_frame(Xa)
        elif name == "friedman1":
            Xa, y = make_friedman1(n_samples=2000, noise=1.0, random_state=0)
            X = _as_frame(Xa)
        else:
            load = {"breast_cancer": load_breast_cancer, "wine": load_wine,
                    "digits": load_digits, "diabetes": load_diabetes}[name]
            bunch = load()
            X = _as_frame(bunch.data, bunch.feature_names)
            y = bunch.target
    else:
        raise SystemExit(f"no table {name!r}; the tables are {', '.join(table_names(data_dir))}")
    y = pd.Series(y)
    if y.isna().any():
        raise SystemExit(f"table {name}: the target has missing values")
    if task == "classification":
        y = np.unique(y.astype(str) if not pd.api.types.is_numeric_dtype(y) else y.to_numpy(),
                      return_inverse=True)[1].astype(np.int64)
    else:
        y = y.to_numpy(dtype=np.float64)
    categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])
                   or pd.api.types.is_bool_dtype(X[c])]
    return Table(name, task, description, X.reset_index(drop=True), y, categorical)


def splits(table: Table, folds: int, repeats: int, seed: int) -> list[tuple[np.ndarray, ...]]:
    """``(train, test)`` index pairs; pair ``repeat * folds + fold``."""
    cls = RepeatedStratifiedKFold if table.task == "classification" else RepeatedKFold
    cv = cls(n_splits=folds, n_repeats=repeats, random_state=seed)
    return list(cv.split(np.zeros(len(table.y)), table.y))


def split_hash(test: np.ndarray) -> str:
    return hashlib.sha1(np.sort(np.asarray(test, dtype=np.int64)).tobytes()).hexdigest()[:10]


def fit_seed(seed: int, repeat: int, fold: int) -> int:
    return 1000 * seed + 100 * repeat + fold


# -- contenders ------------------------------------------------------------------------
def make_scaler(kind: str):
    if kind == "standard":
        return StandardScaler()
    try:
        from skoptnn import SmoothClipScaler
    except (ImportError, AttributeError) as exc:
        raise SystemExit(
            "--scaler smoothclip needs skoptnn.SmoothClipScaler (skoptnn/preprocessing.py), "
            f"which the installed skoptnn does not have ({exc}); use --scaler standard"
        ) from None
    return SmoothClipScaler()


def shared_preprocessor(table: Table, scaler: str) -> ColumnTransformer:
    parts = []
    if table.numeric:
        parts.append(("numeric", make_pipeline(SimpleImputer(strategy="median"),
                                               make_scaler(scaler)), table.numeric))
    if table.categorical:
        parts.append(("categorical", make_pipeline(
            SimpleImputer(strategy="most_frequent"),
            OneHotEncoder(handle_unknown="ignore", sparse_output=False)), table.categorical))
    return ColumnTransformer(parts, sparse_threshold=0.0)


def skoptnn_estimator(contender: str, task: str, seed: int | None):
    from skoptnn import OptimizedMLPClassifier, OptimizedMLPRegressor

    cls = OptimizedMLPClassifier if task == "classification" else OptimizedMLPRegressor
    if contender == "skoptnn":
        return cls(random_state=seed)
    if contender == "skoptnn-es":
        return cls(early_stopping=True, random_state=seed)
    own = cls().get_params()
    no_ops = {k: v for k, v in NEW_PARAM_NO_OPS.items() if k in own}
    return cls(**OLD_DEFAULTS, l2=OLD_L2[task], **no_ops, random_state=seed)


def estimator(contender: str, task: str, seed: int | None, categorical_mask=None):
    """The contender's model (without preprocessing); never ``realmlp``."""
    classify = task == "classification"
    if contender in SKOPTNN:
        return skoptnn_estimator(contender, task, seed)
    if contender == "mlp":
        cls = MLPClassifier if classify else MLPRegressor
        return cls(early_stopping=True, random_state=seed)
    if contender == "hgb":
        cls = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
        return cls(categorical_features=categorical_mask, random_state=seed)
    if contender == "linear":
        return LogisticRegression(max_iter=1000) if classify else RidgeCV()
    raise ValueError(contender)


def pipeline(contender: str, table: Table, seed: int, scaler: str) -> Pipeline:
    if contender == "hgb":
        encode = ColumnTransformer(
            [("categorical", OrdinalEncoder(handle_unknown="use_encoded_value",
                                            unknown_value=np.nan,
                                            encoded_missing_value=np.nan), table.categorical),
             ("numeric", "passthrough", table.numeric)], sparse_threshold=0.0)
        mask = [True] * len(table.categorical) + [False] * len(table.numeric)
        model = estimator("hgb", table.task, seed, mask if table.categorical else None)
        return Pipeline([("encode", encode), ("model", model)])
    return Pipeline([("preprocess", shared_preprocessor(table, scaler)),
                     ("model", estimator(contender, table.task, seed))])


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return repr(value)


def contender_params(contender: str, task: str) -> dict[str, Any]:
    """What defines the contender's fits on a ``task`` table (not the seed)."""
    if contender == "realmlp":
        return {"estimator": "RealMLP_TD_" + ("Classifier" if task == "classification"
                                               else "Regressor"), **REALMLP_KWARGS,
                "numeric_nan": "training median"}
    if contender == "skoptnn-old":  # fixed on purpose: new parameters leave it valid
        return {**OLD_DEFAULTS, "l2": OLD_L2[task]}
    model = estimator(contender, task, None)
    every = model.get_params(deep=False)
    params = {k: _jsonable(v) for k, v in every.items()
              if k not in ("random_state", "categorical_features")
              and not (k in NEW_PARAM_NO_OPS and v == NEW_PARAM_NO_OPS[k])
              and not (k in INERT_WHEN and every.get(INERT_WHEN[k][0]) == INERT_WHEN[k][1])}
    return {"estimator": type(model).__name__, **params}


def config_id(contender: str, task: str, scaler: str) -> str:
    spec = {"contender": contender, "params": contender_params(contender, task),
            "scaler": scaler if contender in PREPROCESSED else None}
    return hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]


# -- fitting and scoring ---------------------------------------------------------------
def scores(model, X, y, task: str) -> dict[str, float]:
    if task == "regression":
        pred = model.predict(X)
        return {"score": r2_score(y, pred), "r2": r2_score(y, pred),
                "rmse": math.sqrt(mean_squared_error(y, pred))}
    pred = np.asarray(model.predict(X))
    out = {"score": accuracy_score(y, pred), "accuracy": accuracy_score(y, pred),
           "balanced_accuracy": balanced_accuracy_score(y, pred)}
    if len(np.unique(y)) == 2 and hasattr(model, "predict_proba"):
        out["roc_auc"] = roc_auc_score(y, np.asarray(model.predict_proba(X))[:, 1])
    return out


def timed_fit(model, X, y) -> tuple[float, float, list[str]]:
    """Fit; wall and process CPU seconds, and the names of the warnings raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wall, cpu = time.perf_counter(), time.process_time()
        model.fit(X, y)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return wall, cpu, sorted({w.category.__name__ for w in caught
                              if not issubclass(w.category, (DeprecationWarning, FutureWarning))})


def fit_fold(model, table: Table, X: pd.DataFrame, train, test) -> dict[str, Any]:
    wall, cpu, caught = timed_fit(model, X.iloc[train], table.y[train])
    start = time.perf_counter()
    out = {k: round(float(v), 6) for k, v in scores(model, X.iloc[test], table.y[test],
                                                     table.task).items()}
    out.update(fit_time=round(wall, 4), cpu_time=round(cpu, 3),
               predict_time=round(time.perf_counter() - start, 4))
    fitted = model.steps[-1][1] if isinstance(model, Pipeline) else model
    extra = {k: int(getattr(fitted, attr)) for k, attr in
             (("epochs", "n_epochs_"), ("best_epoch", "best_epoch_"), ("n_iter", "n_iter_"))
             if getattr(fitted, attr, None) is not None and np.ndim(getattr(fitted, attr)) == 0}
    if caught:
        extra["warnings"] = caught
    if extra:
        out["extra"] = extra
    return out


_WARMED: set[str] = set()


def warm_up(kind: str, threads: int | None = None) -> None:
    """One small untimed fit, so the first timed fit pays no one-off start-up."""
    if kind in _WARMED:
        return
    _WARMED.add(kind)
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(64, 4)), columns=list("abcd"))
    y = (X["a"] > 0).astype(int).to_numpy()
    if kind == "skoptnn":
        from skoptnn import OptimizedMLPClassifier
        OptimizedMLPClassifier(epochs=2, random_state=0).fit(X.to_numpy(), y)
    else:
        from pytabkit import RealMLP_TD_Classifier
        RealMLP_TD_Classifier(**REALMLP_KWARGS, n_threads=threads, n_epochs=2,
                              random_state=0).fit(X, y)


# -- the RealMLP worker ----------------------------------------------------------------
def realmlp_frame(table: Table) -> pd.DataFrame:
    X = table.X.copy()
    for column in table.categorical:
        X[column] = X[column].astype("category")
    return X


def run_worker(args) -> int:
    """Worker mode (under the RealMLP Python): fit ``--jobs`` folds of one table."""
    import pytabkit
    import sklearn
    import torch
    from pytabkit import RealMLP_TD_Classifier, RealMLP_TD_Regressor

    table = load_table(args.worker_table, args.data_dir)
    pairs = splits(table, args.folds, args.repeats, args.seed)
    X = realmlp_frame(table)
    cls = RealMLP_TD_Classifier if table.task == "classification" else RealMLP_TD_Regressor
    environment = {"python": platform.python_version(), "torch": torch.__version__,
                   "pytabkit": importlib_version("pytabkit", pytabkit),
                   "scikit-learn": sklearn.__version__, "pandas": pd.__version__,
                   "numpy": np.__version__}
    print(RESULT_PREFIX + json.dumps({"kind": "environment", "process": "realmlp",
                                      "versions": environment}), flush=True)
    warm_up("realmlp", args.threads)
    for job in args.jobs.split(","):
        repeat, fold = (int(v) for v in job.split(":"))
        train, test = pairs[repeat * args.folds + fold]
        Xf = X.copy()
        numeric_nan = [c for c in table.numeric if Xf[c].isna().any()]
        for column in numeric_nan:  # pytabkit refuses NaN in numeric columns
            Xf[column] = Xf[column].fillna(Xf[column].iloc[train].median())
        model = cls(**REALMLP_KWARGS, n_threads=args.threads,
                    random_state=fit_seed(args.seed, repeat, fold))
        result = fit_fold(model, table, Xf, train, test)
        result.update(repeat=repeat, fold=fold, split=split_hash(test), threads=args.threads)
        print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


def importlib_version(name: str, module=None) -> str:
    import importlib.metadata
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return getattr(module, "__version__", "?")


# -- the results file ------------------------------------------------------------------
KEY = ("table", "contender", "config", "folds", "seed", "repeat", "fold")


def _open(path: Path, mode: str):
    """The results file; gzip-compressed when its name ends in .gz (appends add members)."""
    return gzip.open(path, mode + "t") if path.suffix == ".gz" else path.open(mode)


def read_results(path: Path) -> list[dict[str, Any]]:
    records = []
    if path.exists():
        with _open(path, "r") as file:
            try:
                text = file.read()
            except (EOFError, gzip.BadGzipFile):  # an append cut short: read what is whole
                text = ""
                with _open(path, "r") as again:
                    try:
                        for line in again:
                            text += line
                    except (EOFError, gzip.BadGzipFile):
                        pass
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:  # a line cut short by an interruption
                continue
            if isinstance(record, dict):
                records.append(record)
    return records


def append(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with _open(path, "a") as file:
        file.write(json.dumps(record) + "\n")


def git_state() -> str:
    try:
        return subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"],
                              capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def main_environment() -> dict[str, Any]:
    versions = {"python": platform.python_version(), "numpy": np.__version__,
                "pandas": pd.__version__}
    for name in ("scikit-learn", "tensorflow", "keras", "skoptnn"):
        versions[name] = importlib_version(name)
    versions["skoptnn git"] = git_state()
    return versions


# -- running ---------------------------------------------------------------------------
def realmlp_python(args) -> Path | None:
    path = Path(args.realmlp_python) if args.realmlp_python else DEFAULT_REALMLP_PYTHON
    return path if path.exists() else None


def run_realmlp(args, table: Table, jobs: list[tuple[int, int]], pairs, base: dict,
                results: Path) -> None:
    python = realmlp_python(args)
    command = [str(python), str(Path(__file__).resolve()), "--worker-table", table.name,
               "--data-dir", str(args.data_dir), "--folds", str(args.folds),
               "--repeats", str(args.repeats), "--seed", str(args.seed),
               "--threads", str(args.threads), "--jobs", ",".join(f"{r}:{f}" for r, f in jobs)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env,
                          cwd=str(REPO)) as worker:
        for line in worker.stdout:
            if not line.startswith(RESULT_PREFIX):
                print("  [realmlp] " + line.rstrip(), flush=True)
                continue
            result = json.loads(line[len(RESULT_PREFIX):])
            if result.get("kind") == "environment":
                append(results, {**result, "time": now()})
                continue
            r, f = result["repeat"], result["fold"]
            expected = split_hash(pairs[r * args.folds + f][1])
            if result["split"] != expected:
                raise SystemExit(f"realmlp worker on {table.name}: fold {r}:{f} has other test "
                                 f"rows ({result['split']} != {expected}); versions differ?")
            record = {**base, "repeat": r, "fold": f, **result, "time": now()}
            append(results, record)
            report_line(record, table.task)
    if worker.returncode:
        print(f"  [realmlp] worker on {table.name} exited with {worker.returncode}; "
              "its remaining folds stay to do", flush=True)


def now() -> str:
    return datetime.datetime.now().isoformat(timespec="seconds")


def report_line(record: dict, task: str) -> None:
    metric = "accuracy" if task == "classification" else "R^2"
    print(f"{record['table']:>14} {record['contender']:<12} repeat {record['repeat']} fold "
          f"{record['fold']}: {metric} {record['score']:.4f}, fit {record['fit_time']:.2f} s",
          flush=True)


def run(args, tables: list[str], contenders: list[str]) -> None:
    results = Path(args.results)
    done = {tuple(r.get(k) for k in KEY) for r in read_results(results) if "score" in r}
    if "realmlp" in contenders and realmlp_python(args) is None:
        print(f"note: no RealMLP Python at {args.realmlp_python or DEFAULT_REALMLP_PYTHON}; "
              "skipping the realmlp contender (see benchmarks/requirements-realmlp.txt)",
              flush=True)
        contenders = [c for c in contenders if c != "realmlp"]
    if any(c != "realmlp" for c in contenders):
        append(results, {"kind": "environment", "process": "main", "time": now(),
                         "versions": main_environment(), "machine": machine()})
    loaded = {name: load_table(name, args.data_dir) for name in tables}
    all_pairs = {name: splits(t, args.folds, args.repeats, args.seed)
                 for name, t in loaded.items()}
    # The quick contenders first, repeat by repeat; RealMLP-TD (slow) last.
    order = [(repeat, name, contender) for phase in (False, True)
             for repeat in range(args.realmlp_repeats if phase else args.repeats)
             for name in tables for contender in contenders
             if (contender == "realmlp") == phase]
    for repeat, name, contender in order:
        table, pairs = loaded[name], all_pairs[name]
        config = config_id(contender, table.task, args.scaler)
        base = {"table": name, "contender": contender, "config": config,
                "folds": args.folds, "seed": args.seed, "task": table.task,
                "scaler": args.scaler if contender in PREPROCESSED else None}
        jobs = [(repeat, f) for f in range(args.folds)
                if (name, contender, config, args.folds, args.seed, repeat, f)
                not in done]
        if not jobs:
            continue
        if contender == "realmlp":
            run_realmlp(args, table, jobs, pairs, base, results)
            continue
        if contender in SKOPTNN:
            warm_up("skoptnn")
        for r, f in jobs:
            train, test = pairs[r * args.folds + f]
            model = pipeline(contender, table, fit_seed(args.seed, r, f), args.scaler)
            record = {**base, "repeat": r, "fold": f,
                      **fit_fold(model, table, table.X, train, test),
                      "split": split_hash(test), "time": now()}
            append(results, record)
            report_line(record, table.task)


def machine() -> str:
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores"


# -- the report ------------------------------------------------------------------------
def summarise(args, tables: list[str], contenders: list[str]) -> dict[str, Any]:
    """Per (table, contender): the fold records of the current configuration."""
    records = read_results(Path(args.results))
    fits = [r for r in records if "score" in r and r.get("folds") == args.folds
            and r.get("seed") == args.seed]
    tasks = {name: load_table(name, args.data_dir).task for name in tables}
    configs = {(c, task): config_id(c, task, args.scaler) for c in contenders
               for task in set(tasks.values())}
    cells, stale = {}, set()
    for name in tables:
        for contender in contenders:
            limit = args.realmlp_repeats if contender == "realmlp" else args.repeats
            rows = [r for r in fits if r["table"] == name and r["contender"] == contender
                    and r["repeat"] < limit]
            current = [r for r in rows if r["config"] == configs[(contender, tasks[name])]]
            if len(current) < len(rows):
                stale.add(contender)
            if current:
                cells[(name, contender)] = current
    environments = [r for r in records if r.get("kind") == "environment"]
    return {"cells": cells, "tasks": tasks, "stale": stale, "environments": environments}


def mean_se(values: list[float]) -> tuple[float, float]:
    a = np.asarray(values, dtype=float)
    se = float(a.std(ddof=1) / math.sqrt(len(a))) if len(a) > 1 else float("nan")
    return float(a.mean()), se


def report(args, tables: list[str], contenders: list[str]) -> str:
    summary = summarise(args, tables, contenders)
    cells, tasks = summary["cells"], summary["tasks"]
    present = [c for c in contenders if any((t, c) in cells for t in tables)]
    tables = [t for t in tables if any((t, c) in cells for c in present)]
    lines = ["# Accuracy across tables (issue #24)", ""]
    lines.append("Made by `python benchmarks/accuracy.py --report` from "
                 f"`{Path(args.results).name}` ({now()[:10]}). Protocol: {args.repeats} x "
                 f"{args.folds}-fold CV (stratified for classification; RealMLP-TD: "
                 f"{args.realmlp_repeats} x {args.folds}, the first folds), seed {args.seed}, "
                 "shared scaler "
                 f"`{args.scaler}`; every contender at its defaults (see the script's "
                 "docstring). Cells: mean over folds ± standard error (std / sqrt(n)); "
                 "accuracy for classification, R^2 for regression; best per table in bold. "
                 "A cell with fewer folds than the protocol's shows their number.")
    lines.append("")
    if not present:
        return "\n".join([*lines, "No results yet."]) + "\n"
    stats = {k: mean_se([r["score"] for r in v]) for k, v in cells.items()}
    times = {k: float(np.mean([r["fit_time"] for r in v])) for k, v in cells.items()}
    expected = {c: args.folds * (args.realmlp_repeats if c == "realmlp" else args.repeats)
                for c in present}

    header = "| table | task | rows x features | " + " | ".join(present) + " |"
    lines += ["## Score per table", "", header, "|" + "---|" * (3 + len(present))]
    for name in tables:
        table = load_table(name, args.data_dir)
        best = max(stats[(name, c)][0] for c in present if (name, c) in stats)
        row = [name, "accuracy" if tasks[name] == "classification" else "R^2",
               f"{len(table.y)} x {table.X.shape[1]}"]
        for c in present:
            if (name, c) not in stats:
                row.append("-")
                continue
            m, se = stats[(name, c)]
            cell = f"{m:.3f} ± {se:.3f}"
            if m == best:
                cell = f"**{cell}**"
            n = len(cells[(name, c)])
            if n != expected[c]:
                cell += f" (n={n})"
            row.append(cell)
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")

    def finished(t: str, c: str) -> bool:
        return len(cells.get((t, c), ())) == expected[c]

    def rank_table(who: list[str], over: list[str]) -> list[str]:
        ranks = {t: pd.Series({c: stats[(t, c)][0] for c in who}).rank(
            ascending=False, method="average") for t in over}
        rows = ["| contender | mean rank | wins | mean fit time (s) | fit time / realmlp |",
                "|---|---|---|---|---|"]
        for c in sorted(who, key=lambda c: float(np.mean([ranks[t][c] for t in over]))):
            wins = sum(ranks[t][c] == ranks[t].min() for t in over)
            ratios = [times[(t, c)] / times[(t, "realmlp")] for t in over
                      if "realmlp" in expected and finished(t, "realmlp")]
            relative = f"{math.exp(np.mean(np.log(ratios))):.3g}x" if ratios else "-"
            rows.append(f"| {c} | {np.mean([ranks[t][c] for t in over]):.2f} | {wins} | "
                        f"{np.mean([times[(t, c)] for t in over]):.2f} | {relative} |")
        return rows

    complete = [t for t in tables if all(finished(t, c) for c in present)]
    lines += ["## Rank and fit time", ""]
    lines.append(f"Mean rank over the {len(complete)} table(s) that every contender has "
                 "finished (all folds; 1 = best mean score; ties share the average rank); wins: "
                 "tables ranked first. Mean fit time: seconds per fit, the mean over those "
                 "tables of each table's mean. Relative to realmlp: geometric mean over "
                 "those tables of (mean fit time / realmlp's).")
    lines += ["", *(rank_table(present, complete) if complete else ["No such table yet."]), ""]
    everywhere = [c for c in present if all(finished(t, c) for t in tables)]
    if len(complete) < len(tables) and len(everywhere) > 1:
        lines.append(f"The same over all {len(tables)} tables, for the contenders that have "
                     f"finished every one ({', '.join(everywhere)}):")
        lines += ["", *rank_table(everywhere, tables), ""]

    for variant in [c for c in present if c in SKOPTNN]:
        peers = [variant, *(c for c in present if c not in SKOPTNN)]
        lines += [f"## {variant} against the best contender", ""]
        lines.append(f"Best contender: the best mean score among {', '.join(peers)} (the other "
                     f"skoptnn variants left out). Within one standard error: the best mean "
                     f"score minus {variant}'s is at most the best contender's standard error.")
        lines += ["", f"| table | best contender | best score | {variant} | difference | "
                  "within 1 SE |", "|---|---|---|---|---|---|"]
        within = 0
        for name in tables:
            if (name, variant) not in stats:
                continue
            best_c = max((c for c in peers if (name, c) in stats),
                         key=lambda c: stats[(name, c)][0])
            bm, bse = stats[(name, best_c)]
            m, _ = stats[(name, variant)]
            ok = bm - m <= bse
            within += ok
            lines.append(f"| {name} | {best_c} | {bm:.3f} ± {bse:.3f} | {m:.3f} | "
                         f"{m - bm:+.3f} | {'yes' if ok else 'no'} |")
        lines += ["", f"{variant} is within one standard error of the best on {within} of "
                  f"{sum((t, variant) in stats for t in tables)} tables.", ""]

    binary = [t for t in tables if any("roc_auc" in r for c in present
                                       for r in cells.get((t, c), []))]
    classification = [t for t in tables if tasks[t] == "classification"]
    for metric, names, title in (("roc_auc", binary, "ROC AUC (binary tables)"),
                                 ("balanced_accuracy", classification, "Balanced accuracy"),
                                 ("rmse", [t for t in tables if tasks[t] == "regression"],
                                  "RMSE (regression, lower is better)")):
        if not names:
            continue
        lines += [f"## {title}", "", "| table | " + " | ".join(present) + " |",
                  "|" + "---|" * (1 + len(present))]
        for name in names:
            row = [name]
            for c in present:
                values = [r[metric] for r in cells.get((name, c), []) if metric in r]
                row.append("-" if not values else "{:.3f} ± {:.3f}".format(*mean_se(values)))
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")

    lines += ["## Mean fit time per table (s)", "", "| table | " + " | ".join(present) + " |",
              "|" + "---|" * (1 + len(present))]
    for name in tables:
        lines.append("| " + " | ".join([name] + [f"{times[(name, c)]:.2f}"
                                                 if (name, c) in times else "-"
                                                 for c in present]) + " |")
    lines.append("")

    warned = {}
    for (name, c), rows in cells.items():
        for r in rows:
            for w in r.get("extra", {}).get("warnings", []):
                warned.setdefault((c, w), set()).add(name)
    if warned:
        lines += ["## Warnings raised during fits", ""]
        lines += [f"- {c}: {w} on {', '.join(sorted(names))}"
                  for (c, w), names in sorted(warned.items())]
        lines.append("")
    if summary["stale"]:
        lines += [f"Left out: fits of {', '.join(sorted(summary['stale']))} with another "
                  "configuration (other defaults or scaler) than the current one.", ""]

    lines += ["## Environment", ""]
    seen = set()
    for env in summary["environments"]:
        text = json.dumps(env.get("versions", {}), sort_keys=True)
        if (env.get("process"), text) in seen:
            continue
        seen.add((env.get("process"), text))
        versions = ", ".join(f"{k} {v}" for k, v in env.get("versions", {}).items())
        where = f" on {env['machine']}" if env.get("machine") else ""
        lines.append(f"- {env.get('process')} process ({env.get('time', '?')[:10]}){where}: "
                     f"{versions}")
    lines.append("")
    return "\n".join(lines)


# -- command line ----------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] + " Fits every contender at its defaults on "
        "the same repeated K-fold splits of twelve tables, appends one JSON line per fit to "
        "--results (resuming where a run stopped) and reports mean score ± standard error, "
        "mean ranks and fit times. See the module docstring for the full protocol.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                        help="folder of the CSV tables")
    parser.add_argument("--tables", default="all",
                        help="comma-separated table names, or 'all'; see --list-tables")
    parser.add_argument("--list-tables", action="store_true", help="list the tables and exit")
    parser.add_argument("--contenders", default="all",
                        help=f"comma-separated, from {', '.join(CONTENDERS)}; or 'all'")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the K-fold CV")
    parser.add_argument("--folds", type=int, default=5, help="K of the K-fold CV")
    parser.add_argument("--seed", type=int, default=0, help="seed of the splits and fits")
    parser.add_argument("--realmlp-repeats", type=int, default=1,
                        help="repeats that the realmlp contender runs (it is slow on a CPU)")
    parser.add_argument("--scaler", choices=("standard", "smoothclip"), default="standard",
                        help="numeric scaler of skoptnn, mlp and linear")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS,
                        help="JSON Lines file the fits are appended to and read from")
    parser.add_argument("--realmlp-python", default=None,
                        help="Python with pytabkit and torch for the realmlp contender "
                        f"(default: {DEFAULT_REALMLP_PYTHON} if it exists)")
    parser.add_argument("--threads", type=int, default=1,
                        help="PyTorch threads of the realmlp contender (2 threads on a busy "
                        "2-core machine stalled: 851 s against 27 s for one wage fit)")
    parser.add_argument("--report", action="store_true",
                        help="only report the results already in --results")
    parser.add_argument("--markdown", type=Path, default=None,
                        help="also write the report to this Markdown file")
    # Worker mode, run by this script under --realmlp-python.
    parser.add_argument("--worker-table", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--jobs", default="", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def pick(value: str, choices: list[str] | tuple[str, ...], what: str) -> list[str]:
    if value == "all":
        return list(choices)
    chosen = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in chosen if v not in choices]
    if unknown:
        raise SystemExit(f"unknown {what} {', '.join(unknown)}; choose from "
                         f"{', '.join(choices)}")
    return chosen


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker_table:
        return run_worker(args)
    names = table_names(args.data_dir)
    if args.list_tables:
        for name in names:
            table = load_table(name, args.data_dir)
            print(f"{name:>14}  {table.task:<14} {len(table.y):>5} x {table.X.shape[1]:<3} "
                  f"{len(table.categorical)} categorical  {table.description}")
        return 0
    if not Path(args.data_dir).is_dir():
        print(f"note: no data folder {args.data_dir}; only the built-in tables", flush=True)
    tables = pick(args.tables, names, "table")
    contenders = pick(args.contenders, CONTENDERS, "contender")
    if any(c in PREPROCESSED for c in contenders):
        make_scaler(args.scaler)  # fail early when the smoothclip scaler is absent
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if not args.report:
        run(args, tables, contenders)
    text = report(args, tables, contenders)
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
        print(f"wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
