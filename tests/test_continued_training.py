"""warm_start and partial_fit: training goes on from where it stopped."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler

from skoptnn import OptimizedMLPClassifier, OptimizedMLPRegressor
from skoptnn.engine.cache import traced_graphs

SMALL = dict(n_layers=2, units=16, random_state=0, dropout=0.1, optimizer="nadam")


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X).astype(np.float32), y


def test_warm_start_continues_exactly_like_one_longer_fit(cancer):
    X, y = cancer
    once = OptimizedMLPClassifier(epochs=8, **SMALL).fit(X, y)
    twice = OptimizedMLPClassifier(epochs=4, warm_start=True, **SMALL).fit(X, y)
    first_loss = twice.history_["loss"][-1]
    twice.fit(X, y)
    assert twice.n_epochs_ == 8 and len(twice.history_["loss"]) == 8
    assert twice.history_["loss"][-1] < first_loss  # it kept learning
    # Same weights, optimizer state, shuffles and dropout masks as one 8-epoch fit.
    np.testing.assert_array_equal(twice.predict_proba(X), once.predict_proba(X))
    np.testing.assert_allclose(twice.history_["loss"], once.history_["loss"], rtol=1e-6)


def test_without_warm_start_fit_starts_afresh(cancer):
    X, y = cancer
    est = OptimizedMLPClassifier(epochs=4, **SMALL).fit(X, y)
    first = est.predict_proba(X)
    est.fit(X, y)
    assert est.n_epochs_ == 4
    np.testing.assert_array_equal(est.predict_proba(X), first)


def test_warm_start_with_early_stopping_numbers_epochs_on(cancer):
    X, y = cancer
    est = OptimizedMLPClassifier(epochs=3, warm_start=True, early_stopping=True, **SMALL)
    est.fit(X, y).fit(X, y)
    assert est.n_epochs_ == 6 and len(est.history_["val_loss"]) == 6
    # The first call's kept epoch (no epoch of the second came within its noise), or
    # the second call's best epoch or a later one.
    second = 3 + int(np.argmin(est.history_["val_loss"][3:]))
    assert est.best_epoch_ < 3 or second <= est.best_epoch_ < 6


@pytest.mark.parametrize("change, message", [
    ({"n_layers": 3}, "hidden_layer_sizes"),
    ({"activation": "tanh"}, "activation"),
    ({"optimizer": "sgd"}, "optimizer"),
    ({"batch_norm": True}, "batch_norm"),
])
def test_warm_start_refuses_another_network(cancer, change, message):
    X, y = cancer
    est = OptimizedMLPClassifier(epochs=2, warm_start=True, **SMALL).fit(X, y)
    before = est.predict_proba(X)
    with pytest.raises(ValueError, match=message):
        est.set_params(**change).fit(X, y)
    np.testing.assert_array_equal(est.predict_proba(X), before)  # nothing was lost
    assert est.n_epochs_ == 2


def test_warm_start_refuses_other_classes_and_features(cancer):
    X, y = cancer
    est = OptimizedMLPClassifier(epochs=2, warm_start=True, **SMALL).fit(X, y)
    with pytest.raises(ValueError, match="classes"):
        est.fit(X, np.where(y == 1, "yes", "no"))
    with pytest.raises(ValueError, match="features"):
        est.fit(X[:, :5], y)


def test_partial_fit_is_one_epoch_per_call_without_retracing(cancer):
    X, y = cancer
    full = OptimizedMLPClassifier(epochs=5, **SMALL).fit(X, y)
    est = OptimizedMLPClassifier(**SMALL).partial_fit(X, y, classes=[0, 1])
    traces = traced_graphs()
    for _ in range(4):
        est.partial_fit(X, y)
    assert traced_graphs() == traces
    assert est.n_epochs_ == 5 and len(est.history_["loss"]) == 5
    np.testing.assert_array_equal(est.predict_proba(X), full.predict_proba(X))


def test_partial_fit_over_chunks_reaches_a_fit_s_accuracy(cancer):
    X, y = cancer
    rng = np.random.default_rng(0)
    test = rng.permutation(len(X))[:150]
    train = np.setdiff1d(np.arange(len(X)), test)
    epochs = 10
    full = OptimizedMLPClassifier(epochs=epochs, **SMALL).fit(X[train], y[train])
    chunked = OptimizedMLPClassifier(**SMALL)
    for _ in range(epochs):
        for chunk in np.array_split(rng.permutation(train), 4):
            chunked.partial_fit(X[chunk], y[chunk], classes=[0, 1])
    assert chunked.n_epochs_ == 4 * epochs
    assert chunked.score(X[test], y[test]) >= full.score(X[test], y[test]) - 0.02


def test_partial_fit_checks_classes(cancer):
    X, y = cancer
    with pytest.raises(ValueError, match="classes must be passed"):
        OptimizedMLPClassifier(**SMALL).partial_fit(X, y)
    est = OptimizedMLPClassifier(**SMALL).partial_fit(X[:100], y[:100], classes=[0, 1, 2])
    assert list(est.classes_) == [0, 1, 2] and est.predict_proba(X).shape == (len(X), 3)
    with pytest.raises(ValueError, match=r"not in classes"):
        est.partial_fit(X[:10], np.full(10, 7))
    with pytest.raises(ValueError, match="differs"):
        est.partial_fit(X[:10], y[:10], classes=[0, 1])
    with pytest.raises(ValueError, match="balanced"):
        OptimizedMLPClassifier(class_weight="balanced", **SMALL).partial_fit(X, y, classes=[0, 1])


def test_regressor_partial_fit_keeps_the_first_target_scale(cancer):
    X, _ = cancer
    y = 100.0 + 10.0 * X[:, 0]
    est = OptimizedMLPRegressor(n_layers=1, units=16, random_state=0)
    for _ in range(15):
        est.partial_fit(X, y)
    scale = est._y_scale.copy()
    est.partial_fit(X[:50], y[:50] + 1000.0)  # a chunk far off the first one's scale
    np.testing.assert_array_equal(est._y_scale, scale)
    assert est.n_epochs_ == 16
    with pytest.raises(ValueError, match="target"):
        est.partial_fit(X, np.column_stack([y, y]))


def test_a_target_column_constant_in_the_first_chunk_is_learnt_later(cancer):
    X, _ = cancer
    y = 3.0 * X[:, 0] + 5.0
    est = OptimizedMLPRegressor(n_layers=1, units=16, random_state=0)
    est.partial_fit(X[:1], y[:1])  # one row: a constant target so far
    for _ in range(20):
        est.partial_fit(X, y)
    assert est.score(X, y) > 0.8


def test_history_columns_stay_aligned_across_calls(cancer):
    X, y = cancer
    est = OptimizedMLPClassifier(epochs=3, warm_start=True, **SMALL).fit(X, y)
    est.set_params(early_stopping=True).fit(X, y)
    est.partial_fit(X, y)
    assert {len(v) for v in est.history_.values()} == {est.n_epochs_} == {7}
    assert np.isnan(est.history_["val_loss"][:3]).all() and np.isnan(est.history_["val_loss"][6])
    assert np.isfinite(est.history_["val_loss"][3:6]).all()


def test_warm_start_with_early_stopping_keeps_better_starting_weights(cancer):
    X, y = cancer
    est = OptimizedMLPClassifier(epochs=30, warm_start=True, early_stopping=True, **SMALL)
    est.fit(X, y)
    before, best, ran = est.predict_proba(X), est.best_epoch_, est.n_epochs_
    # Training on with a learning rate that wrecks the network: no epoch beats the start.
    est.set_params(epochs=3, learning_rate=50.0).fit(X, y)
    assert est.n_epochs_ == ran + 3 and est.best_epoch_ == best < ran
    np.testing.assert_array_equal(est.predict_proba(X), before)


def test_one_tiny_weight_does_not_switch_the_penalty_off(cancer):
    X, y = cancer
    w = np.ones(len(y))
    plain = OptimizedMLPClassifier(epochs=1, **SMALL).fit(X, y, sample_weight=w)
    w[0] = 1e-6
    tiny = OptimizedMLPClassifier(epochs=1, **SMALL).fit(X, y, sample_weight=w)
    assert tiny._network.spec.network.l2 == pytest.approx(plain._network.spec.network.l2, rel=0.01)


def test_partial_fit_class_weight_on_a_chunk_missing_a_class(cancer):
    X, y = cancer
    y3 = np.arange(len(y)) % 3
    est = OptimizedMLPClassifier(class_weight={0: 1.0, 2: 5.0}, **SMALL)
    est.partial_fit(X, y3, classes=[0, 1, 2])
    est.partial_fit(X[y3 < 2], y3[y3 < 2])
    assert est.n_epochs_ == 2


def test_warm_start_carries_early_stopping_references_only_for_the_same_monitor(cancer):
    X, y = cancer
    est = OptimizedMLPClassifier(epochs=4, warm_start=True, early_stopping=True,
                                 monitor="val_accuracy", patience=50, **SMALL).fit(X, y)
    references = est._network.monitor["references"]
    assert references[0] <= -max(est.history_["val_accuracy"]) + 1e-6  # signed: lower is better
    # Another monitored value: its references start afresh (not the accuracy's), so a
    # falling validation loss is kept.
    est.set_params(monitor="val_loss").fit(X, y)
    assert est._network.monitor["validation"][0] == "val_loss"
    assert est._network.monitor["references"][0] == pytest.approx(min(est.history_["val_loss"][4:]))
    assert est.best_epoch_ >= 4


def test_pickled_estimator_drops_references_once_model_trained_on(cancer):
    import pickle

    X, y = cancer
    est = OptimizedMLPClassifier(epochs=3, early_stopping=True, **SMALL).fit(X, y)
    assert pickle.loads(pickle.dumps(est))._network.monitor is not None
    est.model_.fit(X.astype("float32"), y.reshape(-1, 1).astype("float32"), epochs=1,
                   verbose=0)
    assert pickle.loads(pickle.dumps(est))._network.monitor is None
