"""What compiles: one training graph per key, whatever the depth, width or data size.

The key (``TrainSpec.graph_key``) holds the activation, output and loss, the
optimizer, the clipping mode, whether dropout is on, batch norm, the kind of
hidden stack, and gradient monitoring. Everything else is fed to the graph.
Counted in traces (``traced_graphs``), so the tests are exact.
"""

import numpy as np
import pytest

from skoptnn import OptimizedMLPClassifier, OptimizedMLPRegressor
from skoptnn.engine import cache as _cache
from skoptnn.engine.spec import graph_fields


@pytest.fixture(autouse=True)
def _fresh_cache():
    _cache.clear_cache()
    yield
    _cache.clear_cache()


def _traces_during(fits) -> int:
    before = _cache.traced_graphs()
    for fit in fits:
        fit()
    return _cache.traced_graphs() - before


def test_depth_and_width_share_one_graph(binary_data):
    X, y = binary_data
    fits = [
        lambda n=n, u=u: OptimizedMLPClassifier(n_layers=n, units=u, epochs=2,
                                                random_state=0).fit(X, y)
        for n, u in [(1, 3), (2, 17), (5, 8), (10, 4), (3, 64)]
    ]
    assert _traces_during(fits) == 1
    assert len(_cache.cached_keys()) == 1


def test_irregular_sizes_compile_per_depth_not_per_width(binary_data):
    X, y = binary_data

    def fit(sizes):
        return lambda: OptimizedMLPClassifier(hidden_layer_sizes=sizes, epochs=2,
                                              random_state=0).fit(X, y)

    assert _traces_during([fit((8, 4)), fit((16, 5)), fit((3, 9))]) == 1
    assert _traces_during([fit((8, 4, 2))]) == 1


def test_run_time_settings_never_retrace(binary_data):
    X, y = binary_data
    settings = [
        dict(dropout=0.1, l2=1e-3, l1=0.0, clipnorm=0.5, learning_rate=0.01, batch_size=16,
             epochs=4, kernel_initializer="he_uniform", shuffle=True),
        dict(dropout=0.5, l2=0.0, l1=1e-3, clipnorm=2.0, learning_rate=0.001, batch_size=64,
             epochs=3, kernel_initializer="glorot_normal", shuffle=False, early_stopping=True,
             patience=2, monitor="val_accuracy"),
        dict(dropout=0.3, l2=1e-1, clipnorm=1.0, batch_size=7, epochs=2, early_stopping=True,
             validation_fraction=0.3, min_delta=0.1, verbose=0),
    ]
    fits = [lambda s=s: OptimizedMLPClassifier(n_layers=2, units=8, random_state=0, **s).fit(X, y)
            for s in settings]
    assert _traces_during(fits) == 1


@pytest.mark.parametrize("change", [
    dict(activation="tanh"), dict(optimizer="sgd"), dict(clipnorm=None),
    dict(clipnorm=None, clipvalue=0.5), dict(batch_norm=True),
    dict(monitor_gradients=True), dict(hidden_layer_sizes=(4, 3)), dict(n_layers=0),
])
def test_what_fixes_a_graph(binary_data, change):
    X, y = binary_data
    base = dict(n_layers=2, units=8, dropout=0.2, clipnorm=1.0, epochs=2, random_state=0)
    OptimizedMLPClassifier(**base).fit(X, y)
    assert _traces_during([lambda: OptimizedMLPClassifier(**{**base, **change}).fit(X, y)]) == 1


def test_dropout_on_is_a_key_and_off_runs_its_graph_at_rate_zero(binary_data):
    X, y = binary_data
    params = dict(n_layers=2, units=8, epochs=3, random_state=0)
    # Without dropout, in a fresh cache: its own graph.
    assert _traces_during([lambda: OptimizedMLPClassifier(**params).fit(X, y)]) == 1
    alone = OptimizedMLPClassifier(**params).fit(X, y)
    # With dropout: another graph...
    assert _traces_during([lambda: OptimizedMLPClassifier(**params, dropout=0.3).fit(X, y)]) == 1
    _cache.clear_cache()
    OptimizedMLPClassifier(**params, dropout=0.3).fit(X, y)
    # ...which a fit without dropout then runs at rate 0, with the very same results.
    borrowed = OptimizedMLPClassifier(**params)
    assert _traces_during([lambda: borrowed.fit(X, y)]) == 0
    np.testing.assert_array_equal(borrowed.predict_proba(X), alone.predict_proba(X))
    assert borrowed.history_ == alone.history_


def test_regression_losses_and_outputs_are_keys(binary_data):
    X, _ = binary_data
    y = X @ np.arange(X.shape[1]) + np.c_[X[:, 0]] * 0
    fits = [lambda loss=loss: OptimizedMLPRegressor(loss=loss, epochs=2, random_state=0).fit(
        X, y[:, 0]) for loss in ("mse", "mae", "huber")]
    assert _traces_during(fits) == 3
    # More outputs or features: the same graph.
    wide = np.c_[X, X]
    assert _traces_during([lambda: OptimizedMLPRegressor(epochs=2, random_state=0).fit(
        wide, np.c_[y, y])]) == 0


def test_evicted_graphs_are_retraced_with_the_same_results(binary_data, monkeypatch):
    X, y = binary_data
    monkeypatch.setattr(_cache, "CACHE_SIZE", 2)
    params = dict(n_layers=1, units=5, epochs=3, random_state=0)
    before = OptimizedMLPClassifier(**params).fit(X, y).predict_proba(X)
    for activation in ("tanh", "sigmoid", "elu"):
        OptimizedMLPClassifier(n_layers=1, units=5, epochs=2, activation=activation).fit(X, y)
    assert len(_cache.cached_keys()) == 2
    after = OptimizedMLPClassifier(**params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(before, after)


def test_every_spec_field_says_how_the_graph_treats_it():
    marks = graph_fields()
    assert set(marks) == {"value", "on_off", "fed", "shape", "none"}
    assert "activation" in marks["value"] and "optimizer" in marks["value"]
    assert "l2" in marks["fed"] and "dropout" in marks["on_off"]
