"""Nested-CV comparison of skoptnn against other ways to tune a small classifier.

Usage::

    PYTHONPATH=. python benchmarks/compare.py [--pima PATH] [--quick] [--out-dir DIR]
        [--n-jobs N] [--datasets NAME ...] [--methods NAME ...]

Datasets: breast_cancer, wine, digits, pima. Methods: skoptnn, sklearn-mlp,
scikeras, keras-tuner, logreg.

Methods, each tuned with the same budget of 30 candidate configurations:

* ``skoptnn``: ``make_pipeline(StandardScaler(), OptimizedMLPClassifier(
  early_stopping=True))`` with the package's defaults (100 epochs at most,
  patience 10, 10% validation hold-out), ``BayesSearchCV`` over the full
  ``skoptnn.spaces.classifier_space()`` (layers 1-10, units 8-128, activation,
  dropout, optimizer, learning rate, L2, initializer, clipnorm, batch size).
* ``sklearn MLP``: scikit-learn's ``MLPClassifier`` behind a small adapter
  (:class:`DepthWidthMLP`) whose integer ``n_layers``/``units`` become
  ``hidden_layer_sizes``; ``BayesSearchCV`` over depth 1-10, width 8-128,
  activation, ``alpha``, ``learning_rate_init`` and batch size; Adam,
  ``early_stopping=True`` (10% hold-out, patience 10), ``max_iter=200`` epochs.
* ``scikeras``: scikeras' ``KerasClassifier`` around the guide's default model
  (``Dense(32, relu)`` then the output layer) with depth, width, activation,
  dropout, optimizer, learning rate and batch size exposed as parameters, tuned
  by ``BayesSearchCV`` over the same ranges as skoptnn (the model has no L2,
  initializer or clipnorm to tune). Plain ``Model.fit`` with a Keras
  ``EarlyStopping(patience=5, restore_best_weights=True)`` on a 10%
  ``validation_split``, **at most 20 epochs** (skoptnn: 100, patience 10). A
  scikeras fit costs ~0.35-1.5 s of model building and tracing plus ~50 ms per
  epoch and the search makes 61 fits per outer fold, so a 100-epoch cap would
  take the full run far beyond an hour. scikeras 0.13 is not recognised as a
  classifier by scikit-learn >= 1.6, so every search gets an explicit
  ``StratifiedKFold`` and ``scoring="accuracy"`` (done for all methods).
* ``keras-tuner``: ``RandomSearch`` with the guide's "combining all together"
  ``build_model(hp)`` (1-10 layers, each with its own units 8-128, activation
  and dropout 0.1-0.9; optimizer at its Keras default learning rate),
  ``max_trials=30``, objective ``val_accuracy`` on a 20% ``validation_split``
  of the (scaled) outer training fold, ``EarlyStopping(patience=5)`` on
  ``val_loss``, **at most 20 epochs** (as scikeras). The best hyperparameters
  are then refit on the whole outer training fold for the best trial's best
  epoch count, as keras-tuner's documentation recommends. (keras-tuner 1.4
  imports tensorboard before every trial, which TensorFlow 2.21 no longer
  installs; the import is skipped when no TensorBoard callback is used.)
* ``LogisticRegression``: ``max_iter=5000``, ``C`` log-uniform in
  [1e-3, 1e3], ``BayesSearchCV``: the floor any network should clear.

Protocol (identical for every method):

* Outer loop: ``StratifiedKFold(4, shuffle=True, random_state=0)``; the same
  splits for every method. Each outer training fold is given to the method's
  search in a fixed random row order (Keras' ``validation_split`` takes the
  *last* rows, so an ordered dataset would otherwise validate on a biased
  slice). The outer test fold is never passed to the search: it is only used
  to score the refitted best model (accuracy, and ROC AUC from
  ``predict_proba``: one-vs-rest macro average for multiclass data).
* Inner loop: ``StratifiedKFold(2, shuffle=True)`` for the four
  ``BayesSearchCV`` methods (``n_jobs=1``; scikit-optimize's defaults
  otherwise: 10 random starts, then a Gaussian process); keras-tuner selects on
  its own validation split (one fit per trial), which is how it is used.
* Every method is a ``StandardScaler`` pipeline (keras-tuner: a scaler fitted
  on the outer training fold only).
* Seeds: outer fold ``k`` uses ``random_state=k`` for the search, the inner
  splits and the estimators (``k + N`` with ``--seed-offset N``: the same outer
  folds searched with other seeds, to see how much of a result is the
  search's own randomness).

Why 4 outer x 2 inner folds and 20 Keras epochs: timing samples (outer fold 0
of every dataset, full budget, 2 workers; CPU seconds, so that other users'
load on the shared machine does not count) gave ~1950 core-seconds per outer
fold with 3 inner folds and 30 Keras epochs, ~80 % of it scikeras and
keras-tuner: 5 outer folds would take ~80 min on 2 cores. With this budget an
outer fold costs ~1200 core-seconds (scikeras ~500, keras-tuner ~375, skoptnn
~230, sklearn MLP ~70, LogisticRegression ~20), so the full run needs ~40 min
of CPU on 2 cores and is expected to take ~45 min of wall time on a quiet
machine (Keras' input pipeline and keras-tuner's checkpoints add some waiting).

Timing and parallelism: the (method, dataset, outer fold) tasks run in
``--n-jobs`` joblib (loky) worker processes (default 2, one per core), and
each search inside a task is sequential. Every worker limits TensorFlow,
OpenMP and BLAS to one thread before TensorFlow runs its first op, so each
task owns one core whatever method it runs. A task's time is measured inside
the worker with ``time.perf_counter`` around search + refit + predict, after
an untimed per-process warm-up (TensorFlow start-up) and with skoptnn's
compiled-graph cache and Keras' session cleared, so no task profits from an
earlier one (loky also replaces a worker whose memory grew by 300 MB; its
start-up is untimed too). "total time" per method and dataset is the sum over
outer folds (core-seconds, comparable across methods); "time/candidate" is
that total divided by (outer folds x 30). The per-fold table also lists the
task's CPU time, which falls below its wall time when other processes
competed for the core. The script's own elapsed time is printed and recorded.

Reporting: ``results.md`` (command, date, machine, this protocol, the table)
and ``compare.png`` (accuracy with standard-deviation error bars, total time
on a log scale) in ``--out-dir`` (default: ``benchmarks/``; with ``--quick``,
a fresh temporary folder unless ``--out-dir`` is given, so a smoke run never
overwrites real results). Standard deviations are over outer folds
(``ddof=1``). A peer "beats skoptnn by more than one standard error" when its
mean accuracy is higher by more than the standard error of the paired per-fold
differences (``std(diff, ddof=1) / sqrt(outer folds)``; the folds are shared).

``--quick`` is a smoke run for the test suite: 2 outer folds, 2 inner folds,
2 candidates, 5 epochs, breast cancer and wine.

The Pima CSV (no header: 8 features, then the 0/1 outcome) is read from
``--pima``, by default ``../shared/data/pima-indians-diabetes.csv`` next to the
repository; if it is missing, Pima is skipped with a note (nothing is ever
downloaded).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shlex
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from _common import (  # benchmarks/_common.py
    DepthWidthMLP,
    depth_width_space,
    load_pima,
    machine,
)
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

# Nothing at module level imports TensorFlow: the parent process only splits
# data, schedules tasks and writes the report, and the test suite imports this
# module cheaply. TensorFlow, scikeras, keras-tuner and skoptnn's estimators
# are imported inside the worker tasks.

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PIMA = REPO.parent / "shared" / "data" / "pima-indians-diabetes.csv"

METHODS = ("skoptnn", "sklearn MLP", "scikeras", "keras-tuner", "LogisticRegression")
# Command-line names of the methods (no spaces to quote).
SLUGS = {"skoptnn": "skoptnn", "sklearn-mlp": "sklearn MLP", "scikeras": "scikeras",
         "keras-tuner": "keras-tuner", "logreg": "LogisticRegression"}
DATASETS = ("breast_cancer", "wine", "digits", "pima")
DATASET_LABELS = {"breast_cancer": "breast cancer", "wine": "wine", "digits": "digits",
                  "pima": "Pima"}
# Longest tasks first, so the last task to finish is a short one and the two
# workers end together.
_COST_ORDER = {"scikeras": 0, "keras-tuner": 1, "skoptnn": 2, "sklearn MLP": 3,
               "LogisticRegression": 4}
_DATA_ORDER = {"digits": 0, "pima": 1, "breast_cancer": 2, "wine": 3}

THREAD_ENV = {
    # TensorFlow reads these when its runtime starts; skoptnn's own knob too.
    "SKOPTNN_NUM_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    # 3, not 2: Keras 3.15's tf.data graphs carry an attribute TensorFlow 2.21
    # logs as a (harmless) C++ error on every scikeras/keras-tuner fit.
    "TF_CPP_MIN_LOG_LEVEL": "3",
}


@dataclass(frozen=True)
class Budget:
    """Everything that differs between the full run and ``--quick``."""

    # 4 x 2 folds and a 20-epoch cap for the Keras-fit methods keep the full
    # run within ~45 min on 2 cores (timing sample in the module docstring):
    # a scikeras fit costs ~0.35-1.5 s of model building and tracing plus
    # ~50 ms per epoch, and scikeras makes 30 x 2 + 1 of them per outer fold.
    n_outer: int = 4
    inner_cv: int = 2
    n_candidates: int = 30
    skoptnn_epochs: int | None = None  # None: the package default (100)
    keras_epochs: int = 20
    keras_patience: int = 5
    sklearn_max_iter: int = 200


FULL = Budget()
QUICK = Budget(n_outer=2, inner_cv=2, n_candidates=2, skoptnn_epochs=5, keras_epochs=5,
               keras_patience=2, sklearn_max_iter=20)
QUICK_DATASETS = ("breast_cancer", "wine")


# -- data and splits -------------------------------------------------------------
def load_dataset(name: str, pima: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    if name == "pima":
        if pima is None:
            raise ValueError("the Pima dataset needs a CSV path")
        return load_pima(pima)
    loader = {"breast_cancer": load_breast_cancer, "wine": load_wine, "digits": load_digits}
    X, y = loader[name](return_X_y=True)
    return X.astype(np.float64), y


def outer_splits(y: np.ndarray, n_splits: int, seed: int = 0) -> list[tuple[np.ndarray,
                                                                            np.ndarray]]:
    """The outer (train, test) index pairs shared by every method.

    Training indices come in a fixed random order (see the module docstring);
    test indices are sorted.
    """
    cv = StratifiedKFold(n_splits, shuffle=True, random_state=seed)
    splits = []
    for fold, (train, test) in enumerate(cv.split(np.zeros((len(y), 1)), y)):
        order = np.random.default_rng(seed + fold).permutation(len(train))
        splits.append((train[order], test))
    return splits


def inner_cv(budget: Budget, seed: int) -> StratifiedKFold:
    return StratifiedKFold(budget.inner_cv, shuffle=True, random_state=seed)


# -- Keras models (module level, so clones and worker processes can pickle them) ----
def scikeras_model(meta, n_layers=1, units=32, activation="relu", dropout=0.0):
    """The guide's default model (one ``Dense(32, relu)``), with its size exposed."""
    from skoptnn.engine.runtime import keras

    model = keras.Sequential([keras.Input(shape=(meta["n_features_in_"],))])
    for _ in range(n_layers):
        model.add(keras.layers.Dense(units, activation=activation))
        if dropout > 0:
            model.add(keras.layers.Dropout(dropout))
    n_classes = meta["n_classes_"]
    if n_classes == 2:
        model.add(keras.layers.Dense(1, activation="sigmoid"))
    else:
        model.add(keras.layers.Dense(n_classes, activation="softmax"))
    return model  # scikeras compiles it with the (tuned) optimizer and the loss


def kt_build_model(hp, n_features, n_classes):
    """The guide's "combining all together" ``build_model(hp)``, multiclass-aware."""
    from skoptnn.engine.runtime import keras

    model = keras.Sequential([keras.Input(shape=(n_features,))])
    for i in range(hp.Int("num_layers", min_value=1, max_value=10)):
        model.add(keras.layers.Dense(
            hp.Int("units" + str(i), min_value=8, max_value=128, step=8),
            activation=hp.Choice("activation" + str(i), values=["relu", "tanh", "sigmoid"])))
        model.add(keras.layers.Dropout(
            hp.Choice("dropout" + str(i), values=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])))
    if n_classes == 2:
        model.add(keras.layers.Dense(1, activation="sigmoid"))
        loss = "binary_crossentropy"
    else:
        model.add(keras.layers.Dense(n_classes, activation="softmax"))
        loss = "sparse_categorical_crossentropy"
    model.compile(
        optimizer=hp.Choice("optimizer", values=["rmsprop", "adam", "sgd", "nadam", "adadelta"]),
        loss=loss, metrics=["accuracy"])
    return model


# -- the searches ---------------------------------------------------------------------
def _bayes_search(estimator, space, budget: Budget, seed: int):
    from skopt import BayesSearchCV

    # n_jobs=1: the parallelism is over outer folds, one core per task.
    return BayesSearchCV(estimator, space, n_iter=budget.n_candidates,
                         cv=inner_cv(budget, seed), scoring="accuracy", n_jobs=1,
                         random_state=seed)


def make_search(method: str, n_classes: int, budget: Budget, seed: int):
    """The unfitted search (a ``BayesSearchCV``) of one of the four sklearn-style methods."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from skopt.space import Categorical, Integer, Real

    if method == "skoptnn":
        from skoptnn import OptimizedMLPClassifier
        from skoptnn.spaces import classifier_space

        params = {"early_stopping": True, "random_state": seed}
        if budget.skoptnn_epochs is not None:
            params["epochs"] = budget.skoptnn_epochs
        pipe = make_pipeline(StandardScaler(), OptimizedMLPClassifier(**params))
        return _bayes_search(pipe, classifier_space(prefix="optimizedmlpclassifier__"),
                             budget, seed)
    if method == "sklearn MLP":
        pipe = make_pipeline(StandardScaler(), DepthWidthMLP(
            max_iter=budget.sklearn_max_iter, random_state=seed))
        space = depth_width_space(alpha_max=1e-1, batch_size=Categorical([16, 32, 64, 128]))
        return _bayes_search(pipe, space, budget, seed)
    if method == "scikeras":
        from scikeras.wrappers import KerasClassifier

        from skoptnn.engine.runtime import keras

        clf = KerasClassifier(
            model=scikeras_model, model__n_layers=1, model__units=32,
            model__activation="relu", model__dropout=0.0,
            optimizer="adam", optimizer__learning_rate=1e-3,
            loss="binary_crossentropy" if n_classes == 2 else "sparse_categorical_crossentropy",
            epochs=budget.keras_epochs, batch_size=32, validation_split=0.1,
            callbacks=[keras.callbacks.EarlyStopping(patience=budget.keras_patience,
                                                     restore_best_weights=True)],
            verbose=0, random_state=seed,
        )
        pipe = make_pipeline(StandardScaler(), clf)
        space = {
            "kerasclassifier__model__n_layers": Integer(1, 10),
            "kerasclassifier__model__units": Integer(8, 128),
            "kerasclassifier__model__activation": Categorical(["relu", "tanh", "sigmoid"]),
            "kerasclassifier__model__dropout": Real(0.0, 0.6),
            "kerasclassifier__optimizer": Categorical(
                ["rmsprop", "adam", "sgd", "nadam", "adadelta"]),
            "kerasclassifier__optimizer__learning_rate": Real(1e-4, 1e-1, prior="log-uniform"),
            "kerasclassifier__batch_size": Categorical([16, 32, 64, 128]),
        }
        return _bayes_search(pipe, space, budget, seed)
    if method == "LogisticRegression":
        from sklearn.linear_model import LogisticRegression

        pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
        space = {"logisticregression__C": Real(1e-3, 1e3, prior="log-uniform")}
        return _bayes_search(pipe, space, budget, seed)
    raise ValueError(f"unknown method {method!r}")


def _run_keras_tuner(X_tr, y_tr, X_te, n_classes, budget: Budget, seed: int) -> dict:
    import functools
    import io
    from contextlib import redirect_stdout

    import keras_tuner as kt
    from sklearn.preprocessing import StandardScaler

    from skoptnn.engine.runtime import keras

    # Keras' sparse losses want labels 0..n_classes-1.
    classes, y_tr = np.unique(y_tr, return_inverse=True)
    scaler = StandardScaler().fit(X_tr)  # the outer training fold only
    Xs_tr, Xs_te = scaler.transform(X_tr), scaler.transform(X_te)
    keras.utils.set_random_seed(seed)  # weights and dropout; the tuner seeds its sampling
    # keras-tuner checkpoints every improving epoch; in memory (/dev/shm, where
    # there is one) the disk of the machine is not part of its time.
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    directory = tempfile.mkdtemp(prefix="kt-compare-", dir=shm)
    try:
        tuner = _tensorboard_optional(kt.RandomSearch)(
            functools.partial(kt_build_model, n_features=X_tr.shape[1], n_classes=n_classes),
            objective="val_accuracy", max_trials=budget.n_candidates, seed=seed,
            directory=directory, project_name="search", overwrite=True)
        stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=budget.keras_patience)
        # verbose=0 silences the per-trial tables; stdout is captured anyway in
        # case a keras-tuner version prints regardless.
        with redirect_stdout(io.StringIO()):
            tuner.search(Xs_tr, y_tr, epochs=budget.keras_epochs, validation_split=0.2,
                         callbacks=[stop], verbose=0)
        best_trial = tuner.oracle.get_best_trials(1)[0]
        best_hp = best_trial.hyperparameters
        n_trials = len(tuner.oracle.trials)
        # Refit on the whole outer training fold for the best trial's epoch count.
        model = tuner.hypermodel.build(best_hp)
        model.fit(Xs_tr, y_tr, epochs=int(best_trial.best_step) + 1, verbose=0)
        raw = model.predict(Xs_te, verbose=0)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    proba = np.column_stack([1 - raw[:, 0], raw[:, 0]]) if n_classes == 2 else raw
    return {
        "proba": proba, "classes": classes, "n_candidates": n_trials,
        "best_params": _active_hp(best_hp.values), "best_inner_score": float(best_trial.score),
        "n_train_seen": len(Xs_tr), "scaler_mean": scaler.mean_.copy(),
    }


def _active_hp(values: dict) -> dict:
    # keras-tuner keeps the values of layers deeper than num_layers (from
    # earlier trials); they do not describe the chosen model.
    depth = values["num_layers"]
    layer = {k: re.fullmatch(r"\D+(\d+)", k) for k in values}
    return {k: v for k, v in values.items() if layer[k] is None or int(layer[k][1]) < depth}


def _tensorboard_optional(tuner_class):
    """``tuner_class`` without keras-tuner 1.4's unconditional tensorboard import.

    keras-tuner 1.4 imports tensorboard before every trial to patch TensorBoard
    callbacks, even when there is none; TensorFlow 2.21 no longer installs
    tensorboard, so every trial would fail. Without a TensorBoard callback the
    method has nothing to do, so it is skipped then.
    """

    class TensorBoardOptional(tuner_class):
        def _configure_tensorboard_dir(self, callbacks, trial, execution=0):
            if any(type(c).__name__ == "TensorBoard" for c in callbacks):
                super()._configure_tensorboard_dir(callbacks, trial, execution)

    return TensorBoardOptional


# -- one task: a method on one outer fold of one dataset, in a worker ------------------
_WARMED_UP = False


def _limit_threads() -> None:
    for key, value in THREAD_ENV.items():
        os.environ.setdefault(key, value)
    from skoptnn.engine.runtime import tf  # quiet first import of TensorFlow

    # Keras' "excessive retracing" hints: every scikeras/keras-tuner candidate
    # is a new model, retracing is what they cost.
    tf.get_logger().setLevel("ERROR")

    for setter in (tf.config.threading.set_intra_op_parallelism_threads,
                   tf.config.threading.set_inter_op_parallelism_threads):
        try:
            setter(1)
        except RuntimeError:
            pass  # the runtime is already up (in-process runs): keep its setting


def _warm_up() -> None:
    """Untimed, once per process: TensorFlow's start-up and the imports."""
    global _WARMED_UP
    if _WARMED_UP:
        return
    _limit_threads()
    import scikeras.wrappers  # noqa: F401
    import skopt  # noqa: F401

    import skoptnn.classifier  # noqa: F401
    from skoptnn.engine.runtime import keras

    if importlib.util.find_spec("keras_tuner") is not None:
        import keras_tuner  # noqa: F401
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    x = np.zeros((8, 2), np.float32)
    model.fit(x, x[:, 0], epochs=1, verbose=0)
    model.predict(x, verbose=0)
    keras.backend.clear_session()
    _WARMED_UP = True


def run_task(method: str, dataset: str, fold: int, X_tr, y_tr, X_te, y_te,
             budget: Budget, seed_offset: int = 0) -> dict:
    """Tune ``method`` on one outer training fold and score it on the test fold.

    Only ``X_tr, y_tr`` reach the search; ``X_te`` is predicted once at the end.
    """
    _warm_up()
    from skoptnn import DivergenceWarning
    from skoptnn.engine.cache import clear_cache
    from skoptnn.engine.runtime import keras

    # Each task starts from a clean slate: no compiled graph or Keras state
    # from an earlier task in this worker.
    clear_cache()
    keras.backend.clear_session()
    seed = fold + seed_offset
    n_classes = len(np.unique(y_tr))
    from threadpoolctl import threadpool_limits

    # One BLAS thread (skopt's Gaussian process, scikit-learn) also when the
    # task runs in the parent process (--n-jobs 1), where the environment
    # variables come too late.
    with warnings.catch_warnings(), threadpool_limits(1):
        # Diverging or non-converging candidates are part of any search; the
        # search scores them low. Repeated points: LogisticRegression's 1-D space.
        warnings.simplefilter("ignore", DivergenceWarning)
        warnings.filterwarnings("ignore", message=".*objective has been evaluated.*")
        warnings.filterwarnings("ignore", category=UserWarning, module="keras.*")
        warnings.filterwarnings("ignore", category=UserWarning, module="scikeras.*")
        from sklearn.exceptions import ConvergenceWarning

        warnings.simplefilter("ignore", ConvergenceWarning)
        # MLPClassifier clips a batch size above the (small) training set.
        warnings.filterwarnings("ignore", message=".*Got `batch_size`.*")
        start, cpu_start = time.perf_counter(), time.process_time()
        if method == "keras-tuner":
            out = _run_keras_tuner(X_tr, y_tr, X_te, n_classes, budget, seed)
            proba, classes = out.pop("proba"), out.pop("classes")
            y_pred = classes[proba.argmax(axis=1)]
        else:
            search = make_search(method, n_classes, budget, seed).fit(X_tr, y_tr)
            best = search.best_estimator_
            proba = best.predict_proba(X_te)
            y_pred = best.predict(X_te)
            classes = best.classes_
            out = {
                "n_candidates": len(search.cv_results_["params"]),
                "best_params": {k.split("__", 1)[1]: _plain(v)
                                for k, v in search.best_params_.items()},
                "best_inner_score": float(search.best_score_),
                # The refit scaler saw exactly the rows given to the search.
                "n_train_seen": int(best[0].n_samples_seen_),
                "scaler_mean": best[0].mean_.copy(),
            }
        seconds = time.perf_counter() - start
        # CPU time of this process: close to `seconds` on a quiet machine; much
        # lower when other processes competed for the core.
        cpu_seconds = time.process_time() - cpu_start
    if n_classes == 2:
        auc = roc_auc_score(y_te, proba[:, 1])
    else:
        auc = roc_auc_score(y_te, proba, multi_class="ovr", labels=classes)
    return {"method": method, "dataset": dataset, "fold": fold, "seconds": seconds,
            "cpu_seconds": cpu_seconds, "seed": seed,
            "accuracy": float(accuracy_score(y_te, y_pred)), "roc_auc": float(auc),
            "n_train": len(y_tr), "n_test": len(y_te), "pid": os.getpid(), **out}


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


# -- running everything ----------------------------------------------------------------
def run(methods, datasets, budget: Budget, pima: str | Path | None, n_jobs: int,
        log=print, seed_offset: int = 0) -> list[dict]:
    """Run every (method, dataset, outer fold) task; return one record per task."""
    from joblib import Parallel, delayed

    data = {name: load_dataset(name, pima) for name in datasets}
    splits = {name: outer_splits(data[name][1], budget.n_outer) for name in datasets}
    tasks = []
    for name in sorted(datasets, key=_DATA_ORDER.get):
        X, y = data[name]
        for method in sorted(methods, key=_COST_ORDER.get):
            for fold, (train, test) in enumerate(splits[name]):
                tasks.append((method, name, fold, X[train], y[train], X[test], y[test]))
    if n_jobs > 1:
        # Inherited by the worker processes, which start TensorFlow only later.
        for key, value in THREAD_ENV.items():
            os.environ.setdefault(key, value)
    records = []
    results = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator_unordered")(
        delayed(run_task)(*task, budget, seed_offset) for task in tasks)
    for record in results:
        records.append(record)
        log(f"[{len(records):>3}/{len(tasks)}] {record['dataset']:<13} {record['method']:<18} "
            f"fold {record['fold']}: accuracy {record['accuracy']:.3f}, "
            f"AUC {record['roc_auc']:.3f}, {record['seconds']:7.1f} s", flush=True)
    key = {m: i for i, m in enumerate(METHODS)}
    records.sort(key=lambda r: (DATASETS.index(r["dataset"]), key[r["method"]], r["fold"]))
    return records


def summarize(records: list[dict], budget: Budget) -> list[dict]:
    """One row per (dataset, method): means, stds, times and the comparison to skoptnn."""
    rows = []
    by = {}
    for r in records:
        by.setdefault((r["dataset"], r["method"]), []).append(r)
    for (dataset, method), rs in by.items():
        rs = sorted(rs, key=lambda r: r["fold"])
        acc = np.array([r["accuracy"] for r in rs])
        auc = np.array([r["roc_auc"] for r in rs])
        total = float(sum(r["seconds"] for r in rs))
        n_cand = budget.n_outer * budget.n_candidates
        rows.append({
            "dataset": dataset, "method": method, "folds": len(rs),
            "acc_mean": acc.mean(), "acc_std": _std(acc), "acc_folds": acc,
            "auc_mean": auc.mean(), "auc_std": _std(auc),
            "total_seconds": total, "seconds_per_candidate": total / n_cand,
            "candidates": int(sum(r["n_candidates"] for r in rs)),
        })
    for row in rows:
        ours = next((o for o in rows if o["dataset"] == row["dataset"]
                     and o["method"] == "skoptnn"), None)
        row["vs_skoptnn"] = ""
        if ours is None or row["method"] == "skoptnn" or len(ours["acc_folds"]) != len(
                row["acc_folds"]):
            continue
        diff = row["acc_folds"] - ours["acc_folds"]
        se = _std(diff) / np.sqrt(len(diff))
        row["diff"], row["diff_se"] = float(diff.mean()), float(se)
        if diff.mean() > se:
            row["vs_skoptnn"] = f"beats skoptnn by {diff.mean():+.3f} (> 1 SE = {se:.3f})"
        elif -diff.mean() > se:
            row["vs_skoptnn"] = f"below skoptnn by {-diff.mean():.3f} (> 1 SE = {se:.3f})"
        else:
            row["vs_skoptnn"] = f"within 1 SE ({diff.mean():+.3f}, SE {se:.3f})"
    order = {m: i for i, m in enumerate(METHODS)}
    rows.sort(key=lambda r: (DATASETS.index(r["dataset"]), order[r["method"]]))
    return rows


def _std(values: np.ndarray) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


# -- report ------------------------------------------------------------------------------
def table(rows: list[dict]) -> list[str]:
    lines = ["| dataset | method | accuracy | ROC AUC | total time (s) | time/candidate (s) "
             "| vs skoptnn (accuracy) |", "|---|---|---|---|---|---|---|"]
    best = {}
    for row in rows:
        best[row["dataset"]] = max(best.get(row["dataset"], -1.0), row["acc_mean"])
    for row in rows:
        acc = f"{row['acc_mean']:.3f} ± {row['acc_std']:.3f}"
        if np.isclose(row["acc_mean"], best[row["dataset"]]):
            acc = f"**{acc}**"
        lines.append(
            f"| {DATASET_LABELS[row['dataset']]} | {row['method']} | {acc} | "
            f"{row['auc_mean']:.3f} ± {row['auc_std']:.3f} | {_secs(row['total_seconds'])} | "
            f"{row['seconds_per_candidate']:.2f} | {row['vs_skoptnn'] or '-'} |")
    return lines


def _secs(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}" if value >= 1 else f"{value:.2f}"


def goals(rows: list[dict], elapsed: float, quick: bool) -> list[str]:
    by = {(r["dataset"], r["method"]): r for r in rows}
    lines = []

    def check(text, ok, value):
        lines.append(f"- [{'x' if ok else ' '}] {text}: {value} ({'PASS' if ok else 'FAIL'})")

    pima = by.get(("pima", "skoptnn"))
    if pima is not None:
        check("skoptnn's nested-CV accuracy on Pima >= 0.775", pima["acc_mean"] >= 0.775,
              f"{pima['acc_mean']:.3f}")
    for dataset in DATASETS:
        ours = by.get((dataset, "skoptnn"))
        if ours is None:
            continue
        peers = [r for r in rows if r["dataset"] == dataset and r["method"] != "skoptnn"
                 and "diff" in r]
        if peers:
            worst = max(peers, key=lambda r: r["diff"] - r["diff_se"])
            check(f"{DATASET_LABELS[dataset]}: skoptnn not below any peer by more than 1 SE",
                  all(r["diff"] <= r["diff_se"] for r in peers),
                  f"closest: {worst['method']} {worst['diff']:+.3f} vs SE {worst['diff_se']:.3f}")
        for peer in ("scikeras", "keras-tuner"):
            other = by.get((dataset, peer))
            if other is not None:
                check(f"{DATASET_LABELS[dataset]}: skoptnn's time below {peer}'s",
                      ours["total_seconds"] < other["total_seconds"],
                      f"{ours['total_seconds']:.0f} s vs {other['total_seconds']:.0f} s")
    if not quick:
        check("whole run within 60 minutes", elapsed <= 3600, f"{elapsed / 60:.1f} min")
    return lines


def report(rows, records, budget: Budget, args_line: str, elapsed: float, load_start,
           notes: list[str], quick: bool, seed_offset: int = 0) -> str:
    started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# skoptnn against other tuned classifiers (nested cross-validation)"
        + (" -- QUICK SMOKE RUN, not a result" if quick else ""),
        "",
        f"- command: `{args_line}`",
        f"- finished: {started}; whole script: {elapsed:.0f} s ({elapsed / 60:.1f} min) "
        "of elapsed time",
        *machine(load_start),
        "",
        "## Protocol",
        "",
        f"- {budget.n_outer} outer folds (`StratifiedKFold(shuffle=True, random_state=0)`, the "
        "same for every method); the search runs inside each outer training fold and the "
        "outer test fold is only used to score the refitted best model.",
        "- seeds of the searches, inner splits and estimators: outer fold number"
        + (f" + {seed_offset} (`--seed-offset`)" if seed_offset else "") + ".",
        f"- {budget.n_candidates} candidate configurations per search; inner "
        f"`StratifiedKFold({budget.inner_cv}, shuffle=True)` for the `BayesSearchCV` methods "
        "(scikit-optimize defaults: 10 random starts, then a Gaussian process, "
        "scoring = accuracy); keras-tuner `RandomSearch` selects on a 20% validation split "
        "of the outer training fold (one fit per trial), then refits on the whole fold for "
        "the best trial's epoch count.",
        "- every method scales with `StandardScaler` fitted on training data only.",
        "- skoptnn: package defaults, `early_stopping=True`, epochs "
        + (f"{budget.skoptnn_epochs}" if budget.skoptnn_epochs else "100 (default)")
        + " max, patience 10, full `classifier_space()`.",
        f"- sklearn MLP: `MLPClassifier` (Adam, early stopping, max_iter="
        f"{budget.sklearn_max_iter}) via an integer depth/width adapter; depth 1-10, width "
        "8-128, activation, alpha, learning_rate_init, batch size.",
        f"- scikeras: the guide's default model (`Dense(32, relu)`), depth 1-10, width 8-128, "
        "activation, dropout, optimizer, learning rate, batch size; "
        f"**{budget.keras_epochs} epochs max**, Keras `EarlyStopping(patience="
        f"{budget.keras_patience}, restore_best_weights=True)` on a 10% `validation_split`. "
        "Fewer epochs than skoptnn's 100 because every Keras epoch costs ~45 ms of framework "
        "overhead and the full run must fit in an hour on 2 cores.",
        f"- keras-tuner: the guide's `build_model(hp)` (per-layer units/activation/dropout "
        f"0.1-0.9, optimizer), **{budget.keras_epochs} epochs max**, `EarlyStopping(patience="
        f"{budget.keras_patience})` on val_loss.",
        "- LogisticRegression: `max_iter=5000`, C log-uniform in [1e-3, 1e3].",
        "- times: each (method, dataset, outer fold) task runs in one of the joblib worker "
        "processes with TensorFlow/BLAS limited to 1 thread, timed around search + refit + "
        "predict. `total time` = sum over outer folds (core-seconds); `time/candidate` = total "
        f"/ ({budget.n_outer} x {budget.n_candidates}).",
        "- accuracy and ROC AUC (one-vs-rest macro for multiclass): mean ± std over outer "
        "folds (ddof=1). **Bold**: best mean accuracy of the dataset. `vs skoptnn`: a peer's "
        "mean accuracy difference against the standard error of the paired per-fold "
        "differences.",
        *[f"- note: {note}" for note in notes],
        "",
        "## Results",
        "",
        *table(rows),
        "",
        "## Goals",
        "",
        *goals(rows, elapsed, quick),
        "",
        "## Per-fold accuracy and chosen configuration",
        "",
        "| dataset | method | fold | accuracy | inner score | time (s) | CPU (s) "
        "| best parameters |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        params = ", ".join(f"{k}={_fmt(v)}" for k, v in sorted(r["best_params"].items()))
        lines.append(f"| {DATASET_LABELS[r['dataset']]} | {r['method']} | {r['fold']} | "
                     f"{r['accuracy']:.3f} | {r['best_inner_score']:.3f} | "
                     f"{r['seconds']:.1f} | {r['cpu_seconds']:.1f} | {params} |")
    return "\n".join(lines) + "\n"


def _fmt(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def plot(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = [d for d in DATASETS if any(r["dataset"] == d for r in rows)]
    methods = [m for m in METHODS if any(r["method"] == m for r in rows)]
    by = {(r["dataset"], r["method"]): r for r in rows}
    x = np.arange(len(datasets))
    width = 0.8 / len(methods)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 8), sharex=True)
    for i, method in enumerate(methods):
        pos = x - 0.4 + width * (i + 0.5)
        cells = [by.get((d, method)) for d in datasets]
        acc = [c["acc_mean"] if c else np.nan for c in cells]
        std = [c["acc_std"] if c else 0.0 for c in cells]
        secs = [c["total_seconds"] if c else np.nan for c in cells]
        top.bar(pos, acc, width, yerr=std, capsize=3, label=method)
        bottom.bar(pos, secs, width, label=method)
    lows = [r["acc_mean"] - r["acc_std"] for r in rows]
    top.set_ylim(max(0.0, min(lows) - 0.05), 1.0)
    top.set_ylabel("outer-fold accuracy (mean ± std)")
    top.legend(fontsize="small", ncol=len(methods), loc="lower center",
               bbox_to_anchor=(0.5, 1.0))
    bottom.set_yscale("log")
    bottom.set_ylabel("total time, s (log scale)")
    bottom.set_xticks(x, [DATASET_LABELS[d] for d in datasets])
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _method(name: str) -> str:
    if name in SLUGS:
        return SLUGS[name]
    if name in METHODS:
        return name
    raise argparse.ArgumentTypeError(f"unknown method {name!r}; choose from {', '.join(SLUGS)}")


def benchmark(argv: list[str] | None = None) -> dict:
    """Parse ``argv``, run the comparison, write the report; return what was computed.

    The returned dict has ``records`` (one per method, dataset and outer fold),
    ``rows`` (the summary table), ``budget``, ``methods``, ``datasets``,
    ``pima`` (the CSV path used) and ``out_dir``.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pima", default=None,
                        help=f"Pima CSV (no header, outcome last); default {DEFAULT_PIMA} "
                        "if it exists, otherwise Pima is skipped")
    parser.add_argument("--quick", action="store_true",
                        help="tiny smoke run (2 outer folds, 2 candidates, 2 datasets)")
    parser.add_argument("--out-dir", default=None,
                        help="where results.md and compare.png go (default: benchmarks/; "
                        "with --quick a new temporary folder)")
    parser.add_argument("--n-jobs", type=int, default=2,
                        help="worker processes, one core each (default 2)")
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=None)
    parser.add_argument("--methods", nargs="+", type=_method, default=None,
                        metavar="METHOD", help="any of: " + ", ".join(SLUGS)
                        + " (default: all)")
    parser.add_argument("--seed-offset", type=int, default=0, metavar="N",
                        help="seed every search with outer fold + N instead of the fold "
                        "(same outer folds): measures the search's own randomness")
    args = parser.parse_args(argv)
    if args.n_jobs < 1:
        parser.error("--n-jobs must be >= 1")
    if args.seed_offset < 0:
        parser.error("--seed-offset must be >= 0 (seeds cannot be negative)")
    start = time.perf_counter()
    load_start = os.getloadavg()
    budget = QUICK if args.quick else FULL
    notes = []

    datasets = list(args.datasets or (QUICK_DATASETS if args.quick else DATASETS))
    pima = Path(args.pima) if args.pima else DEFAULT_PIMA
    if "pima" in datasets and not pima.is_file():
        datasets.remove("pima")
        note = f"Pima skipped: {pima} not found (pass --pima PATH; nothing is downloaded)"
        print(note)
        notes.append(note)
    methods = list(args.methods or METHODS)
    if "keras-tuner" in methods and importlib.util.find_spec("keras_tuner") is None:
        methods.remove("keras-tuner")
        note = "keras-tuner skipped: not installed (pip install 'keras-tuner>=1.4,<1.5')"
        print(note)
        notes.append(note)
    if not datasets or not methods:
        parser.error("nothing to run")

    if args.out_dir:
        out_dir = Path(args.out_dir)
    elif args.quick:
        out_dir = Path(tempfile.mkdtemp(prefix="skoptnn-compare-quick-"))
    else:
        out_dir = Path(__file__).resolve().parent
    out_dir.mkdir(parents=True, exist_ok=True)

    print(f"{len(methods)} methods x {len(datasets)} datasets x {budget.n_outer} outer folds, "
          f"{budget.n_candidates} candidates each, {args.n_jobs} worker process(es)",
          flush=True)
    records = run(methods, datasets, budget, pima, args.n_jobs, seed_offset=args.seed_offset)
    rows = summarize(records, budget)
    elapsed = time.perf_counter() - start
    args_line = "python benchmarks/compare.py " + shlex.join(
        sys.argv[1:] if argv is None else argv)
    text = report(rows, records, budget, args_line.strip(), elapsed, load_start, notes,
                  args.quick, args.seed_offset)
    (out_dir / "results.md").write_text(text)
    plot(rows, out_dir / "compare.png",
         f"Nested CV: {budget.n_outer} outer folds, {budget.n_candidates} candidates per search"
         + (" (QUICK smoke run)" if args.quick else ""))
    print()
    print("\n".join(table(rows)))
    print()
    print("\n".join(goals(rows, elapsed, args.quick)))
    print(f"\nwhole script: {elapsed:.0f} s; wrote {out_dir / 'results.md'} and "
          f"{out_dir / 'compare.png'}")
    return {"records": records, "rows": rows, "budget": budget, "methods": methods,
            "datasets": datasets, "pima": pima, "out_dir": out_dir}


def main(argv: list[str] | None = None) -> int:
    benchmark(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
