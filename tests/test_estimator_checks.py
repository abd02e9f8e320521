"""scikit-learn's own estimator checks, on small fast settings."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skoptnn import OptimizedMLPClassifier, OptimizedMLPRegressor

FAST = dict(n_layers=1, units=16, epochs=40, batch_size=16, learning_rate=0.01, random_state=0)

# Mini-batch SGD sees a point with weight 2 once per epoch with a doubled
# gradient, and a duplicated point twice in different batches: the two
# trajectories differ. With one full batch and no shuffling they agree to about
# 2e-7, float32 rounding, still above the check's rtol of 1e-7;
# test_sample_weight.py checks that case to 1e-4. (Weight 0 is exact: such rows
# are dropped before training.)
_SAMPLE_WEIGHT_REASON = (
    "mini-batch training in float32: weight 2 is not the same optimisation path as a "
    "duplicated row, and float32 cannot match to rtol 1e-7"
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
