"""ResumableBayesSearchCV's defaults-first trial and its pruning of hopeless fits.

The estimator here is a stand-in that follows skoptnn's pruning contract (see
skoptnn/engine/pruning.py) with a validation curve set by its parameters, so that
which trial is pruned, and where, can be worked out by hand; its fits are
instant.
"""

import json
import warnings

import numpy as np
import pytest
from conftest import Interrupt, interrupt_after
from sklearn.base import BaseEstimator
from sklearn.linear_model import Ridge
from sklearn.metrics import make_scorer
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from skopt.space import Categorical, Integer, Real

from skoptnn import ResumableBayesSearchCV
from skoptnn.engine.pruning import PruningSchedule, fold_key
from skoptnn.search import trials_dataframe
from skoptnn.search.checkpoint import Checkpoint
from skoptnn.search.pruning import thresholds_by_fold

RUNGS = (2, 4, 8)
EPOCHS = 10
# Curve's level on the two folds of X (cv=2): the smallest training value over 40.
LEVELS = (0.5, 0.0)
FITS = []


class Curve(BaseEstimator):
    """Validation accuracy ``quality * e / (e + 3) + level`` after epoch ``e``.

    Pruned as skoptnn's fits are: with a schedule and ``early_stopping``, it
    sets ``_fold_key`` and checks the thresholds of its fold. ``level`` is the
    smallest value of the training rows over 40, so that folds differ in
    level as real ones do (see :data:`LEVELS`). ``self_prune`` stops at the
    first rung whatever the threshold, as no search would; ``fail`` makes the
    fit on the second fold's training rows raise.
    """

    _metric = "accuracy"

    def __init__(self, quality=0.5, epochs=EPOCHS, kind=None, self_prune=False, fail=False,
                 early_stopping=True):
        # Stored as given, as scikit-learn requires (get_params reads them back).
        vars(self).update(quality=quality, epochs=epochs, kind=kind, self_prune=self_prune,
                          fail=fail, early_stopping=early_stopping)

    def fit(self, X, y=None, pruning=None):
        FITS.append(pruning)
        if self.fail and X[0, 0] == 0:
            raise ValueError("this configuration fails")
        self.pruned_epoch_ = None
        self.__dict__.pop("_fold_key", None)
        thresholds = ()
        if pruning is not None and self.early_stopping:
            self._fold_key = fold_key(X, y)
            thresholds = pruning.thresholds_for(self._fold_key)
        level = float(np.min(X)) / 40
        history = []
        for epoch in range(1, self.epochs + 1):
            history.append(self.quality * epoch / (epoch + 3) + level)
            if not thresholds or epoch not in pruning.rungs:
                continue
            threshold = thresholds[pruning.rungs.index(epoch)]
            if self.self_prune or max(history) < threshold:
                self.pruned_epoch_ = epoch
                break
        # The classifier's pruning watches the validation loss: lower is better.
        self.history_ = {"loss": [0.0] * len(history), "val_loss": [-h for h in history]}
        self.n_epochs_ = len(history)
        return self

    def predict(self, X):
        return np.zeros(len(X))

    def score(self, X, y=None):
        return -min(self.history_["val_loss"])  # the best weights are kept


X, Y = np.arange(40.0).reshape(20, 2), np.zeros(20)
SPACE = {"quality": Real(0.1, 1.0)}




def _search(estimator=None, space=SPACE, n_iter=12, **kwargs):
    kwargs = {"cv": 2, "random_state": 0, "prune_rungs": RUNGS, **kwargs}
    return ResumableBayesSearchCV(Curve() if estimator is None else estimator, space,
                                  n_iter=n_iter, **kwargs)


def _rounds(n_iter, n_points):
    """The size of each round: the defaults alone, then batches of n_points."""
    sizes, left = [1], n_iter - 1
    while left > 0:
        sizes.append(min(n_points, left))
        left -= sizes[-1]
    return sizes


def _expected_pruned_epochs(qualities, sizes, pooled=False):
    """The median rule worked out directly on the curves, round by round, fold by fold.

    ``pooled`` compares each fold with the median of fold-averaged values
    instead of the same fold's (what the search did before per-fold thresholds).
    """
    epochs = np.arange(1, EPOCHS + 1)
    n_folds, n_rungs = len(LEVELS), len(RUNGS)
    finished, pruned_at = [], []  # per finished trial and fold: its value at each rung
    start = 0
    for size in sizes:
        values = np.array(finished).reshape(len(finished), n_folds, n_rungs)
        if pooled:
            values = np.repeat(values.mean(axis=1, keepdims=True), n_folds, axis=1)
        thresholds = np.full((n_folds, n_rungs), np.nan)
        for f in range(n_folds):
            for i in range(1, n_rungs):
                finite = values[np.isfinite(values[:, f, i]), f, i]
                if len(finite) >= 5:
                    thresholds[f, i] = np.median(finite)
        for q in qualities[start:start + size]:
            stops, rows = [], []
            for f, level in enumerate(LEVELS):
                curve = q * epochs / (epochs + 3) + level
                stop = next((r for r, t in zip(RUNGS, thresholds[f], strict=True)
                             if curve[r - 1] < t), None)
                stops.append(stop)
                rows.append([curve[min(r, EPOCHS) - 1] if stop is None or r <= stop else np.nan
                             for r in RUNGS])
            pruned_at.append(min((s for s in stops if s is not None), default=None))
            finished.append(rows)
        start += size
    return pruned_at


@pytest.fixture(autouse=True)
def _one_blas_thread():
    # The Gaussian process's many tiny BLAS calls run faster on one thread.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        yield


# -- defaults first -------------------------------------------------------------------
def test_the_first_trial_is_the_estimators_own_configuration():
    space = {"quality": Real(0.1, 1.0), "epochs": Integer(2, 8), "kind": Categorical(["lo", "hi"])}
    # In range: kept; out of range: clipped; None: drawn.
    search = _search(Curve(quality=0.3, epochs=50, kind=None), space, n_iter=3).fit(X, Y)
    first = search.cv_results_["params"][0]
    assert first["quality"] == 0.3 and first["epochs"] == 8 and first["kind"] in ("lo", "hi")
    assert len(search.cv_results_["params"]) == 3  # counts towards n_iter
    optimizer = search.optimizers_[0]
    assert len(optimizer.Xi) == 3 and optimizer.Xi[0] == [8, first["kind"], 0.3]
    assert optimizer.yi[0] == -search.cv_results_["mean_test_score"][0]
    # The draw is reproducible; a category the estimator has is kept.
    again = _search(Curve(quality=0.3, epochs=50, kind=None), space, n_iter=1).fit(X, Y)
    assert again.cv_results_["params"] == [first]  # n_iter=1: the defaults alone
    low = _search(Curve(quality=0.01, epochs=2, kind="hi"), space, n_iter=1).fit(X, Y)
    assert low.cv_results_["params"] == [{"quality": 0.1, "epochs": 2, "kind": "hi"}]
    # Each subspace starts from the defaults.
    two = _search(Curve(quality=0.3), [(SPACE, 2), ({"epochs": Integer(2, 8)}, 2)]).fit(X, Y)
    assert two.cv_results_["params"][0] == {"quality": 0.3}
    assert two.cv_results_["params"][2] == {"epochs": 8}
    off = _search(Curve(quality=0.3), n_iter=2, defaults_first=False).fit(X, Y)
    assert off.cv_results_["params"][0] != {"quality": 0.3}


def test_the_first_trial_reads_what_none_means_for_skoptnn_estimators():
    from sklearn.datasets import make_classification

    from skoptnn import OptimizedMLPClassifier, classifier_space

    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    pipe = Pipeline([("scale", StandardScaler()),
                     ("mlp", OptimizedMLPClassifier(epochs=1, random_state=0))])
    space = classifier_space(prefix="mlp", include=[*classifier_space(), "clipnorm"])
    search = ResumableBayesSearchCV(pipe, space, n_iter=1, cv=2, refit=False, random_state=0,
                                    prune=False).fit(X, y)
    first = {name.removeprefix("mlp__"): value
             for name, value in search.cv_results_["params"][0].items()}
    # learning_rate=None is Adam's default; no clipping (clipnorm=None) the largest clipnorm.
    assert first == {"n_layers": 2, "units": 64, "activation": "relu", "dropout": 0.0,
                     "optimizer": "adam", "learning_rate": 1e-3, "l2": 3.0,
                     "clipnorm": space["mlp__clipnorm"].high, "batch_size": 32}


# -- pruning --------------------------------------------------------------------------
@pytest.mark.parametrize("n_points", [1, 2])
def test_a_hopeless_trial_is_pruned_by_earlier_rounds(n_points):
    from joblib import parallel_backend

    FITS.clear()
    # Threads share the one schedule: its thresholds change only between rounds.
    with parallel_backend("threading"):
        search = _search(n_points=n_points, n_jobs=2).fit(X, Y)
    results = search.cv_results_
    qualities = [p["quality"] for p in results["params"]]
    expected = _expected_pruned_epochs(qualities, _rounds(12, n_points))
    pruned = results["pruned"]
    assert pruned.sum() >= 2, "too easy a test: nothing was pruned"
    assert list(pruned) == [e is not None for e in expected]
    np.testing.assert_array_equal(results["pruned_epoch"],
                                  [np.nan if e is None else e for e in expected])
    assert not pruned[:5].any()  # no threshold before 5 trials are finished
    # Honest scores: what the pruned fit reached, and that is what the optimizer was told.
    q, e = np.array(qualities), np.where(pruned, results["pruned_epoch"], EPOCHS)
    np.testing.assert_allclose(results["mean_test_score"], q * e / (e + 3) + np.mean(LEVELS))
    np.testing.assert_array_equal(results["mean_n_epochs"], e)
    np.testing.assert_array_equal(search.optimizers_[0].yi, -results["mean_test_score"])
    # Pruned trials rank after every unpruned one, so none is best.
    assert results["rank_test_score"][pruned].min() > results["rank_test_score"][~pruned].max()
    assert not pruned[search.best_index_]
    assert search.best_score_ == results["mean_test_score"][~pruned].max()
    # One schedule for all fits, never pruning the refit.
    assert all(isinstance(s, PruningSchedule) for s in FITS) and len({id(s) for s in FITS}) == 1
    assert np.isnan(FITS[-1].thresholds).all() and FITS[-1].by_fold == {}
    trials = trials_dataframe(search)
    assert list(trials.columns[:7]) == ["rank", "mean_test_score", "std_test_score",
                                        "mean_fit_time", "pruned", "pruned_epoch",
                                        "mean_n_epochs"]
    assert not trials["pruned"].iloc[0] and trials["pruned"].iloc[-1]
    assert search.score(X, Y) == search.best_estimator_.score(X, Y)  # the user's scorer again


def test_a_killed_pruning_search_resumes_as_if_never_stopped(tmp_path):
    pipe = Pipeline([("scale", StandardScaler()), ("curve", Curve())])
    space = {"curve__quality": Real(0.1, 1.0)}

    def search(path):
        return _search(pipe, space, n_iter=12, n_points=2, checkpoint=path)

    full = search(tmp_path / "full.json").fit(X, Y)
    path = tmp_path / "part.json"
    with pytest.raises(Interrupt):
        search(path).fit(X, Y, callback=interrupt_after(7))
    saved = Checkpoint.load(path).trials
    assert len(saved) == 7 and saved[0]["out"][0]["pruning"]["rungs"][0] > 0
    keys = [[fold["pruning"]["fold_key"] for fold in trial["out"]] for trial in saved]
    assert all(k == keys[0] and np.isfinite(k).all() for k in keys)  # JSON keeps them exact
    FITS.clear()
    resumed = search(path).fit(X, Y)
    assert resumed.n_resumed_trials_ == 7 and len(FITS) == 5 * 2 + 1  # nothing rerun
    done = search(path).fit(X, Y)  # every trial in the checkpoint: rebuilt from it
    a = full.cv_results_
    assert a["pruned"].any()
    for b in (resumed.cv_results_, done.cv_results_):
        assert b["params"] == a["params"]
        for key in ("mean_test_score", "rank_test_score", "pruned", "pruned_epoch",
                    "mean_n_epochs"):
            np.testing.assert_array_equal(b[key], a[key])
    assert resumed.best_index_ == done.best_index_ == full.best_index_


def test_multimetric_callable_scoring_and_train_scores_keep_working():
    def reached(est, X, y):
        return est.score(X, y)

    scoring = {"reached": make_scorer(lambda y, p: 0.0), "best": reached}
    search = _search(scoring=scoring, refit="best", return_train_score=True).fit(X, Y)
    results = search.cv_results_
    assert results["pruned"].any() and not results["pruned"][search.best_index_]
    assert {"mean_train_best", "rank_test_reached", "split1_test_best"} <= set(results)
    assert not any("skoptnn" in key for key in results)
    assert search.multimetric_ and set(search.scorer_) == {"reached", "best"}
    assert search.score(X, Y) == search.best_estimator_.score(X, Y)
    trials = trials_dataframe(search, metric="reached")
    assert trials["pruned"].sum() == results["pruned"].sum()

    one = _search(scoring=reached, return_train_score=True).fit(X, Y)
    assert one.cv_results_["pruned"].any() and not one.multimetric_
    np.testing.assert_array_equal(one.cv_results_["mean_test_score"],
                                  one.cv_results_["mean_train_score"])


def test_failed_fits_are_scored_as_error_score_and_rank_last():
    def shifted(est, X, y):  # every score below error_score
        return est.score(X, y) - 10

    space = {**SPACE, "fail": Categorical([False, True])}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # scikit-learn's failed-fit warnings
        # Not NaN: scikit-optimize's Gaussian process cannot be told NaN.
        search = _search(space=space, error_score=0.0, scoring=shifted).fit(X, Y)
    results = search.cv_results_
    failed = np.array([p["fail"] for p in results["params"]])
    assert failed.any() and (results["split1_test_score"][failed] == 0).all()
    # Epochs of the fits that ran.
    assert np.isfinite(results["mean_n_epochs"]).all()
    # Succeeded, then pruned, then failed, although the failed score best.
    pruned, ranks = results["pruned"] & ~failed, results["rank_test_score"]
    kept = ~pruned & ~failed
    assert pruned.any() and kept.any()
    assert results["mean_test_score"][failed].min() > results["mean_test_score"][~failed].max()
    assert ranks[kept].max() < ranks[pruned].min() and ranks[pruned].max() < ranks[failed].min()
    assert sorted(ranks) == list(range(1, len(ranks) + 1))
    assert kept[search.best_index_]


def test_when_every_trial_was_pruned_the_best_score_wins():
    # Only an estimator that prunes itself can get there: the first round runs unpruned.
    search = _search(Curve(self_prune=True), n_iter=4).fit(X, Y)
    results = search.cv_results_
    assert results["pruned"].all() and (results["pruned_epoch"] == RUNGS[0]).all()
    assert search.best_index_ == np.argmax(results["mean_test_score"])
    assert list(results["rank_test_score"]) == list(
        4 - np.argsort(np.argsort(results["mean_test_score"])))


def test_pruning_is_off_without_an_estimator_that_takes_it():
    FITS.clear()
    plain = _search(prune=False, n_iter=3).fit(X, Y)
    assert FITS == [None] * (3 * 2 + 1) and "pruned" not in plain.cv_results_
    assert list(trials_dataframe(plain).columns[4:]) == ["quality"]
    ridge = ResumableBayesSearchCV(Ridge(), {"alpha": Real(0.1, 10.0)}, n_iter=2, cv=2,
                                   random_state=0).fit(X, Y)
    assert "pruned" not in ridge.cv_results_


@pytest.mark.parametrize("rungs", [(4, 2), (4,), (), (0, 4), (4, 4), (2.0, 4), "48", 4])
def test_prune_rungs_need_two_ascending_epoch_counts(rungs):
    with pytest.raises(ValueError, match=r"prune_rungs must be at least 2 ascending epoch "
                                         r"counts >= 1 \(the first rung never prunes\)"):
        _search(prune_rungs=rungs, n_iter=1).fit(X, Y)
    _search(prune_rungs=rungs, n_iter=1, prune=False).fit(X, Y)  # unused: not checked
    assert _search(prune_rungs=[np.int64(1), 3], n_iter=1).fit(X, Y).cv_results_["pruned"].shape


def test_without_early_stopping_pruning_warns_and_is_off():
    FITS.clear()
    with pytest.warns(UserWarning, match="early_stopping=True") as caught:
        search = _search(Curve(early_stopping=False), n_iter=2).fit(X, Y)
    assert len([w for w in caught if "prune" in str(w.message)]) == 1  # once per fit
    assert "pruned" not in search.cv_results_ and FITS == [None] * (2 * 2 + 1)
    # A searched early_stopping can act, in a pipeline too: no warning.
    pipe = Pipeline([("scale", StandardScaler()), ("curve", Curve(early_stopping=False))])
    space = {"curve__quality": Real(0.1, 1.0), "curve__early_stopping": Categorical([True, False])}
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        searched = _search(pipe, space, n_iter=2).fit(X, Y)
        _search(Curve(early_stopping=False), n_iter=1, prune=False).fit(X, Y)
    assert "pruned" in searched.cv_results_


def test_thresholds_are_per_fold():
    seen = []  # the thresholds of each round, by fold key
    search = _search(n_iter=12, n_points=2)
    search.fit(X, Y, callback=lambda result: seen.append(dict(search._schedule.by_fold)))
    results = search.cv_results_
    # The folds differ in level: the first fold scores LEVELS[0] - LEVELS[1] higher.
    ran = ~results["pruned"]
    gap = results["split0_test_score"][ran] - results["split1_test_score"][ran]
    np.testing.assert_allclose(gap, LEVELS[0] - LEVELS[1])
    qualities = [p["quality"] for p in results["params"]]
    sizes = _rounds(12, 2)
    per_fold = _expected_pruned_epochs(qualities, sizes)
    assert list(results["pruned"]) == [e is not None for e in per_fold]
    # Candidates above the median on every fold: spared, where a median pooled over
    # the folds would have pruned them for their lower fold.
    pooled = _expected_pruned_epochs(qualities, sizes, pooled=True)
    spared = [p is not None and e is None for p, e in zip(pooled, per_fold, strict=True)]
    assert any(spared) and not results["pruned"][spared].any()
    # One set of thresholds per fold, keyed as the fits key their data.
    keys = [fold_key(X[train], Y[train]) for train, _ in KFold(2).split(X)]
    assert len(set(keys)) == 2 and set(seen[-1]) == set(keys) and seen[0] == {}


def test_fold_thresholds_need_five_candidates_with_a_value():
    def fold(key, rungs):
        return {"pruning": {"fold_key": key, "pruned_epoch": None, "n_epochs": 8.0,
                            "rungs": rungs}}

    assert thresholds_by_fold([], 3) == {}
    assert thresholds_by_fold([[{"pruning": None}]] * 9, 3) == {}  # failed fits
    # No key (a fit without a schedule, an older checkpoint): nothing to compare with.
    no_key = [{"pruning": {"pruned_epoch": None, "n_epochs": 8.0, "rungs": [0.1, 0.2, 0.3]}}]
    assert thresholds_by_fold([no_key] * 9 + [[fold(np.nan, [0.1, 0.2, 0.3])]] * 9, 3) == {}
    # Folds of the same data count once (as their mean); each fold has its own median;
    # a failed fold leaves the candidate's other folds counting.
    candidates = [[fold(1.0, [0.0, v, np.nan if v > 0.3 else v]), fold(1.0, [0.0, v, v]),
                   fold(2.0, [0.0, 1 + v, 1 + v])] for v in (0.1, 0.2, 0.3, 0.4)]
    assert thresholds_by_fold(candidates, 3) == {}  # 4 candidates
    candidates.append([{"pruning": None}, fold(2.0, [0.0, 1.5, 1.5])])
    found = thresholds_by_fold(candidates, 3)
    assert set(found) == {2}
    np.testing.assert_allclose(found[2], [np.nan, 1.3, 1.3])
    candidates.append([fold(1.0, [0.0, 0.5, 0.5])])
    np.testing.assert_allclose(thresholds_by_fold(candidates, 3)[1], [np.nan, 0.3, np.nan])


def test_skoptnn_fits_are_pruned():
    from sklearn.datasets import make_classification

    from skoptnn import OptimizedMLPClassifier

    X, y = make_classification(n_samples=200, n_features=6, n_informative=4, random_state=0)
    model = OptimizedMLPClassifier(epochs=6, early_stopping=True, units=8, random_state=0)
    pipe = Pipeline([("scale", StandardScaler()), ("mlp", model)])
    space = {"mlp__learning_rate": Real(1e-4, 1e-1, prior="log-uniform")}
    search = ResumableBayesSearchCV(pipe, space, n_iter=9, cv=2, random_state=0,
                                    prune_rungs=(1, 2, 4)).fit(X, y)
    results = search.cv_results_
    pruned = results["pruned"]
    assert pruned[5:].any() and not pruned[:5].any()
    assert set(results["pruned_epoch"][pruned]) <= {2, 4}  # no threshold at the first rung
    assert (results["mean_n_epochs"][pruned] < 6).all()
    assert not pruned[search.best_index_]
    assert search.best_estimator_[-1].pruned_epoch_ is None  # the refit ran to the end


# -- checkpoints ----------------------------------------------------------------------
def test_a_checkpoint_of_an_earlier_format_is_refused_with_the_reason(tmp_path):
    path = tmp_path / "old.json"
    with pytest.raises(Interrupt):
        _search(n_iter=4, checkpoint=path).fit(X, Y, callback=interrupt_after(2))
    header = json.loads(path.read_text().splitlines()[0])
    assert header["version"] == 4
    # Versions 1 to 3 were one JSON document. Versions 1 and 2 asked the optimizer with
    # ask(n_points=1): other points, so a resume could not be the same search.
    data = {**header, "trials": Checkpoint.load(path).trials}
    for version, extra in ((1, "neither defaults-first nor pruning"), (2, "another way")):
        path.write_text(json.dumps({**data, "version": version}))
        with pytest.raises(ValueError, match=f"format version {version}.*{extra}.*resume=False"):
            _search(n_iter=4, checkpoint=path).fit(X, Y)
    path.write_text(json.dumps({**data, "version": 99}))
    with pytest.raises(ValueError, match="format version 99; this skoptnn reads versions 3, 4"):
        _search(checkpoint=path).fit(X, Y)
    # resume=False starts over, overwriting it.
    fresh = _search(n_iter=2, checkpoint=path, resume=False).fit(X, Y)
    assert fresh.n_resumed_trials_ == 0
    assert json.loads(path.read_text().splitlines()[0])["version"] == 4
