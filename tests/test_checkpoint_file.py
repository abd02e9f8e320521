"""The checkpoint file: strict JSON Lines, appended trial by trial, and older files.

Searches of Ridge (deterministic, instant fits) write most of the files here;
the legacy test reruns the skoptnn search of ``tests/data/legacy/make_legacy.py``.
"""

import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import Interrupt, interrupt_after
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from skopt.space import Categorical, Real

from skoptnn import ResumableBayesSearchCV
from skoptnn.search.checkpoint import VERSION, Checkpoint

LEGACY = Path(__file__).parent / "data" / "legacy"
# Failed fits and non-finite scores are the point here; a replay that asks the optimizer
# for other points than the checkpoint holds is an error.
pytestmark = [
    # The Gaussian process's many tiny BLAS calls run faster on one thread.
    pytest.mark.usefixtures("one_blas_thread"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.FitFailedWarning"),
    pytest.mark.filterwarnings("ignore:One or more of the:UserWarning"),
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("error:Resuming from:UserWarning"),
]
SPACE = {"alpha": Real(1e-3, 1e2, prior="log-uniform"), "fit_intercept": Categorical([True, False])}
FITS = []


class FlakyRidge(Ridge):
    """Ridge whose fits without intercept fail on an even number of rows, counting fits.

    With cv=3 on the 442 rows of the diabetes data, one fold of three fails: the
    trial's mean score is NaN (error_score), and scikit-learn, which raises when every
    fit of a round fails, goes on.
    """

    def fit(self, X, y, sample_weight=None):
        FITS.append(self.alpha)
        if not self.fit_intercept and len(X) % 2 == 0:
            raise ValueError("no intercept")
        return super().fit(X, y, sample_weight)


def extreme_score(estimator, X, y):
    """R^2, but -inf for a large alpha and +inf for a small one: non-finite scores.

    The 8 trials of ``_search`` (random_state=0) have each: two alphas below 0.05, one
    above 10 and three without intercept (NaN).
    """
    if estimator.alpha > 10:
        return -math.inf
    if estimator.alpha < 0.05:
        return math.inf
    return estimator.score(X, y)


@pytest.fixture(scope="module")
def data():
    return load_diabetes(return_X_y=True)


def _search(path, n_iter=8, **kwargs):
    # 8 trials stay in the optimizer's random start (10 points): infinite values told to
    # it never reach its Gaussian process.
    return ResumableBayesSearchCV(FlakyRidge(), SPACE, n_iter=n_iter, cv=3, random_state=0,
                                  checkpoint=path, scoring=extreme_score, error_score=np.nan,
                                  return_train_score=True, **kwargs)


def _strict_lines(path):
    """Every line of the file parsed as strict JSON (no NaN or Infinity tokens)."""
    def refuse(token):
        raise ValueError(f"not strict JSON: {token}")

    text = Path(path).read_text(encoding="utf-8")
    lines = [json.loads(line, parse_constant=refuse) for line in text.splitlines()]
    assert text.endswith("\n")  # the last line whole too
    return lines


def _assert_same_results(a, b):
    assert b["params"] == a["params"]
    for key in a:
        if key != "params":
            np.testing.assert_array_equal(b[key], a[key], err_msg=key)


def _same(a, b):
    """Equal JSON values, NaN equal to NaN, floats bit for bit."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def test_the_file_is_strict_json_and_reads_non_finite_scores_back_exactly(data, tmp_path):
    X, y = data
    path = tmp_path / "s.json"
    full = _search(path).fit(X, y)
    header, *lines = _strict_lines(path)
    assert header["format"] == "skoptnn-search-checkpoint" and header["version"] == VERSION
    assert len(lines) == 8
    trials = Checkpoint.load(path).trials
    # NaN (failed fits), -inf and +inf all occur, and read back as the floats told.
    told = [t["y"] for t in trials]
    assert any(math.isnan(v) for v in told)
    assert math.inf in told and -math.inf in told
    np.testing.assert_array_equal(told, full.optimizer_results_[0].func_vals)
    scores = [s for t in trials for r in t["out"] for s in (r["test_scores"], r["train_scores"])]
    assert {math.inf, -math.inf} <= set(scores) and any(math.isnan(s) for s in scores)

    # The search rebuilt from the file alone is the search that wrote it.
    FITS.clear()
    again = _search(path).fit(X, y)
    assert again.n_resumed_trials_ == 8 and len(FITS) == 1  # the refit
    _assert_same_results(full.cv_results_, again.cv_results_)


def test_non_finite_floats_round_trip_bit_for_bit(tmp_path):
    path = tmp_path / "c.json"
    values = [math.nan, math.inf, -math.inf, -0.0, 0.1, 1e-320, 2.0**53 + 1, 1.7976931348623157e308]
    trial = {"subspace": 0, "step": 0, "x": [np.float32(0.1), "nan", True, None, (1, 2)],
             "y": math.nan,
             "out": [{"test_scores": {"a": math.inf, "b": -math.inf}, "fit_error": None,
                      "pruning": {"fold_key": math.nan, "rungs": values}}]}
    state = Checkpoint(path, {"X": "hash"}, ["MT19937", [1, 2], 0, 0, 0.0])
    state.save()
    state.append([trial])
    _strict_lines(path)
    back = Checkpoint.load(path).trials[0]
    assert back["x"] == [float(np.float32(0.1)), "nan", True, None, [1, 2]]
    assert _same(back["out"][0]["pruning"]["rungs"], values)
    assert math.copysign(1, back["out"][0]["pruning"]["rungs"][3]) == -1  # -0.0 stays negative
    assert _same(back["out"][0]["test_scores"], {"a": math.inf, "b": -math.inf})
    assert math.isnan(back["y"]) and math.isnan(back["out"][0]["pruning"]["fold_key"])


def test_a_last_line_cut_short_is_ignored_and_the_search_resumes(data, tmp_path):
    X, y = data
    full = _search(tmp_path / "full.json").fit(X, y)
    path = tmp_path / "part.json"
    with pytest.raises(Interrupt):
        _search(path).fit(X, y, callback=interrupt_after(5))
    # A kill in the middle of writing the fifth trial.
    text = path.read_bytes()
    path.write_bytes(text[:text.rstrip(b"\n").rindex(b"\n") + 40])
    assert len(Checkpoint.load(path).trials) == 4

    FITS.clear()
    resumed = _search(path).fit(X, y)
    assert resumed.n_resumed_trials_ == 4 and len(FITS) == 4 * 3 + 1  # the fifth trial again
    _assert_same_results({k: v for k, v in full.cv_results_.items() if "time" not in k},
                         {k: v for k, v in resumed.cv_results_.items() if "time" not in k})
    # The cut line is gone: every line is whole.
    assert len(_strict_lines(path)) == 1 + 8
    # An unreadable line before the last is no kill's doing: refused, not skipped.
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join(lines[:3] + [b"{"] + lines[4:]))
    with pytest.raises(ValueError, match="line 4 is not a trial"):
        Checkpoint.load(path)


def test_a_step_cut_short_runs_again_whole(data, tmp_path):
    """With n_points=2 a step's two trials are one line: a kill while writing it
    loses both, so the resumed search asks its optimizer for two points again, as
    the uninterrupted one did (keeping one of them would ask for one, another point)."""
    X, y = data
    full = _search(tmp_path / "full.json", n_points=2).fit(X, y)
    path = tmp_path / "part.json"
    with pytest.raises(Interrupt):
        _search(path, n_points=2).fit(X, y, callback=interrupt_after(6))
    header, *steps = _strict_lines(path)
    assert [len(step) for step in steps] == [1, 2, 2, 2]  # the defaults first, alone
    text = path.read_bytes()
    # A kill in the middle of the last step's line, after its first trial was written.
    path.write_bytes(text[:text.rstrip(b"\n").rindex(b"\n") + 1 + len(json.dumps(steps[-1][0]))])
    assert len(Checkpoint.load(path).trials) == 5

    FITS.clear()
    resumed = _search(path, n_points=2).fit(X, y)
    assert resumed.n_resumed_trials_ == 5 and len(FITS) == 3 * 3 + 1
    _assert_same_results({k: v for k, v in full.cv_results_.items() if "time" not in k},
                         {k: v for k, v in resumed.cv_results_.items() if "time" not in k})


def test_each_trial_is_appended_once_not_the_file_rewritten(data, tmp_path, monkeypatch):
    X, y = data
    path = tmp_path / "s.json"
    replaced, written, snapshots = [], [], []
    real_replace, real_write = os.replace, os.write

    def replace(src, dst, *args, **kwargs):
        replaced.append(Path(dst))
        return real_replace(src, dst, *args, **kwargs)

    def write(fd, data):
        n = real_write(fd, data)
        if path.exists() and os.fstat(fd).st_ino == path.stat().st_ino:
            written.append(n)
        return n

    def snapshot(result):
        snapshots.append((path.stat().st_ino, path.read_bytes()))

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "write", write)
    _search(path).fit(X, y, callback=snapshot)
    # Written whole once (the header, before the first trial), then only appended to:
    # each byte once, so writing N trials costs O(N).
    assert replaced == [path]
    header = len(path.read_bytes().split(b"\n")[0]) + 1
    assert len(written) == 8 and header + sum(written) == path.stat().st_size
    assert len({ino for ino, _ in snapshots}) == 1
    assert all(b.startswith(a) for (_, a), (_, b) in zip(snapshots, snapshots[1:], strict=False))

    # A search rebuilt from a finished file writes nothing.
    replaced.clear()
    written.clear()
    _search(path).fit(X, y)
    assert replaced == [] and written == []


def test_a_smaller_n_iter_then_more_trials_rewrites_the_file_with_the_kept_trials(data, tmp_path):
    X, y = data
    spaces = [(SPACE, 3), ({"alpha": Real(5.0, 10.0)}, 3)]

    def search(n_first):
        spaces[0] = (SPACE, n_first)
        return ResumableBayesSearchCV(FlakyRidge(), spaces, cv=3, random_state=0,
                                      error_score=np.nan, checkpoint=path)

    path = tmp_path / "s.json"
    with pytest.raises(Interrupt):
        search(3).fit(X, y, callback=interrupt_after(3))  # the first subspace only
    shorter = search(2).fit(X, y)
    # The file holds the search that ran: the first 2 trials, then the second subspace's.
    trials = Checkpoint.load(path).trials
    assert [t["subspace"] for t in trials] == [0, 0, 1, 1, 1]
    assert shorter.n_resumed_trials_ == 2 and len(_strict_lines(path)) == 1 + 5


def test_a_version_3_checkpoint_resumes_and_continues_in_the_current_format(tmp_path, monkeypatch):
    from sklearn.datasets import load_iris
    from skopt.space import Integer

    from skoptnn import OptimizedMLPClassifier

    path = tmp_path / "search_checkpoint.json"
    shutil.copy(LEGACY / "search_checkpoint.json", path)
    expected = json.loads((LEGACY / "search_expected.json").read_text())
    fits = []
    real_fit = OptimizedMLPClassifier.fit
    monkeypatch.setattr(OptimizedMLPClassifier, "fit",
                        lambda self, *a, **k: fits.append(1) or real_fit(self, *a, **k))
    X, y = load_iris(return_X_y=True)

    def search(n_iter):
        # As make_legacy.py ran it.
        return ResumableBayesSearchCV(
            # label_smoothing=0.0: the search the checkpoint holds trained unsmoothed.
            OptimizedMLPClassifier(epochs=3, early_stopping=True, random_state=0,
                                   label_smoothing=0.0),
            {"units": Integer(4, 16), "learning_rate": Real(1e-3, 1e-2, prior="log-uniform")},
            n_iter=n_iter, cv=2, random_state=0, checkpoint=path)

    done = search(3).fit(X, y)
    assert done.n_resumed_trials_ == expected["n"] == 3
    assert fits == [1]  # the refit: no trial ran again
    assert {k: v.item() if hasattr(v, "item") else v for k, v in done.best_params_.items()} \
        == expected["best_params"]
    assert list(done.cv_results_["mean_test_score"]) == expected["mean_test_score"]
    assert json.loads(path.read_text())["version"] == 3  # nothing new: left as it was

    fits.clear()
    more = search(4).fit(X, y)
    assert more.n_resumed_trials_ == 3 and len(fits) == 2 + 1  # one new trial's folds, refit
    header, *lines = _strict_lines(path)
    assert header["version"] == VERSION and len(lines) == 4
    old = json.loads((LEGACY / "search_checkpoint.json").read_text())
    steps = [trial for step in lines[:3] for trial in step]  # a line per step of one trial
    assert _same(steps, old["trials"]) and header["fingerprint"] == old["fingerprint"]
    assert list(more.cv_results_["mean_test_score"][:3]) == expected["mean_test_score"]


def test_a_parameter_added_since_the_checkpoint_matches_only_at_its_default():
    from skoptnn.search.fingerprint import differences

    old = {"estimator": {"clf__l2": 3.0}}
    at_default = {"estimator": {"clf__l2": 3.0, "clf__lr_schedule": "constant",
                                "clf__label_smoothing": 0.0, "clf__lr_warmup": 0.0,
                                "clf__n_ensemble": 1}}
    assert differences(old, at_default) == []
    changed = {"estimator": {"clf__l2": 3.0, "clf__lr_schedule": "cosine"}}
    assert differences(old, changed) == [
        "estimator parameter clf__lr_schedule (None in the checkpoint, 'cosine' now)"]
    assert differences(old, {"estimator": {"clf__l2": 3.0, "clf__n_ensemble": 3}}) == [
        "estimator parameter clf__n_ensemble (None in the checkpoint, 3 now)"]
    # A parameter the old checkpoint has and the new one lacks is still a difference.
    assert differences(at_default, old) != []
