"""ResumableBayesSearchCV: a search killed part-way continues where it stopped.

Most tests use Ridge, whose fits are deterministic and instant, so that an
interrupted-then-resumed search can be compared with an uninterrupted one
number for number; one runs a skoptnn pipeline.
"""

import json

import numpy as np
import pytest
from conftest import Interrupt, interrupt_after
from sklearn.base import clone
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from skopt.space import Categorical, Real

from skoptnn import ResumableBayesSearchCV
from skoptnn.search.checkpoint import Checkpoint, atomic_path

# The Gaussian process's many tiny BLAS calls run faster on one thread.
pytestmark = pytest.mark.usefixtures("one_blas_thread")

SPACE = {"alpha": Real(1e-3, 1e2, prior="log-uniform"), "fit_intercept": Categorical([True, False])}
FITS = []


class CountingRidge(Ridge):
    """Ridge that records every fit, to tell which trials ran."""

    def fit(self, X, y, sample_weight=None):
        FITS.append(self.alpha)
        return super().fit(X, y, sample_weight)


@pytest.fixture(scope="module")
def data():
    return load_diabetes(return_X_y=True)


def _search(path, n_iter, **kwargs):
    return ResumableBayesSearchCV(CountingRidge(), SPACE, n_iter=n_iter, cv=3, random_state=0,
                                  checkpoint=path, **kwargs)


def test_an_interrupted_search_resumes_to_the_uninterrupted_result(data, tmp_path):
    X, y = data
    # 12 trials: past the 10 random initial points, so the Gaussian process is replayed too.
    full = _search(tmp_path / "full.json", 12).fit(X, y)
    path = tmp_path / "part.json"
    with pytest.raises(Interrupt):
        _search(path, 12).fit(X, y, callback=interrupt_after(5))
    saved = Checkpoint.load(path).trials
    assert len(saved) == 5

    FITS.clear()
    resumed = _search(path, 12).fit(X, y)
    assert resumed.n_resumed_trials_ == 5
    assert len(FITS) == 7 * 3 + 1  # the 7 new trials' folds and the refit: nothing rerun
    a, b = full.cv_results_, resumed.cv_results_
    assert a["params"][0] == {"alpha": 1.0, "fit_intercept": True}  # Ridge's defaults first
    assert b["params"] == a["params"]
    np.testing.assert_array_equal(b["mean_test_score"], a["mean_test_score"])
    np.testing.assert_array_equal(b["rank_test_score"], a["rank_test_score"])
    assert resumed.best_params_ == full.best_params_ and resumed.best_index_ == full.best_index_
    assert resumed.optimizer_results_[0].x_iters == full.optimizer_results_[0].x_iters
    # The finished trials' records are the interrupted run's, fit times included.
    assert Checkpoint.load(path).trials[:5] == saved
    np.testing.assert_array_equal(b["mean_fit_time"][:5],
                                  [np.mean([r["fit_time"] for r in t["out"]]) for t in saved])


def test_each_subspace_starts_from_the_defaults_and_resumes(data, tmp_path):
    X, y = data
    spaces = [(SPACE, 3), ({"alpha": Real(5.0, 10.0), "solver": Categorical(["svd", "lsqr"])}, 3)]

    def search(path):
        return ResumableBayesSearchCV(CountingRidge(), spaces, cv=3, random_state=0,
                                      checkpoint=path)

    full = search(tmp_path / "full.json").fit(X, y)
    params = full.cv_results_["params"]
    assert params[0] == {"alpha": 1.0, "fit_intercept": True}
    # alpha=1 clipped to the bounds; solver="auto" is no category: drawn.
    assert params[3]["alpha"] == 5.0 and params[3]["solver"] in ("svd", "lsqr")
    assert [len(o.Xi) for o in full.optimizers_] == [3, 3]
    path = tmp_path / "part.json"

    def after_the_second_defaults(result):
        if result.space.dimensions[-1].name == "solver":
            raise Interrupt

    with pytest.raises(Interrupt):
        search(path).fit(X, y, callback=after_the_second_defaults)
    resumed = search(path).fit(X, y)
    assert resumed.n_resumed_trials_ == 4
    assert resumed.cv_results_["params"] == params
    np.testing.assert_array_equal(resumed.cv_results_["mean_test_score"],
                                  full.cv_results_["mean_test_score"])


def test_every_trial_in_the_checkpoint_refits_only(data, tmp_path):
    X, y = data
    path = tmp_path / "s.json"
    first = _search(path, 4).fit(X, y)
    FITS.clear()
    again = _search(path, 4).fit(X, y)
    assert FITS == [first.best_params_["alpha"]]  # the refit, no trial
    assert again.n_resumed_trials_ == 4
    assert again.cv_results_["params"] == first.cv_results_["params"]
    assert again.best_score_ == first.best_score_
    assert again.score(X, y) == first.score(X, y)
    assert len(again.optimizer_results_[0].x_iters) == 4
    # A smaller n_iter takes the first trials, as a shorter search would have run them.
    shorter = _search(path, 2).fit(X, y)
    assert shorter.cv_results_["params"] == first.cv_results_["params"][:2]
    # A larger one extends the search.
    FITS.clear()
    longer = _search(path, 6).fit(X, y)
    assert longer.cv_results_["params"][:4] == first.cv_results_["params"]
    assert len(longer.cv_results_["params"]) == 6 and len(FITS) == 2 * 3 + 1


def test_a_resume_with_other_data_or_settings_is_refused(data, tmp_path):
    X, y = data
    path = tmp_path / "s.json"
    _search(path, 2).fit(X, y)
    with pytest.raises(ValueError, match=r"these differ: X \(other data than the checkpoint's\)"):
        _search(path, 3).fit(X[:-1], y[:-1])
    with pytest.raises(ValueError, match=r"cv \(3 in the checkpoint, 4 now\)"):
        _search(path, 3).set_params(cv=4).fit(X, y)
    with pytest.raises(ValueError, match=r"estimator parameter solver \('auto' in the "):
        _search(path, 3).set_params(estimator__solver="svd").fit(X, y)
    other_space = {**SPACE, "alpha": Real(1e-2, 1e2, prior="log-uniform")}
    with pytest.raises(ValueError, match="search-space dimension alpha"):
        _search(path, 3).set_params(search_spaces=other_space).fit(X, y)
    with pytest.raises(ValueError, match=r"scoring \(None in the checkpoint, 'r2' now\)"):
        _search(path, 3, scoring="r2").fit(X, y)
    # resume=False starts over, overwriting the checkpoint.
    fresh = _search(path, 2, resume=False).fit(X[:-1], y[:-1])
    assert fresh.n_resumed_trials_ == 0
    assert _search(path, 2).fit(X[:-1], y[:-1]).n_resumed_trials_ == 2

    (tmp_path / "other.json").write_text('{"not": "a checkpoint"}')
    with pytest.raises(ValueError, match="is not a search checkpoint written by skoptnn"):
        _search(tmp_path / "other.json", 2).fit(X, y)


def test_multimetric_scoring_and_train_scores_resume(data, tmp_path):
    X, y = data
    kwargs = dict(scoring=["r2", "neg_mean_absolute_error"], refit="r2", return_train_score=True)
    full = _search(tmp_path / "full.json", 4, **kwargs).fit(X, y)
    path = tmp_path / "part.json"
    with pytest.raises(Interrupt):
        _search(path, 4, **kwargs).fit(X, y, callback=interrupt_after(2))
    resumed = _search(path, 4, **kwargs).fit(X, y)
    for key in ("mean_test_r2", "mean_test_neg_mean_absolute_error", "mean_train_r2",
                "rank_test_r2", "split1_test_r2"):
        np.testing.assert_array_equal(resumed.cv_results_[key], full.cv_results_[key])
    assert resumed.best_params_ == full.best_params_
    # Rebuilt from the checkpoint alone, scorers included.
    done = _search(path, 4, **kwargs).fit(X, y)
    assert done.multimetric_ and set(done.scorer_) == {"r2", "neg_mean_absolute_error"}
    assert done.score(X, y) == full.score(X, y)
    np.testing.assert_array_equal(done.cv_results_["mean_train_r2"],
                                  full.cv_results_["mean_train_r2"])


@pytest.mark.parametrize("kwargs", [
    {"return_train_score": True},
    {"scoring": ["r2", "neg_mean_absolute_error"], "refit": "neg_mean_absolute_error",
     "return_train_score": True},
    {"refit": False},
], ids=["single", "multimetric-refit-name", "no-refit"])
def test_a_search_rebuilt_from_its_checkpoint_is_the_search_that_wrote_it(data, tmp_path,
                                                                           kwargs):
    # Every trial in the checkpoint: the fit runs none, and must end as scikit-learn's
    # BaseSearchCV.fit (and BayesSearchCV.fit after it) ended the search that wrote it.
    X, y = data
    path = tmp_path / "s.json"
    full = _search(path, 4, **kwargs).fit(X, y)
    FITS.clear()
    done = _search(path, 4, **kwargs).fit(X, y)
    assert done.n_resumed_trials_ == 4 and len(FITS) == (1 if kwargs.get("refit", True) else 0)
    a, b = full.cv_results_, done.cv_results_
    assert sorted(b) == sorted(a)  # rank_train_* too
    assert b["params"] == a["params"]
    for key in set(a) - {"params"}:
        np.testing.assert_array_equal(b[key], a[key], err_msg=key)
    fitted = {name for name in vars(full) if name.endswith("_") and not name.startswith("_")}
    assert {name for name in vars(done) if name.endswith("_") and not name.startswith("_")} \
        == fitted
    for name in ("best_index_", "best_score_", "best_params_", "multimetric_", "n_splits_"):
        if name in fitted:
            assert getattr(done, name) == getattr(full, name), name
    for name in {"best_index_", "best_score_"} & fitted:  # numpy's, as scikit-learn's
        assert type(getattr(done, name)) is type(getattr(full, name)), name
    if isinstance(full.scorer_, dict):
        assert done.scorer_.keys() == full.scorer_.keys()
    if full.refit:
        assert done.score(X, y) == full.score(X, y)


def test_a_callable_refit_is_refused_as_by_bayes_search_cv(data, tmp_path):
    # skopt's BayesSearchCV.fit refuses one before any trial ("it doesn't define an
    # implicit score to optimize"); refit is in the fingerprint, so no checkpoint of
    # another refit lets a callable one through.
    X, y = data
    path = tmp_path / "s.json"
    with pytest.raises(ValueError, match="doesn't support a callable refit"):
        _search(path, 2, refit=lambda results: 0).fit(X, y)
    assert not path.exists()
    _search(path, 2).fit(X, y)
    with pytest.raises(ValueError, match=r"these differ: refit \(True in the checkpoint"):
        _search(path, 2, refit=lambda results: 0).fit(X, y)


def test_a_fitted_search_pickles_under_its_public_name(data, tmp_path):
    import pickle

    X, y = data
    search = _search(tmp_path / "s.json", 2).fit(X, y)
    # Pickles of before the split name the class skoptnn.search.ResumableBayesSearchCV.
    old = pickle.dumps(search, protocol=2).replace(b"skoptnn.search.resumable\n",
                                                   b"skoptnn.search\n")
    assert b"cskoptnn.search\nResumableBayesSearchCV\n" in old
    for blob in (pickle.dumps(search), old):
        back = pickle.loads(blob)
        assert type(back) is ResumableBayesSearchCV and back.score(X, y) == search.score(X, y)


def test_a_skoptnn_pipeline_resumes(binary_data, tmp_path):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skoptnn import OptimizedMLPClassifier, classifier_space

    X, y = binary_data
    pipe = make_pipeline(StandardScaler(), OptimizedMLPClassifier(epochs=3, early_stopping=True,
                                                                  random_state=0))
    space = classifier_space(prefix="optimizedmlpclassifier", include=["units", "learning_rate"])
    path = tmp_path / "s.json"

    def search():
        return ResumableBayesSearchCV(pipe, space, n_iter=3, cv=2, random_state=0,
                                      checkpoint=path)

    with pytest.raises(Interrupt):
        search().fit(X, y, callback=interrupt_after(2))
    resumed = search().fit(X, y)
    assert resumed.n_resumed_trials_ == 2 and len(resumed.cv_results_["params"]) == 3
    assert resumed.score(X, y) > 0.5
    # Each fold's key, for its own pruning thresholds: one per fold, the same in every trial.
    trials = Checkpoint.load(path).trials
    keys = [[fold["pruning"]["fold_key"] for fold in trial["out"]] for trial in trials]
    assert len(set(keys[0])) == 2 and all(k == keys[0] for k in keys)


def test_checkpoint_is_json_lines_and_needs_no_file(data, tmp_path):
    X, y = data
    search = _search(tmp_path / "s.json", 2)
    assert clone(search).get_params()["checkpoint"] == tmp_path / "s.json"
    search.fit(X, y)
    header, *steps = map(json.loads, (tmp_path / "s.json").read_text().splitlines())
    trials = [trial for step in steps for trial in step]  # a line per step (n_points=1: 1)
    assert header["format"] == "skoptnn-search-checkpoint" and len(trials) == len(steps) == 2
    assert {"x", "y", "out", "subspace", "step"} <= set(trials[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]  # no temporary files left
    # Without a checkpoint it is a plain BayesSearchCV.
    assert len(_search(None, 2).fit(X, y).cv_results_["params"]) == 2
    with pytest.raises(ValueError, match="does not exist; create it first"):
        _search(tmp_path / "no" / "s.json", 2).fit(X, y)


def test_atomic_path_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]
    with atomic_path(path) as tmp:
        tmp.write_text("new")
    assert path.read_text() == "new"
