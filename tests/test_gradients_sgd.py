"""Under plain SGD, skoptnn's hand-written gradients train exactly as Keras' autodiff.

Adam divides each step by a running root mean square of the gradient, so a
gradient off by a constant factor (a dropped 2 in the MSE, a missing division
by the output width) trains almost the same under it. Plain SGD without
momentum steps by ``learning_rate * gradient``: the same factor changes every
step. Each comparison also checks that training moved the weights by far more
than the tolerance they are compared with (``MOVED`` is 1000 times ``ATOL``),
so a gradient off by a factor cannot hide in float32 round-off.

The reference is Keras' own ``Model.fit``, built from literal layer, loss and
initializer names (``keras_reference``); with ``shuffle=False`` both see the
same mini-batches in the same order.
"""

from __future__ import annotations

import numpy as np
import pytest
from keras_reference import ACTIVATIONS, REGRESSION_LOSSES, named_weights, reference, standardised

from skoptnn import OptimizedMLPClassifier, OptimizedMLPRegressor

N, BATCH, EPOCHS = 64, 32, 4  # 8 SGD steps
PLAIN = {"label_smoothing": 0.0}  # the classifier's cross-entropy unsmoothed, as Keras' here
LEARNING_RATE = 0.2
RTOL, ATOL = 1e-4, 1e-5
MOVED = 1000 * ATOL  # how far training must move every kernel, gamma, beta and statistic
BASE = {"hidden_layer_sizes": (8, 6), "optimizer": "sgd", "learning_rate": LEARNING_RATE,
        "l2": 0.0, "random_state": 0}


@pytest.fixture(scope="module")
def data():
    """Features and targets of every kind, from random linear teachers."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, 5)).astype(np.float32)
    noise = 0.5 * rng.normal(size=(N, 3))
    logits = X @ rng.normal(size=(5, 3)) + noise
    y = {
        "regression": 10.0 * (X @ rng.normal(size=(5, 2)) + noise[:, :2]) + 3.0,
        "binary": (logits[:, 0] > 0).astype(int),
        "multiclass": logits.argmax(axis=1),
        "multilabel": (logits > 0).astype(int),
    }
    assert np.all(y["multilabel"].min(axis=0) == 0) and np.all(y["multilabel"].max(axis=0) == 1)
    assert len(np.unique(y["multiclass"])) == 3
    return X, y


# The Keras side of each task: outputs, output activation, loss, the metric that
# history_'s "accuracy" is (for a multilabel target the share of correct labels, which
# Keras' "accuracy" is not), and the target it trains on (the classifiers' encoded labels).
TASKS = {
    "binary": (1, "sigmoid", "binary_crossentropy", "accuracy",
               lambda y: y.astype(np.float32).reshape(-1, 1)),
    "multiclass": (3, "softmax", "sparse_categorical_crossentropy", "accuracy",
                   lambda y: y.astype(np.float32).reshape(-1, 1)),
    "multilabel": (3, "sigmoid", "binary_crossentropy", "binary_accuracy",
                   lambda y: y.astype(np.float32)),
}


def _fit_both(X, y, task: str, **params):
    """skoptnn's fit and Keras' ``Model.fit`` from the same start; Keras' initial weights."""
    params = {**BASE, **params}
    if task in REGRESSION_LOSSES:
        est = OptimizedMLPRegressor(loss=task, epochs=EPOCHS, batch_size=BATCH, shuffle=False,
                                    early_stopping=False, **params)
        spec = (y.shape[1], "linear", REGRESSION_LOSSES[task], "mae", standardised)
    else:
        est = OptimizedMLPClassifier(epochs=EPOCHS, batch_size=BATCH, shuffle=False,
                                     early_stopping=False, **PLAIN, **params)
        spec = TASKS[task]
    n_outputs, output, loss, metric, target = spec
    est.fit(X, y)
    model = reference(params, X.shape[1], n_outputs, output, loss, metric, len(X))
    initial = named_weights(model)
    history = model.fit(X, target(y), epochs=EPOCHS, batch_size=BATCH, shuffle=False,
                        verbose=0).history
    return est, model, initial, history, metric


def _assert_trained_alike(est, model, initial, history, metric, X, *, loss_too=True):
    if loss_too:
        np.testing.assert_allclose(est.history_["loss"], history["loss"], rtol=1e-5, atol=1e-6)
    ours = "mae" if metric == "mae" else "accuracy"
    np.testing.assert_allclose(est.history_[ours], history[metric], rtol=1e-5, atol=1e-6)
    ours, theirs = named_weights(est.model_), named_weights(model)
    assert [name for name, _ in ours] == [name for name, _ in theirs]
    for (name, w_ours), (_, w_ref), (_, w_start) in zip(ours, theirs, initial, strict=True):
        np.testing.assert_allclose(w_ours, w_ref, rtol=RTOL, atol=ATOL, err_msg=name)
        if not name.endswith("/bias"):  # a bias before batch norm has no gradient
            assert np.abs(w_ref - w_start).max() > MOVED, f"{name} hardly trained"
    # The same network (a direct call: predict would trace a function for each model).
    np.testing.assert_allclose(np.asarray(est.model_(X, training=False)),
                               np.asarray(model(X, training=False)), rtol=RTOL, atol=ATOL)


@pytest.fixture(scope="module")
def regression_fits(data):
    """_fit_both for each regression loss, fitted once (the factor-2 test reuses mse's)."""
    X, y = data
    fits = {}

    def get(loss):
        if loss not in fits:
            fits[loss] = _fit_both(X, y["regression"], loss)
        return fits[loss]

    return get


@pytest.mark.parametrize("loss", sorted(REGRESSION_LOSSES))
def test_two_output_regression_loss_trains_like_keras_sgd(data, regression_fits, loss):
    _assert_trained_alike(*regression_fits(loss), data[0])


@pytest.mark.parametrize("task", sorted(TASKS))
def test_classification_loss_trains_like_keras_sgd(data, task):
    X, y = data
    _assert_trained_alike(*_fit_both(X, y[task], task), X)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_trains_like_keras_sgd(data, activation):
    X, y = data
    _assert_trained_alike(*_fit_both(X, y["multiclass"], "multiclass", activation=activation),
                          X)


@pytest.mark.parametrize("dropout", [0.0, 0.25], ids=["batch_norm", "batch_norm_dropout"])
def test_batch_norm_weights_and_statistics_train_like_keras_sgd(data, dropout):
    """gamma, beta, moving_mean and moving_variance of every layer, against Keras'."""
    X, y = data
    X = X + 1.5  # batch means well away from 0, so the moving mean moves measurably
    est, model, initial, history, metric = _fit_both(
        X, y["regression"], "mse", batch_norm=True, dropout=dropout)
    names = [name for name, _ in named_weights(model)]
    for array in ("gamma", "beta", "moving_mean", "moving_variance"):
        assert sum(name.endswith("/" + array) for name in names) == 2, names
    _assert_trained_alike(est, model, initial, history, metric, X)


def test_penalties_train_like_keras_sgd(data):
    X, y = data
    # Keras' loss includes the penalty; skoptnn's history_ reports the data loss alone.
    _assert_trained_alike(*_fit_both(X, y["multiclass"], "multiclass", l1=0.5, l2=2.0), X,
                          loss_too=False)


@pytest.mark.parametrize("penalty", ["l1", "l2"])
def test_each_penalty_moves_the_first_step_by_its_own_gradient(data, penalty):
    """One full-batch SGD step with the penalty minus the same step without it is
    ``-learning_rate`` times the penalty's gradient at the initial kernels: ``2 * l2 / n * W``
    for L2, ``l1 / n * sign(W)`` for L1 (per training sample); biases are not penalised."""
    X, y = data
    strength, learning_rate = 3.0, 0.5
    params = {**BASE, "learning_rate": learning_rate}

    def first_step(**penalties):
        est = OptimizedMLPClassifier(epochs=1, batch_size=N, shuffle=False,
                                     **{**PLAIN, **params, **penalties})
        return named_weights(est.fit(X, y["multiclass"]).model_)

    with_penalty, without = first_step(**{penalty: strength}), first_step()
    start = named_weights(reference(params, X.shape[1], 3, "softmax",
                                    "sparse_categorical_crossentropy", "accuracy", N))
    for (name, a), (_, b), (_, w0) in zip(with_penalty, without, start, strict=True):
        if name.endswith("/kernel"):
            gradient = 2.0 * strength / N * w0 if penalty == "l2" else strength / N * np.sign(w0)
            np.testing.assert_allclose(a - b, -learning_rate * gradient, rtol=1e-3, atol=1e-7,
                                       err_msg=name)
            assert np.abs(a - b).max() > MOVED
        else:
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-7, err_msg=name)


def test_a_factor_two_in_the_gradient_is_far_outside_the_tolerance(data, regression_fits):
    """The comparison has the power it claims: Keras trained on twice the gradient
    (twice the learning rate, under plain SGD) fails it, weight by weight."""
    X, y = data
    est, *_ = regression_fits("mse")
    params = {**BASE, "learning_rate": 2 * LEARNING_RATE}
    model = reference(params, X.shape[1], 2, "linear", "mean_squared_error", "mae", N)
    model.fit(X, standardised(y["regression"]), epochs=EPOCHS, batch_size=BATCH, shuffle=False,
              verbose=0)
    for (name, w_ours), (_, w_doubled) in zip(named_weights(est.model_), named_weights(model),
                                              strict=True):
        if name.endswith("/kernel"):
            assert not np.allclose(w_ours, w_doubled, rtol=RTOL, atol=ATOL), name
            assert np.abs(w_ours - w_doubled).max() > MOVED / 10, name
