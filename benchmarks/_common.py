"""Helpers shared by the benchmark scripts: data loading (Pima, the benchmark
tables), the scikit-learn MLP adapter and its search, skoptnn's search,
readying and timing a search, running a contender in a fresh process, the
report's figures and the machine description.

Importing this module imports no TensorFlow (``compare.py``'s parent process
and the scikit-learn searches of ``search_speed.py`` and ``search_budget.py``
must run without it); only :func:`start_tensorflow` (and
:func:`quiet_contender` and :func:`skoptnn_search`, which a skoptnn contender
calls) does. The scripts import this module by name (``from _common import
...`` or ``import _common``): running
``python benchmarks/SCRIPT.py`` puts ``benchmarks/`` first on ``sys.path``,
and joblib's worker processes receive the parent's ``sys.path``.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_breast_cancer

# The distributions whose versions the reports list, unless a script names its own.
PACKAGES = ("numpy", "tensorflow", "keras", "scikit-learn", "scikit-optimize", "scikeras",
            "keras-tuner")


# -- data ----------------------------------------------------------------------------
def load_pima(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """A numeric CSV without header (the Pima layout): features, then the integer target."""
    table = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    if table.shape[1] < 2:
        raise ValueError(f"{Path(path).name} has {table.shape[1]} column; need features "
                         "and a target")
    return table[:, :-1], table[:, -1].astype(int)


def load_data(path: str | Path | None) -> tuple[np.ndarray, np.ndarray, str]:
    """``(X, y, name)``: the CSV at ``path`` (see :func:`load_pima`), or breast cancer."""
    if path is None:
        X, y = load_breast_cancer(return_X_y=True)
        return X, y, "breast cancer (sklearn)"
    X, y = load_pima(path)
    return X, y, f"Pima ({Path(path).name})"


# The tables of search_budget.py: name -> (file in the data folder or None, target
# column, positive class, description). Imbalanced ones are scored by balanced accuracy.
TABLES = {
    "breast_cancer": (None, None, None, "scikit-learn's load_breast_cancer"),
    "pima": ("pima-indians-diabetes.csv", None, None, "Pima Indians diabetes"),
    "hmda": ("hmda.csv", "deny", "yes", "AER::HMDA mortgage denials"),
    "oj": ("oj.csv", "Purchase", "MM", "ISLR::OJ orange juice purchases"),
    "generated": (None, None, None, "make_classification, 5,000 x 20, 15% positive"),
}
IMBALANCED = ("hmda", "generated")
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@dataclass
class Table:
    """One benchmark table: its features (array or DataFrame), 0/1 target and columns."""

    name: str
    description: str
    X: Any
    y: np.ndarray
    categorical: list[str] = field(default_factory=list)

    @property
    def imbalanced(self) -> bool:
        return self.name in IMBALANCED

    @property
    def scoring(self) -> str | None:
        """The searches' scoring: balanced accuracy on imbalanced tables, else their default."""
        return "balanced_accuracy" if self.imbalanced else None

    @property
    def metric(self) -> str:
        return "balanced accuracy" if self.imbalanced else "accuracy"

    def preprocessor(self):
        """StandardScaler; with categoricals, scaled numerics beside one-hot categoricals."""
        from sklearn.compose import ColumnTransformer
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        if not self.categorical:
            return StandardScaler()
        numeric = [c for c in self.X.columns if c not in self.categorical]
        return ColumnTransformer([
            ("numeric", StandardScaler(), numeric),
            ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
             self.categorical),
        ])


def load_table(name: str, data_dir: str | Path = DEFAULT_DATA_DIR) -> Table:
    """The table ``name`` of :data:`TABLES`; FileNotFoundError when its CSV is missing.

    CSVs with a header (hmda, oj) come as DataFrames: their non-numeric columns
    are the categoricals, their target becomes 1 for the positive class, 0 else.
    """
    import pandas as pd
    from sklearn.datasets import make_classification

    filename, target, positive, description = TABLES[name]
    if name == "breast_cancer":
        X, y = load_breast_cancer(return_X_y=True)
        return Table(name, description, X, y)
    if name == "generated":
        X, y = make_classification(n_samples=5000, n_features=20, n_informative=10,
                                   weights=[0.85], random_state=0)
        return Table(name, description, X, y)
    path = Path(data_dir) / filename
    if not path.is_file():
        raise FileNotFoundError(f"no {filename} in {data_dir}")
    if target is None:
        X, y = load_pima(path)
        return Table(name, description, X, y)
    frame = pd.read_csv(path)
    y = (frame.pop(target).astype(str) == positive).to_numpy(dtype=int)
    categorical = list(frame.select_dtypes(exclude="number").columns)
    return Table(name, description, frame, y, categorical)


# -- the scikit-learn MLP adapter --------------------------------------------------------
def depth_width_space(prefix: str = "depthwidthmlp__", alpha_max: float = 1e-2,
                      **extra) -> dict:
    """The search space over :class:`DepthWidthMLP` that the benchmarks share, plus ``extra``.

    Depth 1-10, width 8-128, relu/tanh/logistic, ``alpha`` log-uniform from 1e-6
    to ``alpha_max`` and ``learning_rate_init`` from 1e-4 to 1e-1, as
    ``classifier_space()`` covers skoptnn's network.
    """
    from skopt.space import Categorical, Integer, Real

    space = {
        "n_layers": Integer(1, 10),
        "units": Integer(8, 128),
        "activation": Categorical(["relu", "tanh", "logistic"]),
        "alpha": Real(1e-6, alpha_max, prior="log-uniform"),
        "learning_rate_init": Real(1e-4, 1e-1, prior="log-uniform"),
        **extra,
    }
    return {prefix + name: dim for name, dim in space.items()}


class DepthWidthMLP(ClassifierMixin, BaseEstimator):
    """``MLPClassifier`` with integer depth and width, so a Bayesian search can tune them.

    ``hidden_layer_sizes = (units,) * n_layers``; the other parameters go to
    ``MLPClassifier`` unchanged (Adam, early stopping on by default).
    """

    def __init__(self, n_layers=1, units=100, activation="relu", alpha=1e-4,
                 learning_rate_init=1e-3, batch_size="auto", early_stopping=True,
                 max_iter=200, random_state=None):
        self.n_layers = n_layers
        self.units = units
        self.activation = activation
        self.alpha = alpha
        self.learning_rate_init = learning_rate_init
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X, y):
        from sklearn.neural_network import MLPClassifier

        self.mlp_ = MLPClassifier(
            hidden_layer_sizes=(int(self.units),) * int(self.n_layers),
            activation=self.activation, alpha=self.alpha,
            learning_rate_init=self.learning_rate_init, batch_size=self.batch_size,
            early_stopping=self.early_stopping, max_iter=self.max_iter,
            random_state=self.random_state,
        ).fit(X, y)
        self.classes_ = self.mlp_.classes_
        self.n_features_in_ = self.mlp_.n_features_in_
        return self

    def predict(self, X):
        return self.mlp_.predict(X)

    def predict_proba(self, X):
        return self.mlp_.predict_proba(X)


def sklearn_search(n_iter: int, cv: int, preprocessor=None, scoring=None, search_cls=None,
                   seed: int = 0):
    """The scikit-learn contender's ``BayesSearchCV``, as every search benchmark runs it.

    ``make_pipeline(preprocessor, DepthWidthMLP(batch_size=32, max_iter=100,
    early_stopping=True, random_state=0))`` (default preprocessor
    ``StandardScaler()``), :func:`depth_width_space`, the search's
    ``random_state=seed``, ``n_jobs=1``. ``search_cls`` defaults to ``skopt.BayesSearchCV``.
    """
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from skopt import BayesSearchCV

    pipe = make_pipeline(preprocessor if preprocessor is not None else StandardScaler(),
                         DepthWidthMLP(batch_size=32, max_iter=100, early_stopping=True,
                                       random_state=0))
    return (search_cls or BayesSearchCV)(pipe, depth_width_space(), n_iter=n_iter, cv=cv,
                                         scoring=scoring, random_state=seed)


def skoptnn_search(n_iter: int, cv: int, preprocessor=None, scoring=None, search_cls=None,
                   seed: int = 0):
    """The skoptnn contender's search, as the search benchmarks run it.

    ``make_pipeline(preprocessor, OptimizedMLPClassifier(early_stopping=True,
    random_state=0))`` (default preprocessor ``StandardScaler()``) over
    ``classifier_space(prefix="optimizedmlpclassifier__")``, the search's
    ``random_state=seed``. ``search_cls`` defaults to skoptnn's
    ``ResumableBayesSearchCV``. Imports skoptnn (and so TensorFlow) when called.
    """
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skoptnn import OptimizedMLPClassifier, ResumableBayesSearchCV, classifier_space

    pipe = make_pipeline(preprocessor if preprocessor is not None else StandardScaler(),
                         OptimizedMLPClassifier(early_stopping=True, random_state=0))
    return (search_cls or ResumableBayesSearchCV)(
        pipe, classifier_space(prefix="optimizedmlpclassifier__"), n_iter=n_iter, cv=cv,
        scoring=scoring, random_state=seed)


def epochs_run(estimator) -> int:
    """Epochs a fitted MLP ran: skoptnn's ``n_epochs_``, scikit-learn's ``n_iter_``."""
    if hasattr(estimator, "n_epochs_"):
        return int(estimator.n_epochs_)
    return int(getattr(estimator, "mlp_", estimator).n_iter_)


class EpochRecorder:
    """A scorer giving the pipeline's own score (accuracy) that notes the epochs run.

    Pass as ``scoring`` of a search with ``n_jobs=1``: ``epochs`` then lists the
    epochs each CV fit ran (the final estimator's, by :func:`epochs_run`), for
    searches that do not report them in ``cv_results_``.
    """

    def __init__(self) -> None:
        self.epochs: list[int] = []

    def __call__(self, estimator, X, y) -> float:
        self.epochs.append(epochs_run(estimator[-1]))
        return float(estimator.score(X, y))


def search_columns(search) -> dict:
    """What a pruning search adds to ``cv_results_``, None where a column is absent.

    ``pruned``: candidates pruned; ``mean_epochs``: epochs run, mean over every
    CV fit (``mean_n_epochs`` averages each candidate's folds); ``pruned_epoch``:
    median epoch at which the pruned candidates stopped.
    """
    results = search.cv_results_
    pruned = results.get("pruned")
    epochs = results.get("mean_n_epochs")
    pruned_epoch = results.get("pruned_epoch")
    out = {"pruned": None, "mean_epochs": None, "pruned_epoch": None}
    if pruned is not None:
        pruned = np.asarray(pruned, dtype=bool)
        out["pruned"] = int(pruned.sum())
        if pruned_epoch is not None and pruned.any():
            values = np.asarray(pruned_epoch, dtype=float)[pruned]
            values = values[np.isfinite(values)]
            out["pruned_epoch"] = float(np.median(values)) if len(values) else None
    if epochs is not None:
        out["mean_epochs"] = float(np.nanmean(np.asarray(epochs, dtype=float)))
    return out


# -- timing a search -------------------------------------------------------------------
def start_tensorflow() -> str:
    """Import skoptnn and TensorFlow and run one operation; the folder skoptnn came from.

    The benchmarks call it before the clock starts: no search pays TensorFlow's
    import and start-up. skoptnn's import comes first: it sizes TensorFlow's
    thread pools, which must happen before the first operation.
    """
    import importlib

    import skoptnn
    from skoptnn import OptimizedMLPClassifier  # noqa: F401 (imports TensorFlow)

    tf = importlib.import_module("tensorflow")
    (tf.constant(1.0) + 1.0).numpy()
    return str(Path(skoptnn.__file__).parent)


def quiet_contender(skoptnn: bool) -> dict:
    """Ready this (fresh) process for one contender's search, before its clock starts.

    Silences what a search of many candidates warns about: points evaluated
    again, MLPs that do not converge and, for skoptnn, networks that diverge
    (the search scores those low). A skoptnn contender also starts TensorFlow
    here, untimed (:func:`start_tensorflow`), and gets ``{"skoptnn_path":
    folder}``; scikit-learn's gets ``{}`` and never imports TensorFlow.
    """
    from sklearn.exceptions import ConvergenceWarning

    warnings.filterwarnings("ignore", message=".*objective has been evaluated.*")
    warnings.simplefilter("ignore", ConvergenceWarning)
    if not skoptnn:
        return {}
    path = start_tensorflow()
    from skoptnn import DivergenceWarning

    warnings.simplefilter("ignore", DivergenceWarning)
    return {"skoptnn_path": path}


def timed_search(search, X, y, **fit_params) -> tuple[float, float]:
    """Wall and CPU seconds (all threads) of ``search.fit``, with one BLAS thread.

    One BLAS thread, as ``skoptnn tune`` does: scikit-optimize's Gaussian
    process is thousands of tiny BLAS calls.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        start, cpu_start = time.perf_counter(), time.process_time()
        search.fit(X, y, **fit_params)
        return time.perf_counter() - start, time.process_time() - cpu_start


# -- a run in a fresh process ---------------------------------------------------------
def run_fresh(script: str, args: list[str], failure: str) -> dict:
    """Run ``script`` with ``args`` in a fresh Python process; what its last line printed.

    The child prints one JSON object as its last line of stdout; its stderr
    (progress, errors) goes to ours. A child that fails ends this process
    with ``failure`` and the child's exit code.
    """
    out = subprocess.run([sys.executable, script, *args], stdout=subprocess.PIPE, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{failure} (exit {out.returncode}); its error is above")
    return json.loads(out.stdout.strip().splitlines()[-1])


def log(text: str) -> None:
    """A progress line on stderr, marked with this process's id."""
    print(f"  [{os.getpid()}] {text}", file=sys.stderr, flush=True)


# -- report ------------------------------------------------------------------------------
def median(values: list) -> float | None:
    """The median of the values that are not None; None if none is."""
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value: float | None, spec: str = "g") -> str:
    return "n/a" if value is None else format(value, spec)


def command_line(script: str, argv: list[str] | None) -> str:
    """The command that ran ``script`` (``argv``, or this process's arguments), for a report."""
    args = shlex.join(sys.argv[1:] if argv is None else argv)
    return f"python benchmarks/{Path(script).name} {args}".strip()


def write_report(text: str, output: str | None, quick: bool, script: str) -> None:
    """Print a report and save it: to ``output``, or beside ``script`` (not for --quick)."""
    print()
    print(text)
    output = output or (None if quick else str(Path(script).with_suffix(".md")))
    if output:
        Path(output).write_text(text)
        print(f"saved to {output}")


def version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine(load_start: tuple[float, ...], packages=PACKAGES) -> list[str]:
    """Markdown bullet lines: platform, CPUs, load average at start and now, versions."""
    versions = ", ".join(f"{name} {version(name)}" for name in packages)
    return [
        f"- machine: {platform.platform()} ({platform.machine()}), {os.cpu_count()} CPUs, "
        "no GPU used",
        "- load average (1/5/15 min) at start: " + "/".join(f"{x:.2f}" for x in load_start)
        + ", at end: " + "/".join(f"{x:.2f}" for x in os.getloadavg())
        + f" (above {os.cpu_count()} means other processes competed for the CPUs)",
        f"- python {platform.python_version()}, {versions}",
    ]
