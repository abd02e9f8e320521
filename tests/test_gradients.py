"""Gradient monitoring: what is recorded, what it shows, and when it warns."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from skoptnn import (
    DivergenceWarning,
    GradientWarning,
    OptimizedMLPClassifier,
    OptimizedMLPRegressor,
)
from skoptnn.engine.gradients import diagnose


def _fit_quietly(est, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    return est, [w for w in caught if issubclass(w.category, GradientWarning)]


def test_off_by_default(binary_data):
    X, y = binary_data
    est = OptimizedMLPClassifier(units=8, epochs=2, random_state=0).fit(X, y)
    assert est.gradient_norms_ is None and est.raw_gradient_norms_ is None


def test_table_has_one_row_per_epoch_and_one_column_per_dense_layer(binary_data):
    X, y = binary_data
    est = OptimizedMLPClassifier(
        n_layers=3, units=8, epochs=40, early_stopping=True, patience=3, random_state=0,
        monitor_gradients=True,
    ).fit(X, y)
    norms = est.gradient_norms_
    assert isinstance(norms, pd.DataFrame)
    assert list(norms.columns) == ["hidden_1", "hidden_2", "hidden_3", "output"]
    assert norms.index.name == "epoch" and list(norms.index) == list(range(est.n_epochs_))
    assert len(norms) == len(est.history_["loss"])
    assert np.isfinite(norms.to_numpy()).all() and (norms.to_numpy() > 0).all()


def test_monitoring_does_not_change_training(binary_data):
    # The monitored step must be Keras' train_step plus bookkeeping, nothing else.
    X, y = binary_data
    params = dict(units=8, epochs=6, dropout=0.1, batch_norm=True, shuffle=False, random_state=3)
    plain = OptimizedMLPClassifier(**params).fit(X, y)
    watched = OptimizedMLPClassifier(**params, monitor_gradients=True).fit(X, y)
    assert plain.history_ == watched.history_
    for a, b in zip(plain.model_.get_weights(), watched.model_.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_norms_match_a_gradient_tape_on_the_first_batch(binary_data):
    # One epoch of one full batch: the recorded norm is that batch's gradient.
    from skoptnn.engine.keras_model import build_network
    from skoptnn.engine.runtime import keras, tf

    X, y = binary_data
    params = dict(units=8, epochs=1, batch_size=len(X), l2=0.0, shuffle=False, random_state=0,
                  label_smoothing=0.0)  # the tape's loss below is unsmoothed
    est = OptimizedMLPClassifier(**params, monitor_gradients=True).fit(X, y)
    # Rebuild the fit's initial weights from its seed (as _base._fit draws it).
    seed = int(np.random.RandomState(0).randint(np.iinfo(np.int32).max))
    model = build_network(est._network.spec.network, seed)
    with tf.GradientTape() as tape:
        p = model(X, training=True)
        target = y.reshape(-1, 1).astype(np.float32)
        loss = tf.reduce_mean(keras.losses.binary_crossentropy(target, p))
    grads = tape.gradient(loss, [model.get_layer(n).kernel for n in est.gradient_norms_.columns])
    expected = [float(tf.norm(g)) for g in grads]
    np.testing.assert_allclose(est.gradient_norms_.iloc[0].to_numpy(), expected, rtol=1e-4)


def test_deep_sigmoid_gradients_vanish_relu_ones_do_not(binary_data):
    X, y = binary_data
    params = dict(n_layers=8, units=16, epochs=5, l2=0.0, random_state=0, monitor_gradients=True)
    sigmoid, sigmoid_warnings = _fit_quietly(
        OptimizedMLPClassifier(activation="sigmoid", **params), X, y
    )
    relu, relu_warnings = _fit_quietly(OptimizedMLPClassifier(activation="relu", **params), X, y)
    first_sigmoid = sigmoid.gradient_norms_["hidden_1"].mean()
    first_relu = relu.gradient_norms_["hidden_1"].mean()
    assert first_sigmoid * 10 <= first_relu
    assert any("Vanishing gradients" in str(w.message) for w in sigmoid_warnings)
    assert "relu" in str(sigmoid_warnings[0].message)
    assert not relu_warnings


def test_clipnorm_bounds_the_applied_gradients(binary_data):
    X, y = binary_data
    params = dict(units=8, epochs=5, optimizer="sgd", learning_rate=0.1, random_state=0,
                  monitor_gradients=True)
    clipped = OptimizedMLPClassifier(clipnorm=0.05, **params).fit(X, y)
    applied, raw = clipped.gradient_norms_.to_numpy(), clipped.raw_gradient_norms_.to_numpy()
    assert raw.max() > 0.05  # otherwise the bound below would be vacuous
    assert applied.max() <= 0.05 * (1 + 1e-5)
    np.testing.assert_allclose(applied, np.minimum(raw, 0.05), rtol=1e-5)
    free = OptimizedMLPClassifier(**params).fit(X, y)
    pd.testing.assert_frame_equal(free.gradient_norms_, free.raw_gradient_norms_)


def test_clipvalue_bounds_each_element(binary_data):
    X, y = binary_data
    est = OptimizedMLPClassifier(
        units=8, epochs=3, clipvalue=1e-3, random_state=0, monitor_gradients=True
    ).fit(X, y)
    sizes = {n: est.model_.get_layer(n).kernel.shape for n in est.gradient_norms_.columns}
    for name, shape in sizes.items():
        bound = 1e-3 * np.sqrt(np.prod(shape))
        assert est.gradient_norms_[name].max() <= bound * (1 + 1e-5)
    assert (est.raw_gradient_norms_ > est.gradient_norms_ * 1.5).any().any()


def test_diverging_fit_warns_about_exploding_gradients():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(100, 4)) * 50
    y = X @ rng.normal(size=4)
    est = OptimizedMLPRegressor(
        units=16, epochs=20, optimizer="sgd", learning_rate=5.0, l2=0.0, random_state=0,
        monitor_gradients=True,
    )
    with pytest.warns(GradientWarning, match="Exploding gradients.*clipnorm"):
        with pytest.warns(DivergenceWarning):
            est.fit(X, y)


def test_regressor_records_norms_for_multi_output():
    rng = np.random.RandomState(1)
    X = rng.normal(size=(80, 3))
    y = np.c_[X[:, 0], X[:, 1] - X[:, 2]]
    est = OptimizedMLPRegressor(
        n_layers=1, units=8, epochs=4, random_state=0, monitor_gradients=True
    ).fit(X, y)
    assert list(est.gradient_norms_.columns) == ["hidden_1", "output"]
    assert est.gradient_norms_.shape == (4, 2)


@pytest.mark.parametrize(
    "table, expected",
    [
        ({"hidden_1": [0.5, 0.4], "output": [1.0, 0.8]}, None),
        ({"hidden_1": [1e-6, 1e-6], "output": [1.0, 0.8]}, "Vanishing gradients"),
        ({"hidden_1": [0.0, 0.0], "output": [1.0, 0.8]}, "is zero"),
        ({"hidden_1": [0.5, np.nan], "output": [1.0, 0.8]}, "non-finite at epoch 2"),
        ({"hidden_1": [0.5, 0.4], "output": [1.0, 5e3]}, "'output' reached 5e\\+03"),
        ({"output": [1e-9, 1e-9]}, None),  # no hidden layer: nothing to compare
    ],
)
def test_diagnose(table, expected):
    message = diagnose(pd.DataFrame(table))
    if expected is None:
        assert message is None
    else:
        assert message is not None and re.search(expected, message)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_zero_initialisation_warns_that_nothing_learns(binary_data, activation):
    X, y = binary_data
    est = OptimizedMLPClassifier(n_layers=2, units=8, epochs=3, kernel_initializer="zeros",
                                 activation=activation, random_state=0, monitor_gradients=True)
    with pytest.warns(GradientWarning, match="No gradient.*kernel_initializer='zeros'") as record:
        est.fit(X, y)
    assert (est.raw_gradient_norms_.to_numpy() == 0).all()
    assert record[0].filename == __file__  # the caller's line, not scikit-learn's
