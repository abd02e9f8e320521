"""OptimizedMLPClassifier: each parameter's effect, with real (small) training."""

import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone, is_classifier
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skoptnn import DivergenceWarning, OptimizedMLPClassifier

SMALL = dict(n_layers=1, units=8, epochs=15, batch_size=32, learning_rate=0.01, random_state=0)


def hidden_kernel(est, i=1):
    return est.model_.get_layer(f"hidden_{i}").kernel.numpy()


def test_is_a_classifier_and_scikeras_subclass():
    from scikeras.wrappers import KerasClassifier

    est = OptimizedMLPClassifier()
    assert is_classifier(est)
    assert isinstance(est, KerasClassifier)
    assert callable(est.partial_fit)  # skoptnn's own, not scikeras' (see test_continued_training)
    # scikeras' encoder factories are not what skoptnn uses; on the classifier,
    # scikeras' own raised an unrelated AttributeError ('loss').
    for name in ("target_encoder", "feature_encoder"):
        with pytest.raises(AttributeError, match=f"{name} is not available"):
            getattr(est, name)


def test_binary_output_layer_and_loss(binary_data):
    X, y = binary_data
    est = OptimizedMLPClassifier(**SMALL).fit(X, y)
    out = est.model_.get_layer("output")
    assert out.units == 1 and out.activation.__name__ == "sigmoid"
    assert est._network.spec.loss == "binary_crossentropy"
    proba = est.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-6)
    assert est.score(X, y) > 0.8


def test_multiclass_softmax_string_labels(multiclass_data):
    X, y = multiclass_data
    labels = np.array(["ant", "bee", "cat"])[y]
    est = OptimizedMLPClassifier(**{**SMALL, "epochs": 30}).fit(X, labels)
    assert list(est.classes_) == ["ant", "bee", "cat"]
    out = est.model_.get_layer("output")
    assert out.units == 3 and out.activation.__name__ == "softmax"
    assert est._network.spec.loss == "sparse_categorical_crossentropy"
    pred = est.predict(X)
    assert set(pred) <= set(labels) and pred.shape == (len(X),)
    assert est.score(X, labels) > 0.8
    assert est.predict_proba(X[:1]).shape == (1, 3)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_probabilities_sum_to_one_in_float64(binary_data, multiclass_data, n_classes):
    X, y = binary_data if n_classes == 2 else multiclass_data
    est = OptimizedMLPClassifier(**SMALL).fit(X, y)
    proba = est.predict_proba(X)
    # log_loss checks the rows to float64 precision and warns otherwise.
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=0, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        log_loss(y, proba)
    np.testing.assert_allclose(est.predict_log_proba(X), np.log(proba))


def test_bool_labels_come_back_as_bool(binary_data):
    X, y = binary_data
    est = OptimizedMLPClassifier(**SMALL).fit(X, y.astype(bool))
    assert est.predict(X).dtype == bool


def test_fitted_attributes_and_history(binary_data):
    X, y = binary_data
    est = OptimizedMLPClassifier(**SMALL).fit(X, y)
    assert est.n_features_in_ == X.shape[1]
    assert est.n_epochs_ == 15 and est.best_epoch_ is None
    assert set(est.history_) == {"loss", "accuracy"}
    assert len(est.history_["loss"]) == 15
    assert est.history_["loss"][-1] < est.history_["loss"][0]


def test_pipeline_with_pandas_in_and_out(binary_data):
    X, y = binary_data
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    pipe = make_pipeline(StandardScaler(), OptimizedMLPClassifier(**SMALL)).fit(df, pd.Series(y))
    assert pipe.predict(df).shape == (len(df),)
    est = OptimizedMLPClassifier(**SMALL).fit(df, pd.Series(y))
    assert list(est.feature_names_in_) == list(df.columns)
    with pytest.raises(ValueError, match="feature names"):
        est.predict(df.rename(columns={"f0": "zzz"}))


def test_random_state_makes_fits_identical(binary_data):
    X, y = binary_data
    params = {**SMALL, "dropout": 0.3, "early_stopping": True, "patience": 3}
    a = OptimizedMLPClassifier(**params).fit(X, y)
    b = OptimizedMLPClassifier(**params).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = OptimizedMLPClassifier(**{**params, "random_state": 1}).fit(X, y)
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))


def test_pickle_joblib_clone_round_trips(binary_data, tmp_path):
    X, y = binary_data
    est = OptimizedMLPClassifier(**SMALL)
    assert pickle.loads(pickle.dumps(est)).get_params() == est.get_params()
    est.fit(X, y)
    expected = est.predict_proba(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).predict_proba(X), expected)
    joblib.dump(est, tmp_path / "est.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "est.joblib").predict_proba(X), expected)
    fresh = clone(est)
    assert not hasattr(fresh, "model_") and fresh.get_params() == est.get_params()
    np.testing.assert_array_equal(fresh.fit(X, y).predict_proba(X), expected)


def test_zeros_initializer_makes_hidden_units_identical(binary_data):
    X, y = binary_data
    est = OptimizedMLPClassifier(
        n_layers=2, units=6, activation="tanh", kernel_initializer="zeros", epochs=5,
        random_state=0,
    ).fit(X, y)
    for i in (1, 2):
        kernel = hidden_kernel(est, i)
        # Every unit gets the same gradient, so symmetry is never broken.
        np.testing.assert_allclose(kernel, kernel[:, :1].repeat(kernel.shape[1], axis=1))
    other = OptimizedMLPClassifier(
        n_layers=2, units=6, activation="tanh", epochs=5, random_state=0
    ).fit(X, y)
    assert np.ptp(hidden_kernel(other), axis=1).max() > 1e-3


@pytest.mark.parametrize(
    "activation, expected",
    [("relu", "HeNormal"), ("leaky_relu", "HeNormal"), ("elu", "HeNormal"),
     ("gelu", "HeNormal"), ("silu", "HeNormal"), ("tanh", "GlorotUniform"),
     ("sigmoid", "GlorotUniform"), ("selu", "LecunNormal")],
)
def test_auto_initializer_follows_activation(binary_data, activation, expected):
    X, y = binary_data
    est = OptimizedMLPClassifier(**{**SMALL, "epochs": 3, "activation": activation}).fit(X, y)
    hidden = est.model_.get_layer("hidden_1")
    # Dense -> [BatchNormalization] -> Activation: the activation is its own layer.
    assert est.model_.get_layer(f"{activation}_1").activation.__name__ == activation
    assert type(hidden.kernel_initializer).__name__ == expected
    output = est.model_.get_layer("output")
    assert type(output.kernel_initializer).__name__ == "GlorotUniform"
    assert est.history_["loss"][-1] < est.history_["loss"][0]


def test_biases_start_at_zero(binary_data):
    from skoptnn.engine.layout import initial_params, layers

    X, y = binary_data
    est = OptimizedMLPClassifier(**{**SMALL, "epochs": 1}).fit(X, y)
    start = layers(est._network.spec.network, initial_params(est._network.spec.network, seed=7))
    assert len(start) == 2 and not any(layer["bias"].any() for layer in start)
    assert all(layer["kernel"].any() for layer in start)


@pytest.mark.parametrize("param", [{"dropout": 0.5}, {"l2": 0.1}, {"l1": 0.01}])
def test_regularization_changes_the_weights(binary_data, param):
    X, y = binary_data
    base = OptimizedMLPClassifier(**{**SMALL, "l2": 0.0}).fit(X, y)
    reg = OptimizedMLPClassifier(**{**SMALL, "l2": 0.0, **param}).fit(X, y)
    assert not np.allclose(hidden_kernel(base), hidden_kernel(reg))
    if "l2" in param or "l1" in param:
        # A penalty shrinks the weights.
        assert np.abs(hidden_kernel(reg)).sum() < np.abs(hidden_kernel(base)).sum()


def test_batch_norm_and_hidden_layer_sizes(binary_data):
    X, y = binary_data
    est = OptimizedMLPClassifier(
        hidden_layer_sizes=(7, 5), n_layers=9, batch_norm=True, epochs=3, random_state=0
    ).fit(X, y)
    names = [layer.name for layer in est.model_.layers]
    assert "batch_norm_1" in names and "batch_norm_2" in names and "hidden_3" not in names
    assert hidden_kernel(est, 1).shape == (X.shape[1], 7)
    # Moving statistics were updated by training (they start at 0 and 1).
    assert np.abs(est.model_.get_layer("batch_norm_1").moving_mean.numpy()).max() > 0


def test_early_stopping_stops_on_plateau_and_restores_best(binary_data):
    X, _ = binary_data
    y = np.random.RandomState(0).randint(0, 2, len(X))  # nothing to learn: val loss plateaus
    params = dict(n_layers=1, units=16, epochs=300, early_stopping=True, patience=5,
                  learning_rate=0.01, random_state=0)
    est = OptimizedMLPClassifier(**params).fit(X, y)
    assert est.n_epochs_ < 300
    val_loss = est.history_["val_loss"]
    # The restored epoch is the best one or a later one the validation data cannot
    # tell from it (tests/test_monitors.py checks the rule itself).
    assert est.best_epoch_ >= int(np.argmin(val_loss))
    # The same run cut at the best epoch ends with the weights that were restored.
    cut = clone(est).set_params(epochs=est.best_epoch_ + 1, patience=1000).fit(X, y)
    np.testing.assert_allclose(cut.predict_proba(X), est.predict_proba(X), atol=1e-6)


def test_a_fit_that_does_not_learn_stops_after_patience(binary_data):
    # A learning rate far too small: the validation loss creeps down by much less than
    # its noise, which the old rule (any decrease counts) would have followed to the
    # epoch limit.
    X, y = binary_data
    est = OptimizedMLPClassifier(**{**SMALL, "epochs": 200, "early_stopping": True,
                                    "patience": 5, "learning_rate": 1e-6}).fit(X, y)
    val_loss = est.history_["val_loss"]
    assert np.all(np.diff(val_loss) < 0)  # it did improve, every epoch, a little
    assert est.n_epochs_ == 1 + 5


def test_early_stopping_on_accuracy(binary_data):
    X, y = binary_data
    est = OptimizedMLPClassifier(
        **{**SMALL, "epochs": 40, "early_stopping": True, "monitor": "val_accuracy", "patience": 3}
    ).fit(X, y)
    acc = est.history_["val_accuracy"]
    assert est.best_epoch_ >= int(np.argmax(acc))
    assert est.n_epochs_ < 40  # it stopped, not at the epoch limit


def test_min_delta_is_the_improvement_that_counts(binary_data):
    # No later epoch beats the first by 1e9: stop after exactly `patience` more.
    X, y = binary_data
    est = OptimizedMLPClassifier(
        **{**SMALL, "epochs": 40, "early_stopping": True, "patience": 4, "min_delta": 1e9}
    ).fit(X, y)
    assert est.n_epochs_ == 5 and 0 <= est.best_epoch_ < 5
    assert min(est.history_["val_loss"][1:]) < est.history_["val_loss"][0]  # it did improve


def test_clipping_reaches_the_optimizer_and_bounds_the_updates(binary_data):
    X, y = binary_data
    est = OptimizedMLPClassifier(**{**SMALL, "clipnorm": 0.5}).fit(X, y)
    assert est.model_.optimizer.clipnorm == 0.5
    params = {**SMALL, "optimizer": "sgd", "learning_rate": 0.1, "epochs": 3}
    free = OptimizedMLPClassifier(**params).fit(X, y)
    clipped = OptimizedMLPClassifier(**params, clipvalue=1e-4).fit(X, y)
    start = OptimizedMLPClassifier(**{**params, "epochs": 1, "learning_rate": 1e-30}).fit(X, y)
    moved_free = np.abs(hidden_kernel(free) - hidden_kernel(start)).max()
    moved_clipped = np.abs(hidden_kernel(clipped) - hidden_kernel(start)).max()
    # 3 epochs x 8 batches x lr 0.1 x 1e-4 bounds the clipped steps' sum.
    assert moved_clipped <= 3 * 8 * 0.1 * 1e-4 * 1.01
    assert moved_free > 100 * moved_clipped


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop", "sgd", "adagrad", "adadelta", "nadam",
                                       "adamw"])
def test_every_optimizer_trains(binary_data, optimizer):
    X, y = binary_data
    est = OptimizedMLPClassifier(**{**SMALL, "optimizer": optimizer}).fit(X, y)
    assert type(est.model_.optimizer).__name__.lower() == optimizer
    loss = est.history_["loss"]
    assert np.isfinite(loss).all() and loss[-1] < loss[0]  # it learned something


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "adadelta"])
def test_default_learning_rate_is_keras_default(binary_data, optimizer):
    import keras

    X, y = binary_data
    est = OptimizedMLPClassifier(**{**SMALL, "learning_rate": None, "optimizer": optimizer,
                                    "epochs": 1}).fit(X, y)
    keras_default = float(np.asarray(keras.optimizers.get(optimizer).learning_rate))
    assert float(np.asarray(est.model_.optimizer.learning_rate)) == pytest.approx(keras_default)


def test_learning_rate_is_used(binary_data):
    X, y = binary_data
    est = OptimizedMLPClassifier(**{**SMALL, "learning_rate": 0.05}).fit(X, y)
    assert np.isclose(float(np.asarray(est.model_.optimizer.learning_rate)), 0.05)
    # Reusing the cached training graph must not leak one fit's rate into the next.
    slow = OptimizedMLPClassifier(**{**SMALL, "learning_rate": 1e-12}).fit(X, y)
    fresh = OptimizedMLPClassifier(**{**SMALL, "learning_rate": 1e-12, "epochs": 1}).fit(X, y)
    np.testing.assert_allclose(hidden_kernel(slow), hidden_kernel(fresh), atol=1e-6)


def test_class_weight_balanced_helps_the_minority_class():
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=400, n_features=5, weights=[0.9], flip_y=0.05,
                               class_sep=0.5, random_state=3)
    params = {**SMALL, "epochs": 20}
    plain = OptimizedMLPClassifier(**params).fit(X, y)
    balanced = OptimizedMLPClassifier(**params, class_weight="balanced").fit(X, y)
    recall = lambda est: (est.predict(X)[y == 1] == 1).mean()  # noqa: E731
    assert recall(balanced) > recall(plain)
    by_dict = OptimizedMLPClassifier(**params, class_weight={0: 1.0, 1: 9.0}).fit(X, y)
    assert recall(by_dict) > recall(plain)


def test_sample_weight_matters_and_is_not_modified(binary_data):
    X, y = binary_data
    sw = np.where(y == 1, 5.0, 1.0)
    copy = sw.copy()
    a = OptimizedMLPClassifier(**SMALL, class_weight="balanced").fit(X, y, sample_weight=sw)
    np.testing.assert_array_equal(sw, copy)
    b = OptimizedMLPClassifier(**SMALL).fit(X, y)
    assert a.predict_proba(X)[:, 1].mean() > b.predict_proba(X)[:, 1].mean()


def test_class_weight_multiplies_sample_weight(binary_data):
    X, y = binary_data
    sw = np.linspace(0.5, 2.0, len(y))
    by_class = {0: 10.0, 1: 1.0}
    both = OptimizedMLPClassifier(**SMALL, class_weight=by_class).fit(X, y, sample_weight=sw)
    product = OptimizedMLPClassifier(**SMALL).fit(X, y, sample_weight=sw * np.where(y == 0, 10, 1))
    only_sw = OptimizedMLPClassifier(**SMALL).fit(X, y, sample_weight=sw)
    # Equal up to float32 rounding of the product.
    np.testing.assert_allclose(both.predict_proba(X), product.predict_proba(X), atol=1e-5)
    assert not np.allclose(both.predict_proba(X), only_sw.predict_proba(X), atol=1e-3)


def test_sparse_input_gives_the_dense_result(binary_data):
    X, y = binary_data
    dense = OptimizedMLPClassifier(**SMALL).fit(X, y)
    sparse = OptimizedMLPClassifier(**SMALL).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.predict_proba(sp.csr_matrix(X)), dense.predict_proba(X),
                               atol=1e-6)


def test_divergence_stops_warns_and_stays_finite(binary_data):
    X, y = binary_data
    est = OptimizedMLPClassifier(
        n_layers=2, units=32, optimizer="sgd", learning_rate=1e4, epochs=30, random_state=0
    )
    with pytest.warns(DivergenceWarning, match=r"epoch \d+.*learning_rate.*clipnorm"):
        est.fit(X * 100, y)
    assert est.n_epochs_ < 30
    assert np.isfinite(est.predict_proba(X)).all()


@pytest.mark.parametrize("epochs", [1, 20])
def test_weights_blown_up_by_an_epochs_last_update_are_not_kept(epochs):
    # The epoch's loss is measured before each update, so it can be finite
    # while the last update left NaN weights: those must not be "last good".
    X, y = make_classification(n_samples=200, n_features=6, n_informative=4, random_state=0)
    est = OptimizedMLPClassifier(n_layers=3, units=16, optimizer="sgd", learning_rate=1e3,
                                 epochs=epochs, batch_size=64, l2=0.0, random_state=0)
    with pytest.warns(DivergenceWarning, match="kept the initial weights") as record:
        est.fit(X, y)
    assert np.isfinite(est.predict_proba(X)).all()
    # The warning points at the line that called fit, not inside scikit-learn.
    assert record[0].filename == __file__


def test_divergence_with_early_stopping_names_the_best_epoch_kept():
    X, y = make_classification(n_samples=200, n_features=6, n_informative=4, random_state=0)
    est = OptimizedMLPClassifier(n_layers=1, units=8, optimizer="sgd", learning_rate=30.0,
                                 epochs=60, l2=0.0, early_stopping=True, patience=100,
                                 random_state=0)
    with pytest.warns(DivergenceWarning) as record:
        est.fit(X, y)
    best = est.best_epoch_
    # The kept epoch: the best, or a later finite one within its noise.
    assert int(np.nanargmin(est.history_["val_loss"])) <= best < est.n_epochs_ - 1
    assert np.isfinite(est.history_["val_loss"][best])
    assert f"kept the weights of epoch {best + 1}." in str(record[0].message)


def test_verbose_zero_is_silent_and_verbose_one_reports(binary_data, capfd):
    X, y = binary_data
    OptimizedMLPClassifier(**SMALL).fit(X, y).predict(X)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    OptimizedMLPClassifier(**{**SMALL, "epochs": 3, "verbose": 1}).fit(X, y)
    out, _ = capfd.readouterr()
    assert "Epoch 3/3" in out and "loss" in out
    est = OptimizedMLPClassifier(**{**SMALL, "epochs": 300, "verbose": 2,
                                    "early_stopping": True, "patience": 3}).fit(X, y)
    out, _ = capfd.readouterr()
    best = est.history_["val_loss"][est.best_epoch_]
    assert out.splitlines()[-1] == (
        f"Early stopping stopped early: restored the weights of epoch {est.best_epoch_ + 1} "
        f"(val_loss: {best:.4f})"
    )


def test_breast_cancer_cv_matches_logistic_regression():
    X, y = load_breast_cancer(return_X_y=True)
    mlp = make_pipeline(StandardScaler(), OptimizedMLPClassifier(random_state=0))
    lr = make_pipeline(StandardScaler(), LogisticRegression())
    with warnings.catch_warnings():
        warnings.simplefilter("error", DivergenceWarning)
        mlp_score = cross_val_score(mlp, X, y, cv=5).mean()
    assert mlp_score >= cross_val_score(lr, X, y, cv=5).mean() - 0.02
