"""Prediction runs in NumPy float64 and agrees with the Keras model_."""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.utils.estimator_checks import check_methods_subset_invariance

from skoptnn import OptimizedMLPClassifier, OptimizedMLPRegressor
from skoptnn.engine.activations import ACTIVATIONS


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=200, n_features=5, n_informative=4, n_redundant=0,
                               n_classes=3, n_clusters_per_class=1, random_state=0)
    return X.astype(np.float32), y


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("estimator", ["classifier", "regressor"])
def test_numpy_prediction_equals_model_(data, activation, estimator):
    X, y = data
    params = dict(hidden_layer_sizes=(12, 7), activation=activation, dropout=0.3,
                  batch_norm=True, epochs=3, random_state=0)
    if estimator == "classifier":
        est = OptimizedMLPClassifier(**params).fit(X, y)
        ours = est.predict_proba(X)
    else:
        est = OptimizedMLPRegressor(**params).fit(X, np.column_stack([X[:, 0], y]))
        ours = (est.predict(X) - est._y_mean) / est._y_scale
    # Built afterwards from the fitted arrays; dropout off, batch norm in inference mode.
    keras_out = est.model_(X, training=False).numpy()
    np.testing.assert_allclose(ours, keras_out, rtol=1e-5, atol=1e-5)
    # Dropout is off at prediction: repeated calls agree exactly.
    np.testing.assert_array_equal(est.model_(X[:5], training=False).numpy(),
                                  est.model_(X[:5], training=False).numpy())


@pytest.mark.parametrize("estimator", [OptimizedMLPClassifier(), OptimizedMLPRegressor()],
                         ids=["classifier", "regressor"])
def test_subset_invariance_with_default_settings(estimator):
    # Float64 arithmetic: a row's prediction does not depend on its batch.
    check_methods_subset_invariance(type(estimator).__name__, estimator)


def test_batches_beyond_one_block_predict_like_row_by_row(data):
    X, y = data
    est = OptimizedMLPClassifier(epochs=2, random_state=0).fit(X, y)
    big = np.repeat(X, 60, axis=0)  # 12,000 rows: several blocks
    proba = est.predict_proba(big)
    np.testing.assert_allclose(proba[::600], est.predict_proba(big[::600]), rtol=0, atol=1e-15)
