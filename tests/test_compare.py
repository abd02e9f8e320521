"""Smoke test of benchmarks/compare.py (its --quick mode) and of its nested-CV protocol."""

import importlib.util
import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def compare():
    # Imported by name from benchmarks/ (not by file location) so that the
    # joblib worker processes, which receive the parent's sys.path, can
    # unpickle its task function.
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    import compare

    return compare


@pytest.fixture(scope="module")
def quick(compare, tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    # Two worker processes: the path the real benchmark takes.
    return compare.benchmark(["--quick", "--out-dir", str(out), "--n-jobs", "2"])


def _table_rows(text):
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and re.match(r"\**[01]\.\d{3} ± ", cells[2]):
            rows[(cells[0], cells[1])] = cells
    return rows


def test_quick_writes_report_and_plot(quick, compare):
    out = quick["out_dir"]
    text = (out / "results.md").read_text()
    png = out / "compare.png"
    assert png.stat().st_size > 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "python benchmarks/compare.py --quick" in text
    assert "CPUs" in text and "tensorflow" in text
    rows = _table_rows(text)
    expected = {(compare.DATASET_LABELS[d], m) for d in quick["datasets"] for m in quick["methods"]}
    assert set(rows) == expected
    for cells in rows.values():
        acc = float(cells[2].strip("*").split(" ± ")[0])
        auc = float(cells[3].split(" ± ")[0])
        assert 0.0 <= acc <= 1.0 and 0.0 <= auc <= 1.0
        total, per_candidate = float(cells[4]), float(cells[5])
        # Rounded in the table (LogisticRegression can show 0.00); records are exact.
        assert math.isfinite(total) and total >= 0 and math.isfinite(per_candidate)


def test_quick_covers_every_method_and_fold(quick, compare):
    budget = quick["budget"]
    assert set(quick["datasets"]) == set(compare.QUICK_DATASETS)
    expected_methods = set(compare.METHODS)
    if importlib.util.find_spec("keras_tuner") is None:
        expected_methods.discard("keras-tuner")
    assert set(quick["methods"]) == expected_methods
    seen = {(r["method"], r["dataset"], r["fold"]) for r in quick["records"]}
    assert len(seen) == len(quick["records"]) == (
        len(quick["methods"]) * len(quick["datasets"]) * budget.n_outer)
    for r in quick["records"]:
        assert 0.0 <= r["accuracy"] <= 1.0 and 0.0 <= r["roc_auc"] <= 1.0
        assert math.isfinite(r["seconds"]) and r["seconds"] > 0
        assert 1 <= r["n_candidates"] <= budget.n_candidates


def test_outer_test_folds_never_reach_the_search(quick, compare):
    budget = quick["budget"]
    for dataset in quick["datasets"]:
        X, y = compare.load_dataset(dataset, quick["pima"])
        splits = compare.outer_splits(y, budget.n_outer)
        tests = [test for _, test in splits]
        # The test folds partition the data, and no training fold meets its test fold.
        assert np.array_equal(np.sort(np.concatenate(tests)), np.arange(len(y)))
        for train, test in splits:
            assert len(np.intersect1d(train, test)) == 0
            assert len(train) + len(test) == len(y)
        for r in quick["records"]:
            if r["dataset"] != dataset:
                continue
            train, test = splits[r["fold"]]
            assert r["n_train"] == r["n_train_seen"] == len(train)
            assert r["n_test"] == len(test)
            # The refitted scaler saw exactly the outer training rows: its mean
            # is theirs, and differs from the mean with any test row added.
            np.testing.assert_allclose(r["scaler_mean"], X[train].mean(axis=0), rtol=1e-10)


def test_keras_tuner_rows(quick):
    pytest.importorskip("keras_tuner")
    rows = [r for r in quick["rows"] if r["method"] == "keras-tuner"]
    assert len(rows) == len(quick["datasets"])
    assert all(0.0 <= r["acc_mean"] <= 1.0 for r in rows)


def test_outer_splits_are_stratified_kfold(compare):
    from sklearn.model_selection import StratifiedKFold

    y = np.repeat([0, 1, 2], [20, 30, 50])
    ours = compare.outer_splits(y, 4)
    ref = StratifiedKFold(4, shuffle=True, random_state=0).split(np.zeros((100, 1)), y)
    for (train, test), (ref_train, ref_test) in zip(ours, ref, strict=True):
        assert np.array_equal(test, ref_test)
        assert np.array_equal(np.sort(train), ref_train)
        assert not np.array_equal(train, ref_train)  # shuffled for Keras' validation_split


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_depth_width_adapter_clones(compare):
    from sklearn.base import clone, is_classifier

    est = compare.DepthWidthMLP(n_layers=3, units=7, max_iter=5, random_state=0)
    assert is_classifier(est)
    assert clone(est).get_params()["n_layers"] == 3
    X = np.random.default_rng(0).normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    fitted = clone(est).fit(X, y)
    assert fitted.mlp_.hidden_layer_sizes == (7, 7, 7)
    assert fitted.predict_proba(X).shape == (60, 2)


def test_seed_offset_reseeds_the_search_not_the_outer_folds(compare):
    X, y = compare.load_dataset("wine")
    splits = compare.outer_splits(y, compare.QUICK.n_outer)
    records = compare.run(["LogisticRegression"], ["wine"], compare.QUICK, None, n_jobs=1,
                          log=lambda *args, **kwargs: None, seed_offset=5)
    assert sorted((r["fold"], r["seed"]) for r in records) == [(0, 5), (1, 6)]
    for r in records:
        # The outer training fold is the unshifted one: only the search's seed moved.
        np.testing.assert_allclose(r["scaler_mean"], X[splits[r["fold"]][0]].mean(axis=0),
                                   rtol=1e-10)
