"""sample_weight means what it means in scikit-learn: a weight of k is k copies."""

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression

from skoptnn import OptimizedMLPClassifier, OptimizedMLPRegressor

# One full batch, no shuffling: the only way a weighted and a repeated data set
# can take the same optimisation path (with mini-batches they agree only in
# expectation, see test_estimator_checks.py).
FULL_BATCH = dict(n_layers=1, units=8, epochs=25, batch_size=4096, shuffle=False,
                  learning_rate=0.01, random_state=0)


def _data(kind):
    if kind == "classifier":
        X, y = make_classification(n_samples=60, n_features=4, random_state=0)
        return OptimizedMLPClassifier, X, y
    X, y = make_regression(n_samples=60, n_features=4, noise=5.0, random_state=0)
    # Heavy rows far from the rest: the target's scale must weigh them too.
    y[:5] += 300.0
    return OptimizedMLPRegressor, X, y


def _outputs(est, X):
    return est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_integer_weights_equal_repeated_rows(kind):
    Est, X, y = _data(kind)
    weights = np.r_[np.full(5, 4), np.ones(len(y) - 5)].astype(int)
    weighted = Est(**FULL_BATCH).fit(X, y, sample_weight=weights)
    repeated = Est(**FULL_BATCH).fit(np.repeat(X, weights, axis=0), np.repeat(y, weights))
    unweighted = Est(**FULL_BATCH).fit(X, y)
    np.testing.assert_allclose(_outputs(weighted, X), _outputs(repeated, X), rtol=1e-4, atol=1e-4)
    # ...and the weights did change the fit, so the comparison above means something.
    assert np.abs(_outputs(weighted, X) - _outputs(unweighted, X)).max() > 1e-2


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_only_the_ratios_of_the_weights_matter(kind):
    # The loss is the weighted mean: scaling every weight must not scale the
    # data term against the L2 penalty (default l2 > 0 here).
    Est, X, y = _data(kind)
    weights = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    small = Est(**{**FULL_BATCH, "batch_size": 16, "shuffle": True})
    a = small.fit(X, y, sample_weight=weights).predict(X)
    b = small.fit(X, y, sample_weight=1000.0 * weights).predict(X)
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_huge_class_weight_times_sample_weight_keeps_its_ratios():
    # Both within their limits; their product is beyond float32, its ratios are not.
    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    sw = np.full(len(y), 100.0)
    huge = OptimizedMLPClassifier(**FULL_BATCH, class_weight={0: 1e37, 1: 3e37})
    small = OptimizedMLPClassifier(**FULL_BATCH, class_weight={0: 1.0, 1: 3.0})
    np.testing.assert_allclose(huge.fit(X, y, sample_weight=sw).predict_proba(X),
                               small.fit(X, y).predict_proba(X), rtol=1e-5, atol=1e-6)
