"""history_'s val_loss is the loss of the kept weights on the held-out rows, in inference mode.

With ``early_stopping=True`` the estimator holds out ``validation_fraction`` of the
rows (``train_test_split`` seeded with the fit's seed, stratified for a
classifier). The test rebuilds that hold-out and recomputes, in NumPy float64
from ``model_``'s weights, the loss of the weights early stopping kept: dropout
off, batch norm with its moving statistics. It must equal ``val_loss`` at
``best_epoch_``; the same loss in training mode (dropout on, or batch norm with the
hold-out's own batch statistics) is shown to be far outside the tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest
from keras_reference import fit_seed, standardised
from scipy.special import logsumexp
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import train_test_split

from skoptnn import OptimizedMLPClassifier, OptimizedMLPRegressor

BN_EPSILON = 1e-3  # Keras' BatchNormalization default
DROPOUT, FRACTION, RANDOM_STATE = 0.3, 0.25, 3
RTOL = 1e-5
PARAMS = {"hidden_layer_sizes": (16, 8), "batch_norm": True, "dropout": DROPOUT,
          "early_stopping": True, "validation_fraction": FRACTION, "patience": 3,
          "epochs": 40, "batch_size": 32, "learning_rate": 0.03, "l2": 1.0,
          "random_state": RANDOM_STATE}


def _forward(weights, X, *, batch_statistics=False, dropout_rng=None):
    """The output layer's pre-activation, in float64; relu hidden layers.

    ``weights`` is ``model_.get_weights()``: per hidden layer kernel, bias, gamma, beta,
    moving mean and moving variance, then the output kernel and bias.
    """
    h = np.asarray(X, np.float64)
    *hidden, kernel, bias = (np.asarray(w, np.float64) for w in weights)
    assert len(hidden) == 6 * len(PARAMS["hidden_layer_sizes"])
    for i in range(0, len(hidden), 6):
        w, b, gamma, beta, moving_mean, moving_variance = hidden[i:i + 6]
        z = h @ w + b
        mean, var = (z.mean(axis=0), z.var(axis=0)) if batch_statistics else (
            moving_mean, moving_variance)
        h = np.maximum(gamma * (z - mean) / np.sqrt(var + BN_EPSILON) + beta, 0.0)
        if dropout_rng is not None:
            h = np.where(dropout_rng.random(h.shape) >= DROPOUT, h / (1.0 - DROPOUT), 0.0)
    return h @ kernel + bias


def _cross_entropy(z, y):
    return float(np.mean(logsumexp(z, axis=1) - z[np.arange(len(y)), y]))


def _squared_error(z, y):
    return float(np.mean((z - y) ** 2))


def _classification():
    X, y = make_classification(n_samples=200, n_features=6, n_informative=4, n_classes=3,
                               n_clusters_per_class=1, random_state=0)
    # The loss recomputed below is the unsmoothed cross-entropy.
    est = OptimizedMLPClassifier(**PARAMS, label_smoothing=0.0).fit(X, y)
    # The hold-out: train_test_split of the rows, stratified by class, seeded from the fit.
    _, held_out = train_test_split(np.arange(len(X)), test_size=FRACTION,
                                   random_state=fit_seed(RANDOM_STATE) % 2**32, stratify=y)
    X_val, y_val = X[held_out], y[held_out]

    def accuracy(z):
        return float(np.mean(z.argmax(axis=1) == y_val))

    probabilities = est.predict_proba(X_val)
    return est, X_val, y_val, _cross_entropy, accuracy, "accuracy", probabilities, "softmax"


def _regression():
    X, y = make_regression(n_samples=200, n_features=6, n_targets=2, noise=10.0, random_state=0)
    est = OptimizedMLPRegressor(**PARAMS).fit(X, y)
    _, held_out = train_test_split(np.arange(len(X)), test_size=FRACTION,
                                   random_state=fit_seed(RANDOM_STATE) % 2**32)
    # The target is standardised over all the rows, before the split (as documented,
    # the losses are in standardised units).
    X_val, y_val = X[held_out], standardised(y)[held_out].astype(np.float64)

    def mae(z):
        return float(np.mean(np.abs(z - y_val)))

    # predict maps the network's outputs back to y's units; standardised, they are z.
    outputs = (est.predict(X_val) - y.mean(axis=0)) / y.std(axis=0)
    return est, X_val, y_val, _squared_error, mae, "mae", outputs, "linear"


@pytest.mark.parametrize("make", [_classification, _regression],
                         ids=["classifier", "regressor"])
def test_val_loss_is_the_kept_weights_loss_on_the_hold_out_in_inference_mode(make):
    est, X_val, y_val, loss, metric, metric_name, outputs, output = make()
    # The fit's seed, as the code draws it, is the one model_ records (Dense layer i
    # starts from Keras' initializer seeded seed + i).
    assert est.model_.get_layer("hidden_1").kernel_initializer.seed == fit_seed(RANDOM_STATE)
    best = est.best_epoch_
    assert best is not None and 0 <= best < est.n_epochs_
    weights = est.model_.get_weights()
    z = _forward(weights, X_val)
    # model_ holds the kept weights the estimator predicts with.
    if output == "softmax":
        expected = np.exp(z - logsumexp(z, axis=1, keepdims=True))
    else:
        expected = z
    np.testing.assert_allclose(outputs, expected, rtol=1e-4, atol=1e-5)

    val_loss = est.history_["val_loss"][best]
    np.testing.assert_allclose(val_loss, loss(z, y_val), rtol=RTOL)
    np.testing.assert_allclose(est.history_[f"val_{metric_name}"][best], metric(z), rtol=RTOL,
                               atol=1e-6)
    # Epochs differ by far more than the tolerance: the match pins the kept epoch.
    others = np.delete(np.asarray(est.history_["val_loss"]), best)
    assert np.all(np.abs(others - val_loss) > 100 * RTOL * val_loss)

    # Training mode would give another number, far outside the tolerance.
    in_training_mode = {
        "batch statistics": loss(_forward(weights, X_val, batch_statistics=True), y_val),
        "dropout on": loss(_forward(weights, X_val, dropout_rng=np.random.default_rng(0)),
                           y_val),
    }
    for mode, value in in_training_mode.items():
        assert abs(value - val_loss) > 100 * RTOL * val_loss, mode
