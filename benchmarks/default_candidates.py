"""Screen candidate defaults for skoptnn's estimators on the accuracy benchmark's folds.

Usage::

    python benchmarks/default_candidates.py                  # run what is missing, then report
    python benchmarks/default_candidates.py --report --markdown benchmarks/default_candidates.md

Each candidate is the estimators' old defaults (``skoptnn-old`` of
``benchmarks/accuracy.py``) with a few parameters changed. It is fitted on the
first repeat of ``accuracy.py``'s folds (5 folds; the same splits, seeds and
preprocessing), which is cheap enough to screen several; the winner is then
measured on all 3 x 5 folds as ``accuracy.py``'s ``skoptnn`` contender. The
report sets each candidate beside the peers of ``accuracy.py``'s results file
on the same folds: its mean score per table, how it changed from the old
defaults, its rank among the peers, and its mean fit time.

Results go to ``--results`` (JSON lines, one per table, candidate and fold);
an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _accuracy_module():
    spec = importlib.util.spec_from_file_location("accuracy", HERE / "accuracy.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["accuracy"] = module
    spec.loader.exec_module(module)
    return module


acc = _accuracy_module()

# name: (what it changes from the old defaults, for the classifier and the regressor alike;
# a parameter an estimator does not take is left out for it)
CANDIDATES = {
    "label_smoothing": {"label_smoothing": 0.1},
    "cosine": {"lr_schedule": "cosine"},
    "smoothing+cosine": {"label_smoothing": 0.1, "lr_schedule": "cosine"},
    "embedding": {"numeric_embedding": "periodic"},
    "ensemble5+smoothing": {"label_smoothing": 0.1, "n_ensemble": 5},
    "early_stopping": {"early_stopping": True},
    "early_stopping(val_accuracy)": {"early_stopping": True, "monitor": "val_accuracy"},
}
PEERS = ("skoptnn-old", "linear", "hgb", "mlp", "realmlp")
DEFAULT_RESULTS = HERE / "default_candidates_results.jsonl"
FOLDS = 5


def estimator(candidate: str, task: str, seed: int):
    from skoptnn import OptimizedMLPClassifier, OptimizedMLPRegressor

    cls = OptimizedMLPClassifier if task == "classification" else OptimizedMLPRegressor
    own = cls().get_params()
    changed = {k: v for k, v in CANDIDATES[candidate].items() if k in own}
    if changed.get("monitor") == "val_accuracy" and task != "classification":
        return None  # the regressor has no accuracy to watch
    old = {**acc.OLD_DEFAULTS, "l2": acc.OLD_L2[task],
           **{k: v for k, v in acc.NEW_PARAM_NO_OPS.items() if k in own}}
    return cls(**{**old, **changed}, random_state=seed)


def run(results: Path, tables: list[str], candidates: list[str]) -> None:
    from sklearn.pipeline import Pipeline

    done = set()
    if results.exists():
        done = {(r["table"], r["candidate"], r["fold"])
                for r in map(json.loads, results.read_text().splitlines())}
    acc.warm_up("skoptnn")
    for name in tables:
        table = acc.load_table(name, acc.DEFAULT_DATA_DIR)
        for candidate in candidates:
            for fold, (train, test) in enumerate(acc.splits(table, FOLDS, 1, 0)):
                model = estimator(candidate, table.task, acc.fit_seed(0, 0, fold))
                if model is None or (name, candidate, fold) in done:
                    continue
                pipe = Pipeline([("preprocess", acc.shared_preprocessor(table, "standard")),
                                 ("model", model)])
                record = acc.fit_fold(pipe, table, table.X, train, test)
                record.update(table=name, candidate=candidate, fold=fold)
                with results.open("a") as f:
                    f.write(json.dumps(record) + "\n")
                print(f"{name:>14} {candidate:<28} fold {fold}: {record['score']:.4f}, "
                      f"fit {record['fit_time']:.2f} s", flush=True)


def report(results: Path, peers_file: Path, candidates: list[str]) -> str:
    scores: dict[tuple[str, str], dict[int, tuple[float, float]]] = {}
    for r in acc.read_results(peers_file):
        if r.get("repeat") == 0 and r.get("contender") in PEERS and r.get("folds") == FOLDS:
            scores.setdefault((r["table"], r["contender"]), {})[r["fold"]] = (
                r["score"], r["fit_time"])
    if results.exists():
        for r in map(json.loads, results.read_text().splitlines()):
            scores.setdefault((r["table"], r["candidate"]), {})[r["fold"]] = (
                r["score"], r["fit_time"])

    def mean(key, i=0):
        folds = scores.get(key, {})
        return np.mean([v[i] for v in folds.values()]) if len(folds) == FOLDS else np.nan

    tables = sorted({t for t, c in scores if c == "skoptnn-old"})
    lines = ["# Candidate defaults, screened on the first 5 folds of benchmarks/accuracy.py",
             "", "Command: `python benchmarks/default_candidates.py`; peers from "
             f"`{peers_file.name}` (repeat 0). Scores: accuracy (classification), R^2 "
             "(regression). A candidate changes the old defaults as its name says. Fit "
             "times were measured at different times of a shared 2-core machine: compare "
             "them roughly.", "",
             "| candidate | " + " | ".join(tables) + " | mean change | mean rank among peers"
             " | mean fit (s) |", "|---" * (len(tables) + 4) + "|"]
    peers = [p for p in PEERS if p != "skoptnn-old"]
    for name in ["skoptnn-old", *candidates]:
        cells, changes, ranks = [], [], []
        for t in tables:
            value = mean((t, name))
            cells.append("-" if np.isnan(value) else f"{value:.3f}")
            if np.isnan(value):
                continue
            changes.append(value - mean((t, "skoptnn-old")))
            others = [mean((t, p)) for p in peers]
            others = [o for o in others if not np.isnan(o)]
            ranks.append(1 + sum(o > value for o in others) + 0.5 * sum(o == value for o in others))
        fit = np.nanmean([mean((t, name), 1) for t in tables])
        lines.append(f"| {name} | " + " | ".join(cells)
                     + f" | {np.mean(changes):+.4f} | {np.mean(ranks):.2f} | {fit:.2f} |")
    lines += ["", "Peers on the same folds (mean score):", "",
              "| peer | " + " | ".join(tables) + " |", "|---" * (len(tables) + 1) + "|"]
    for p in peers:
        lines.append(f"| {p} | " + " | ".join(
            "-" if np.isnan(mean((t, p))) else f"{mean((t, p)):.3f}" for t in tables) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", default="all",
                        help=f"comma-separated, from {', '.join(CANDIDATES)}; or 'all'")
    parser.add_argument("--tables", default="all", help="comma-separated table names, or 'all'")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument("--peers", type=Path, default=acc.DEFAULT_RESULTS,
                        help="accuracy.py's results file, for the peers' scores")
    parser.add_argument("--report", action="store_true", help="only report")
    parser.add_argument("--markdown", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    candidates = list(CANDIDATES) if args.candidates == "all" else args.candidates.split(",")
    tables = (acc.table_names(acc.DEFAULT_DATA_DIR) if args.tables == "all"
              else args.tables.split(","))
    if not args.report:
        run(args.results, tables, candidates)
    text = report(args.results, args.peers, candidates)
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
