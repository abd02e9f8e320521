import contextlib
import io
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from conftest import cli_error

from skoptnn.cli import main

TINY = ["--n-iter", "2", "--cv", "2", "--epochs", "3"]


@pytest.fixture(scope="module")
def csv_path(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 120
    color = rng.choice(["red", "green", "blue"], size=n)
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    label = np.where(x1 + (color == "red") > 0.5, "yes", "no")
    x2[::17] = np.nan  # the pipeline imputes
    flag = rng.random(n) > 0.5  # read back as bool, which SimpleImputer rejects
    frame = pd.DataFrame({"x1": x1, "x2": x2, "color": color, "label": label, "flag": flag})
    path = tmp_path_factory.mktemp("data") / "train.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def tuned(csv_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    report = io.StringIO()
    with contextlib.redirect_stdout(report):
        assert main(["tune", str(csv_path), "--target", "label", "--output", str(out), *TINY]) == 0
    (out / "report.txt").write_text(report.getvalue())  # for test_tune_reports_the_best
    return out


def test_tune_writes_model_trials_and_plot(tuned):
    import skops.io

    from skoptnn import trusted_types

    assert (tuned / "convergence.png").stat().st_size > 0
    trials = pd.read_csv(tuned / "trials.csv")
    assert len(trials) == 2
    assert {"rank", "mean_test_score", "units", "optimizer"} <= set(trials.columns)
    model = joblib.load(tuned / "model.joblib")
    assert list(model.classes_) == ["no", "yes"]
    # model.skops holds only scikit-learn's, skops' default and skoptnn's types (and the
    # numpy.dtype of SimpleImputer's state, which the CLI also allows).
    untrusted = skops.io.get_untrusted_types(file=tuned / "model.skops")
    assert set(untrusted) <= set(trusted_types()) | {"numpy.dtype"}
    assert list(skops.io.load(tuned / "model.skops", trusted=untrusted).classes_) == ["no", "yes"]


def test_tune_reports_the_best(tuned):
    report = (tuned / "report.txt").read_text()
    trials = pd.read_csv(tuned / "trials.csv")
    best = trials.loc[trials["rank"] == 1].iloc[0]
    assert ("Tuning a classifier on 96 rows (4 features), 24 held out; 2 configurations x 2 "
            "folds.") in report
    assert f"CV accuracy: {best['mean_test_score']:.4f}" in report
    assert f"  units = {best['units']}" in report and f"  optimizer = {best['optimizer']}" in report
    assert "Held-out test accuracy: " in report


@pytest.mark.parametrize("model_file", ["model.skops", "model.joblib"])
def test_predict_writes_labels_and_probabilities(tuned, csv_path, tmp_path, capsys, model_file):
    out = tmp_path / "pred.csv"
    # The target column is still in the file: it must be ignored.
    assert main(["predict", str(tuned / model_file), str(csv_path), "--output", str(out)]) == 0
    # Only joblib warns that loading runs code.
    assert ("runs code stored in it" in capsys.readouterr().err) == model_file.endswith("joblib")
    pred = pd.read_csv(out)
    assert list(pred.columns) == ["prediction", "proba_no", "proba_yes"]
    assert len(pred) == 120
    assert set(pred["prediction"]) <= {"no", "yes"}
    np.testing.assert_allclose(pred[["proba_no", "proba_yes"]].sum(axis=1), 1, atol=1e-5)

    # Unseen categories, extra columns and a missing target work too.
    new = pd.read_csv(csv_path).drop(columns="label").head(5).assign(color="purple", extra=1)
    new.to_csv(tmp_path / "new.csv", index=False)
    assert main(["predict", str(tuned / model_file), str(tmp_path / "new.csv"),
                 "--output", str(out)]) == 0
    assert len(pd.read_csv(out)) == 5


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_tune_bad_inputs(csv_path, tmp_path, capsys):
    out = ["--output", str(tmp_path / "out")]
    assert main(["tune", str(tmp_path / "missing.csv"), "--target", "y", *out]) == 2
    assert "no such file" in cli_error(capsys)

    assert main(["tune", str(csv_path), "--target", "nope", *out]) == 2
    assert "available columns: x1, x2, color, label, flag" in cli_error(capsys)

    assert main(["tune", str(csv_path), *out]) == 2
    assert "--target" in cli_error(capsys)

    one_class = _write(tmp_path, "one.csv", "a,y\n1,k\n2,k\n3,k\n")
    assert main(["tune", one_class, "--target", "y", *out]) == 2
    assert "at least 2 classes" in cli_error(capsys)

    assert main(["tune", _write(tmp_path, "empty.csv", ""), "--target", "y", *out]) == 2
    assert "empty" in cli_error(capsys)

    header_only = _write(tmp_path, "header.csv", "a,y\n")
    assert main(["tune", header_only, "--target", "y", *out]) == 2
    assert "no data rows" in cli_error(capsys)

    continuous = _write(tmp_path, "cont.csv", "a,y\n1,0.5\n2,1.5\n3,2.25\n4,0.1\n")
    assert main(["tune", continuous, "--target", "y", "--task", "classification", *out]) == 2
    assert "non-integer values (e.g. 0.5), which cannot be class labels" in cli_error(capsys)
    # Auto: a regression target, refused here for its size, not as classes.
    assert main(["tune", continuous, "--target", "y", *out]) == 2
    assert "each split needs at least 2 rows to be scored" in cli_error(capsys)
    assert main(["tune", str(csv_path), "--target", "label", "--task", "regression", *out]) == 2
    assert "target 'label' is not numeric (e.g. '" in cli_error(capsys)

    assert main(["tune", str(csv_path), "--target", "label", "--scoring", "bogus", *out]) == 2
    assert "scoring" in cli_error(capsys)

    assert main(["tune", one_class, "--target", "a", *out]) == 2
    err = cli_error(capsys)
    assert "3 distinct values in 3 rows" in err and "pass --task regression" in err
    singleton = _write(tmp_path, "singleton.csv", "a,y\n1,3\n2,3\n3,3\n4,5\n5,5\n6,7\n")
    assert main(["tune", singleton, "--target", "y", *out]) == 2
    assert "class 7 of 'y' has a single row" in cli_error(capsys)  # 7, not np.int64(7)
    # Text labels are never "a regression target", however many are singletons.
    labels = _write(tmp_path, "labels.csv", "a,y\n1,p\n2,q\n3,r\n4,r\n")
    assert main(["tune", labels, "--target", "y", *out]) == 2
    assert "class 'p' of 'y' has a single row" in cli_error(capsys)

    # 9 rows of 3 classes: 20% is 2 test rows, fewer than the classes.
    tiny = _write(tmp_path, "tiny.csv", "a,y\n" + "".join(f"{i},{i % 3}\n" for i in range(9)))
    assert main(["tune", tiny, "--target", "y", "--test-size", "0.2", *out]) == 2
    assert "--test-size 0.2 leaves 2 test" in cli_error(capsys)


def test_predict_bad_inputs(tuned, csv_path, tmp_path, capsys):
    model = str(tuned / "model.joblib")
    assert main(["predict", str(tmp_path / "nope.joblib"), str(csv_path)]) == 2
    assert "no such model file" in cli_error(capsys)

    garbage = _write(tmp_path, "garbage.joblib", "not a pickle")
    assert main(["predict", garbage, str(csv_path)]) == 2
    assert "not a model saved by 'skoptnn tune'" in cli_error(capsys)

    other = tmp_path / "other.joblib"
    joblib.dump({"a": 1}, other)
    assert main(["predict", str(other), str(csv_path)]) == 2
    assert "found dict" in cli_error(capsys)

    assert main(["predict", model, str(tmp_path / "missing.csv")]) == 2
    assert "no such file" in cli_error(capsys)

    lacking = _write(tmp_path, "lacking.csv", "x1,label\n1,yes\n")
    assert main(["predict", model, lacking]) == 2
    assert "x2, color, flag" in cli_error(capsys)

    text = _write(tmp_path, "text.csv", "x1,x2,color,flag\n1,n/a?,red,True\n2,3,blue,False\n")
    assert main(["predict", model, text]) == 2
    assert "column 'x2' was numeric in training" in cli_error(capsys)


def test_usage_errors_return_2(capsys):
    assert main([]) == 2
    assert main(["tune", "--n-iter", "0"]) == 2
    assert main(["tune", "--n-jobs", "0"]) == 2
    capsys.readouterr()


@pytest.mark.parametrize("args", [["--help"], ["tune", "--help"], ["predict", "--help"]])
def test_help_is_fast_and_skips_tensorflow(args):
    code = (
        "import sys; from skoptnn.cli import main\n"
        f"assert main({args!r}) == 0\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "usage: skoptnn" in result.stdout


def test_module_entry_point():
    result = subprocess.run([sys.executable, "-m", "skoptnn.cli", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "tune" in result.stdout


def test_tune_in_threads_trains_in_this_process(csv_path, tmp_path, monkeypatch):
    """--parallel threads (the default) runs the fits here, sharing compiled graphs."""
    from skoptnn.engine import ensemble as _base  # which calls the trainer, per member

    calls = []
    real_fit = _base.fit
    monkeypatch.setattr(_base, "fit", lambda *a, **k: calls.append(1) or real_fit(*a, **k))
    out = tmp_path / "threads"
    args = ["tune", str(csv_path), "--target", "label", "--output", str(out), *TINY]
    assert main([*args, "--n-jobs", "2"]) == 0
    # The CV fits of both candidates ran in this process (processes would have
    # left only the refit here).
    assert len(calls) > 2
    assert len(pd.read_csv(out / "trials.csv")) == 2


def test_tune_says_it_dropped_rows_without_a_target(csv_path, tmp_path, capsys):
    frame = pd.read_csv(csv_path)
    frame.loc[[0, 5, 9], "label"] = np.nan
    path = tmp_path / "gaps.csv"
    frame.to_csv(path, index=False)
    assert main(["tune", str(path), "--target", "label", "--output", str(tmp_path / "o"),
                 *TINY]) == 0
    assert "Dropped 3 of 120 rows with no value in 'label'." in capsys.readouterr().out


def test_predict_accepts_a_pipeline_of_the_users_own(csv_path, tmp_path):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skoptnn import OptimizedMLPClassifier

    frame = pd.read_csv(csv_path)[["x1", "label"]]
    model = make_pipeline(StandardScaler(), OptimizedMLPClassifier(epochs=2, random_state=0))
    model.fit(frame[["x1"]], frame["label"])
    joblib.dump(model, tmp_path / "own.joblib")
    out = tmp_path / "own.csv"
    assert main(["predict", str(tmp_path / "own.joblib"), str(csv_path), "--output", str(out)]) == 0
    assert len(pd.read_csv(out)) == len(frame)


def _frame(n=120, n_classes=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (np.digitize(X[:, 0], np.quantile(X[:, 0], np.linspace(0, 1, n_classes + 1)[1:-1]))
         if n_classes > 2 else (X[:, 0] > 0).astype(int))
    return pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": y})


def test_tune_refuses_what_would_fail_after_the_search(tmp_path, capsys):
    out = ["--output", str(tmp_path / "out")]
    path = tmp_path / "d.csv"

    # 10 classes in 120 rows: early stopping's hold-out cannot hold every class
    # with 2 folds; more folds leave each fit more rows.
    _frame(n_classes=10).to_csv(path, index=False)
    assert main(["tune", str(path), "--target", "y", *TINY, *out]) == 2
    err = cli_error(capsys)
    assert "too little data for early stopping inside 2-fold CV" in err
    assert "both parts need every class (10); raise --cv (up to" in err
    # Already at the smallest class's count: more folds are not possible.
    smallest = int(pd.Series(_frame(n_classes=10)["y"]).value_counts().min() * 0.8)
    assert main(["tune", str(path), "--target", "y", "--cv", str(smallest), *TINY[:2],
                 *out]) == 2
    assert cli_error(capsys).endswith("; add data")

    # A scorer that does not fit these labels fails in the search: one line too.
    frame = _frame().assign(y=lambda f: np.where(f["y"] == 1, "yes", "no"))
    frame.to_csv(path, index=False)
    assert main(["tune", str(path), "--target", "y", "--scoring", "f1", *TINY, *out]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress bar
    assert last.startswith("skoptnn: error: the search failed: pos_label=1 is not a valid")

    assert main(["tune", str(path), "--target", "y", "--cv", "1", *out]) == 2
    assert "at least 2 folds" in capsys.readouterr().err


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc")
def test_tune_checks_the_output_directory_is_writable_before_searching(tmp_path, capsys):
    path = tmp_path / "d.csv"
    _frame().to_csv(path, index=False)
    assert main(["tune", str(path), "--target", "y", *TINY, "--output", "/proc/self"]) == 2
    assert "cannot write to output directory /proc/self" in cli_error(capsys)


def test_tune_notes_a_numeric_column_with_stray_text(tmp_path, capsys):
    # pandas reads it as text: every number would become a category, silently.
    frame = _frame().astype({"b": object})
    frame.loc[5, "b"] = "abc"
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    assert main(["tune", str(path), "--target", "y", *TINY, "--output", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "note: column 'b' of" in err and "1 text value(s), e.g. 'abc'" in err


def test_headerless_csv(tmp_path, capsys):
    path = tmp_path / "pima-like.csv"
    _frame().to_csv(path, index=False, header=False)
    out = tmp_path / "out"
    # Read with a header, the first data row names the columns: say so.
    assert main(["tune", str(path), "--target", "nope", "--output", str(out)]) == 2
    assert "pass --no-header" in capsys.readouterr().err

    assert main(["tune", str(path), "--no-header", "--target", "3", *TINY,
                 "--output", str(out)]) == 0
    assert "Tuning a classifier on 96 rows (3 features)" in capsys.readouterr().out
    preds = tmp_path / "p.csv"
    assert main(["predict", str(out / "model.joblib"), str(path), "--no-header",
                 "--output", str(preds)]) == 0
    assert len(pd.read_csv(preds)) == 120  # every row, none taken for a header
    full = pd.read_csv(preds)

    # The features alone, in training order, are placed by position too.
    features = tmp_path / "features.csv"
    _frame().drop(columns="y").to_csv(features, index=False, header=False)
    assert main(["predict", str(out / "model.joblib"), str(features), "--no-header",
                 "--output", str(preds)]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(preds), full)
    # An extra column would shift every feature: refused.
    shifted = tmp_path / "shifted.csv"
    _frame().assign(id=1).iloc[:, [4, 0, 1, 2, 3]].to_csv(shifted, index=False, header=False)
    assert main(["predict", str(out / "model.joblib"), str(shifted), "--no-header"]) == 2
    assert "has 5 columns; the model takes 3 features (columns 0, 1, 2" in cli_error(capsys)
    # A file with a header read with --no-header: refused, not trained on.
    headed = tmp_path / "headed.csv"
    _frame().to_csv(headed, index=False)
    assert main(["tune", str(headed), "--no-header", "--target", "3", *TINY,
                 "--output", str(out)]) == 2
    assert "looks like a header (a, b, c, y); drop --no-header" in cli_error(capsys)
    assert main(["tune", "--no-header", "--output", str(out)]) == 2
    assert "--no-header needs DATA.csv" in cli_error(capsys)


def test_python_dash_m_saves_a_model_any_process_can_load(tmp_path):
    # Run as __main__, the CLI must still pickle skoptnn.cli's helpers by that name.
    path = tmp_path / "d.csv"
    frame = _frame()
    frame["color"] = np.where(frame["b"] > 0, "red", "blue")  # uses the categorical branch
    frame.to_csv(path, index=False)
    result = subprocess.run(
        [sys.executable, "-m", "skoptnn.cli", "tune", str(path), "--target", "y", *TINY,
         "--output", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    model = joblib.load(tmp_path / "out" / "model.joblib")
    assert model.predict(frame.drop(columns="y")).shape == (120,)
