import io
import warnings

import numpy as np
import pytest
from scipy.optimize import OptimizeResult
from sklearn.datasets import load_iris, make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skopt import BayesSearchCV
from skopt.callbacks import DeadlineStopper
from skopt.space import Categorical, Integer

from skoptnn import DivergenceWarning, OptimizedMLPClassifier
from skoptnn.search import ProgressCallback, trials_dataframe
from skoptnn.spaces import classifier_space

STEP = "optimizedmlpclassifier"
SCORE_COLUMNS = ["rank", "mean_test_score", "std_test_score", "mean_fit_time"]


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=160, n_features=6, n_informative=4,
                               random_state=0)
    return X, y


def _pipeline(**params):
    params = {"epochs": 5, "random_state": 0, **params}
    return make_pipeline(StandardScaler(), OptimizedMLPClassifier(**params))


def _search(space, n_iter=4, **kwargs):
    return BayesSearchCV(_pipeline(), space, n_iter=n_iter, cv=2, random_state=0, **kwargs)


def test_bayes_search_over_a_pipeline_with_a_prefixed_space(data):
    space = classifier_space(prefix=STEP, include=["units", "n_layers", "optimizer"],
                             n_layers=Integer(1, 2), units=Integer(4, 16))
    progress = ProgressCallback(4, file=io.StringIO())
    search = _search(space).fit(*data, callback=progress)

    assert set(search.best_params_) == {f"{STEP}__units", f"{STEP}__n_layers",
                                        f"{STEP}__optimizer"}
    assert np.isfinite(search.best_score_)
    assert progress.n_done_ == 4
    assert progress.best_score_ == pytest.approx(search.best_score_)

    trials = trials_dataframe(search)
    assert list(trials.columns) == SCORE_COLUMNS + ["n_layers", "optimizer", "units"]
    assert len(trials) == 4
    assert trials.index.name == "trial"
    assert list(trials["rank"]) == sorted(trials["rank"])
    assert trials["mean_test_score"].iloc[0] == pytest.approx(search.best_score_)
    assert trials_dataframe(search, strip_prefix=False).columns[4].startswith(STEP + "__")


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_diverging_configuration_is_scored_but_not_picked(data, n_jobs):
    # sgd at learning rate 1e3 without clipping blows up on the first epoch.
    space = {
        f"{STEP}__learning_rate": Categorical([0.01, 1e3]),
        f"{STEP}__units": Integer(4, 8),
    }
    search = BayesSearchCV(
        # Unsmoothed: the score gap between the candidates this test was set up with.
        _pipeline(optimizer="sgd", label_smoothing=0.0), space, n_iter=5, cv=2, random_state=0,
        n_jobs=n_jobs
    )
    # scikit-learn sends the search, callbacks included, to worker processes:
    # the bar (here on an unpicklable stream) must not go with it.
    progress = ProgressCallback(5, file=io.StringIO())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        search.fit(*data, callback=progress)

    assert progress.n_done_ == 5 and "5/5" in progress._bar.fp.getvalue()
    trials = trials_dataframe(search)
    assert (trials["learning_rate"] == 1e3).any(), "the diverging point was not tried"
    assert np.isfinite(trials["mean_test_score"]).all()
    assert search.best_params_[f"{STEP}__learning_rate"] == 0.01
    assert trials.loc[trials["learning_rate"] == 1e3, "rank"].min() > 1


def test_same_random_state_gives_the_same_search(data):
    space = classifier_space(prefix=STEP, include=["units", "dropout"], units=Integer(4, 16))
    first = _search(space, n_iter=3).fit(*data)
    second = _search(space, n_iter=3).fit(*data)
    assert first.best_params_ == second.best_params_
    assert first.cv_results_["params"] == second.cv_results_["params"]


def test_trials_dataframe_of_a_grid_search():
    X, y = load_iris(return_X_y=True)
    grid = {"logisticregression__C": [0.001, 1.0, 10.0]}
    search = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression()), grid, cv=3)
    trials = trials_dataframe(search.fit(X, y))
    assert list(trials.columns) == SCORE_COLUMNS + ["C"]
    assert trials["C"].iloc[-1] == 0.001
    assert trials["mean_test_score"].is_monotonic_decreasing


def test_trials_dataframe_keeps_prefixes_when_names_collide():
    from sklearn.base import BaseEstimator

    class Dummy(BaseEstimator):
        pass

    class Fake:
        cv_results_ = {
            "params": [{"a__alpha": 1, "b__alpha": 2}],
            "rank_test_score": [1], "mean_test_score": [0.5], "std_test_score": [0.0],
            "mean_fit_time": [0.1],
        }

    assert list(trials_dataframe(Fake()).columns)[4:] == ["a__alpha", "b__alpha"]
    with pytest.raises(ValueError, match="no cv_results_.*call fit"):
        trials_dataframe(GridSearchCV(Dummy(), {}))
    with pytest.raises(ValueError, match="LogisticRegression has no cv_results_"):
        trials_dataframe(LogisticRegression())


def test_progress_callback_counts_batches_and_tracks_the_best():
    out = io.StringIO()
    progress = ProgressCallback(5, file=out)
    space = object()
    # BayesSearchCV(n_points=2): one call per batch, objective = -score.
    assert progress(OptimizeResult(x_iters=[[1], [2]], fun=-0.7, space=space)) is False
    assert progress(OptimizeResult(x_iters=[[1], [2], [3], [4]], fun=-0.9, space=space)) is False
    assert (progress.n_done_, progress.best_score_) == (4, 0.9)
    progress(OptimizeResult(x_iters=[[1]] * 5, fun=-0.8, space=space))
    assert progress.n_done_ == 5 and progress.best_score_ == 0.9
    assert "5/5" in out.getvalue() and "best=0.9000" in out.getvalue()
    assert progress.elapsed_ >= 0


def test_progress_callback_with_a_deadline(data):
    space = {f"{STEP}__units": Integer(4, 8)}
    progress = ProgressCallback(50, file=io.StringIO())
    search = _search(space, n_iter=50)
    search.fit(*data, callback=[progress, DeadlineStopper(total_time=0.01)])
    assert progress.n_done_ == len(search.cv_results_["params"]) < 50


def test_regressor_space_drives_a_search_of_the_regressor():
    from sklearn.datasets import make_regression

    from skoptnn import OptimizedMLPRegressor
    from skoptnn.spaces import regressor_space

    X, y = make_regression(n_samples=120, n_features=4, noise=1.0, random_state=0)
    space = regressor_space(prefix="optimizedmlpregressor", include=["loss", "units"],
                            units=Integer(4, 8))
    search = BayesSearchCV(
        make_pipeline(StandardScaler(), OptimizedMLPRegressor(epochs=5, random_state=0)),
        space, n_iter=2, cv=2, random_state=0,
    ).fit(X, y)
    assert search.best_params_["optimizedmlpregressor__loss"] in {"mse", "mae", "huber"}
    assert list(trials_dataframe(search).columns)[4:] == ["loss", "units"]


def test_trials_dataframe_multi_metric_without_refit():
    X, y = load_iris(return_X_y=True)
    search = GridSearchCV(LogisticRegression(max_iter=500), {"C": [0.01, 1.0]}, cv=3,
                          scoring={"acc": "accuracy", "bal": "balanced_accuracy"}, refit=False)
    search.fit(X, y)
    with pytest.raises(ValueError, match="choose one of acc, bal"):
        trials_dataframe(search)
    trials = trials_dataframe(search, metric="bal")
    np.testing.assert_array_equal(trials["mean_test_score"],
                                  np.sort(search.cv_results_["mean_test_bal"])[::-1])


@pytest.mark.parametrize("n_iter", [0, -3, 2.5, "5", None, True])
def test_progress_callback_checks_n_iter(n_iter):
    with pytest.raises(ValueError, match="n_iter must be an int >= 1"):
        ProgressCallback(n_iter, file=io.StringIO())


def test_progress_callback_owns_the_total():
    with pytest.raises(TypeError, match="do not pass total"):
        ProgressCallback(5, total=3, file=io.StringIO())


def test_progress_callback_keeps_each_subspace_alive():
    # Subspaces are told apart by id(); a freed one could hand its id to the
    # next, which would then be counted from the old one's total.
    import gc
    import weakref

    class Space:
        pass

    progress = ProgressCallback(10, file=io.StringIO())
    space = Space()
    alive = weakref.ref(space)
    progress(OptimizeResult(space=space, x_iters=[[1], [2]], fun=-0.5))
    del space
    gc.collect()
    assert alive() is not None
    progress(OptimizeResult(space=Space(), x_iters=[[1]], fun=-0.6))
    assert progress.n_done_ == 3
