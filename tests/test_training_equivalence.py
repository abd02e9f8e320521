"""skoptnn's compiled fit loop trains like Keras' own ``Model.fit``.

The fast path (:mod:`skoptnn._training`) runs every epoch inside one
``tf.function`` calling Keras' ``train_step`` per mini-batch. These tests fit
an :class:`OptimizedMLPClassifier`, then rebuild the same network from the same
seed (``build_network(est._spec.network, seed)``, the seed drawn exactly as
``_MLPMixin._fit`` draws it), train it with plain ``model.fit`` and compare:

* ``shuffle=False``: both see the same mini-batches in the same order, so the
  per-epoch loss curves must agree to float32 round-off (semantic identity);
* ``shuffle=True``: the permutations differ (stateless per-epoch shuffle vs
  Keras' data adapter), so only the end result must be statistically alike.

No timing assertions: speed is measured by ``benchmarks/fit_speed.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state

from skoptnn import OptimizedMLPClassifier, _training
from skoptnn._keras import keras
from skoptnn._network import build_network
from skoptnn._training import OPTIMIZERS, clear_cache

EPOCHS = 20
BATCH = 32


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=300, n_features=10, n_informative=5, random_state=0
    )
    X = StandardScaler().fit_transform(X).astype(np.float32)
    return X, y


def _seed(random_state) -> int:
    # Same draw as skoptnn._base._MLPMixin._fit.
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def _fit_both(X, y, *, shuffle: bool, random_state: int = 0, **params):
    est = OptimizedMLPClassifier(
        hidden_layer_sizes=(16, 16), epochs=EPOCHS, batch_size=BATCH, shuffle=shuffle,
        random_state=random_state, **params,
    ).fit(X, y)
    spec = est._spec
    reference = build_network(spec.network, _seed(random_state))
    kwargs = {"clipnorm": spec.clipnorm, "clipvalue": spec.clipvalue}
    if est.learning_rate is not None:
        kwargs["learning_rate"] = est.learning_rate
    reference.compile(
        optimizer=OPTIMIZERS[spec.optimizer](**kwargs), loss=spec.loss,
        metrics=list(spec.metrics),
    )
    history = reference.fit(
        X, y.astype(np.float32).reshape(-1, 1), epochs=EPOCHS, batch_size=BATCH,
        shuffle=shuffle, verbose=0,
    )
    return est, reference, history.history


def test_reference_network_is_reproducible(data):
    """``build_network(spec, seed)`` is deterministic, so the reference can be rebuilt.

    (That it starts from the estimator's *own* initial weights is proven by the
    unshuffled loss curves below, equal to float32 round-off.)
    """
    X, y = data
    est = OptimizedMLPClassifier(hidden_layer_sizes=(16, 16), epochs=1, random_state=0)
    est.fit(X, y)
    a = build_network(est._spec.network, _seed(0))
    b = build_network(est._spec.network, _seed(0))
    for va, vb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(va, vb)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_unshuffled_matches_keras_fit_epoch_by_epoch(data, optimizer):
    """Same batches in the same order: the loss curves are identical up to round-off."""
    X, y = data
    est, reference, history = _fit_both(X, y, shuffle=False, optimizer=optimizer)
    ours = np.asarray(est.history_["loss"])
    theirs = np.asarray(history["loss"])
    assert ours.shape == theirs.shape == (EPOCHS,)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(
        est.history_["accuracy"], history["accuracy"], rtol=0, atol=1e-6
    )
    # And so are the trained weights and the predictions.
    for w_ours, w_ref in zip(est.model_.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(w_ours, w_ref, rtol=1e-3, atol=1e-5)
    proba_ref = reference.predict(X, verbose=0).ravel()
    np.testing.assert_allclose(est.predict_proba(X)[:, 1], proba_ref, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize(
    "params",
    [
        {"dropout": 0.3},
        {"l1": 1e-3, "l2": 1e-3},
        {"l2": 0.0},
        {"optimizer": "rmsprop", "learning_rate": 0.05, "clipnorm": 0.5},
        {"optimizer": "sgd", "learning_rate": 0.3, "clipvalue": 0.01},
    ],
    ids=["dropout", "l1_l2", "no_regularizer", "clipnorm", "clipvalue"],
)
def test_run_time_hyperparameters_match_keras_fit(data, params):
    """Dropout rate, L1/L2 factors and clipping thresholds are variables of the
    compiled graph, not constants: training still matches Keras' layers and
    optimizer built with those values, bit for bit up to round-off."""
    X, y = data
    est, reference, history = _fit_both(X, y, shuffle=False, **params)
    np.testing.assert_allclose(est.history_["loss"], history["loss"], rtol=1e-4, atol=1e-6)
    for w_ours, w_ref in zip(est.model_.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(w_ours, w_ref, rtol=1e-3, atol=1e-5)


def test_shuffled_trains_like_keras_fit(data):
    """Different permutations, same algorithm: curves and accuracies agree closely."""
    X, y = data
    est, reference, history = _fit_both(X, y, shuffle=True)
    ours = np.asarray(est.history_["loss"])
    theirs = np.asarray(history["loss"])
    # Both curves fall by a similar amount, and end in the same place.
    assert ours[-1] < ours[0] and theirs[-1] < theirs[0]
    assert abs(ours[-1] - theirs[-1]) < 0.05
    assert abs((ours[0] - ours[-1]) - (theirs[0] - theirs[-1])) < 0.05
    np.testing.assert_allclose(ours, theirs, atol=0.05)

    acc_ours = est.score(X, y)
    acc_ref = float(np.mean((reference.predict(X, verbose=0).ravel() > 0.5) == y))
    assert abs(acc_ours - acc_ref) < 0.05


def test_unshuffled_with_partial_last_batch(data):
    """A ragged final batch (300 = 9 * 32 + 12) is weighted exactly like Keras does."""
    X, y = data
    X, y = X[:250], y[:250]  # 7 * 32 + 26
    est = OptimizedMLPClassifier(
        hidden_layer_sizes=(8,), epochs=5, batch_size=BATCH, shuffle=False, random_state=3,
    ).fit(X, y)
    reference = build_network(est._spec.network, _seed(3))
    reference.compile(optimizer=keras.optimizers.Adam(), loss=est._spec.loss)
    history = reference.fit(
        X, y.astype(np.float32).reshape(-1, 1), epochs=5, batch_size=BATCH,
        shuffle=False, verbose=0,
    )
    np.testing.assert_allclose(est.history_["loss"], history.history["loss"], rtol=1e-4)


def test_one_compiled_graph_serves_every_rate(data):
    """Fits that differ only in dropout, L2, clipnorm, learning rate, batch size,
    epochs and initializer share one trainer and one trace, and each trains
    exactly as it would on a trainer of its own (no stale values)."""
    X, y = data
    common = {"hidden_layer_sizes": (16,), "random_state": 0}
    settings = [
        {"dropout": 0.1, "l2": 1e-3, "clipnorm": 0.5, "learning_rate": 0.01, "batch_size": 16,
         "epochs": 4, "kernel_initializer": "he_uniform"},
        {"dropout": 0.5, "l2": 1e-1, "clipnorm": 2.0, "learning_rate": 0.001, "batch_size": 32,
         "epochs": 6, "kernel_initializer": "glorot_normal"},
    ]
    clear_cache()
    shared = [OptimizedMLPClassifier(**common, **s).fit(X, y) for s in settings]
    assert len(_training._trainers) == 1
    (trainer,) = _training._trainers.values()
    assert [f.experimental_get_tracing_count() for f in trainer._runs.values()] == [1]
    a, b = (est.model_.get_weights() for est in shared)
    assert not all(np.array_equal(wa, wb) for wa, wb in zip(a, b, strict=True))
    for setting, est in zip(settings, shared, strict=True):
        clear_cache()
        alone = OptimizedMLPClassifier(**common, **setting).fit(X, y)
        assert alone.history_ == est.history_
        for w_shared, w_alone in zip(
            est.model_.get_weights(), alone.model_.get_weights(), strict=True
        ):
            np.testing.assert_array_equal(w_shared, w_alone)
