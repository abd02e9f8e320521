"""OptimizedMLPRegressor: outputs, losses, targets, and quality against Ridge."""

import numpy as np
import pytest
from sklearn.base import is_regressor
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes, make_regression
from sklearn.exceptions import DataConversionWarning
from sklearn.linear_model import Ridge
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skoptnn import DivergenceWarning, OptimizedMLPRegressor

SMALL = dict(n_layers=1, units=16, epochs=30, learning_rate=0.01, random_state=0)


@pytest.fixture(scope="module")
def data():
    X, y = make_regression(n_samples=200, n_features=5, noise=5.0, random_state=0)
    return X, y + 1000.0  # far from zero: the internal target scaling must cope


def test_single_output_linear_layer_mse(data):
    X, y = data
    est = OptimizedMLPRegressor(**SMALL).fit(X, y)
    assert is_regressor(est)
    out = est.model_.get_layer("output")
    assert out.units == 1 and out.activation.__name__ == "linear"
    assert est._network.spec.loss == "mean_squared_error"
    pred = est.predict(X)
    assert pred.shape == (len(X),) and pred.dtype == np.float64
    assert est.score(X, y) > 0.9
    assert set(est.history_) == {"loss", "mae"}


def test_multi_output(data):
    X, y = data
    Y = np.column_stack([y, -2 * y])
    est = OptimizedMLPRegressor(**SMALL).fit(X, Y)
    assert est.n_outputs_ == 2 and est.model_.get_layer("output").units == 2
    assert est.predict(X).shape == (len(X), 2)
    assert est.score(X, Y) > 0.9


def test_column_vector_target_warns_and_predicts_1d(data):
    # As scikit-learn's MLPRegressor: y of shape (n, 1) is a 1-D target.
    X, y = data
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        est = OptimizedMLPRegressor(**SMALL).fit(X, y.reshape(-1, 1))
    assert est.predict(X).shape == (len(X),)


@pytest.mark.parametrize("loss, keras_name", [("mae", "mean_absolute_error"), ("huber", "huber")])
def test_losses(data, loss, keras_name):
    X, y = data
    est = OptimizedMLPRegressor(**SMALL, loss=loss).fit(X, y)
    assert est._network.spec.loss == keras_name
    assert est.score(X, y) > 0.8
    # The loss reached the trainer: it does not train like the default mse.
    mse = OptimizedMLPRegressor(**SMALL).fit(X, y)
    assert not np.allclose(est.predict(X), mse.predict(X), rtol=0, atol=1e-2)
    assert not np.allclose(est.history_["loss"], mse.history_["loss"])


def test_early_stopping_on_mae(data):
    X, y = data
    est = OptimizedMLPRegressor(
        **{**SMALL, "epochs": 200}, early_stopping=True, monitor="val_mae", patience=3
    ).fit(X, y)
    best = int(np.argmin(est.history_["val_mae"]))
    assert est.best_epoch_ >= best  # the best epoch, or a later one within its noise
    assert est.n_epochs_ < 200  # it stopped, not at the epoch limit


def test_transformed_target_regressor_and_pipeline(data):
    X, y = data
    ttr = TransformedTargetRegressor(
        regressor=make_pipeline(StandardScaler(), OptimizedMLPRegressor(**SMALL)),
        func=np.log, inverse_func=np.exp,
    ).fit(X, y)
    assert ttr.score(X, y) > 0.8


def test_diabetes_cv_r2_close_to_ridge():
    X, y = load_diabetes(return_X_y=True)
    mlp = make_pipeline(StandardScaler(), OptimizedMLPRegressor(random_state=0))
    ridge = make_pipeline(StandardScaler(), Ridge())
    assert (
        cross_val_score(mlp, X, y, cv=5).mean() >= cross_val_score(ridge, X, y, cv=5).mean() - 0.03
    )


def test_zero_weight_rows_are_not_in_the_data(data):
    X, y = data
    y = y.copy()
    y[:10] = 1e6  # outliers, weighted out: they must not set the target scale
    weights = np.r_[np.zeros(10), np.ones(len(y) - 10)]
    weighted = OptimizedMLPRegressor(**SMALL).fit(X, y, sample_weight=weights)
    dropped = OptimizedMLPRegressor(**SMALL).fit(X[10:], y[10:])
    np.testing.assert_array_equal(weighted.predict(X), dropped.predict(X))


def test_constant_target_column_is_predicted_exactly(data):
    X, y = data
    Y = np.c_[y, np.full(len(y), 0.1)]  # 0.1 has no exact binary mean
    est = OptimizedMLPRegressor(**SMALL).fit(X, Y)
    pred = est.predict(X)
    assert (pred[:, 1] == 0.1).all()
    assert np.corrcoef(pred[:, 0], y)[0, 1] > 0.9  # the other column still learns


def test_weights_that_overflow_the_outputs_are_not_kept():
    # Finite weights after epoch 1, finite loss measured during it, but outputs
    # that overflow to inf: predictions must stay finite all the same.
    X, y = make_regression(n_samples=200, n_features=6, noise=5.0, random_state=0)
    est = OptimizedMLPRegressor(n_layers=3, units=16, optimizer="sgd", learning_rate=1.0,
                                epochs=20, batch_size=64, l2=0.0, random_state=0)
    with pytest.warns(DivergenceWarning, match="kept the initial weights"):
        est.fit(X, y)
    assert np.isfinite(est.predict(X)).all()


def test_outputs_fallback_reports_no_best_epoch():
    # Early stopping had a best epoch, but its weights overflow the outputs on
    # one extreme row: the initial weights are kept, and nothing claims otherwise.
    rng = np.random.RandomState(0)
    X = rng.randn(150, 4)
    y = X @ rng.randn(4) + 0.1 * rng.randn(150)
    X[0, 0] = 1e30
    est = OptimizedMLPRegressor(n_layers=2, units=8, epochs=10, loss="mae", optimizer="sgd",
                                learning_rate=1.0, l2=0.0, early_stopping=True, patience=30,
                                validation_fraction=0.2, random_state=0)
    with pytest.warns(DivergenceWarning, match="kept the initial weights"):
        est.fit(X, y)
    assert est.best_epoch_ is None
    assert np.isfinite(est.predict(X)).all()


@pytest.mark.parametrize("optimizer, learning_rate, n_layers", [("adam", 1e3, 3),
                                                                ("rmsprop", 1e2, 5)])
def test_model_trains_on_after_a_divergence(optimizer, learning_rate, n_layers):
    # The kept weights come with a fresh optimizer state, not the diverged
    # epoch's NaN moments: model_ can be trained further.
    rng = np.random.RandomState(0)
    X = rng.randn(150, 4).astype(np.float32)
    y = X @ rng.randn(4) + 0.1 * rng.randn(150)
    est = OptimizedMLPRegressor(n_layers=n_layers, units=16, epochs=20, optimizer=optimizer,
                                learning_rate=learning_rate, l2=0.0, random_state=0)
    with pytest.warns(DivergenceWarning):
        est.fit(X, y)
    import tensorflow as tf

    assert all(np.isfinite(a).all() for a in tf.nest.flatten(est._network.optimizer_state))
    model = est.model_
    model.optimizer.learning_rate = 1e-4
    model.fit(X, (y - est._y_mean) / est._y_scale, epochs=1, verbose=0)
    assert np.isfinite(est.predict(X)).all()
