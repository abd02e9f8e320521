"""Helpers shared by the benchmark scripts: data loading, the scikit-learn MLP
adapter and the machine description.

Nothing here imports TensorFlow (``compare.py``'s parent process and
``search_speed.py``'s scikit-learn search must run without it). The scripts
import this module by name (``from _common import ...``): running
``python benchmarks/SCRIPT.py`` puts ``benchmarks/`` first on ``sys.path``,
and joblib's worker processes receive the parent's ``sys.path``.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
from pathlib import Path

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


# -- report ------------------------------------------------------------------------------
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
