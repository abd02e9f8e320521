"""Wall time of one Bayesian search: skoptnn against scikit-learn's MLPClassifier (issue #16).

Usage::

    PYTHONPATH=. python benchmarks/search_speed.py [PATH_TO_PIMA_CSV] [--n-iter 30] [--cv 5]
        [--repeats 3] [--quick] [--output FILE]

The CSV has no header: the features, then the integer class (the Pima
layout). Without a path the data is scikit-learn's ``load_breast_cancer``. A
stratified 25% of the rows is held out (``random_state=0``); each search runs
on the other 75%, and its refitted ``best_estimator_`` is scored on the
held-out rows.

The three contenders, the same rows, ``n_iter``, ``cv`` and, in repeat r,
the searches' ``random_state=r``
(``cv`` is an integer: ``BayesSearchCV``'s default unshuffled
``StratifiedKFold``; scoring = accuracy; ``n_jobs=1``):

* ``sklearn MLP``: ``skopt.BayesSearchCV`` over ``make_pipeline(StandardScaler(),
  DepthWidthMLP(batch_size=32, max_iter=100, early_stopping=True,
  random_state=0))``, scikit-learn's ``MLPClassifier`` behind the integer
  depth/width adapter of ``benchmarks/_common.py`` (``_common.sklearn_search``);
  space: ``n_layers`` Integer(1, 10), ``units`` Integer(8, 128), ``activation``
  relu/tanh/logistic, ``alpha`` Real(1e-6, 1e-2, log-uniform),
  ``learning_rate_init`` Real(1e-4, 1e-1, log-uniform). Its
  ConvergenceWarnings are silenced.
* ``skoptnn BayesSearchCV``: plain ``skopt.BayesSearchCV`` over
  ``make_pipeline(StandardScaler(), OptimizedMLPClassifier(early_stopping=True,
  random_state=0))`` with the package's other defaults, space
  ``classifier_space(prefix="optimizedmlpclassifier__")``.
* ``skoptnn search class``: ``skoptnn.ResumableBayesSearchCV`` with its
  defaults (``prune`` and ``defaults_first`` on once they exist; no
  checkpoint), same pipeline and space.

Each contender of each repeat runs in a fresh Python process, one after the
other in the order above (so no compiled graph or Keras state carries over:
the two skoptnn searches meet mostly the same architectures, and the second
would find the first one's training loops compiled). A skoptnn process
imports skoptnn and TensorFlow and starts TensorFlow's runtime with one
trivial operation before the clock starts (neither search pays for
TensorFlow's start-up); scikit-learn's process never imports TensorFlow.
Every search runs with one BLAS thread
(``threadpoolctl.threadpool_limits(1, user_api="blas")``), as ``skoptnn
tune`` does: scikit-optimize's Gaussian process is thousands of tiny BLAS
calls. The timed span is ``search.fit``, which includes the refit of the best
candidate; CPU time (``time.process_time``, all threads) is recorded beside
it, and falls below the wall time when other processes competed for the
cores.

Per contender the table lists the wall time, its ratio to scikit-learn's
wall time (the median over repeats of each repeat's ratio, and the ratio of
the median walls), the CPU time, the best mean CV score, the held-out
accuracy of ``best_estimator_``, the epochs run (mean over every CV fit: the
search class's ``cv_results_["mean_n_epochs"]``; for the other two a scorer
that returns the pipeline's accuracy and notes the epochs each CV fit ran,
``_common.EpochRecorder``), the epochs the refitted best estimator ran, how
many candidates the search class pruned (``cv_results_["pruned"]``; "n/a"
while the column does not exist) and, for skoptnn, how many TensorFlow graphs
were traced (``skoptnn.engine.cache.traced_graphs()`` before and after). With
``--repeats`` > 1 every figure is the median over the repeats. Goals checked:

* plain BayesSearchCV wall <= 1.0x scikit-learn's (median of >= 3 repeats);
* search class wall <= 0.6x scikit-learn's;
* plain BayesSearchCV's best CV within 0.01 of 0.766 and held-out accuracy
  within 0.02 of 0.776 (its figures on Pima with n_iter=30, cv=5 before the
  search-time work; not comparable on other data or settings);
* search class held-out accuracy within 0.02 of plain BayesSearchCV's.

``--quick`` (``n_iter=8``, ``cv=3``, 1 repeat unless ``--repeats``) is a
smoke run: its report is printed but written only where ``--output`` says, so
it never overwrites ``benchmarks/search_speed.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

import _common  # benchmarks/_common.py
import numpy as np

N_ITER, CV, REPEATS = 30, 5, 3
QUICK_N_ITER, QUICK_CV = 8, 3
TEST_SIZE = 0.25
# contender label -> the --run key that runs it in a fresh process
CONTENDERS = {"sklearn MLP": "sklearn", "skoptnn BayesSearchCV": "plain",
              "skoptnn search class": "class"}
PLAIN, CLASS = "skoptnn BayesSearchCV", "skoptnn search class"
GOAL_PLAIN, GOAL_CLASS, MIN_REPEATS = 1.0, 0.6, 3
# Plain BayesSearchCV on Pima, n_iter=30, cv=5 (benchmarks/search_speed.md before
# the search-time work), and how far from them its figures may be.
REFERENCE_CV, REFERENCE_HELD_OUT, CV_TOLERANCE, HELD_OUT_TOLERANCE = 0.766, 0.776, 0.01, 0.02
PACKAGES = ("numpy", "tensorflow", "keras", "scikit-learn", "scikit-optimize")


# -- the three searches ------------------------------------------------------------------
def traced_graphs() -> int | None:
    """Graphs skoptnn has traced so far in this process; None while it cannot tell."""
    try:
        from skoptnn.engine import cache as _cache
    except ImportError:
        return None
    count = getattr(_cache, "traced_graphs", None)
    return int(count()) if callable(count) else None


def summary(search, seconds: float, cpu: float, X_te, y_te) -> dict:
    best = search.best_estimator_
    n_candidates = len(search.cv_results_["params"])
    return {
        "seconds": seconds, "per_candidate": seconds / n_candidates, "cpu_seconds": cpu,
        "best_cv": float(search.best_score_),
        "test_accuracy": float(best.score(X_te, y_te)),
        "n_candidates": n_candidates,
        "best_params": {k.split("__", 1)[1]: v.item() if isinstance(v, np.generic) else v
                        for k, v in search.best_params_.items()},
    }


def run_once(path: str | None, n_iter: int, cv: int, key: str, seed: int = 0) -> dict:
    """One contender of one repeat, in this (fresh) process."""
    from sklearn.model_selection import train_test_split
    from skopt import BayesSearchCV

    X, y, name = _common.load_data(path)
    X_s, X_te, y_s, y_te = train_test_split(X, y, test_size=TEST_SIZE, stratify=y,
                                            random_state=0)
    out = {"data": name, "n_search": len(X_s), "n_test": len(X_te), "n_features": X.shape[1]}
    out.update(_common.quiet_contender(skoptnn=key != "sklearn"))
    recorder = _common.EpochRecorder()

    if key == "sklearn":
        search = _common.sklearn_search(n_iter, cv, scoring=recorder, seed=seed)
        before = after = None
    else:
        if key == "plain":
            search = _common.skoptnn_search(n_iter, cv, scoring=recorder,
                                            search_cls=BayesSearchCV, seed=seed)
        else:  # its defaults: no scorer of ours, the epochs come from cv_results_
            search = _common.skoptnn_search(n_iter, cv, seed=seed)  # ResumableBayesSearchCV
        before = traced_graphs()
    seconds, cpu = _common.timed_search(search, X_s, y_s)
    after = traced_graphs() if before is not None else None
    result = summary(search, seconds, cpu, X_te, y_te)
    columns = _common.search_columns(search)
    result["pruned"] = columns["pruned"]
    result["pruned_epoch"] = columns["pruned_epoch"]
    result["mean_epochs"] = (columns["mean_epochs"] if columns["mean_epochs"] is not None
                             else float(np.mean(recorder.epochs)) if recorder.epochs else None)
    best = search.best_estimator_[-1]
    if key == "sklearn":
        result["epochs"] = int(best.mlp_.n_iter_)
        result["max_epochs"] = int(best.max_iter)
    else:
        result["epochs"] = int(best.n_epochs_)
        result["best_epoch"] = int(best.best_epoch_)
        result["max_epochs"] = int(best.epochs)
        result["graphs"] = None if before is None or after is None else after - before
    _common.log(f"{key}: {seconds:.1f} s, {result['n_candidates']} candidates, best CV "
        f"{search.best_score_:.3f}")
    out["result"] = result
    return out


def spawn(path: str | None, n_iter: int, cv: int, key: str, seed: int) -> dict:
    """Run one contender in a fresh process; its progress goes to our stderr."""
    args = ["--run", key, "--n-iter", str(n_iter), "--cv", str(cv), "--seed", str(seed)]
    return _common.run_fresh(__file__, args + ([path] if path else []),
                             f"search_speed: the {key} run failed")


def run_repeat(path: str | None, n_iter: int, cv: int, seed: int) -> dict:
    """Every contender once, each in its own process: ``{label: result, ...}`` and data."""
    repeat: dict = {}
    for label, key in CONTENDERS.items():
        out = spawn(path, n_iter, cv, key, seed)
        repeat[label] = out.pop("result")
        repeat.update(out)
    return repeat


# -- report --------------------------------------------------------------------------------
def goal(text: str, ok: bool, value: str, note: str = "") -> str:
    return f"- [{'x' if ok else ' '}] {text}: {value} ({'PASS' if ok else 'FAIL'}){note}"


def report(results: list[dict], n_iter: int, cv: int, args_line: str, load_start,
           quick: bool) -> str:
    first = results[0]
    keys = ("seconds", "per_candidate", "cpu_seconds", "best_cv", "test_accuracy", "epochs",
            "best_epoch", "max_epochs", "graphs", "mean_epochs", "pruned", "pruned_epoch",
            "n_candidates")
    med = {c: {k: _common.median([r[c].get(k) for r in results]) for k in keys}
           for c in CONTENDERS}
    base = "sklearn MLP"
    # Per contender: the median of each repeat's ratio, and the ratio of the medians.
    per_repeat = {c: [r[c]["seconds"] / r[base]["seconds"] for r in results] for c in CONTENDERS}
    ratio = {c: statistics.median(per_repeat[c]) for c in CONTENDERS}
    ratio_of_medians = {c: med[c]["seconds"] / med[base]["seconds"] for c in CONTENDERS}
    repeats = len(results)
    lines = [
        "# One BayesSearchCV: skoptnn against scikit-learn's MLPClassifier (issue #16)"
        + (" -- QUICK SMOKE RUN, not a result" if quick else ""),
        "",
        f"- command: `{args_line}`",
        f"- data: {first['data']}, {first['n_search']} search rows, {first['n_test']} held "
        f"out (stratified, random_state=0), {first['n_features']} features",
        f"- `n_iter={n_iter}, cv={cv}`, repeat r with the searches' `random_state=r` (the same "
        "for every contender: a repeat is another search path, not only another timing), "
        f"n_jobs=1, one BLAS thread; wall time "
        "= `search.fit` including the refit of the best candidate",
        "- each contender of each repeat in a fresh process (scikit-learn, plain "
        "BayesSearchCV, search class); TensorFlow's import and start-up untimed"
        + (f"; medians over {repeats} repeats" if repeats > 1 else "; 1 repeat"),
        f"- skoptnn imported from `{first.get('skoptnn_path', 'n/a')}`",
        *_common.machine(load_start, PACKAGES),
        "",
        "| contender | wall (s) | / sklearn wall, median of repeats | / sklearn wall, ratio "
        "of medians | per candidate (s) | CPU (s) | best CV score | held-out accuracy "
        "| epochs run, mean over CV fits | best estimator's epochs run | candidates pruned "
        "| TF graphs traced |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in CONTENDERS:
        m = med[c]
        if c == base:
            epochs, graphs, pruned = f"{m['epochs']:g} of {m['max_epochs']:g}", "-", "-"
        else:
            epochs = (f"{m['epochs']:g} of {m['max_epochs']:g} (best epoch "
                      f"{m['best_epoch']:g}, 0-based)")
            graphs = _common.fmt(m["graphs"])
            pruned = "-" if c == PLAIN else _common.fmt(m["pruned"])
            if c == CLASS and m["pruned_epoch"] is not None:
                pruned += f" of {m['n_candidates']:g} (median epoch {m['pruned_epoch']:g})"
        lines.append(
            f"| {c} | {m['seconds']:.1f} | {ratio[c]:.2f}x | {ratio_of_medians[c]:.2f}x | "
            f"{m['per_candidate']:.2f} | {m['cpu_seconds']:.1f} | {m['best_cv']:.3f} | "
            f"{m['test_accuracy']:.3f} | {_common.fmt(m['mean_epochs'], '.1f')} | {epochs} | "
            f"{pruned} | {graphs} |")
    lines += ["", "Ratios < 1: faster than scikit-learn's search."]
    if repeats > 1:
        lines += ["", "Per repeat, wall / sklearn MLP wall:", ""]
        lines += [f"- {c}: " + ", ".join(
            f"{r[c]['seconds']:.1f} s / {r[base]['seconds']:.1f} s = {x:.2f}x"
            for r, x in zip(results, per_repeat[c], strict=True)) for c in (PLAIN, CLASS)]

    few = (f"; only {repeats} repeat{'s' if repeats > 1 else ''}, the goal needs "
           f">= {MIN_REPEATS}" if repeats < MIN_REPEATS else "")
    plain, cls = med[PLAIN], med[CLASS]
    plain_ok = ratio[PLAIN] <= GOAL_PLAIN and repeats >= MIN_REPEATS
    class_ok = ratio[CLASS] <= GOAL_CLASS
    cv_gap = plain["best_cv"] - REFERENCE_CV
    held_gap = plain["test_accuracy"] - REFERENCE_HELD_OUT
    reference_ok = abs(cv_gap) <= CV_TOLERANCE and abs(held_gap) <= HELD_OUT_TOLERANCE
    comparable = first["data"].startswith("Pima") and (n_iter, cv) == (N_ITER, CV)
    class_gap = cls["test_accuracy"] - plain["test_accuracy"]
    lines += [
        "", "## Goals", "",
        goal(f"plain BayesSearchCV wall <= {GOAL_PLAIN}x sklearn (median of per-repeat "
             f"ratios, >= {MIN_REPEATS} repeats)", plain_ok, f"{ratio[PLAIN]:.2f}x", few),
        goal(f"search class wall <= {GOAL_CLASS}x sklearn (median of per-repeat ratios)",
             class_ok, f"{ratio[CLASS]:.2f}x"),
        goal(f"plain BayesSearchCV best CV within {CV_TOLERANCE} of {REFERENCE_CV} and "
             f"held-out within {HELD_OUT_TOLERANCE} of {REFERENCE_HELD_OUT}", reference_ok,
             f"{plain['best_cv']:.3f} ({cv_gap:+.3f}), {plain['test_accuracy']:.3f} "
             f"({held_gap:+.3f})",
             "" if comparable else "; reference figures are for Pima, n_iter=30, cv=5: "
             "not comparable here"),
        goal(f"search class held-out within {HELD_OUT_TOLERANCE} of plain BayesSearchCV's",
             abs(class_gap) <= HELD_OUT_TOLERANCE,
             f"{cls['test_accuracy']:.3f} vs {plain['test_accuracy']:.3f} ({class_gap:+.3f})"),
        "", "## Best parameters (first repeat)", "",
    ]
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
    parser.add_argument("--repeats", type=int, default=None,
                        help="searches per contender, each in a fresh process; medians "
                        f"(default {REPEATS}; 1 with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: --n-iter {QUICK_N_ITER} --cv {QUICK_CV}")
    parser.add_argument("--output", default=None,
                        help="markdown file for the report (default: benchmarks/"
                        "search_speed.md; none with --quick)")
    parser.add_argument("--run", choices=list(CONTENDERS.values()),
                        help=argparse.SUPPRESS)  # one contender of one repeat
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
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
    repeats = args.repeats if args.repeats is not None else (1 if args.quick else REPEATS)
    if repeats < 1:
        parser.error("--repeats must be >= 1")
    if args.path and not Path(args.path).is_file():
        parser.error(f"no such file: {args.path}")
    if args.run:
        print(json.dumps(run_once(args.path, n_iter, cv, args.run, args.seed)))
        return 0

    try:
        _, y, name = _common.load_data(args.path)
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
    print(f"search_speed: {name}, n_iter={n_iter}, cv={cv}, repeats={repeats}", flush=True)
    results = []
    for i in range(repeats):
        r = run_repeat(args.path, n_iter, cv, seed=i)
        results.append(r)
        print(f"repeat {i + 1}/{repeats}: " + ", ".join(
            f"{c} {r[c]['seconds']:.1f} s" for c in CONTENDERS), flush=True)
    text = report(results, n_iter, cv, _common.command_line(__file__, argv), load_start,
                  args.quick)
    _common.write_report(text, args.output, args.quick, __file__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
