"""Fits in concurrent threads share one compiled loop and train exactly as alone.

joblib's threading backend runs a search's fits in threads of one process;
skoptnn's compiled loop is a pure function of its inputs, so the threads call
one traced graph at once (see ``skoptnn.engine.loop``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from joblib import parallel_backend
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV

from skoptnn import OptimizedMLPClassifier
from skoptnn.engine import cache as _cache
from skoptnn.engine.cache import clear_cache

SETTINGS = [
    {"dropout": 0.1, "random_state": 0},
    {"dropout": 0.3, "random_state": 1, "early_stopping": True},
    {"dropout": 0.2, "random_state": 2, "l2": 0.1},
    {"dropout": 0.4, "random_state": 3, "early_stopping": True},
]


@pytest.fixture(scope="module")
def data():
    return make_classification(n_samples=240, n_features=8, random_state=0)


def _fit(data, setting):
    X, y = data
    return OptimizedMLPClassifier(hidden_layer_sizes=(16, 8), epochs=15, **setting).fit(X, y)


def test_concurrent_fits_match_sequential_ones(data):
    clear_cache()
    alone = [_fit(data, s) for s in SETTINGS]
    clear_cache()
    traced = _cache.traced_graphs()
    with ThreadPoolExecutor(max_workers=2) as pool:
        together = list(pool.map(lambda s: _fit(data, s), SETTINGS))
    for a, b in zip(alone, together, strict=True):
        assert a.history_ == b.history_
        for wa, wb in zip(a.model_.get_weights(), b.model_.get_weights(), strict=True):
            np.testing.assert_array_equal(wa, wb)

    # One graph key, traced once however many threads ran it.
    assert len(_cache.cached_keys()) == 1
    assert _cache.traced_graphs() - traced == 1


def test_threaded_search_scores_like_a_serial_one(data):
    X, y = data
    search = GridSearchCV(
        OptimizedMLPClassifier(hidden_layer_sizes=(8,), epochs=10, random_state=0),
        {"dropout": [0.0, 0.3], "learning_rate": [0.01, 0.05]}, cv=2,
    )
    serial = search.fit(X, y).cv_results_["mean_test_score"]
    with parallel_backend("threading", n_jobs=2):
        threaded = search.set_params(n_jobs=2).fit(X, y).cv_results_["mean_test_score"]
    np.testing.assert_array_equal(serial, threaded)


FAST = dict(hidden_layer_sizes=(8,), epochs=3, random_state=0)


def test_a_second_fit_of_the_same_instance_is_refused(data):
    from skoptnn.base import guard

    X, y = data
    est = OptimizedMLPClassifier(**FAST).fit(X, y)
    before = est.predict_proba(X)
    guard._fitting.add(id(est))  # as if another thread were inside est.fit
    try:
        with pytest.raises(RuntimeError, match="already running on this instance"):
            est.fit(X, y[::-1].copy())
    finally:
        guard._fitting.discard(id(est))
    np.testing.assert_array_equal(est.predict_proba(X), before)  # the running fit's state
    est.fit(X, y)  # and the instance is usable again afterwards


def _fit_in_child(queue, X, y):
    try:
        OptimizedMLPClassifier(**FAST).fit(X, y)
        queue.put("fitted")
    except Exception as exc:  # noqa: BLE001 - the child reports whatever happened
        queue.put(f"{type(exc).__name__}: {exc}")


def test_a_forked_child_is_told_why_it_cannot_train(data):
    import multiprocessing

    X, y = data
    OptimizedMLPClassifier(**FAST).fit(X, y)  # TensorFlow running in this process
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_fit_in_child, args=(queue, X, y))
    child.start()
    try:
        message = queue.get(timeout=60)  # before the fix: a hang, never a message
    finally:
        child.join(timeout=10)
        if child.is_alive():
            child.kill()
    assert message.startswith("RuntimeError: skoptnn cannot train or predict in a process "
                              "forked after it had run TensorFlow")


def test_a_fork_after_a_mere_import_trains():
    # A script's top-level import, or a forkserver's preload, forks before any
    # TensorFlow op has run: that child can train.
    import subprocess
    import sys

    code = (
        "import multiprocessing as mp\n"
        "from skoptnn import OptimizedMLPClassifier\n"
        "def fit(q):\n"
        "    OptimizedMLPClassifier(epochs=1).fit([[0.0], [1.0], [2.0], [3.0]], [0, 1, 0, 1])\n"
        "    q.put('fitted')\n"
        "if __name__ == '__main__':\n"
        "    ctx = mp.get_context('fork'); q = ctx.Queue()\n"
        "    p = ctx.Process(target=fit, args=(q,)); p.start()\n"
        "    print(q.get(timeout=90)); p.join()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=150)
    assert out.stdout.strip() == "fitted", out.stderr[-2000:]
