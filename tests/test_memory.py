"""Fitting many architectures must not leave their graphs behind.

A search fits a new architecture per trial. Keras' optimizer used to pin each
traced graph in TensorFlow's global gradient registry (~10 MB a trial), which
also made joblib's loky workers restart mid-search for "leaking" memory.
Counted in graph functions, not bytes, so the test is exact.
"""

import gc

import numpy as np
import pytest

from skoptnn import OptimizedMLPClassifier, _training


def _runtime_functions() -> int:
    from tensorflow.python.eager import context

    gc.collect()
    return len(context.context().list_function_names())


def test_evicted_architectures_release_their_graphs(binary_data, monkeypatch):
    X, y = binary_data
    monkeypatch.setattr(_training, "_CACHE_SIZE", 2)
    _training.clear_cache()

    def fit(units):
        OptimizedMLPClassifier(
            n_layers=2, units=units, epochs=2, early_stopping=True, random_state=0
        ).fit(X, y).predict(X)

    for units in (3, 4):
        fit(units)
    baseline = _runtime_functions()
    for units in range(5, 13):
        fit(units)
    # Two cached trainers either way; before the fix each trial added ~10.
    assert _runtime_functions() <= baseline + 2
    _training.clear_cache()
    assert _runtime_functions() < baseline


@pytest.fixture(autouse=True)
def _fresh_cache():
    yield
    _training.clear_cache()


def test_kernel_cache_release_keeps_cached_trainers_working(binary_data, monkeypatch):
    # Clearing TensorFlow's kernel cache makes cached graphs re-instantiate:
    # same results, nothing broken.
    X, y = binary_data
    monkeypatch.setattr(_training, "_CACHE_SIZE", 3)
    _training.clear_cache()
    released = []
    real = _training._release_runtime_memory
    monkeypatch.setattr(
        _training, "_release_runtime_memory",
        lambda *a, **k: released.append(real(*a, **k)) or released[-1],
    )
    params = dict(n_layers=1, units=5, epochs=3, random_state=0)
    before = OptimizedMLPClassifier(**params).fit(X, y).predict_proba(X)
    for units in range(6, 11):  # 5 new architectures: 3 evictions, then a release
        OptimizedMLPClassifier(n_layers=1, units=units, epochs=2, random_state=0).fit(X, y)
        OptimizedMLPClassifier(**params).fit(X, y)  # keeps units=5 cached
    assert True in released
    after = OptimizedMLPClassifier(**params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(before, after)
