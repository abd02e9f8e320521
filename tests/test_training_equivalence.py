"""skoptnn's training graph trains exactly like Keras' own ``Model.fit``.

The reference is built here from the *user's* parameters with plain Keras
(Dense layer ``i`` starts from Keras' initializer seeded ``seed + i``, the
documented contract), never from skoptnn's own description of the network,
so a parameter that skoptnn translated wrongly shows up as a mismatch. With
``shuffle=False`` both see the same mini-batches in the same order: loss
curves and trained weights must agree to float32 round-off.

No timing assertions: speed is measured by ``benchmarks/fit_speed.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from keras_reference import (
    OPTIMIZERS,
    REGRESSION_LOSSES,
    dense_weights,
    fit_seed,
    reference,
    standardised,
)
from sklearn.datasets import make_classification, make_regression
from sklearn.preprocessing import StandardScaler

from skoptnn import OptimizedMLPClassifier, OptimizedMLPRegressor
from skoptnn.engine.runtime import keras, tf

EPOCHS = 6
BATCH = 32


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=250, n_features=6, n_informative=4, n_classes=3,
                               n_clusters_per_class=1, random_state=0)
    return StandardScaler().fit_transform(X).astype(np.float32), y


def _compare(est, model, history, X, *, loss_too: bool, rtol=1e-4):
    if loss_too:
        np.testing.assert_allclose(est.history_["loss"], history["loss"], rtol=rtol, atol=1e-6)
    ours, theirs = dense_weights(est.model_), dense_weights(model)
    if est.batch_norm:
        # A bias before batch norm cancels out: its gradient is round-off, which
        # Adam scales up to full-size steps, so it is noise in both fits.
        ours, theirs = ours[::2] + ours[-1:], theirs[::2] + theirs[-1:]
    for w_ours, w_ref in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(w_ours, w_ref, rtol=1e-3, atol=2e-5)
    np.testing.assert_allclose(est.model_.predict(X, verbose=0), model.predict(X, verbose=0),
                               rtol=1e-3, atol=1e-5)


def _fit_classifier(data, **params):
    X, y = data
    params = {"n_layers": 2, "units": 12, "l2": 0.0, "random_state": 0, **params}
    # Keras' cross-entropy here is unsmoothed.
    est = OptimizedMLPClassifier(label_smoothing=0.0, epochs=EPOCHS, batch_size=BATCH,
                                 shuffle=False, **params)
    est.fit(X, y)
    binary = len(np.unique(y)) == 2
    model = reference(params, X.shape[1], 1 if binary else 3,
                       "sigmoid" if binary else "softmax",
                       "binary_crossentropy" if binary else "sparse_categorical_crossentropy",
                       "accuracy", len(X))
    history = model.fit(X, y.astype(np.float32).reshape(-1, 1), epochs=EPOCHS,
                        batch_size=BATCH, shuffle=False, verbose=0).history
    return est, model, history


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_every_optimizer_trains_like_keras_fit(data, optimizer):
    learning_rate = {"sgd": 0.05, "adadelta": 1.0, "adagrad": 0.05}.get(optimizer, 0.01)
    est, model, history = _fit_classifier(data, optimizer=optimizer,
                                          learning_rate=learning_rate)
    _compare(est, model, history, data[0], loss_too=True)
    np.testing.assert_allclose(est.history_["accuracy"], history["accuracy"], atol=1e-6)


@pytest.mark.parametrize("loss", ["mse", "mae", "huber"])
def test_every_regression_loss_trains_like_keras_fit(loss):
    X, y = make_regression(n_samples=200, n_features=5, n_targets=2, noise=5.0,
                           random_state=0)
    X = X.astype(np.float32)
    params = {"n_layers": 2, "units": 10, "l2": 0.0, "loss": loss, "random_state": 1,
              "learning_rate": 0.01}
    est = OptimizedMLPRegressor(epochs=EPOCHS, batch_size=BATCH, shuffle=False, **params)
    est.fit(X, y)
    model = reference(params, 5, 2, "linear", REGRESSION_LOSSES[loss], "mae", len(X))
    target = standardised(y)  # as documented
    history = model.fit(X, target, epochs=EPOCHS, batch_size=BATCH, shuffle=False,
                        verbose=0).history
    _compare(est, model, history, X, loss_too=True)
    np.testing.assert_allclose(est.history_["mae"], history["mae"], rtol=1e-4)


def test_binary_loss_trains_like_keras_fit(data):
    X, y = data
    est, model, history = _fit_classifier((X, (y == 1).astype(int)))
    _compare(est, model, history, X, loss_too=True)
    np.testing.assert_allclose(est.history_["accuracy"], history["accuracy"], atol=1e-6)


@pytest.mark.parametrize(
    "params",
    [
        {"dropout": 0.3},
        {"batch_norm": True},
        {"batch_norm": True, "dropout": 0.2, "activation": "tanh"},
        {"hidden_layer_sizes": (12, 7, 5), "activation": "selu"},
        {"n_layers": 1},
        {"n_layers": 0},
        {"n_layers": 5, "units": 6},
    ],
    ids=["dropout", "batch_norm", "bn_dropout_tanh", "irregular_selu", "one_layer", "linear",
         "deep"],
)
def test_layers_and_techniques_train_like_keras_fit(data, params):
    est, model, history = _fit_classifier(data, **params)
    _compare(est, model, history, data[0], loss_too=True)
    if params.get("batch_norm"):  # the moving statistics too
        for ours, ref in zip(
            [layer for layer in est.model_.layers if "batch_norm" in layer.name],
            [layer for layer in model.layers if isinstance(layer,
                                                           keras.layers.BatchNormalization)],
            strict=True,
        ):
            np.testing.assert_allclose(ours.moving_variance.numpy(), ref.moving_variance.numpy(),
                                       rtol=1e-4)


@pytest.mark.parametrize(
    "params",
    [
        {"l1": 0.2, "l2": 2.0},
        {"optimizer": "rmsprop", "learning_rate": 0.05, "clipnorm": 0.05},
        {"optimizer": "sgd", "learning_rate": 0.3, "clipvalue": 0.01},
        {"optimizer": "adamw", "n_layers": 4, "clipnorm": 0.02, "learning_rate": 0.01},
    ],
    ids=["l1_l2", "clipnorm", "clipvalue", "clipnorm_stacked"],
)
def test_penalties_and_clipping_train_like_keras_fit(data, params):
    """And they change what trains: without them the weights come out elsewhere."""
    est, model, history = _fit_classifier(data, **params)
    # The penalty is not in history_'s loss (the data loss); Keras' includes it.
    _compare(est, model, history, data[0], loss_too=not (params.get("l1") or params.get("l2")))
    plain = {k: v for k, v in params.items() if k not in ("l1", "clipnorm", "clipvalue")}
    without, _, _ = _fit_classifier(data, **plain)
    assert not np.allclose(dense_weights(est.model_)[0], dense_weights(without.model_)[0],
                           atol=1e-4)


def test_shuffle_draws_a_new_order_every_epoch(data):
    """Each epoch's order is argsort(stateless_uniform(seed, epoch)): fed in that order,
    Keras trains to the same weights; fed the first epoch's order twice, it does not."""
    X, y = data
    params = {"n_layers": 2, "units": 12, "l2": 0.0, "random_state": 0, "label_smoothing": 0.0}
    est = OptimizedMLPClassifier(epochs=2, batch_size=BATCH, shuffle=True, **params).fit(X, y)
    seed = fit_seed(0) % (2**31 - 1)
    orders = [np.argsort(tf.random.stateless_uniform([len(X)], seed=[seed, e]).numpy())
              for e in range(2)]
    assert not np.array_equal(orders[0], orders[1])

    def keras_with(epoch_orders):
        model = reference(params, X.shape[1], 3, "softmax",
                           "sparse_categorical_crossentropy", "accuracy", len(X))
        for order in epoch_orders:
            model.fit(X[order], y[order].astype(np.float32).reshape(-1, 1), epochs=1,
                      batch_size=BATCH, shuffle=False, verbose=0)
        return model

    _compare(est, keras_with(orders), None, X, loss_too=False)
    with pytest.raises(AssertionError):
        _compare(est, keras_with([orders[0], orders[0]]), None, X, loss_too=False)


def test_partial_last_batch_is_weighted_like_keras(data):
    X, y = data
    est, model, history = _fit_classifier((X[:230], y[:230]))  # 7 * 32 + 6
    _compare(est, model, history, X, loss_too=True)
