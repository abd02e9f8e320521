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
(d) The first-call set-up, the training time and the memory a new
    architecture's first fit adds (resident, after garbage collection), with
    all of TensorFlow's graph rewrites (grappler) on, as before skoptnn
    skipped four of them for its own calls
    (``skoptnn._training._SKIPPED_REWRITES``), with skoptnn's set, and with
    none.
(e) A floor for any TensorFlow engine: a minimal hand-written loop (no Keras:
    ``tf.matmul`` layers, sigmoid cross-entropy, Adam with clipnorm written
    out, 60 epochs of shuffled mini-batches of 32, no validation or early
    stopping), traced and set up with the same rewrites as skoptnn's.
"""

from __future__ import annotations

import argparse
import itertools
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


_LOG: list = []


def compile_breakdown(X, y, repeats: int, width: int = 40) -> list[dict]:
    """(a): each repeat's architectures have a width (``width + r``) not seen before."""
    from skoptnn import OptimizedMLPClassifier, _training

    log = _LOG
    if not log:
        _timed_trainer_runs(log)
        OptimizedMLPClassifier(epochs=2).fit(X, y)  # process warm-up (autograph, imports)
    rows = []
    for depth in DEPTHS:
        trace, setup, train, memory, nodes = [], [], [], [], 0
        for r in range(repeats):
            params = dict(n_layers=depth, units=width + r, epochs=60, early_stopping=True,
                          clipnorm=1.0, random_state=r)
            log.clear()
            _training.clear_cache()  # no eviction may free memory during the fit
            before = _settled_rss()
            est = OptimizedMLPClassifier(**params).fit(X, y)
            memory.append(_settled_rss() - before)
            OptimizedMLPClassifier(**params).fit(X, y)  # identical work, already compiled
            (first_trace, first_run), (_, second_run) = log
            trace.append(first_trace)
            setup.append(first_run - second_run)
            train.append(second_run)
            nodes = _node_count(est)
        rows.append({"depth": depth, "trace": statistics.median(trace),
                     "setup": statistics.median(setup), "train": statistics.median(train),
                     "memory": statistics.median(memory), "nodes": nodes})
    return rows


def _settled_rss() -> float:
    """Resident MB after garbage collection and handing freed heap back to the OS."""
    import gc

    from memory import rss_mb

    from skoptnn._training import _trim_heap

    gc.collect()
    _trim_heap()
    return rss_mb()


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


def with_rewrites(X, y, repeats: int, rewrites: str) -> list[dict]:
    """(d): (a) with all of grappler's rewrites (``"all"``) or none (``"none"``)."""
    from tensorflow.core.protobuf import config_pb2

    from skoptnn import _training

    def config(serialized: bytes):  # in place of skoptnn's: the caller's, or none
        proto = config_pb2.ConfigProto.FromString(serialized)
        proto.graph_options.rewrite_options.disable_meta_optimizer = rewrites == "none"
        return proto

    original = _training._lean_config
    _training._lean_config = config
    try:  # widths that (a) and the other variant did not compile
        return compile_breakdown(X, y, repeats, width=80 if rewrites == "all" else 120)
    finally:
        _training._lean_config = original


def _minimal_run(params: list, slots: list):
    """(e)'s training loop over ``params`` (kernels, then biases) and Adam ``slots``."""
    from skoptnn._keras import tf

    step = tf.Variable(0.0)
    n_layers = len(params) // 2

    def run(X, y, epochs):
        n = tf.shape(X)[0]
        n_batches = (n + 31) // 32
        loss = tf.constant(0.0)
        for epoch in tf.range(epochs):
            order = tf.argsort(tf.random.stateless_uniform([n], seed=[0, epoch]))
            for b in tf.range(n_batches):
                idx = order[b * 32:(b + 1) * 32]
                xb, yb = tf.gather(X, idx), tf.gather(y, idx)
                with tf.GradientTape() as tape:
                    h = xb
                    for i in range(n_layers):
                        h = tf.matmul(h, params[i]) + params[n_layers + i]
                        if i < n_layers - 1:
                            h = tf.nn.relu(h)
                    loss = tf.reduce_mean(
                        tf.nn.sigmoid_cross_entropy_with_logits(yb, h))
                grads = tape.gradient(loss, params)
                step.assign_add(1.0)
                alpha = 1e-3 * tf.sqrt(1 - 0.999**step) / (1 - 0.9**step)
                for p, g, (m, v) in zip(params, grads, slots, strict=True):
                    g = tf.clip_by_norm(g, 1.0)
                    m.assign_add((g - m) * 0.1)
                    v.assign_add((tf.square(g) - v) * 0.001)
                    p.assign_sub(m * alpha / (tf.sqrt(v) + 1e-7))
        return loss

    return run


def minimal_loop(X, y, repeats: int) -> list[dict]:
    """(e): trace, set-up and training of the smallest TensorFlow loop for this MLP."""
    from skoptnn._keras import tf
    from skoptnn._training import _lean_graph_rewrites

    X = tf.constant(X, tf.float32)
    y = tf.constant(np.asarray(y, np.float32).reshape(-1, 1))
    rng = np.random.default_rng(0)
    rows = []
    for depth in (0, *DEPTHS):  # depth 0: warm-up (autograph's first conversions)
        trace, setup, train = [], [], []
        for r in range(repeats):
            sizes = [X.shape[1], *[120 + r] * depth, 1]
            params = [tf.Variable(rng.normal(0, 0.1, (a, b)).astype(np.float32))
                      for a, b in itertools.pairwise(sizes)]
            params += [tf.Variable(np.zeros(b, np.float32)) for b in sizes[1:]]
            slots = [(tf.Variable(tf.zeros_like(p)), tf.Variable(tf.zeros_like(p)))
                     for p in params]
            function = tf.function(_minimal_run(params, slots), input_signature=[
                tf.TensorSpec([None, X.shape[1]]), tf.TensorSpec([None, 1]),
                tf.TensorSpec([], tf.int32)])
            epochs = tf.constant(60)
            with _lean_graph_rewrites():
                start = time.perf_counter()
                function.get_concrete_function()
                traced = time.perf_counter()
                function(X, y, epochs).numpy()
                first = time.perf_counter()
                function(X, y, epochs).numpy()
                second = time.perf_counter()
            trace.append(traced - start)
            setup.append((first - traced) - (second - first))
            train.append(second - first)
        rows.append({"depth": depth, "trace": statistics.median(trace),
                     "setup": statistics.median(setup), "train": statistics.median(train)})
    return rows[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", help="Pima CSV (no header); default: breast cancer")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    if args.path and not Path(args.path).is_file():
        parser.error(f"no such file: {args.path}")
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
    breakdown = compile_breakdown(X, y, args.repeats)
    for r in breakdown:
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

    print("\n(d) (a) under three sets of TensorFlow's graph rewrites: all of them (TensorFlow's "
          "default), skoptnn's (all but four; as in (a)), none")
    print("| hidden layers | rewrites | first-call set-up (s) | training (s) "
          "| memory of the first fit (MB) |")
    print("|---:|---|---:|---:|---:|")
    variants = {"all": with_rewrites(X, y, args.repeats, "all"), "skoptnn": breakdown,
                "none": with_rewrites(X, y, args.repeats, "none")}
    for i, depth in enumerate(DEPTHS):
        for name, rows in variants.items():
            r = rows[i]
            print(f"| {depth} | {name} | {r['setup']:.3f} | {r['train']:.3f} "
                  f"| {r['memory']:.0f} |")

    print("\n(e) the minimal hand-written TensorFlow loop (seconds)")
    print("| hidden layers | trace | first-call set-up | training |")
    print("|---:|---:|---:|---:|")
    for r in minimal_loop(X, y, args.repeats):
        print(f"| {r['depth']} | {r['trace']:.3f} | {r['setup']:.3f} | {r['train']:.3f} |")


if __name__ == "__main__":
    main()
