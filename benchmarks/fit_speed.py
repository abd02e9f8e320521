"""Fit and predict speed of skoptnn against scikeras, Keras and scikit-learn.

Usage::

    PYTHONPATH=. python benchmarks/fit_speed.py [PATH_TO_PIMA_CSV] [--repeats 5]

The Pima CSV has no header: 8 features, then the 0/1 outcome. Without a path
the script uses scikit-learn's ``load_breast_cancer``.

Workload: a stratified 80/20 split (614 training rows for Pima), a pipeline of
``StandardScaler`` and an MLP with hidden layers (10, 10), ReLU, Adam (Keras'
default learning rate 0.001), 100 epochs, batch size 32. The contenders are

* skoptnn ``OptimizedMLPClassifier`` (compiled whole-fit training loop),
* scikeras ``KerasClassifier`` around a model function building the same
  network (plain ``Model.fit``; ``verbose=0``),
* scikit-learn ``MLPClassifier`` (same layers, Adam, batch 32, exactly 100
  epochs: ``n_iter_no_change`` is set above ``max_iter``),
* for prediction, also the fitted Keras model called directly
  (``model_(x)`` and ``model_.predict``).

Everything runs in ONE process. Each contender gets an untimed warm-up fit
first (skoptnn traces and caches its compiled loop there, Keras builds its
train function), then each workload is timed with ``time.perf_counter`` and the
median over ``--repeats`` runs is reported:

(a) one pipeline fit on the training split;
(b) ``cross_val_score`` with 5 stratified folds (5 fits + 5 scores);
(c) predicting one row (median of 200 calls), on the bare estimator so the
    scaler is not part of the figure; skoptnn as fitted, and again once its
    ``model_`` is built (then every predict reads the weights back from the
    Keras model, which may have been trained since);
(d) batch throughput: predict_proba of 100,000 rows (rows/s; median of at
    least 30 calls);
(e) scaling: one epoch, batch 256, on a synthetic float32 1,000,000 x 50
    binary problem (samples/s; the data is generated once and shared);
(f) early stopping on vs off: 100 epochs with ``patience`` = 100, so both
    settings run every epoch and the difference is the per-epoch cost of the
    validation pass and best-weights bookkeeping (on 90% of the rows);
(g) ``monitor_gradients=True`` vs off (skoptnn only): the cost of recording
    every Dense kernel's gradient norm per batch;
(h) the first fit of a new architecture after a warm-up fit (skoptnn only):
    one untimed fit of ``n_layers=2, units=32``, then per repeat a
    (n_layers, units) pair never fitted before in the process (3x48, 4x54,
    3x60, ...; same activation, optimizer and settings as (a)) is fitted
    twice in a row: the median first fit against the median repeated fit;
(i) how early early stopping stops (skoptnn only): ``cross_validate`` of
    ``OptimizedMLPClassifier(n_layers=3, units=64, early_stopping=True,
    random_state=0)`` with the package's other defaults (100 epochs at most,
    patience 10) on all rows, with the folds of (b): accuracy and the
    ``n_epochs_`` of each fold's estimator (run once; it is deterministic);
(j) time per training step (one mini-batch of 32 rows), skoptnn against
    scikit-learn's ``MLPClassifier``, for 2x64, 4x80 and 8x128 ReLU networks
    (Adam, learning rate 0.001) on the scaled training split: each fits
    exactly 20 epochs, early stopping off, after one warm-up fit per network;
    time per step = median fit time (of at most 3 fits, to keep it cheap) /
    (20 * ceil(rows / 32)) (both take the last, partial batch), so each
    fit's fixed cost is spread over its steps. Both run with one BLAS thread
    (``threadpoolctl``), as the search benchmarks run every search: with
    OpenBLAS' default two threads on a busy 2-core machine, MLPClassifier's
    8x128 steps were 10-40x slower, a figure of the machine's load, not of
    the estimator (skoptnn's TensorFlow does not use OpenBLAS).

(f) also lists the epochs each contender ran (``n_epochs_``; scikit-learn's
``n_iter_``; the length of scikeras' history) and its best epoch (0-based:
skoptnn's ``best_epoch_``, the best validation score or loss of the others).

The table (also written to ``benchmarks/fit_speed.md``) lists times in
seconds unless marked, and the ratios of each contender to skoptnn (> 1 means
skoptnn is faster). Goals from the project brief are checked at the end.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import sklearn
from _common import load_data  # benchmarks/_common.py
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import (
    StratifiedKFold,
    cross_val_score,
    cross_validate,
    train_test_split,
)
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skoptnn import OptimizedMLPClassifier
from skoptnn.base.scikeras import KerasClassifier
from skoptnn.engine.runtime import keras, tf  # imports TF quietly

HIDDEN = (10, 10)
EPOCHS = 100
BATCH = 32
N_PREDICT_CALLS = 200
N_BATCH_ROWS = 100_000
N_BATCH_CALLS = 30  # milliseconds per call: more calls than --repeats for a stable median
SCALE_SHAPE = (1_000_000, 50)
SCALE_BATCH = 256
NEW_ARCH_WARM_UP = (2, 32)  # (h): (n_layers, units) of the warm-up fit
STEP_SHAPES = ((2, 64), (4, 80), (8, 128))  # (j): (n_layers, units)
STEP_EPOCHS, STEP_REPEATS = 20, 3


# -- data and contenders -------------------------------------------------------
def build_keras_mlp(meta: dict) -> keras.Model:
    """scikeras model function: the same (10, 10) ReLU MLP with a sigmoid output."""
    model = keras.Sequential([keras.Input(shape=(meta["n_features_in_"],))])
    for units in HIDDEN:
        model.add(keras.layers.Dense(units, activation="relu"))
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    return model


def skoptnn_mlp(**kw) -> OptimizedMLPClassifier:
    params = {"hidden_layer_sizes": HIDDEN, "epochs": EPOCHS, "batch_size": BATCH,
              "random_state": 0, **kw}
    return OptimizedMLPClassifier(**params)


def scikeras_mlp(**kw) -> KerasClassifier:
    params = {"model": build_keras_mlp, "optimizer": "adam", "loss": "binary_crossentropy",
              "epochs": EPOCHS, "batch_size": BATCH, "verbose": 0, **kw}
    return KerasClassifier(**params)


def sklearn_mlp(**kw) -> MLPClassifier:
    params = {"hidden_layer_sizes": HIDDEN, "activation": "relu", "solver": "adam",
              "learning_rate_init": 1e-3, "max_iter": EPOCHS, "batch_size": BATCH,
              "n_iter_no_change": EPOCHS + 1, "random_state": 0, **kw}
    return MLPClassifier(**params)


CONTENDERS: dict[str, Callable[..., object]] = {
    "skoptnn": skoptnn_mlp,
    "scikeras": scikeras_mlp,
    "sklearn MLP": sklearn_mlp,
}


# -- timing --------------------------------------------------------------------
def median_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def per_call(fn: Callable[[], object], calls: int) -> float:
    """Median seconds of one call over ``calls`` calls."""
    return median_time(fn, calls)


def machine() -> str:
    import scikeras

    return "\n".join([
        f"- platform: {platform.platform()} ({platform.machine()})",
        f"- CPUs: {os.cpu_count()}; load average (1/5/15 min) at the end: "
        + "/".join(f"{x:.2f}" for x in os.getloadavg())
        + " (anything well above 1 means other processes competed for the CPUs)",
        f"- python {platform.python_version()}, numpy {np.__version__}, "
        f"tensorflow {tf.__version__}, keras {keras.__version__}, "
        f"scikit-learn {sklearn.__version__}, scikeras {scikeras.__version__}",
    ])


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "ms":
        return f"{value * 1e3:.2f} ms"
    if unit == "rows/s":
        return f"{value:,.0f} rows/s"
    return f"{value:.3f} s"


def ratio(other: float | None, ours: float | None, unit: str) -> str:
    if other is None or ours is None:
        return "-"
    # Throughputs: bigger is better, so invert to keep "> 1 = skoptnn faster".
    r = ours / other if unit == "rows/s" else other / ours
    return f"{r:.1f}x"


def batch_throughput(bare: dict, X_scaled: np.ndarray, rng: np.random.Generator,
                     repeats: int) -> dict[str, float]:
    """(d) rows/s of predict_proba on N_BATCH_ROWS jittered training rows."""
    model = bare["skoptnn"].model_
    big = X_scaled[rng.integers(0, len(X_scaled), N_BATCH_ROWS)].astype(np.float32)
    big += rng.normal(0, 0.1, big.shape).astype(np.float32)
    big_t = tf.constant(big)
    calls = max(repeats, N_BATCH_CALLS)
    throughput = {
        label: N_BATCH_ROWS / median_time(lambda e=est: e.predict_proba(big), calls)
        for label, est in bare.items()
    }
    throughput["Keras model_(x)"] = N_BATCH_ROWS / median_time(
        lambda: model(big_t, training=False).numpy(), calls)
    throughput["Keras model_.predict"] = N_BATCH_ROWS / median_time(
        lambda: model.predict(big, batch_size=N_BATCH_ROWS, verbose=0), calls)
    print("(d) batch throughput: "
          + ", ".join(f"{k} {v:,.0f} rows/s" for k, v in throughput.items()), flush=True)
    return throughput


def scaling(rng: np.random.Generator, repeats: int) -> dict[str, float]:
    """(e) samples/s of one epoch on a synthetic SCALE_SHAPE float32 problem."""
    n, d = SCALE_SHAPE
    Xs = rng.standard_normal((n, d), dtype=np.float32)
    w = rng.standard_normal(d).astype(np.float32)
    ys = (Xs @ w + rng.standard_normal(n).astype(np.float32) > 0).astype(np.int64)
    scale = {}
    for label in ("skoptnn", "scikeras"):
        make = CONTENDERS[label]
        make(epochs=1, batch_size=SCALE_BATCH).fit(Xs[:10_000], ys[:10_000])  # warm-up
        seconds = median_time(
            lambda make=make: make(epochs=1, batch_size=SCALE_BATCH).fit(Xs, ys), repeats)
        scale[label] = n / seconds
        print(f"(e) {label}: 1 epoch of {n:,} x {d} in {seconds:.2f} s "
              f"({scale[label]:,.0f} samples/s)", flush=True)
    return scale


# -- the benchmark ---------------------------------------------------------------
def run(path: str | None, repeats: int) -> str:
    X, y, name = load_data(path)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
    print(f"data: {name}, {len(X_tr)} training rows, {X.shape[1]} features", flush=True)
    rows: list[tuple[str, str, dict[str, float | None]]] = []
    cv = StratifiedKFold(5, shuffle=True, random_state=0)

    # (a) single fit, after one warm-up fit each.
    fitted = {}
    fit_times = {}
    for label, make in CONTENDERS.items():
        make_pipeline(StandardScaler(), make()).fit(X_tr, y_tr)  # warm-up

        def fit(make=make, label=label):
            fitted[label] = make_pipeline(StandardScaler(), make()).fit(X_tr, y_tr)

        fit_times[label] = median_time(fit, repeats)
        acc = fitted[label].score(X_te, y_te)
        print(f"(a) {label}: fit {fit_times[label]:.3f} s, test accuracy {acc:.3f}", flush=True)
    rows.append((f"(a) fit, {len(X_tr)} rows x {EPOCHS} epochs", "s", fit_times))

    # (b) 5-fold cross-validation of the pipeline.
    cv_times = {}
    for label, make in CONTENDERS.items():
        pipe = make_pipeline(StandardScaler(), make())
        cv_times[label] = median_time(lambda p=pipe: cross_val_score(p, X, y, cv=cv), repeats)
        print(f"(b) {label}: 5-fold CV {cv_times[label]:.3f} s", flush=True)
    rows.append((f"(b) 5-fold cross_val_score, {len(X)} rows", "s", cv_times))

    # (c) single-row predict on the bare estimators (scaled input).
    scaler = fitted["skoptnn"][0]
    one = scaler.transform(X_te[:1]).astype(np.float32)
    bare = {label: pipe[-1] for label, pipe in fitted.items()}
    # skoptnn first, as fitted: once model_ is built, every predict reads the
    # weights back from it (model_ may have been trained since), timed apart.
    single = {label: per_call(lambda e=est: e.predict(one), N_PREDICT_CALLS)
              for label, est in bare.items()}
    model = bare["skoptnn"].model_
    one_t = tf.constant(one)
    after_model = per_call(lambda: bare["skoptnn"].predict(one), N_PREDICT_CALLS)
    single["Keras model_(x)"] = per_call(lambda: model(one_t, training=False).numpy(),
                                         N_PREDICT_CALLS)
    single["Keras model_.predict"] = per_call(lambda: model.predict(one, verbose=0),
                                              N_PREDICT_CALLS)
    print("(c) single-row predict: "
          + ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in single.items()), flush=True)
    rows.append(("(c) predict 1 row (median of 200 calls)", "ms", single))
    print(f"(c) skoptnn single-row predict once model_ is built: {after_model * 1e3:.2f} ms",
          flush=True)
    rows.append(("(c') skoptnn predict 1 row, once model_ is built", "ms",
                 {"skoptnn": after_model}))

    # (d) batch prediction throughput; (e) scaling. Helpers, so the big arrays
    # are freed on return.
    rng = np.random.default_rng(0)
    throughput = batch_throughput(bare, scaler.transform(X_tr), rng, repeats)
    rows.append((f"(d) predict_proba {N_BATCH_ROWS:,} rows", "rows/s", throughput))
    n, d = SCALE_SHAPE
    scale = scaling(rng, repeats)
    rows.append((f"(e) 1 epoch {n:,} x {d} float32, batch {SCALE_BATCH}", "rows/s", scale))

    # (f) early stopping on (never triggering) vs off.
    es_params = {
        "skoptnn": {"early_stopping": True, "patience": EPOCHS},
        "scikeras": {"validation_split": 0.1, "callbacks": [keras.callbacks.EarlyStopping(
            patience=EPOCHS, restore_best_weights=True)]},
        "sklearn MLP": {"early_stopping": True},
    }
    es_times = {}
    es_epochs = {}
    es_fitted = {}
    for label, make in CONTENDERS.items():
        make_pipeline(StandardScaler(), make(**es_params[label])).fit(X_tr, y_tr)  # warm-up

        def fit_es(make=make, label=label):
            es_fitted[label] = make_pipeline(StandardScaler(), make(**es_params[label])).fit(
                X_tr, y_tr)

        es_times[label] = median_time(fit_es, repeats)
        es_epochs[label] = epochs_run(es_fitted[label][-1])
        print(f"(f) {label}: fit with early stopping {es_times[label]:.3f} s "
              f"(off: {fit_times[label]:.3f} s); {es_epochs[label]}", flush=True)
    rows.append(("(f) fit, early stopping on (all 100 epochs run)", "s", es_times))
    rows.append(("(f) early stopping on / off", "x", {
        k: es_times[k] / fit_times[k] for k in es_times}))
    rows.append(("(f) epochs run (best epoch, 0-based)", "text", es_epochs))

    # (g) gradient monitoring on vs off (skoptnn only: the peers have no such switch).
    monitored = lambda: make_pipeline(  # noqa: E731
        StandardScaler(), skoptnn_mlp(monitor_gradients=True)).fit(X_tr, y_tr)
    monitored()  # warm-up: traces the monitored loop
    grad_time = median_time(monitored, repeats)
    print(f"(g) skoptnn: fit with monitor_gradients=True {grad_time:.3f} s "
          f"(off: {fit_times['skoptnn']:.3f} s)", flush=True)
    rows.append(("(g) fit, monitor_gradients=True", "s", {"skoptnn": grad_time}))
    rows.append(("(g) monitor_gradients on / off", "x",
                 {"skoptnn": grad_time / fit_times["skoptnn"]}))

    # (h) the first fit of a never-fitted architecture against a repeat of it.
    first, again = new_architecture(X_tr, y_tr, repeats)
    rows.append(("(h) first fit of a new architecture, after a warm-up fit", "s",
                 {"skoptnn": first}))
    rows.append(("(h) a repeated fit of that architecture", "s", {"skoptnn": again}))
    rows.append(("(h) new-architecture first fit / repeated fit", "x",
                 {"skoptnn": first / again}))
    goals = [("new-architecture first fit <= 1.5x repeated fit", first <= 1.5 * again,
              f"{first:.3f} s vs {again:.3f} s: {first / again:.2f}x")]

    # (i) how early early stopping stops: 3 x 64, package defaults, 5-fold CV.
    epochs_cell, mean_epochs, max_epochs = early_stopping_cv(X, y, cv, name)
    rows.append((f"(i) 3x64, defaults, early_stopping=True, 5-fold CV on {name}: accuracy, "
                 "epochs run", "text", {"skoptnn": epochs_cell}))
    goals.append((f"early stopping stops well before `epochs`: mean epochs run < "
                  f"{0.6 * max_epochs:g} of {max_epochs}", mean_epochs < 0.6 * max_epochs,
                  f"{mean_epochs:.1f}"))

    # (j) time per training step at batch 32, deeper and wider networks.
    rows += per_step(X_tr, y_tr, repeats)

    return report(name, len(X_tr), repeats, rows, goals)


def per_step(X_tr, y_tr, repeats: int) -> list[tuple[str, str, dict[str, float]]]:
    """(j) seconds per mini-batch step of skoptnn and MLPClassifier, one row per network."""
    X_scaled = StandardScaler().fit_transform(X_tr)
    steps = STEP_EPOCHS * -(-len(X_scaled) // BATCH)
    rows = []
    for n_layers, units in STEP_SHAPES:
        hidden = (units,) * n_layers
        makers = {
            "skoptnn": lambda h=hidden: skoptnn_mlp(hidden_layer_sizes=h, epochs=STEP_EPOCHS,
                                                    early_stopping=False),
            "sklearn MLP": lambda h=hidden: sklearn_mlp(
                hidden_layer_sizes=h, max_iter=STEP_EPOCHS, n_iter_no_change=STEP_EPOCHS + 1,
                early_stopping=False),
        }
        times = {}
        for label, make in makers.items():
            with threadpool_limits(1, user_api="blas"):
                make().fit(X_scaled, y_tr)  # warm-up
                times[label] = median_time(lambda m=make: m().fit(X_scaled, y_tr),
                                           min(repeats, STEP_REPEATS)) / steps
        print(f"(j) {n_layers}x{units}, one step of batch {BATCH}: "
              + ", ".join(f"{k} {v * 1e3:.3f} ms" for k, v in times.items())
              + f"; MLPClassifier/skoptnn {times['sklearn MLP'] / times['skoptnn']:.2f}x",
              flush=True)
        rows.append((f"(j) one training step, batch {BATCH}, {n_layers}x{units} "
                     f"({len(X_scaled)} rows x {STEP_EPOCHS} epochs = {steps} steps)", "ms",
                     times))
    return rows


def epochs_run(est) -> str:
    """Epochs a fitted contender ran, and its best epoch (0-based), as a table cell."""
    if isinstance(est, OptimizedMLPClassifier):
        return f"{est.n_epochs_} (best {est.best_epoch_})"
    if isinstance(est, MLPClassifier):  # early stopping: best validation accuracy
        return f"{est.n_iter_} (best {int(np.argmax(est.validation_scores_))})"
    history = est.history_  # scikeras: restore_best_weights keeps the lowest val_loss
    return f"{len(history['loss'])} (best {int(np.argmin(history['val_loss']))})"


def new_sizes(n: int) -> list[tuple[int, int]]:
    """``n`` distinct (n_layers, units) pairs that no other workload of this script fits.

    Widths 48, 54, 60, ... (never the warm-up's 32, (a)'s 10 or (i)'s 64),
    depths alternating 3 and 4.
    """
    sizes = [(3 + i % 2, 48 + 6 * i) for i in range(n)]
    assert not {NEW_ARCH_WARM_UP, (len(HIDDEN), HIDDEN[0]), (3, 64)} & set(sizes)
    return sizes


def new_architecture(X_tr, y_tr, repeats: int) -> tuple[float, float]:
    """(h) median first fit of never-fitted architectures and median repeated fit of them.

    One warm-up fit of 2 x 32 (same activation, optimizer and settings), then
    per repeat a never-fitted (n_layers, units) pair is fitted twice in a
    row: the first fit is the new-architecture figure, the second the
    repeated-fit one.
    """
    def fit(n_layers, units):
        est = skoptnn_mlp(hidden_layer_sizes=None, n_layers=n_layers, units=units)
        start = time.perf_counter()
        make_pipeline(StandardScaler(), est).fit(X_tr, y_tr)
        return time.perf_counter() - start

    fit(*NEW_ARCH_WARM_UP)
    firsts, agains = [], []
    for n_layers, units in new_sizes(repeats):
        firsts.append(fit(n_layers, units))
        agains.append(fit(n_layers, units))
        print(f"(h) skoptnn {n_layers}x{units}: first fit {firsts[-1]:.3f} s, "
              f"repeated fit {agains[-1]:.3f} s", flush=True)
    return statistics.median(firsts), statistics.median(agains)


def early_stopping_cv(X, y, cv, name: str) -> tuple[str, float, int]:
    """(i) 5-fold CV of 3 x 64 with early stopping: accuracy and epochs run per fold."""
    pipe = make_pipeline(StandardScaler(), OptimizedMLPClassifier(
        n_layers=3, units=64, early_stopping=True, random_state=0))
    max_epochs = pipe[-1].epochs
    start = time.perf_counter()
    out = cross_validate(pipe, X, y, cv=cv, return_estimator=True)
    seconds = time.perf_counter() - start
    acc = out["test_score"]
    epochs = [p[-1].n_epochs_ for p in out["estimator"]]
    best = [p[-1].best_epoch_ for p in out["estimator"]]
    mean_epochs = float(np.mean(epochs))
    cell = (f"accuracy {acc.mean():.3f} ± {acc.std(ddof=1):.3f}; epochs run: mean "
            f"{mean_epochs:.1f} of {max_epochs} (folds {', '.join(map(str, epochs))}; best "
            f"{', '.join(map(str, best))})")
    print(f"(i) skoptnn 3x64 early stopping, 5-fold CV on {name} in {seconds:.2f} s: {cell}",
          flush=True)
    return cell, mean_epochs, max_epochs


def report(name: str, n_train: int, repeats: int, rows, extra_goals=()) -> str:
    columns = ["skoptnn", "scikeras", "sklearn MLP", "Keras model_(x)", "Keras model_.predict"]
    lines = [
        f"# skoptnn fit speed: {name}, {n_train} training rows",
        "",
        machine(),
        f"- medians over {repeats} repeats after one warm-up fit each "
        f"(single-row predict: median of {N_PREDICT_CALLS} calls)",
        "",
        "| workload | " + " | ".join(columns)
        + " | scikeras/skoptnn | sklearn/skoptnn | model_(x)/skoptnn | model_.predict/skoptnn |",
        "|---" * (len(columns) + 5) + "|",
    ]
    for workload, unit, values in rows:
        if unit == "x":
            cells = [f"{values[c]:.2f}x" if c in values else "-" for c in columns]
            ratios = ["-"] * 4
        elif unit == "text":
            cells = [values.get(c, "-") for c in columns]
            ratios = ["-"] * 4
        else:
            cells = [fmt(values.get(c), unit) for c in columns]
            ours = values.get("skoptnn")
            ratios = [ratio(values.get(c), ours, unit) for c in columns[1:]]
        lines.append(f"| {workload} | " + " | ".join(cells + ratios) + " |")
    lines += ["", "Ratios > 1 mean skoptnn is faster.", "", "## Goals", ""]
    by = {r[0][:3]: r[2] for r in rows}
    fit_ = by["(a)"]
    goals = [
        ("single fit median <= 0.5 s", fit_["skoptnn"] <= 0.5, f"{fit_['skoptnn']:.3f} s"),
        (">= 10x faster than scikeras", fit_["scikeras"] >= 10 * fit_["skoptnn"],
         f"{fit_['scikeras'] / fit_['skoptnn']:.1f}x"),
        ("5-fold CV <= 4 s", by["(b)"]["skoptnn"] <= 4, f"{by['(b)']['skoptnn']:.3f} s"),
        ("single-row predict <= 5 ms", by["(c)"]["skoptnn"] <= 5e-3,
         f"{by['(c)']['skoptnn'] * 1e3:.2f} ms"),
        ("single-row predict <= scikit-learn MLP's",
         by["(c)"]["skoptnn"] <= by["(c)"]["sklearn MLP"],
         f"{by['(c)']['skoptnn'] * 1e3:.3f} vs {by['(c)']['sklearn MLP'] * 1e3:.3f} ms"),
        ("predict_proba throughput >= scikit-learn MLP's",
         by["(d)"]["skoptnn"] >= by["(d)"]["sklearn MLP"],
         f"{by['(d)']['skoptnn']:,.0f} vs {by['(d)']['sklearn MLP']:,.0f} rows/s"),
    ]
    direct = max(by["(d)"]["Keras model_(x)"], by["(d)"]["Keras model_.predict"])
    goals.append(("batch throughput within 2x of calling Keras directly",
                  by["(d)"]["skoptnn"] * 2 >= direct,
                  f"{by['(d)']['skoptnn']:,.0f} vs best direct {direct:,.0f} rows/s"))
    goals += extra_goals
    for text, ok, value in goals:
        lines.append(f"- [{'x' if ok else ' '}] {text}: {value} ({'PASS' if ok else 'FAIL'})")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", help="Pima CSV (no header); default: breast cancer")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output", default=str(Path(__file__).with_suffix(".md")),
                        help="markdown file for the table (default: benchmarks/fit_speed.md)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    if args.path and not Path(args.path).is_file():
        parser.error(f"no such file: {args.path}")
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    tf.get_logger().setLevel("ERROR")  # Keras' retracing hints during scikeras' CV
    table = run(args.path, args.repeats)
    print()
    print(table)
    Path(args.output).write_text(table)
    print(f"saved to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
