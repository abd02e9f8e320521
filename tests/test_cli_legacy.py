"""Model files that earlier versions of ``skoptnn tune`` wrote still predict the same.

Made as tests/data/legacy/README.md says: ``model.*`` by commit c5fcb5e (the CLI as
one module, ``skoptnn/cli.py``), ``model_6a4a31c.joblib`` by commit 6a4a31c, whose
pipeline pickles ``skoptnn.cli._as_object``. ``predictions*.csv`` are what those
versions' ``skoptnn predict`` wrote for ``data.csv``.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skoptnn.cli import main

LEGACY = Path(__file__).parent / "data" / "legacy" / "cli"
NUMPY_1 = int(np.__version__.split(".")[0]) < 2


@pytest.mark.parametrize("model, expected", [
    ("model.skops", "predictions.csv"),
    ("model.joblib", "predictions.csv"),
    ("model_6a4a31c.joblib", "predictions_6a4a31c.csv"),
])
def test_predict_with_a_model_file_from_an_earlier_version(model, expected, tmp_path, capsys):
    out = tmp_path / "predictions.csv"
    status = main(["predict", str(LEGACY / model), str(LEGACY / "data.csv"), "--output", str(out)])
    if model.endswith(".joblib") and NUMPY_1:
        # These pickles were written under NumPy 2, which NumPy 1.x cannot unpickle:
        # the error says so and points to the skops file where there is one.
        err = capsys.readouterr().err
        assert status == 2 and "saved under NumPy 2" in err and "numpy>=2" in err
        assert ("or predict with" in err) == (model == "model.joblib")
        return
    assert status == 0
    # The class labels exactly, the probabilities to float64 rounding.
    pd.testing.assert_frame_equal(pd.read_csv(out), pd.read_csv(LEGACY / expected),
                                  check_exact=False, rtol=1e-9)


def test_the_oldest_file_needs_as_object():
    # Why skoptnn.cli._as_object stays: this file refers to it by that name.
    assert b"_as_object" in (LEGACY / "model_6a4a31c.joblib").read_bytes()


def test_a_numpy_2_pickle_under_numpy_1_is_refused_with_the_reason(tmp_path, monkeypatch, capsys):
    # What NumPy 1.x raises on a NumPy 2 pickle, made here so both CI runs check the message.
    import joblib

    def load(path):
        raise ModuleNotFoundError("No module named 'numpy._core'", name="numpy._core")

    monkeypatch.setattr(joblib, "load", load)
    model = tmp_path / "model.joblib"
    model.write_bytes(b"")
    args = ["predict", str(model), str(LEGACY / "data.csv"), "--output", str(tmp_path / "p.csv")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "saved under NumPy 2" in err and np.__version__ in err and "or predict with" not in err
    (tmp_path / "model.skops").write_bytes(b"")
    assert main(args) == 2
    assert f"or predict with {tmp_path / 'model.skops'}" in capsys.readouterr().err
