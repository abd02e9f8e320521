"""Run a small BayesSearchCV on the breast-cancer data and save skopt's plots.

Usage::

    python examples/search_plots.py [--out DIR]

Writes ``convergence.png`` (best objective after each trial) and
``objective.png`` (partial dependence of the objective on each searched
parameter, from the Gaussian-process surrogate). The objective is the
negative CV accuracy: BayesSearchCV minimizes. Takes about a minute.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write files, no display needed

import matplotlib.pyplot as plt
from sklearn.datasets import load_breast_cancer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skopt import BayesSearchCV
from skopt.plots import plot_convergence, plot_objective

from skoptnn import (
    DivergenceWarning,
    OptimizedMLPClassifier,
    ProgressCallback,
    classifier_space,
    trials_dataframe,
)

STEP = "optimizedmlpclassifier"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "search-plots",
                        help="folder for the two PNGs (default: examples/search-plots)")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    X, y = load_breast_cancer(return_X_y=True)

    # Four dimensions keep plot_objective's grid of panels readable.
    space = classifier_space(
        prefix=STEP, include=["n_layers", "units", "learning_rate", "dropout"]
    )
    n_iter = 15
    search = BayesSearchCV(
        make_pipeline(StandardScaler(), OptimizedMLPClassifier(epochs=30, random_state=0)),
        space, n_iter=n_iter, cv=3, random_state=0,
        optimizer_kwargs={"n_initial_points": 6},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        search.fit(X, y, callback=ProgressCallback(n_iter))
    print(trials_dataframe(search).head().to_string())

    result = search.optimizer_results_[0]
    ax = plot_convergence(result)
    ax.figure.savefig(out / "convergence.png", dpi=100, bbox_inches="tight")
    plt.close(ax.figure)
    plot_objective(result)  # returns a grid of axes; save the figure they share
    plt.gcf().savefig(out / "objective.png", dpi=100, bbox_inches="tight")
    plt.close("all")
    print(f"Wrote {out / 'convergence.png'} and {out / 'objective.png'}")


if __name__ == "__main__":
    main()
