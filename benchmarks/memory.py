"""Resident memory of skoptnn over many consecutive fit + predict cycles.

Usage::

    PYTHONPATH=. python benchmarks/memory.py [PATH_TO_PIMA_CSV] [--cycles 100] [--epochs 20]
        [--new-architectures]

Workload: the Pima CSV (no header, 8 features then the 0/1 outcome) or, with
no path, scikit-learn's ``load_breast_cancer``; a stratified 80/20 split, then
per cycle a fresh pipeline of ``StandardScaler`` and
``OptimizedMLPClassifier(hidden_layer_sizes=(10, 10), epochs=20, batch_size=32)``
is fitted on the training split and predicts the test split (a new
``random_state`` each cycle, so nothing is trivially reused but the cached
compiled trainer, which is the point of the measurement).

With ``--new-architectures`` every cycle fits a network never seen before (1-10
layers of 8-128 units, four optimizers in turn), as a search worker does:
each cycle traces a new graph, so this measures whether evicted graphs (and
the TensorFlow kernels they instantiated) are really released.

Resident set size (RSS) comes from ``psutil`` when installed, otherwise from
``VmRSS`` in ``/proc/self/status`` (Linux). The baseline is taken after a
warm-up of 3 cycles (TensorFlow's lazy initialisation and skoptnn's one-off
tracing happen there) and a ``gc.collect()``; RSS is sampled every 10 cycles,
and the growth from the baseline to the end is checked against the goal of
<= 100 MB. A steady per-cycle slope would reveal a leak (e.g. per-fit Keras
models, optimizers or traced functions that are never released).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skoptnn import OptimizedMLPClassifier

# Same data as the speed benchmark (this folder is on sys.path when run as a script).
from fit_speed import load_data  # noqa: E402  isort: skip

GOAL_MB = 100.0
WARMUP_CYCLES = 3
SAMPLE_EVERY = 10

try:
    import psutil
except ImportError:  # not a dependency of skoptnn; fall back to /proc
    psutil = None


def rss_mb() -> float:
    """Current resident set size of this process, in MiB."""
    if psutil is not None:
        return psutil.Process().memory_info().rss / 2**20
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024  # the value is in kB
    raise RuntimeError("cannot read RSS: install psutil or run on Linux")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", help="Pima CSV (no header); default: breast cancer")
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--new-architectures", action="store_true",
                        help="a new architecture every cycle, as in a search")
    args = parser.parse_args(argv)
    if args.cycles < 1 or args.epochs < 1:
        parser.error("--cycles and --epochs must be >= 1")
    if args.path and not Path(args.path).is_file():
        parser.error(f"no such file: {args.path}")

    X, y, name = load_data(args.path)
    X_tr, X_te, y_tr, _ = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)

    def cycle(i: int) -> None:
        network = {"hidden_layer_sizes": (10, 10)}
        if args.new_architectures:
            network = {"n_layers": 1 + i % 10, "units": 8 + (7 * i) % 121,
                       "optimizer": ("adam", "sgd", "rmsprop", "nadam")[i % 4]}
        pipe = make_pipeline(
            StandardScaler(),
            OptimizedMLPClassifier(**network, epochs=args.epochs, batch_size=32,
                                   random_state=i),
        )
        pipe.fit(X_tr, y_tr)
        pipe.predict(X_te)
        pipe.predict_proba(X_te[:1])

    source = "psutil" if psutil is not None else "/proc/self/status VmRSS"
    print(f"data: {name}, {len(X_tr)} training rows; RSS from {source}")
    print(f"RSS at start (TensorFlow imported, nothing fitted): {rss_mb():.1f} MB")
    for i in range(WARMUP_CYCLES):
        cycle(10_000 + i)
    gc.collect()
    baseline = rss_mb()
    print(f"RSS after {WARMUP_CYCLES} warm-up cycles: {baseline:.1f} MB")
    print()
    print("| cycle | RSS (MB) | growth (MB) | s/cycle |")
    print("|---:|---:|---:|---:|")
    samples = [(0, baseline)]
    start = time.perf_counter()
    last = start
    for i in range(1, args.cycles + 1):
        cycle(i)
        if i % SAMPLE_EVERY == 0 or i == args.cycles:
            now = time.perf_counter()
            rss = rss_mb()
            n = i - samples[-1][0]
            samples.append((i, rss))
            print(f"| {i} | {rss:.1f} | {rss - baseline:+.1f} | {(now - last) / n:.3f} |",
                  flush=True)
            last = now
    gc.collect()
    final = rss_mb()
    growth = final - baseline
    cycles = np.array([c for c, _ in samples], float)
    values = np.array([r for _, r in samples])
    slope = np.polyfit(cycles, values, 1)[0] if len(samples) > 2 else float("nan")
    print()
    print(f"{args.cycles} fit+predict cycles ({args.epochs} epochs each) in "
          f"{time.perf_counter() - start:.1f} s")
    print(f"RSS growth after gc.collect(): {growth:+.1f} MB (goal <= {GOAL_MB:.0f} MB): "
          f"{'PASS' if growth <= GOAL_MB else 'FAIL'}")
    print(f"least-squares slope: {slope * 1024:+.1f} kB per cycle")
    return 0 if growth <= GOAL_MB else 1


if __name__ == "__main__":
    sys.exit(main())
