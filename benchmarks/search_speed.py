"""Wall time of one Bayesian search: skoptnn against scikit-learn's MLPClassifier (issue #16).

Usage::

    PYTHONPATH=. python benchmarks/search_speed.py [PATH_TO_PIMA_CSV] [--n-iter 30] [--cv 5]
        [--repeats 1] [--quick] [--output FILE]

The CSV has no header: the features, then the integer class (the Pima
layout). Without a path the data is scikit-learn's ``load_breast_cancer``. A
stratified 25% of the rows is held out (``random_state=0``); each search runs
on the other 75%, and its refitted ``best_estimator_`` is scored on the
held-out rows.

The two searches, the same rows, ``n_iter``, ``cv`` and ``random_state=0``
(``cv`` is an integer: ``BayesSearchCV``'s default unshuffled
``StratifiedKFold``; scoring = accuracy; ``n_jobs=1``):

* ``sklearn MLP``: ``make_pipeline(StandardScaler(), DepthWidthMLP(batch_size=32,
  max_iter=100, early_stopping=True, random_state=0))``, scikit-learn's
  ``MLPClassifier`` behind the integer depth/width adapter of
  ``benchmarks/_common.py``; space: ``n_layers`` Integer(1, 10), ``units``
  Integer(8, 128), ``activation`` relu/tanh/logistic, ``alpha`` Real(1e-6,
  1e-2, log-uniform), ``learning_rate_init`` Real(1e-4, 1e-1, log-uniform).
  Its ConvergenceWarnings are silenced.
* ``skoptnn``: ``make_pipeline(StandardScaler(), OptimizedMLPClassifier(
  early_stopping=True, random_state=0))`` with the package's other defaults
  (100 epochs at most, patience 10), space
  ``classifier_space(prefix="optimizedmlpclassifier__")``.

Each repeat runs in a fresh Python process (so no compiled graph or Keras
state carries over from one repeat to the next), which runs scikit-learn's
search first, then imports skoptnn and TensorFlow and starts TensorFlow's
runtime with one trivial operation (untimed: neither search pays for
TensorFlow's start-up), then runs skoptnn's search. Both searches run with
one BLAS thread (``threadpoolctl.threadpool_limits(1, user_api="blas")``), as
``skoptnn tune`` does: scikit-optimize's Gaussian process is thousands of
tiny BLAS calls. The timed span is ``search.fit``, which includes the refit of
the best candidate; CPU time (``time.process_time``, all threads) is recorded
beside it, and falls below the wall time when other processes competed for
the cores.

Per contender the table lists the wall time, wall time / ``n_iter``, the CPU
time, the best mean CV score, the held-out accuracy of ``best_estimator_``,
the epochs that refitted estimator ran (skoptnn's ``n_epochs_`` and 0-based
``best_epoch_``; scikit-learn's ``n_iter_``) and, for skoptnn, how many
TensorFlow graphs were traced during its search
(``skoptnn._cache.traced_graphs()`` before and after; "n/a" while that
function does not exist). With ``--repeats`` > 1 every figure is the median
over the repeats. The ratio skoptnn wall / scikit-learn wall is checked
against the goal of at most 1.25x.

``--quick`` (``n_iter=8``, ``cv=3``) is a smoke run: its report is printed
but written only where ``--output`` says, so it never overwrites
``benchmarks/search_speed.md``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from _common import (  # benchmarks/_common.py
    DepthWidthMLP,
    depth_width_space,
    load_data,
    machine,
)

N_ITER, CV = 30, 5
QUICK_N_ITER, QUICK_CV = 8, 3
TEST_SIZE = 0.25
GOAL_RATIO = 1.25
CONTENDERS = ("sklearn MLP", "skoptnn")
PACKAGES = ("numpy", "tensorflow", "keras", "scikit-learn", "scikit-optimize")


# -- the two searches ------------------------------------------------------------------
def sklearn_search(n_iter: int, cv: int):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from skopt import BayesSearchCV

    pipe = make_pipeline(StandardScaler(), DepthWidthMLP(
        batch_size=32, max_iter=100, early_stopping=True, random_state=0))
    space = depth_width_space()
    return BayesSearchCV(pipe, space, n_iter=n_iter, cv=cv, random_state=0)


def skoptnn_search(n_iter: int, cv: int):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from skopt import BayesSearchCV

    from skoptnn import OptimizedMLPClassifier, classifier_space

    pipe = make_pipeline(StandardScaler(),
                         OptimizedMLPClassifier(early_stopping=True, random_state=0))
    return BayesSearchCV(pipe, classifier_space(prefix="optimizedmlpclassifier__"),
                         n_iter=n_iter, cv=cv, random_state=0)


def traced_graphs() -> int | None:
    """Graphs skoptnn has traced so far in this process; None while it cannot tell."""
    try:
        from skoptnn import _cache
    except ImportError:
        return None
    count = getattr(_cache, "traced_graphs", None)
    return int(count()) if callable(count) else None


def timed_search(search, X, y) -> tuple[float, float]:
    """Wall and CPU seconds of ``search.fit``, with one BLAS thread."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        start, cpu_start = time.perf_counter(), time.process_time()
        search.fit(X, y)
        return time.perf_counter() - start, time.process_time() - cpu_start


def summary(search, seconds: float, cpu: float, n_iter: int, X_te, y_te) -> dict:
    best = search.best_estimator_
    return {
        "seconds": seconds, "per_candidate": seconds / n_iter, "cpu_seconds": cpu,
        "best_cv": float(search.best_score_),
        "test_accuracy": float(best.score(X_te, y_te)),
        "n_candidates": len(search.cv_results_["params"]),
        "best_params": {k.split("__", 1)[1]: v.item() if isinstance(v, np.generic) else v
                        for k, v in search.best_params_.items()},
    }


def run_once(path: str | None, n_iter: int, cv: int) -> dict:
    """One repeat, in this (fresh) process: scikit-learn's search, then skoptnn's."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split

    X, y, name = load_data(path)
    X_s, X_te, y_s, y_te = train_test_split(X, y, test_size=TEST_SIZE, stratify=y,
                                            random_state=0)
    # Repeated points are part of a small search; non-converging or diverging
    # candidates too (the search scores them low).
    warnings.filterwarnings("ignore", message=".*objective has been evaluated.*")
    warnings.simplefilter("ignore", ConvergenceWarning)
    out = {"data": name, "n_search": len(X_s), "n_test": len(X_te), "n_features": X.shape[1]}

    search = sklearn_search(n_iter, cv)
    seconds, cpu = timed_search(search, X_s, y_s)
    out["sklearn MLP"] = summary(search, seconds, cpu, n_iter, X_te, y_te)
    out["sklearn MLP"]["epochs"] = int(search.best_estimator_[-1].mlp_.n_iter_)
    log(f"sklearn MLP: {seconds:.1f} s, best CV {search.best_score_:.3f}")

    # Untimed: importing TensorFlow (skoptnn's import first: it sizes
    # TensorFlow's thread pools, which must happen before the first operation)
    # and starting its runtime with one operation (~30-80 ms here).
    import skoptnn
    from skoptnn import DivergenceWarning, OptimizedMLPClassifier  # noqa: F401 (imports TF)

    tf = importlib.import_module("tensorflow")
    (tf.constant(1.0) + 1.0).numpy()
    warnings.simplefilter("ignore", DivergenceWarning)
    out["skoptnn_path"] = str(Path(skoptnn.__file__).parent)

    search = skoptnn_search(n_iter, cv)
    before = traced_graphs()
    seconds, cpu = timed_search(search, X_s, y_s)
    after = traced_graphs()
    out["skoptnn"] = summary(search, seconds, cpu, n_iter, X_te, y_te)
    best = search.best_estimator_[-1]
    out["skoptnn"]["epochs"] = int(best.n_epochs_)
    out["skoptnn"]["best_epoch"] = int(best.best_epoch_)
    out["skoptnn"]["max_epochs"] = int(best.epochs)
    out["skoptnn"]["graphs"] = None if before is None or after is None else after - before
    log(f"skoptnn: {seconds:.1f} s, best CV {search.best_score_:.3f}")
    return out


def log(text: str) -> None:
    print(f"  [{os.getpid()}] {text}", file=sys.stderr, flush=True)


def spawn(path: str | None, n_iter: int, cv: int) -> dict:
    """Run one repeat in a fresh process; its progress goes to our stderr."""
    cmd = [sys.executable, __file__, "--run", "--n-iter", str(n_iter), "--cv", str(cv)]
    if path:
        cmd.append(path)
    out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if out.returncode != 0:
        raise SystemExit(f"search_speed: the repeat failed (exit {out.returncode}); "
                         "its error is above")
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- report --------------------------------------------------------------------------------
def median(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def report(results: list[dict], n_iter: int, cv: int, args_line: str, load_start,
           quick: bool) -> str:
    first = results[0]
    med = {c: {k: median([r[c].get(k) for r in results])
               for k in ("seconds", "per_candidate", "cpu_seconds", "best_cv",
                         "test_accuracy", "epochs", "best_epoch", "max_epochs", "graphs")}
           for c in CONTENDERS}
    ratio = med["skoptnn"]["seconds"] / med["sklearn MLP"]["seconds"]
    repeats = len(results)
    lines = [
        "# One BayesSearchCV: skoptnn against scikit-learn's MLPClassifier (issue #16)"
        + (" -- QUICK SMOKE RUN, not a result" if quick else ""),
        "",
        f"- command: `{args_line}`",
        f"- data: {first['data']}, {first['n_search']} search rows, {first['n_test']} held "
        f"out (stratified, random_state=0), {first['n_features']} features",
        f"- `BayesSearchCV(n_iter={n_iter}, cv={cv}, random_state=0)`, n_jobs=1, one BLAS "
        "thread; wall time = `search.fit` including the refit of the best candidate",
        "- each repeat in a fresh process: scikit-learn's search, then skoptnn's; "
        "TensorFlow's import and start-up untimed"
        + (f"; medians over {repeats} repeats" if repeats > 1 else "; 1 repeat"),
        f"- skoptnn imported from `{first['skoptnn_path']}`",
        *machine(load_start, PACKAGES),
        "",
        "| contender | wall (s) | per candidate (s) | CPU (s) | best CV score "
        "| held-out accuracy | best estimator's epochs run | TF graphs traced |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in CONTENDERS:
        m = med[c]
        if c == "skoptnn":
            epochs = (f"{m['epochs']:g} of {m['max_epochs']:g} (best epoch {m['best_epoch']:g},"
                      " 0-based)")
            graphs = "n/a" if m["graphs"] is None else f"{m['graphs']:g}"
        else:
            epochs, graphs = f"{m['epochs']:g} of 100", "-"
        lines.append(f"| {c} | {m['seconds']:.1f} | {m['per_candidate']:.2f} | "
                     f"{m['cpu_seconds']:.1f} | {m['best_cv']:.3f} | {m['test_accuracy']:.3f} | "
                     f"{epochs} | {graphs} |")
    lines += ["", f"skoptnn wall / sklearn MLP wall: {ratio:.2f}x (> 1: skoptnn slower)"]
    if repeats > 1:
        lines.append("per repeat: " + ", ".join(
            f"{r['skoptnn']['seconds']:.1f} s / {r['sklearn MLP']['seconds']:.1f} s = "
            f"{r['skoptnn']['seconds'] / r['sklearn MLP']['seconds']:.2f}x" for r in results))
    ok = ratio <= GOAL_RATIO
    lines += ["", "## Goals", "",
              f"- [{'x' if ok else ' '}] skoptnn wall <= {GOAL_RATIO}x sklearn: {ratio:.2f}x "
              f"({'PASS' if ok else 'FAIL'})",
              "", "## Best parameters (first repeat)", ""]
    for c in CONTENDERS:
        params = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in sorted(first[c]["best_params"].items()))
        lines.append(f"- {c}: {params}")
    return "\n".join(lines) + "\n"


# -- command line --------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?",
                        help="CSV without header, target last (Pima); default: breast cancer")
    parser.add_argument("--n-iter", type=int, default=None,
                        help=f"candidates per search (default {N_ITER})")
    parser.add_argument("--cv", type=int, default=None, help=f"CV folds (default {CV})")
    parser.add_argument("--repeats", type=int, default=1,
                        help="searches per contender, each in a fresh process; medians "
                        "(default 1)")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: --n-iter {QUICK_N_ITER} --cv {QUICK_CV}")
    parser.add_argument("--output", default=None,
                        help="markdown file for the report (default: benchmarks/"
                        "search_speed.md; none with --quick)")
    parser.add_argument("--run", action="store_true", help=argparse.SUPPRESS)  # one repeat
    args = parser.parse_args(argv)
    if args.quick and (args.n_iter is not None or args.cv is not None):
        parser.error(f"--quick means --n-iter {QUICK_N_ITER} --cv {QUICK_CV}; "
                     "give --quick or --n-iter/--cv, not both")
    if args.n_iter is not None and args.n_iter < 1:
        parser.error("--n-iter must be >= 1")
    if args.cv is not None and args.cv < 2:
        parser.error("--cv must be >= 2")
    n_iter = args.n_iter or (QUICK_N_ITER if args.quick else N_ITER)
    cv = args.cv or (QUICK_CV if args.quick else CV)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    if args.path and not Path(args.path).is_file():
        parser.error(f"no such file: {args.path}")
    if args.run:
        print(json.dumps(run_once(args.path, n_iter, cv)))
        return 0

    try:
        _, y, name = load_data(args.path)
    except ValueError as exc:
        parser.error(f"cannot read {args.path} as a numeric CSV without header: "
                     f"{str(exc).splitlines()[0]}")
    counts = np.unique(y, return_counts=True)[1]
    smallest = int(np.floor(counts.min() * (1 - TEST_SIZE)))
    if len(counts) < 2:
        parser.error(f"{name}: the target (last column) has one class; need at least 2")
    if smallest < cv:
        parser.error(f"{name}: the smallest class has about {smallest} search rows, fewer "
                     f"than --cv {cv}")

    load_start = os.getloadavg()
    print(f"search_speed: {name}, BayesSearchCV n_iter={n_iter}, cv={cv}, "
          f"repeats={args.repeats}", flush=True)
    results = []
    for i in range(args.repeats):
        r = spawn(args.path, n_iter, cv)
        results.append(r)
        print(f"repeat {i + 1}/{args.repeats}: sklearn MLP {r['sklearn MLP']['seconds']:.1f} s,"
              f" skoptnn {r['skoptnn']['seconds']:.1f} s", flush=True)
    args_line = "python benchmarks/search_speed.py " + shlex.join(
        sys.argv[1:] if argv is None else argv)
    text = report(results, n_iter, cv, args_line.strip(), load_start, args.quick)
    print()
    print(text)
    output = args.output or (None if args.quick else str(Path(__file__).with_suffix(".md")))
    if output:
        Path(output).write_text(text)
        print(f"saved to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
