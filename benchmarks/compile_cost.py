"""Where the first fit of a new architecture spends its time, and what threads gain.

Usage::

    PYTHONPATH=. python benchmarks/compile_cost.py [PATH_TO_PIMA_CSV] [--repeats 3]

Without a path the data is scikit-learn's ``load_breast_cancer``. Everything
runs in one process, with TensorFlow's default thread pools; the figures are
medians over ``--repeats``, each repeat on architectures this process has not
seen (the width changes), so each one compiles.

(a) A fit of a new architecture, split into: tracing the training loop (Python
    building the graph), TensorFlow's set-up of the graph on its first call
    (the first call's time minus an identical second call's), and training.
    Also the graph's node count. Early stopping, at most 60 epochs, as in
    ``benchmarks/search_scaling.py``.
(b) Tracing one training step, by part: forward pass, loss, gradient,
    optimizer update (Adam with clipnorm; L2 on), metrics. The parts are Keras' own, as
    ``Model.train_step`` calls them.
(c) A network whose loop is already compiled, trained 6 times in a row
    against 2 threads x 3 fits: how far the training itself runs in parallel.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np

DEPTHS = (1, 2, 5, 10)


def _timed_trainer_runs(log: list):
    """Record the trace and run time of every compiled-loop call into ``log``."""
    from skoptnn import _training

    original = _training._Trainer._run

    def run(self, options, args):
        key = tuple(sorted(options.items()))
        function = self._owner._compiled_run(key, options)
        start = time.perf_counter()
        function.get_concrete_function()  # traces on the first call only
        traced = time.perf_counter()
        out = original(self, options, args)
        np.asarray(out[0] if isinstance(out, tuple) else out)  # wait for the result
        log.append((traced - start, time.perf_counter() - traced))
        return out

    _training._Trainer._run = run


def _node_count(estimator) -> int:
    from skoptnn import _training

    trainer = _training.get_trainer(estimator._spec)
    (function,) = trainer._runs.values()
    graph = function.get_concrete_function().graph.as_graph_def()
    return len(graph.node) + sum(len(f.node_def) for f in graph.library.function)


def compile_breakdown(X, y, repeats: int) -> list[dict]:
    from skoptnn import OptimizedMLPClassifier

    log: list = []
    _timed_trainer_runs(log)
    OptimizedMLPClassifier(epochs=2).fit(X, y)  # process warm-up (autograph, imports)
    rows = []
    for depth in DEPTHS:
        trace, setup, train, nodes = [], [], [], 0
        for r in range(repeats):
            params = dict(n_layers=depth, units=40 + r, epochs=60, early_stopping=True,
                          clipnorm=1.0, random_state=r)
            log.clear()
            est = OptimizedMLPClassifier(**params).fit(X, y)
            OptimizedMLPClassifier(**params).fit(X, y)  # identical work, already compiled
            (first_trace, first_run), (_, second_run) = log
            trace.append(first_trace)
            setup.append(first_run - second_run)
            train.append(second_run)
            nodes = _node_count(est)
        rows.append({"depth": depth, "trace": statistics.median(trace),
                     "setup": statistics.median(setup), "train": statistics.median(train),
                     "nodes": nodes})
    return rows


def step_trace_parts(repeats: int) -> list[dict]:
    from skoptnn._keras import tf
    from skoptnn._network import NetworkSpec
    from skoptnn._training import TrainSpec, _Trainer

    rows = []
    for depth in DEPTHS:
        samples: dict[str, list[float]] = {}
        for r in range(repeats):
            network = NetworkSpec(8, (32 + r,) * depth, "relu", False, 0.0, 0.0, 1.0, 1,
                                  "sigmoid")
            trainer = _Trainer(TrainSpec(network, "binary_crossentropy", ("accuracy",),
                                         "adam", 1.0, None))
            model, optimizer = trainer.model, trainer.optimizer
            parts = dict.fromkeys(("forward", "loss", "gradient", "optimizer", "metrics"), 0.0)

            def timed(part, fn, *args, parts=parts, **kwargs):
                start = time.perf_counter()
                out = fn(*args, **kwargs)
                parts[part] += time.perf_counter() - start
                return out

            signature = [tf.TensorSpec([None, 8]), tf.TensorSpec([None, 1]),
                         tf.TensorSpec([None])]

            def step(x, y, sw, model=model, optimizer=optimizer, timed=timed):
                with tf.GradientTape() as tape:
                    y_pred = timed("forward", model, x, training=True)
                    loss = timed("loss", model._compute_loss, x=x, y=y, y_pred=y_pred,
                                 sample_weight=sw, training=True)
                    model._loss_tracker.update_state(loss, sample_weight=tf.shape(x)[0])
                weights = model.trainable_weights
                grads = timed("gradient", tape.gradient, loss, weights)
                timed("optimizer", optimizer.apply, grads, weights)
                timed("metrics", model.compute_metrics, x, y, y_pred, sample_weight=sw)
                return loss

            start = time.perf_counter()
            tf.function(step, input_signature=signature).get_concrete_function()
            parts["total"] = time.perf_counter() - start
            for part, seconds in parts.items():
                samples.setdefault(part, []).append(seconds)
        rows.append({"depth": depth, **{k: statistics.median(v) for k, v in samples.items()}})
    return rows


def thread_scaling(X, y, repeats: int) -> tuple[float, float]:
    from skoptnn import OptimizedMLPClassifier

    params = dict(n_layers=2, units=37, epochs=60, early_stopping=False, random_state=0)

    def fit():
        OptimizedMLPClassifier(**params).fit(X, y)

    def three():
        for _ in range(3):
            fit()

    fit()  # compile
    serial, threaded = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(6):
            fit()
        serial.append(time.perf_counter() - start)
        workers = [threading.Thread(target=three) for _ in range(2)]
        start = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        threaded.append(time.perf_counter() - start)
    return statistics.median(serial), statistics.median(threaded)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", help="Pima CSV (no header); default: breast cancer")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from fit_speed import load_data

    X, y, name = load_data(args.path)
    from sklearn.preprocessing import StandardScaler

    X = StandardScaler().fit_transform(X).astype(np.float32)
    warnings.filterwarnings("ignore")
    print(f"data: {name}, {X.shape[0]} rows x {X.shape[1]} features; "
          f"medians of {args.repeats}")

    print("\n(a) first fit of a new architecture (seconds)")
    print("| hidden layers | trace | first-call set-up | training | graph nodes |")
    print("|---:|---:|---:|---:|---:|")
    for r in compile_breakdown(X, y, args.repeats):
        print(f"| {r['depth']} | {r['trace']:.3f} | {r['setup']:.3f} | {r['train']:.3f} "
              f"| {r['nodes']} |")

    print("\n(b) tracing one training step, by part (seconds; share of the total)")
    parts = ("forward", "loss", "gradient", "optimizer", "metrics")
    print("| hidden layers | total | " + " | ".join(parts) + " |")
    print("|---:|---:|" + "---:|" * len(parts))
    for r in step_trace_parts(args.repeats):
        cells = " | ".join(f"{r[p]:.3f} ({r[p] / r['total']:.0%})" for p in parts)
        print(f"| {r['depth']} | {r['total']:.3f} | {cells} |")

    serial, threaded = thread_scaling(X, y, args.repeats)
    print(f"\n(c) 6 fits of a compiled network: {serial:.2f} s in a row, {threaded:.2f} s "
          f"in 2 threads x 3: {serial / threaded:.2f}x")


if __name__ == "__main__":
    main()
