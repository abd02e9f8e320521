"""Do the default L1/L2 settings hold from hundreds of rows to 100,000? (issue #17)

Usage::

    PYTHONPATH=. python benchmarks/l2_defaults.py [PATH_TO_PIMA_CSV] [--quick]
        [--output FILE]

skoptnn's ``l1``/``l2`` are per training sample: training minimises the mean
loss plus ``l2 * sum(w**2) / n_samples``, so the penalty's pull weakens as the
data grows. The previous default was Keras' per-batch ``l2=0.01`` (classifier)
and ``0.02`` (regressor), which does not: on 10,000 rows with a rare class it
predicted the majority class. This script compares, with every other setting
at its default and a ``StandardScaler`` in front of every model:

* ``skoptnn``: the estimators' defaults (``l2=3`` classifier, ``l2=10`` regressor);
* ``skoptnn, previous l2``: the previous per-batch strength, i.e.
  ``l2 = 0.01 * n_train`` (``0.02 * n_train`` for the regressor) in today's units;
* scikit-learn's ``MLPClassifier()`` / ``MLPRegressor(max_iter=500)`` and
  ``LogisticRegression(max_iter=1000)`` / ``Ridge()``, at their defaults.

Data: scikit-learn's bundled breast cancer, wine, digits and iris, Pima when a
path is given, and ``make_classification`` with 20 features (6 informative),
3% positives and 1% flipped labels at 10,000 and 100,000 rows; for the
regressor, the bundled diabetes data and ``make_friedman1`` (noise 1) at
10,000 rows. Classifiers are scored by balanced accuracy (the rare class
counts as much as the common one), regressors by R^2. Stratified (classifiers)
or plain 5-fold CV, shuffled with ``random_state=0``; 3 folds at 10,000 rows,
one 50/50 split at 100,000. Every fit uses ``random_state=0``, so one run is
deterministic up to thread scheduling. ``--quick`` leaves out 100,000 rows.

The goal (issue #17): the defaults within 0.02 of the better of the two
scikit-learn models on the generated data, or above it, and no more than 0.02
below the previous default on the bundled tables.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from _common import load_pima, machine  # benchmarks/_common.py
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
    make_friedman1,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import balanced_accuracy_score, r2_score
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

TOLERANCE = 0.02
PREVIOUS_L2 = {"classifier": 0.01, "regressor": 0.02}


def rare_class(n: int):
    return make_classification(n, 20, n_informative=6, weights=[0.97], flip_y=0.01,
                               class_sep=0.8, random_state=0)


def datasets(pima: str | None, quick: bool):
    """``(name, task, X, y, generated)`` for every data set of the comparison."""
    for name, load in (("breast cancer", load_breast_cancer), ("wine", load_wine),
                       ("digits", load_digits), ("iris", load_iris)):
        yield (name, "classifier", *load(return_X_y=True), False)
    if pima:
        yield ("Pima", "classifier", *load_pima(pima), False)
    for n in (10_000,) if quick else (10_000, 100_000):
        yield (f"rare class, {n:,} rows", "classifier", *rare_class(n), True)
    yield ("diabetes", "regressor", *load_diabetes(return_X_y=True), False)
    yield ("friedman1, 10,000 rows", "regressor",
           *make_friedman1(10_000, noise=1.0, random_state=0), True)


def contenders(task: str) -> dict:
    from skoptnn import OptimizedMLPClassifier, OptimizedMLPRegressor

    if task == "classifier":
        return {
            "skoptnn": lambda n: OptimizedMLPClassifier(random_state=0),
            "skoptnn, previous l2": lambda n: OptimizedMLPClassifier(
                l2=PREVIOUS_L2[task] * n, random_state=0),
            "sklearn MLP": lambda n: MLPClassifier(random_state=0),
            "logistic / ridge": lambda n: LogisticRegression(max_iter=1000),
        }
    return {
        "skoptnn": lambda n: OptimizedMLPRegressor(random_state=0),
        "skoptnn, previous l2": lambda n: OptimizedMLPRegressor(
            l2=PREVIOUS_L2[task] * n, random_state=0),
        "sklearn MLP": lambda n: MLPRegressor(max_iter=500, random_state=0),
        "logistic / ridge": lambda n: Ridge(),
    }


def splits(task: str, X, y):
    n_splits = 5 if len(X) < 5_000 else 3 if len(X) < 50_000 else 2
    cv = (StratifiedKFold if task == "classifier" else KFold)(
        n_splits, shuffle=True, random_state=0)
    for i, split in enumerate(cv.split(X, y)):
        yield split
        if len(X) >= 50_000 and i == 0:
            return  # one 50/50 split at 100,000 rows


def evaluate(task: str, X, y) -> dict[str, tuple[float, float]]:
    """Mean score and mean fit seconds per contender."""
    scores, seconds = {}, {}
    score = balanced_accuracy_score if task == "classifier" else r2_score
    for train, test in splits(task, X, y):
        scaler = StandardScaler().fit(X[train])
        X_train, X_test = scaler.transform(X[train]), scaler.transform(X[test])
        for label, make in contenders(task).items():
            start = time.perf_counter()
            model = make(len(train)).fit(X_train, y[train])
            seconds.setdefault(label, []).append(time.perf_counter() - start)
            scores.setdefault(label, []).append(score(y[test], model.predict(X_test)))
    return {k: (float(np.mean(scores[k])), float(np.mean(seconds[k]))) for k in scores}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pima", nargs="?", help="Pima CSV (no header, target last)")
    parser.add_argument("--quick", action="store_true", help="leave out 100,000 rows")
    parser.add_argument("--output", help="also write the report here (Markdown)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    load_start = os.getloadavg()

    labels = list(contenders("classifier"))
    lines = [
        "# Default L2 across data sizes (`benchmarks/l2_defaults.py`)", "",
        "Balanced accuracy (classifiers) or R^2 (regressors), mean over the folds; "
        "every model at its defaults behind a StandardScaler.", "",
        "| data | task | rows | " + " | ".join(labels) + " | skoptnn fit (s) | check |",
        "|---|---|---:|" + "---:|" * len(labels) + "---:|---|",
    ]
    failures = 0
    for name, task, X, y, generated in datasets(args.pima, args.quick):
        result = evaluate(task, X, y)
        ours = result["skoptnn"][0]
        if generated:  # against scikit-learn's better model
            best = max(result["sklearn MLP"][0], result["logistic / ridge"][0])
            ok, check = ours >= best - TOLERANCE, f"{ours - best:+.3f} vs best sklearn"
        else:  # against the previous default
            previous = result["skoptnn, previous l2"][0]
            ok, check = ours >= previous - TOLERANCE, f"{ours - previous:+.3f} vs previous"
        failures += not ok
        cells = " | ".join(f"{result[k][0]:.3f}" for k in labels)
        lines.append(f"| {name} | {task} | {len(X):,} | {cells} | {result['skoptnn'][1]:.1f} | "
                     f"{'PASS' if ok else 'FAIL'} {check} |")
        print(lines[-1], flush=True)
    lines += ["", f"Goal: within {TOLERANCE} of the better scikit-learn model on generated "
              f"data, of the previous default on the bundled tables: "
              f"{'PASS' if not failures else f'{failures} FAIL'}", "",
              *machine(load_start, ("numpy", "tensorflow", "keras", "scikit-learn"))]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.output:
        Path(args.output).write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
