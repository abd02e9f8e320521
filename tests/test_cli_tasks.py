"""`skoptnn tune` for every task, its time budget and up-front checks, and safe model files."""

import os

import numpy as np
import pandas as pd
import pytest
from conftest import cli_error
from sklearn.datasets import load_diabetes

from skoptnn.cli import main
from skoptnn.cli.data import infer_task

TINY = ["--cv", "2", "--epochs", "3"]


@pytest.fixture(scope="module")
def diabetes_csv(tmp_path_factory):
    # A continuous target of whole numbers (25 to 346): regression by the many-values rule.
    path = tmp_path_factory.mktemp("data") / "diabetes.csv"
    load_diabetes(as_frame=True, scaled=False).frame.to_csv(path, index=False)
    return path


def test_tune_and_predict_a_regression_csv(diabetes_csv, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["tune", str(diabetes_csv), "--target", "target", "--n-iter", "2", *TINY,
                 "--output", str(out)]) == 0
    captured = capsys.readouterr()
    assert "Tuning a regressor on 353 rows (10 features), 89 held out" in captured.out
    assert "CV r2: " in captured.out and "Held-out test r2: " in captured.out
    assert "single row" not in captured.out + captured.err
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 2 and "loss" in trials.columns  # regressor_space's own dimension

    frame = pd.read_csv(diabetes_csv)
    for model_file in ("model.skops", "model.joblib"):
        preds = tmp_path / f"{model_file}.csv"
        assert main(["predict", str(out / model_file), str(diabetes_csv),
                     "--output", str(preds)]) == 0
        pred = pd.read_csv(preds)
        assert list(pred.columns) == ["prediction"]  # no class probabilities
        assert len(pred) == len(frame) and pred["prediction"].dtype == float
        # Standardised internally, predictions come back on the target's scale.
        assert 50 < pred["prediction"].mean() < 300


@pytest.mark.parametrize("values, task", [
    ([0.5, 1.5, 2.0, 3.0] * 10, "regression"),  # a non-integer value
    (list(range(10)) * 10, "classification"),  # 10 integer classes
    (list(range(100)) * 2, "regression"),  # 100 distinct of 200 rows
    (list(range(30)) * 1000, "classification"),  # 30 codes, 0.1% of the rows
    (["a", "b"] * 20, "classification"),
    ([True, False] * 20, "classification"),
])
def test_auto_task_rule(values, task):
    assert infer_task(pd.Series(values, name="y")) == task


def test_task_option_overrides_the_rule(tmp_path, capsys):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=80)}).assign(y=lambda f: (f["a"] > 0) * 1)
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    assert main(["tune", str(path), "--target", "y", "--task", "regression", "--n-iter", "1",
                 *TINY, "--output", str(tmp_path / "out")]) == 0
    assert "Tuning a regressor" in capsys.readouterr().out


def _tune_args(tmp_path, n_rows: int, n_iter: int) -> tuple[list[str], object]:
    """``tune`` arguments for a CSV of 3 normal features and a binary target ``y``
    written to ``tmp_path``, and the output folder."""
    X = np.random.default_rng(0).normal(size=(n_rows, 3))
    frame = pd.DataFrame(X, columns=list("abc")).assign(y=(X[:, 0] > 0).astype(int))
    path, out = tmp_path / "d.csv", tmp_path / "out"
    frame.to_csv(path, index=False)
    return ["tune", str(path), "--target", "y", "--n-iter", str(n_iter), *TINY,
            "--output", str(out)], out


def test_time_budget_stops_after_the_crossing_trial_and_writes_everything(tmp_path, capsys):
    args, out = _tune_args(tmp_path, 100, 5)
    # Any trial takes longer than a millisecond: the first one crosses the budget.
    assert main([*args, "--time-budget", "0.001"]) == 0
    report = capsys.readouterr().out
    assert "Stopped by --time-budget 0.001 after 1 of 5 configurations" in report
    assert len(pd.read_csv(out / "trials.csv")) == 1
    for name in ("model.skops", "model.joblib", "trials.csv", "convergence.png"):
        assert (out / name).stat().st_size > 0
    # The budget is per run: --resume continues the stopped search.
    assert main([*args, "--time-budget", "0.001", "--resume"]) == 0
    assert "Resumed 1 finished configurations; ran 1 more." in capsys.readouterr().out
    assert len(pd.read_csv(out / "trials.csv")) == 2
    # Every trial asked for is in the checkpoint: the outputs are rebuilt, nothing runs.
    (out / "trials.csv").unlink()
    assert main([*args, "--n-iter", "2", "--resume"]) == 0
    assert "Resumed 2 finished configurations; ran 0 more." in capsys.readouterr().out
    assert len(pd.read_csv(out / "trials.csv")) == 2
    # Starting over where an unfinished search is: said, in case --resume was meant.
    assert main([*args, "--time-budget", "0.001"]) == 0
    assert "holds an unfinished search (2 trials); starting a new one over it" in \
        capsys.readouterr().err
    assert main(["tune", "--time-budget", "0"]) == 2
    assert "must be a number of seconds > 0" in capsys.readouterr().err


def test_infinite_values_are_refused_before_the_search(tmp_path, capsys):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40),
                          "y": np.arange(40) % 2})
    frame.loc[[3, 7], "b"] = [np.inf, -np.inf]
    path, out = tmp_path / "d.csv", tmp_path / "out"
    frame.to_csv(path, index=False)  # written as inf and -inf, read back as floats
    assert main(["tune", str(path), "--target", "y", *TINY, "--output", str(out)]) == 2
    assert f"column 'b' of {path} has 2 infinite value(s) (e.g. inf)" in cli_error(capsys)
    assert not out.exists()  # refused before anything was written
    frame.loc[[3, 7], "b"] = 0.0
    frame["y"] = frame["a"] * 2.5
    frame.loc[5, "y"] = np.inf
    frame.to_csv(path, index=False)
    assert main(["tune", str(path), "--target", "y", *TINY, "--output", str(out)]) == 2
    assert "target 'y' has 1 infinite value(s)" in cli_error(capsys)


# -- model files ------------------------------------------------------------------
class Evil:
    """A class a tampered model file refers to: loading it would run __setstate__."""

    def __setstate__(self, state):
        with open(state["marker"], "w") as f:
            f.write("ran")


@pytest.fixture()
def data_csv(tmp_path):
    path = tmp_path / "new.csv"
    pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}).to_csv(path, index=False)
    return path


def test_a_tampered_skops_file_is_refused_without_running_its_code(tmp_path, data_csv,
                                                                   capsys):
    import skops.io
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    marker = tmp_path / "ran"
    evil = Evil()
    evil.marker = str(marker)
    skops.io.dump({"model": evil}, tmp_path / "evil.skops")
    assert main(["predict", str(tmp_path / "evil.skops"), str(data_csv)]) == 2
    err = cli_error(capsys)
    assert "was not loaded: it refers to types that neither skops nor skoptnn trusts" in err
    assert f"{Evil.__module__}.Evil" in err
    assert not marker.exists()

    # A pipeline whose transformer would call os.system.
    skops.io.dump(make_pipeline(FunctionTransformer(os.system)), tmp_path / "system.skops")
    assert main(["predict", str(tmp_path / "system.skops"), str(data_csv)]) == 2
    assert "system" in cli_error(capsys)

    (tmp_path / "junk.skops").write_text("not a zip file")
    assert main(["predict", str(tmp_path / "junk.skops"), str(data_csv)]) == 2
    assert "is not a model saved by 'skoptnn tune'" in cli_error(capsys)


# -- the preprocessing -------------------------------------------------------------
def test_tune_target_encodes_a_many_level_text_column(tmp_path, capsys):
    import joblib

    rng = np.random.default_rng(0)
    n = 160
    # 40 cities (more than MAX_ONE_HOT_LEVELS = 8): target encoded; 3 sizes, some
    # blank: imputed and one-hot encoded.
    city = rng.choice([f"city{i:02d}" for i in range(40)], size=n)
    size = rng.choice(["S", "M", "L"], size=n).astype(object)
    size[::11] = None
    x = rng.normal(size=n) * 1000 + 50
    x[:2] = [1e9, -1e9]  # outliers the scaler squashes
    first = np.isin(city, [f"city{i:02d}" for i in range(20)])
    y = np.where(first | (x > 1000), "yes", "no")  # yes in the first 20 cities
    frame = pd.DataFrame({"x": x, "city": city, "size": size, "y": y})
    path, out = tmp_path / "d.csv", tmp_path / "out"
    frame.to_csv(path, index=False)
    assert main(["tune", str(path), "--target", "y", "--n-iter", "1", *TINY,
                 "--output", str(out)]) == 0
    capsys.readouterr()

    model = joblib.load(out / "model.joblib")
    columns = {name: list(cols) for name, _, cols in model[0].transformers_}
    assert columns == {"numeric": ["x"], "categorical": ["size"], "many_levels": ["city"],
                       "boolean": []}
    encoded = model[0].transform(frame.drop(columns="y"))
    # x, 3 one-hot sizes, one target-encoded number for a binary target.
    assert encoded.shape == (n, 5)
    assert np.abs(encoded[:, [0, 4]]).max() < 3.0  # both scaled and clipped
    assert sorted(np.unique(encoded[:, 1:4])) == [0.0, 1.0]
    # The first 20 cities always say yes, the others rarely: encoded higher.
    assert encoded[first, 4].min() > encoded[~first, 4].mean()

    # Both model files predict, an unseen city too.
    new = frame.drop(columns="y").head(4).assign(city=["city00", "nowhere", "city39", None])
    new.to_csv(tmp_path / "new.csv", index=False)
    for model_file in ("model.skops", "model.joblib"):
        preds = tmp_path / f"{model_file}.csv"
        assert main(["predict", str(out / model_file), str(tmp_path / "new.csv"),
                     "--output", str(preds)]) == 0
        assert len(pd.read_csv(preds)) == 4
    capsys.readouterr()


def test_pipeline_encodes_pandas_category_columns_by_their_number_of_levels():
    from sklearn.preprocessing import OneHotEncoder, TargetEncoder

    from skoptnn.cli.pipeline import MAX_ONE_HOT_LEVELS, make_pipeline

    rng = np.random.default_rng(1)
    n = 150
    frame = pd.DataFrame({
        "a": rng.normal(size=n),
        # Exactly MAX_ONE_HOT_LEVELS levels: still one-hot; one more: target encoded.
        "few": pd.Categorical(rng.integers(0, 8, size=n)),
        "many": pd.Categorical([f"k{i}" for i in rng.integers(0, 9, size=n)]),
    })
    frame.loc[[3, 4], "many"] = np.nan  # missing: a level of its own to TargetEncoder
    assert MAX_ONE_HOT_LEVELS == 8
    assert frame["few"].nunique() == 8 and frame["many"].nunique() == 9

    # Three classes: one target-encoded column per class.
    y = rng.choice(["p", "q", "r"], size=n)
    pipe = make_pipeline(frame, "classification", random_state=0, epochs=2).fit(frame, y)
    columns = {name: list(cols) for name, _, cols in pipe[0].transformers_}
    assert columns["categorical"] == ["few"] and columns["many_levels"] == ["many"]
    assert isinstance(pipe[0].named_transformers_["categorical"][-1], OneHotEncoder)
    assert isinstance(pipe[0].named_transformers_["many_levels"][0], TargetEncoder)
    assert pipe[0].transform(frame).shape == (n, 1 + 8 + 3)
    assert pipe.predict(frame).shape == (n,)

    # A regression target of a few whole numbers is still a quantity: one column.
    y_reg = rng.integers(0, 4, size=n).astype(float)
    pipe = make_pipeline(frame, "regression", random_state=0, epochs=2).fit(frame, y_reg)
    assert pipe[0].named_transformers_["many_levels"][0].target_type_ == "continuous"
    assert pipe[0].transform(frame).shape == (n, 1 + 8 + 1)

    # TargetEncoder takes one target: with several (multilabel), one-hot encoding.
    Y = np.c_[frame["a"] > 0, frame["a"] > 1].astype(int)
    pipe = make_pipeline(frame, "classification", random_state=0, epochs=2, y=Y).fit(frame, Y)
    columns = {name: list(cols) for name, _, cols in pipe[0].transformers_}
    assert columns["categorical"] == ["few", "many"] and columns["many_levels"] == []
    assert pipe[0].transform(frame).shape == (n, 1 + 8 + 9)


def test_the_target_encoders_folds_follow_random_state():
    from skoptnn.cli.pipeline import make_pipeline

    rng = np.random.default_rng(2)
    n = 80
    frame = pd.DataFrame({"k": [f"v{i}" for i in rng.integers(0, 20, size=n)]})
    y = rng.integers(0, 2, size=n)

    def encoded(seed):
        return make_pipeline(frame, "classification", seed, 2)[0].fit_transform(frame, y)

    # Cross-fitted: each row's training encoding comes from the other folds, which
    # the seed picks; the same seed gives the same encoding.
    np.testing.assert_array_equal(encoded(0), encoded(0))
    assert not np.array_equal(encoded(0), encoded(1))


def test_set_fixes_network_parameters_and_takes_them_out_of_the_space(tmp_path, capsys):
    import joblib

    args, out = _tune_args(tmp_path, 120, 2)
    fixed = ["--set", "n_ensemble=2", "--set", "lr_schedule=cosine", "--set", "units=8",
             "--set", "numeric_embedding=periodic"]
    assert main([*args, *fixed]) == 0
    capsys.readouterr()
    model = joblib.load(out / "model.joblib")[-1]
    assert (model.n_ensemble, model.lr_schedule, model.units, model.numeric_embedding) == (
        2, "cosine", 8, "periodic")
    trials = pd.read_csv(out / "trials.csv")
    assert "units" not in trials.columns and "n_layers" in trials.columns
    # A resume must fix the same parameters.
    assert main([*args, "--resume", *fixed[:2]]) == 2
    assert "--set" in cli_error(capsys)
    # Unknown names and bad values are refused before any search, by name.
    # Nothing in the output folder changes: the search there still resumes.
    settings = (out / "tune-settings.json").read_text()
    for assignment, message in (("nope=1", "--set nope"), ("n_ensemble=0", "n_ensemble"),
                                ("lr_schedule=linear", "lr_schedule")):
        assert main([*args, "--set", assignment]) == 2
        assert message in cli_error(capsys)
    assert (out / "tune-settings.json").read_text() == settings
    assert main([*args, "--set", "units"]) == 2
    assert "expected PARAM=VALUE, got 'units'" in capsys.readouterr().err
