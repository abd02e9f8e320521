"""scikit-learn's own estimator checks, on small fast settings."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skoptnn import OptimizedMLPClassifier, OptimizedMLPRegressor

FAST = dict(n_layers=1, units=16, epochs=40, batch_size=16, learning_rate=0.01, random_state=0)

# Mini-batch SGD sees a point with weight 2 once per epoch with a doubled
# gradient, and a duplicated point twice in different batches: the two
# trajectories differ, so predictions cannot match to 1e-7. (Weight 0 is exact:
# such rows are dropped before training.)
_SAMPLE_WEIGHT_REASON = (
    "stochastic mini-batch training: weight 2 is not the same optimisation path as a "
    "duplicated row"
)


def _expected_failures(estimator):
    return {
        "check_sample_weight_equivalence_on_dense_data": _SAMPLE_WEIGHT_REASON,
        "check_sample_weight_equivalence_on_sparse_data": _SAMPLE_WEIGHT_REASON,
    }


@parametrize_with_checks(
    [OptimizedMLPClassifier(**FAST), OptimizedMLPRegressor(**FAST)],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
