"""What a Bayesian search finds in a fixed time budget: skoptnn against scikit-learn's MLP.

Usage::

    PYTHONPATH=. python benchmarks/search_budget.py [--budget 60] [--repeats 1]
        [--tables breast_cancer pima hmda oj generated] [--data-dir DIR] [--n-iter 200]
        [--quick] [--output FILE]

The tables (``_common.TABLES``; the CSVs come from ``--data-dir``, default
``../shared/data`` beside the repo; a missing one is skipped with a note):

* ``breast_cancer``: scikit-learn's ``load_breast_cancer`` (569 x 30);
* ``pima``: ``pima-indians-diabetes.csv`` (768 x 8, no header, target last);
* ``hmda``: ``hmda.csv`` (2,380 x 13, target ``deny`` = yes, 12% positive;
  its yes/no columns are categoricals);
* ``oj``: ``oj.csv`` (1,070 x 17, target ``Purchase`` = MM; ``Store7`` is
  categorical);
* ``generated``: ``make_classification(n_samples=5000, n_features=20,
  n_informative=10, weights=[0.85], random_state=0)``.

Numeric columns are standardized (``StandardScaler``); the non-numeric ones of
hmda and oj are one-hot encoded beside them (``ColumnTransformer`` with
``OneHotEncoder(handle_unknown="ignore")``), inside the searched pipeline. Each
table is split 75/25, stratified, ``random_state=0``; the searches run on the
75% and their refitted ``best_estimator_`` is scored on the 25%. The score is
accuracy, except on the imbalanced tables (hmda, generated): balanced
accuracy, for the searches' ``scoring`` and for the held-out score alike.

The two searches, both with ``cv=3`` (unshuffled ``StratifiedKFold``),
``n_iter=200`` (more than fit in the budget), ``random_state=0``,
``n_jobs=1``, one BLAS thread, and
``callback=skopt.callbacks.DeadlineStopper(total_time=BUDGET)`` created just
before ``fit``:

* ``A sklearn MLP``: ``skopt.BayesSearchCV`` over scikit-learn's
  ``MLPClassifier`` behind ``_common.DepthWidthMLP(batch_size=32,
  max_iter=100, early_stopping=True, random_state=0)``, the space and settings
  of ``search_speed.py`` (``_common.sklearn_search``);
* ``B skoptnn``: ``skoptnn.ResumableBayesSearchCV(make_pipeline(preprocessor,
  OptimizedMLPClassifier(early_stopping=True, random_state=0)),
  classifier_space(prefix="optimizedmlpclassifier__"))`` with its default
  settings (``prune`` and ``defaults_first`` on once they exist; no
  checkpoint).

scikit-optimize's ``DeadlineStopper`` runs after each round (one candidate)
and stops the search once the time left is no more than the longest round so
far: a search can stop before the budget (after one slow candidate) or
overshoot it (when its last round is its longest), and the refit of the best
candidate comes on top. The wall time (``search.fit``, refit included) is
reported beside the budget, with the refit's share and the longest round.

Each search of each table of each repeat runs in a fresh Python process
(skoptnn's compiled training loops would otherwise carry over from table to
table). skoptnn's process imports skoptnn and TensorFlow and starts
TensorFlow's runtime before the clock starts; scikit-learn's never imports
TensorFlow. With ``--repeats`` > 1 every figure is the median over the
repeats.

Per table and search the report lists the candidates told to the optimizer
(``len(cv_results_["params"])``), how many of them were pruned
(``cv_results_["pruned"]``; "n/a" while the column does not exist), the best
CV score, the held-out score and the wall time. Goals: on every table, B
tells at least as many candidates as A, and B's held-out score is no more
than 0.01 below A's.

``--quick`` (budget 5 s, tables pima and oj, 1 repeat unless ``--repeats``)
is a smoke run: its report is printed but written only where ``--output``
says, so it never overwrites ``benchmarks/search_budget.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import _common  # benchmarks/_common.py

BUDGET, N_ITER, CV, REPEATS = 60.0, 200, 3, 1
QUICK_BUDGET, QUICK_TABLES = 5.0, ("pima", "oj")
TEST_SIZE = 0.25
SEARCHES = {"sklearn": "A sklearn MLP", "skoptnn": "B skoptnn"}
HELD_OUT_TOLERANCE = 0.01
PACKAGES = ("numpy", "pandas", "tensorflow", "keras", "scikit-learn", "scikit-optimize")


# -- one search ------------------------------------------------------------------------------
def held_out_score(table, estimator, X, y) -> float:
    from sklearn.metrics import accuracy_score, balanced_accuracy_score

    metric = balanced_accuracy_score if table.imbalanced else accuracy_score
    return float(metric(y, estimator.predict(X)))


def run_once(name: str, key: str, budget: float, n_iter: int, data_dir: str) -> dict:
    """One search on one table, in this (fresh) process."""
    from sklearn.model_selection import train_test_split
    from skopt.callbacks import DeadlineStopper

    table = _common.load_table(name, data_dir)
    X_s, X_te, y_s, y_te = train_test_split(table.X, table.y, test_size=TEST_SIZE,
                                            stratify=table.y, random_state=0)
    out = _common.quiet_contender(skoptnn=key != "sklearn")
    contender = _common.sklearn_search if key == "sklearn" else _common.skoptnn_search
    search = contender(n_iter, CV, table.preprocessor(), table.scoring)
    stopper = DeadlineStopper(total_time=budget)  # its clock starts here
    seconds, cpu = _common.timed_search(search, X_s, y_s, callback=stopper)
    columns = _common.search_columns(search)
    out.update({
        "seconds": seconds, "cpu_seconds": cpu, "refit_seconds": float(search.refit_time_),
        "n_candidates": len(search.cv_results_["params"]),
        "pruned": columns["pruned"], "mean_epochs": columns["mean_epochs"],
        "rounds": len(stopper.iter_time),
        "longest_round": float(max(stopper.iter_time, default=0.0)),
        "best_cv": float(search.best_score_),
        "held_out": held_out_score(table, search.best_estimator_, X_te, y_te),
        "n_search": len(y_s), "n_test": len(y_te),
        "n_features": int(search.best_estimator_[0].transform(X_te[:1]).shape[1]),
    })
    _common.log(f"{name} {key}: {seconds:.1f} s, {out['n_candidates']} candidates, best CV "
        f"{out['best_cv']:.3f}, held out {out['held_out']:.3f}")
    return out


def spawn(name: str, key: str, budget: float, n_iter: int, data_dir: str) -> dict:
    """Run one search in a fresh process; its progress goes to our stderr."""
    return _common.run_fresh(
        __file__, ["--run", key, "--tables", name, "--budget", str(budget), "--n-iter",
                   str(n_iter), "--data-dir", data_dir],
        f"search_budget: the {key} search on {name} failed")


# -- report ------------------------------------------------------------------------------------
def report(results: dict, tables: dict, budget: float, n_iter: int, repeats: int,
           skipped: list[str], args_line: str, load_start, quick: bool) -> str:
    keys = ("seconds", "cpu_seconds", "refit_seconds", "n_candidates", "pruned",
            "rounds", "longest_round", "best_cv", "held_out")
    med = {(t, k): {f: _common.median([r.get(f) for r in rs]) for f in keys}
           for (t, k), rs in results.items()}
    path = next((r[0]["skoptnn_path"] for (_, k), r in results.items() if k == "skoptnn"),
                "n/a")
    lines = [
        "# A Bayesian search in a fixed time budget: skoptnn against scikit-learn's MLP"
        + (" -- QUICK SMOKE RUN, not a result" if quick else ""),
        "",
        f"- command: `{args_line}`",
        f"- budget {budget:g} s per search (`skopt.callbacks.DeadlineStopper`), "
        f"`n_iter={n_iter}, cv={CV}, random_state=0`, n_jobs=1, one BLAS thread; wall time "
        "= `search.fit` including the refit of the best candidate",
        "- each search in a fresh process; TensorFlow's import and start-up untimed"
        + (f"; medians over {repeats} repeats" if repeats > 1 else "; 1 repeat"),
        "- held-out score: accuracy; balanced accuracy (also the searches' scoring) on "
        "hmda and generated",
        f"- skoptnn imported from `{path}`",
        *_common.machine(load_start, PACKAGES),
    ]
    if skipped:
        lines.append(f"- skipped (no CSV): {', '.join(skipped)}")
    lines += [
        "",
        "| table | rows search / held out, features | search | candidates told | pruned "
        "| best CV | held-out score | wall (s) | refit (s) | longest round (s) | CPU (s) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, table in tables.items():
        for key, label in SEARCHES.items():
            m, first = med[name, key], results[name, key][0]
            shape = (f"{first['n_search']} / {first['n_test']}, "
                     f"{first['n_features']}" if key == "sklearn" else "")
            lines.append(
                f"| {name if key == 'sklearn' else ''} | {shape} | {label} | "
                f"{m['n_candidates']:g}{' (all)' if m['n_candidates'] >= n_iter else ''} | "
                f"{'-' if key == 'sklearn' else _common.fmt(m['pruned'])} | {m['best_cv']:.3f} | "
                f"{m['held_out']:.3f} {table.metric} | {m['seconds']:.1f} | "
                f"{m['refit_seconds']:.1f} | {m['longest_round']:.1f} | "
                f"{m['cpu_seconds']:.1f} |")
    more, close = [], []
    for name in tables:
        a, b = med[name, "sklearn"], med[name, "skoptnn"]
        more.append((name, b["n_candidates"] >= a["n_candidates"],
                     f"{b['n_candidates']:g} vs {a['n_candidates']:g}"))
        gap = b["held_out"] - a["held_out"]
        close.append((name, gap >= -HELD_OUT_TOLERANCE,
                      f"{b['held_out']:.3f} vs {a['held_out']:.3f} ({gap:+.3f})"))
    lines += ["", "## Goals", ""]
    for text, checks in (("B tells at least as many candidates as A on every table", more),
                         (f"B's held-out score no more than {HELD_OUT_TOLERANCE} below A's on "
                          "every table", close)):
        ok = all(c[1] for c in checks)
        lines.append(f"- [{'x' if ok else ' '}] {text}: "
                     + "; ".join(f"{n} {v}{'' if c else ' (miss)'}" for n, c, v in checks)
                     + f" ({'PASS' if ok else 'FAIL'})")
    return "\n".join(lines) + "\n"


# -- command line --------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=None,
                        help=f"seconds per search (default {BUDGET:g}; {QUICK_BUDGET:g} with "
                        "--quick)")
    parser.add_argument("--tables", nargs="+", choices=list(_common.TABLES), default=None,
                        help="tables to run (default: all; " + " and ".join(QUICK_TABLES)
                        + " with --quick)")
    parser.add_argument("--data-dir", default=str(_common.DEFAULT_DATA_DIR),
                        help="folder of the CSVs (default: ../shared/data beside the repo)")
    parser.add_argument("--n-iter", type=int, default=N_ITER,
                        help=f"candidates at most, for the deadline to cut (default {N_ITER})")
    parser.add_argument("--repeats", type=int, default=None,
                        help="searches per table and contender, each in a fresh process; "
                        f"medians (default {REPEATS})")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: --budget {QUICK_BUDGET:g} --tables "
                        + " ".join(QUICK_TABLES))
    parser.add_argument("--output", default=None,
                        help="markdown file for the report (default: benchmarks/"
                        "search_budget.md; none with --quick)")
    parser.add_argument("--run", choices=list(SEARCHES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    budget = args.budget if args.budget is not None else (QUICK_BUDGET if args.quick
                                                          else BUDGET)
    names = args.tables or list(QUICK_TABLES if args.quick else _common.TABLES)
    repeats = args.repeats if args.repeats is not None else REPEATS
    if budget <= 0:
        parser.error("--budget must be > 0")
    if args.n_iter < 1:
        parser.error("--n-iter must be >= 1")
    if repeats < 1:
        parser.error("--repeats must be >= 1")
    if args.run:
        if len(names) != 1:
            parser.error("--run takes one table")
        print(json.dumps(run_once(names[0], args.run, budget, args.n_iter, args.data_dir)))
        return 0

    tables, skipped = {}, []
    for name in dict.fromkeys(names):
        try:
            tables[name] = _common.load_table(name, args.data_dir)
        except FileNotFoundError as exc:
            print(f"search_budget: skipping {name}: {exc}", flush=True)
            skipped.append(name)
    if not tables:
        parser.error(f"no table to run: none of {', '.join(names)} found in {args.data_dir}")

    load_start = os.getloadavg()
    print(f"search_budget: {', '.join(tables)}; budget {budget:g} s, n_iter={args.n_iter}, "
          f"cv={CV}, repeats={repeats}", flush=True)
    results: dict[tuple[str, str], list[dict]] = {}
    for i in range(repeats):  # interleaved, so drift in machine load hits every search
        for name in tables:
            for key, label in SEARCHES.items():
                r = spawn(name, key, budget, args.n_iter, args.data_dir)
                results.setdefault((name, key), []).append(r)
                print(f"repeat {i + 1}/{repeats}: {name} {label}: {r['n_candidates']} "
                      f"candidates in {r['seconds']:.1f} s, held out {r['held_out']:.3f}",
                      flush=True)
    text = report(results, tables, budget, args.n_iter, repeats, skipped,
                  _common.command_line(__file__, argv), load_start, args.quick)
    _common.write_report(text, args.output, args.quick, __file__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
