"""Learning-rate schedules train as Keras' ``LearningRateSchedule`` under plain SGD.

Under SGD without momentum each step moves the weights by ``learning_rate *
gradient``, so a schedule off by a step, a factor or a phase changes the
weights well beyond the tolerance. The references are Keras' ``CosineDecay``
(with its warm-up) and, for RealMLP's coslog schedule, which Keras lacks, a
``LearningRateSchedule`` written out here from the paper's formula.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from keras_reference import named_weights, reference

from skoptnn import OptimizedMLPClassifier
from skoptnn.engine.runtime import keras

N, BATCH, EPOCHS = 64, 32, 4
STEPS = EPOCHS * N // BATCH  # 8 SGD steps a fit
LR = 0.5
BASE = {"hidden_layer_sizes": (8, 6), "optimizer": "sgd", "learning_rate": LR, "l2": 0.0,
        "random_state": 0, "label_smoothing": 0.0}
RTOL, ATOL = 1e-4, 1e-5


class CosLog(keras.optimizers.schedules.LearningRateSchedule):
    """RealMLP's coslog4: lr * (1 - cos(2 pi log2(1 + 15 t))) / 2, t = step / steps."""

    def __init__(self, lr, steps):
        self.lr, self.steps = lr, steps

    def __call__(self, step):
        t = keras.ops.cast(step, "float32") / self.steps
        return self.lr * 0.5 * (1.0 - keras.ops.cos(
            2.0 * math.pi * keras.ops.log(1.0 + 15.0 * t) / math.log(2.0)))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(N, 5)).astype(np.float32)
    y = (X @ rng.normal(size=(5, 3))).argmax(axis=1)
    return X, y


def _keras(X, y, schedule, epochs=EPOCHS, model=None):
    """Keras' fit of the reference network (or ``model``, recompiled) under ``schedule``."""
    if model is None:
        model = reference({**BASE, "learning_rate": schedule}, X.shape[1], 3, "softmax",
                          "sparse_categorical_crossentropy", "accuracy", N)
    else:
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedule),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, y.astype(np.float32).reshape(-1, 1), epochs=epochs, batch_size=BATCH,
              shuffle=False, verbose=0)
    return model


def _ours(X, y, **params):
    return OptimizedMLPClassifier(**{**BASE, **params}, epochs=EPOCHS, batch_size=BATCH,
                                  shuffle=False).fit(X, y)


def _assert_same_weights(est, model):
    for (name, a), (_, b) in zip(named_weights(est.model_), named_weights(model), strict=True):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL, err_msg=name)


SCHEDULES = {
    "cosine": ({"lr_schedule": "cosine"},
               lambda: keras.optimizers.schedules.CosineDecay(LR, decay_steps=STEPS)),
    "cosine_warmup": (
        {"lr_schedule": "cosine", "lr_warmup": 0.25},
        lambda: keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=STEPS - 2, warmup_target=LR, warmup_steps=2)),
    "coslog": ({"lr_schedule": "coslog"}, lambda: CosLog(LR, STEPS)),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedule_trains_like_keras(data, name):
    X, y = data
    params, schedule = SCHEDULES[name]
    _assert_same_weights(_ours(X, y, **params), _keras(X, y, schedule()))


def test_a_schedule_off_by_one_step_fails_the_comparison(data):
    """The comparison has the power it claims: the cosine one step late differs."""
    X, y = data
    late = keras.optimizers.schedules.CosineDecay(LR, decay_steps=STEPS + 1)
    with pytest.raises(AssertionError):
        _assert_same_weights(_ours(X, y, lr_schedule="cosine"), _keras(X, y, late))


def test_constant_schedule_is_the_old_training(data):
    X, y = data
    a = _ours(X, y)
    b = _ours(X, y, lr_schedule="constant", lr_warmup=0.0)
    for (_, u), (_, v) in zip(named_weights(a.model_), named_weights(b.model_), strict=True):
        np.testing.assert_array_equal(u, v)
    _assert_same_weights(a, _keras(X, y, LR))


def test_warm_start_runs_the_schedule_afresh(data):
    """A warm-started fit is a new cycle over its own epochs (a warm restart)."""
    X, y = data
    est = _ours(X, y, lr_schedule="cosine")
    est.set_params(warm_start=True).fit(X, y)
    model = _keras(X, y, keras.optimizers.schedules.CosineDecay(LR, decay_steps=STEPS))
    model = _keras(X, y, keras.optimizers.schedules.CosineDecay(LR, decay_steps=STEPS),
                   model=model)
    _assert_same_weights(est, model)
    assert est.n_epochs_ == 2 * EPOCHS


def test_partial_fit_calls_walk_through_the_schedule(data):
    """``epochs`` partial_fit calls train as one fit; the next call starts a new cycle."""
    X, y = data
    est = OptimizedMLPClassifier(**BASE, lr_schedule="coslog", epochs=EPOCHS,
                                 batch_size=BATCH, shuffle=False)
    for _ in range(EPOCHS):
        est.partial_fit(X, y, classes=[0, 1, 2])
    model = _keras(X, y, CosLog(LR, STEPS))
    _assert_same_weights(est, model)
    est.partial_fit(X, y)  # epoch 0 of the next cycle: coslog's rate is 0 there
    model = _keras(X, y, CosLog(LR, STEPS), epochs=1, model=model)
    _assert_same_weights(est, model)


def test_schedule_parameters_are_validated(data):
    X, y = data
    with pytest.raises(ValueError, match="lr_schedule"):
        OptimizedMLPClassifier(lr_schedule="linear").fit(X, y)
    with pytest.raises(ValueError, match="lr_warmup"):
        OptimizedMLPClassifier(lr_warmup=1.0).fit(X, y)


def test_coslog_refuses_a_warm_up_and_keeps_the_fitted_network(data):
    X, y = data
    est = OptimizedMLPClassifier(epochs=2, random_state=0).fit(X, y)
    before = est.predict_proba(X)
    with pytest.raises(ValueError, match="lr_warmup.*coslog"):
        est.set_params(lr_schedule="coslog", lr_warmup=0.1).fit(X, y)
    np.testing.assert_array_equal(est.predict_proba(X), before)
