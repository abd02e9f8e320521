"""Bad input: a clear error naming the problem, and never a half-fitted estimator."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

from skoptnn import OptimizedMLPClassifier, OptimizedMLPRegressor

SMALL = dict(n_layers=1, units=4, epochs=2, random_state=0)


def rng_data(n=40, p=3):
    rng = np.random.RandomState(0)
    return rng.randn(n, p), np.arange(n) % 2


def assert_unfitted(est):
    assert not hasattr(est, "model_") and not hasattr(est, "n_features_in_")
    with pytest.raises(NotFittedError):
        est.predict(np.zeros((1, 3)))


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda X, y: (np.where(np.eye(*X.shape, dtype=bool), np.nan, X), y), "NaN"),
        (lambda X, y: (np.where(np.eye(*X.shape, dtype=bool), np.inf, X), y), "infinity"),
        (lambda X, y: (X, np.zeros_like(y)), "2 classes"),
        (lambda X, y: (X, np.linspace(0, 1, len(y))), "continuous"),
        (lambda X, y: (X, y[:-3]), "inconsistent numbers of samples"),
        (lambda X, y: (X[:0], y[:0]), "0 sample"),
        # Finite in float64, infinite in the network's float32.
        (lambda X, y: (np.where(np.eye(*X.shape, dtype=bool), 1e39, X), y), "too large for"),
    ],
    ids=["nan", "inf", "one-class", "continuous-y", "length-mismatch", "empty", "float32-max"],
)
def test_bad_data_raises_and_leaves_estimator_unfitted(make, match):
    X, y = make(*rng_data())
    est = OptimizedMLPClassifier(**SMALL)
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)
    assert_unfitted(est)


def test_wrong_number_of_features_at_predict():
    X, y = rng_data()
    est = OptimizedMLPClassifier(**SMALL).fit(X, y)
    msg = "X has 2 features, but OptimizedMLPClassifier is expecting 3"
    with pytest.raises(ValueError, match=msg):
        est.predict(X[:, :2])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"dropout": 1.0}, r"'dropout' parameter .* range \[0.0, 1.0\)"),
        ({"dropout": -0.1}, "'dropout' parameter"),
        ({"l1": -1.0}, "'l1' parameter"),
        ({"l2": -1e-3}, "'l2' parameter"),
        ({"learning_rate": -0.1}, "'learning_rate' parameter"),
        ({"learning_rate": 0.0}, "'learning_rate' parameter"),
        ({"optimizer": "adamax"}, r"(?=.*'adam')(?=.*'sgd')(?=.*'adadelta').*'optimizer'"),
        ({"activation": "swishy"}, r"(?=.*'relu')(?=.*'tanh')(?=.*'sigmoid').*'activation'"),
        ({"kernel_initializer": "ones"}, r"(?=.*'he_normal')(?=.*'zeros').*'kernel_initializer'"),
        ({"epochs": 0}, "'epochs' parameter"),
        ({"batch_size": 0}, "'batch_size' parameter"),
        ({"validation_fraction": 1.5, "early_stopping": True}, "'validation_fraction' parameter"),
        ({"validation_fraction": 0.0, "early_stopping": True}, "'validation_fraction' parameter"),
        ({"clipnorm": 0.0}, "'clipnorm' parameter"),
        ({"clipnorm": 1.0, "clipvalue": 0.5}, "clipnorm and clipvalue cannot both be set"),
        ({"units": 0}, "'units' parameter"),
        ({"hidden_layer_sizes": (4, 0)}, "hidden_layer_sizes must be positive"),
        ({"early_stopping": True, "monitor": "val_auc"}, r"(?=.*'val_accuracy').*'monitor'"),
        # Checked even while unused, as scikit-learn checks every parameter.
        ({"monitor": "val_mae"}, r"(?=.*'val_loss').*'monitor' parameter"),
        ({"class_weight": "balance"}, "'class_weight' parameter"),
        # The compiled loop counts in int32: 2**31 would wrap around.
        ({"epochs": 2**31}, "'epochs' parameter"),
        ({"early_stopping": True, "patience": 2**31}, "'patience' parameter"),
        ({"class_weight": {0: -1.0, 1: 1.0}}, "class_weight must map classes to finite"),
        ({"class_weight": {0: np.nan, 1: 1.0}}, "class_weight must map classes to finite"),
        ({"class_weight": {0: 0.0, 1: 0.0}}, "class_weight gives every sample a zero weight"),
        ({"class_weight": {0: "heavy", 1: 1.0}}, "class_weight must map classes to finite"),
        ({"class_weight": {0: 1e39, 1: 1.0}}, "class_weight must map classes to finite"),
    ],
)
def test_invalid_params_name_the_parameter(params, match):
    X, y = rng_data()
    est = OptimizedMLPClassifier(**{**SMALL, **params})
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)
    assert_unfitted(est)


def test_invalid_regressor_loss():
    X, y = rng_data()
    with pytest.raises(ValueError, match=r"(?=.*'huber')(?=.*'mae').*'loss' parameter"):
        OptimizedMLPRegressor(**SMALL, loss="hinge").fit(X, y.astype(float))
    with pytest.raises(ValueError, match=r"(?=.*'val_mae').*'monitor' parameter"):
        OptimizedMLPRegressor(**SMALL, monitor="val_accuracy").fit(X, y.astype(float))


def test_too_few_samples_per_class_for_the_validation_split():
    X, y = rng_data(n=12)
    y = np.array([0] * 11 + [1])
    est = OptimizedMLPClassifier(**SMALL, early_stopping=True)
    with pytest.raises(ValueError, match="at least 2 samples of every class; class 1 has 1"):
        est.fit(X, y)
    assert_unfitted(est)
    y = np.array([0, 1, 2] * 4)
    with pytest.raises(ValueError, match="validation_fraction=0.1 of 12 samples"):
        est.fit(X, y)


def test_failed_refit_keeps_the_previous_fit():
    X, y = rng_data()
    est = OptimizedMLPClassifier(**SMALL).fit(X, y)
    before = est.predict_proba(X)
    with pytest.raises(ValueError, match="NaN"):
        est.fit(np.full_like(X, np.nan), y)
    np.testing.assert_array_equal(est.predict_proba(X), before)
    assert est.n_features_in_ == 3


def test_sparse_input_is_supported():
    X, y = rng_data()
    est = OptimizedMLPClassifier(**SMALL).fit(sp.csr_matrix(X), y)
    assert est.predict(sp.csc_matrix(X)).shape == (len(X),)


def test_string_features_are_rejected_with_a_clear_error():
    X, y = rng_data()
    X = X.astype(object)
    X[0, 0] = "abc"
    with pytest.raises(ValueError, match="could not convert string to float"):
        OptimizedMLPClassifier(**SMALL).fit(X, y)


def test_other_keras_backend_is_refused_by_name():
    import os
    import subprocess
    import sys

    # jax is not installed here: without skoptnn's own check, Keras would fail
    # first with "No module named 'jax'", which does not say what to change.
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    code = "import skoptnn; skoptnn.OptimizedMLPClassifier().fit([[0.0], [1.0]], [0, 1])"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert "ImportError: skoptnn trains with TensorFlow; KERAS_BACKEND='jax'" in result.stderr


def test_values_beyond_float32_at_predict_are_refused():
    X, y = rng_data()
    est = OptimizedMLPRegressor(**SMALL).fit(X, y)
    with pytest.raises(ValueError, match="X has values too large for float32"):
        est.predict(np.full((1, 3), -1e39))
    # Sparse X is cast before it is densified: the same check must hold there.
    with pytest.raises(ValueError, match=r"too large for float32.*largest magnitude 1e\+39"):
        est.predict(sp.csr_matrix(np.array([[0.0, -1e39, 0.0]])))


# scikit-learn's finite check sums y, which overflows for the last fit's target.
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_huge_regression_targets_are_standardised_without_overflow():
    X, y = rng_data()
    y = X @ np.array([1.0, -2.0, 0.5])
    plain = OptimizedMLPRegressor(**SMALL).fit(X, y).predict(X)
    # np.std would overflow squaring 1e200; the network sees the same scaled
    # target either way, so the predictions are the same up to the factor.
    huge = OptimizedMLPRegressor(**SMALL).fit(X, y * 1e200).predict(X)
    np.testing.assert_allclose(huge / 1e200, plain, rtol=1e-5, atol=1e-6)
    est = OptimizedMLPRegressor(**SMALL)
    with pytest.raises(ValueError, match="y has values too large"):
        est.fit(X, np.full(len(y), 1.5e308) * np.sign(y + 0.5))
    assert not hasattr(est, "n_features_in_")


def test_all_zero_sample_weight_is_blamed_on_sample_weight_not_class_weight():
    X, y = rng_data()
    est = OptimizedMLPClassifier(**SMALL, class_weight="balanced")
    with pytest.raises(ValueError, match="Sample weights must contain") as caught:
        est.fit(X, y, sample_weight=np.zeros(len(y)))
    assert "class_weight" not in str(caught.value)


def test_a_single_string_class_is_named_not_an_attribute_error():
    import pandas as pd

    from skoptnn import OptimizedMLPClassifier

    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match="at least 2 classes.*'a'"):
        OptimizedMLPClassifier(epochs=1).fit(X, pd.Series(["a"] * 20, dtype=object))
    y = pd.Series(["a"] * 19 + ["b"], dtype=object)
    with pytest.raises(ValueError, match="class 'b' has 1"):
        OptimizedMLPClassifier(epochs=1, early_stopping=True).fit(X, y)
