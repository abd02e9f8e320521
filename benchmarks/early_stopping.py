"""What early stopping costs the defaults: accuracy with and without it (issue #22).

Usage::

    PYTHONPATH=. python benchmarks/early_stopping.py [--data-dir ../shared/data] [--repeats 3]
        [--tables pima wine ...] [--output FILE]

For each classification table (scikit-learn's breast cancer, wine and digits,
and every classification table of ``--data-dir``: Pima, OJ, HMDA, Titanic),
``--repeats`` shuffled stratified 5-fold cross-validations (seed r for the
folds and the estimators' ``random_state``) of:

* ``skoptnn``: ``OptimizedMLPClassifier()`` (the defaults: no early stopping,
  100 epochs);
* ``skoptnn ES``: ``OptimizedMLPClassifier(early_stopping=True)`` (what a
  search candidate runs): epochs run and the accuracy it keeps;
* ``MLPClassifier ES``: ``MLPClassifier(early_stopping=True)``, scikit-learn's
  defaults otherwise.

Every model sits behind the same preprocessing (numeric columns imputed and
standardised, categorical ones one-hot encoded). The report lists mean
accuracy per table and its mean over the tables, and checks the goals:
early stopping costs the defaults at most 0.01 on average; on Pima, skoptnn ES
is at least ``MLPClassifier ES`` - 0.01.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from _common import machine  # benchmarks/_common.py

TABLES = ("breast_cancer", "wine", "digits", "pima", "oj", "hmda", "titanic")
# (file, target column); Pima has no header: its target is the last column.
CSV = {"pima": ("pima-indians-diabetes.csv", None), "oj": ("oj.csv", "Purchase"),
       "hmda": ("hmda.csv", "deny"), "titanic": ("titanicsurvival.csv", "survived")}
GOAL_MEAN_GAP, GOAL_PIMA_GAP = 0.01, 0.01
PACKAGES = ("numpy", "tensorflow", "keras", "scikit-learn")


def load(name: str, data_dir: Path):
    """``(X, y, preprocessing)`` for a table, or None if its file is missing."""
    import pandas as pd
    from sklearn import datasets
    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    if name in ("breast_cancer", "wine", "digits"):
        X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
        return X, y, StandardScaler()
    file, target = CSV[name]
    path = data_dir / file
    if not path.is_file():
        return None
    if target is None:
        table = np.loadtxt(path, delimiter=",")
        return table[:, :-1], table[:, -1].astype(int), StandardScaler()
    X = pd.read_csv(path)
    y = X.pop(target).to_numpy()
    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(), StandardScaler()),
         make_column_selector(dtype_include="number")),
        ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
         make_column_selector(dtype_exclude="number")),
    ])
    return X, y, pre


def contenders(seed: int) -> dict:
    from sklearn.neural_network import MLPClassifier

    from skoptnn import OptimizedMLPClassifier

    return {
        "skoptnn": OptimizedMLPClassifier(random_state=seed),
        "skoptnn ES": OptimizedMLPClassifier(early_stopping=True, random_state=seed),
        "MLPClassifier ES": MLPClassifier(early_stopping=True, random_state=seed),
    }


def run_table(X, y, pre, repeats: int) -> dict:
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline

    out = {}
    for r in range(repeats):
        folds = StratifiedKFold(5, shuffle=True, random_state=r).split(X, y)
        for k, (train, test) in enumerate(folds):
            for name, model in contenders(10 * r + k).items():
                pipe = make_pipeline(clone(pre), model)
                pipe.fit(_rows(X, train), y[train])
                entry = out.setdefault(name, {"accuracy": [], "epochs": []})
                entry["accuracy"].append(pipe.score(_rows(X, test), y[test]))
                step = pipe[-1]
                entry["epochs"].append(getattr(step, "n_epochs_", getattr(step, "n_iter_", 0)))
    return {name: {k: float(np.mean(v)) for k, v in entry.items()} for name, entry in out.items()}


def _rows(X, index):
    return X.iloc[index] if hasattr(X, "iloc") else X[index]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    root = Path(__file__).resolve().parent.parent
    parser.add_argument("--data-dir", default=str(root.parent / "shared" / "data"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tables", nargs="+", choices=TABLES, default=list(TABLES))
    parser.add_argument("--output", default=None,
                        help="markdown report (default: benchmarks/early_stopping.md)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    warnings.simplefilter("ignore")  # ConvergenceWarning of MLPClassifier, and the like
    load_start = os.getloadavg()
    import skoptnn.classifier  # noqa: F401 (loads TensorFlow quietly, before the first table)

    results, skipped = {}, []
    for name in args.tables:
        data = load(name, Path(args.data_dir))
        if data is None:
            skipped.append(name)
            continue
        start = time.perf_counter()
        results[name] = run_table(*data, args.repeats)
        row = results[name]
        print(f"{name}: " + ", ".join(f"{c} {v['accuracy']:.3f}" for c, v in row.items())
              + f" ({time.perf_counter() - start:.0f} s)", flush=True)

    names = list(results)
    columns = ["skoptnn", "skoptnn ES", "MLPClassifier ES"]
    lines = [
        "# Early stopping and the defaults' accuracy (issue #22)", "",
        f"- command: `python benchmarks/early_stopping.py {' '.join(sys.argv[1:])}`".rstrip(),
        f"- {args.repeats} x shuffled stratified 5-fold CV per table (seed r for folds and "
        "random_state), mean accuracy; epochs run in brackets",
        *machine(load_start, PACKAGES),
        *(["- skipped (file missing): " + ", ".join(skipped)] if skipped else []), "",
        "| table | " + " | ".join(columns) + " | ES - no ES |",
        "|---|" + "---:|" * (len(columns) + 1),
    ]
    for name in names:
        row = results[name]
        cells = [f"{row[c]['accuracy']:.3f} ({row[c]['epochs']:.0f})" for c in columns]
        gap = row["skoptnn ES"]["accuracy"] - row["skoptnn"]["accuracy"]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {gap:+.3f} |")
    means = {c: statistics.mean(results[n][c]["accuracy"] for n in names) for c in columns}
    mean_gap = means["skoptnn ES"] - means["skoptnn"]
    lines.append("| mean | " + " | ".join(f"{means[c]:.3f}" for c in columns)
                 + f" | {mean_gap:+.3f} |")
    ok_mean = mean_gap >= -GOAL_MEAN_GAP
    lines += ["", "## Goals", "",
              f"- [{'x' if ok_mean else ' '}] early stopping costs the defaults at most "
              f"{GOAL_MEAN_GAP} on average: {mean_gap:+.3f} ({'PASS' if ok_mean else 'FAIL'})"]
    if "pima" in results:
        pima = results["pima"]
        gap = pima["skoptnn ES"]["accuracy"] - pima["MLPClassifier ES"]["accuracy"]
        ok = gap >= -GOAL_PIMA_GAP
        lines.append(f"- [{'x' if ok else ' '}] Pima: skoptnn ES >= MLPClassifier ES - "
                     f"{GOAL_PIMA_GAP}: {pima['skoptnn ES']['accuracy']:.3f} vs "
                     f"{pima['MLPClassifier ES']['accuracy']:.3f} ({'PASS' if ok else 'FAIL'})")
    text = "\n".join(lines) + "\n"
    print()
    print(text)
    output = Path(args.output or Path(__file__).with_suffix(".md"))
    output.write_text(text)
    print(f"saved to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
