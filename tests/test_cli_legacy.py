"""Model files that earlier versions of ``skoptnn tune`` wrote still predict the same.

Made as tests/data/legacy/README.md says: ``model.*`` by commit c5fcb5e (the CLI as
one module, ``skoptnn/cli.py``), ``model_6a4a31c.joblib`` by commit 6a4a31c, whose
pipeline pickles ``skoptnn.cli._as_object``. ``predictions*.csv`` are what those
versions' ``skoptnn predict`` wrote for ``data.csv``.
"""

from pathlib import Path

import pandas as pd
import pytest

from skoptnn.cli import main

LEGACY = Path(__file__).parent / "data" / "legacy" / "cli"


@pytest.mark.parametrize("model, expected", [
    ("model.skops", "predictions.csv"),
    ("model.joblib", "predictions.csv"),
    ("model_6a4a31c.joblib", "predictions_6a4a31c.csv"),
])
def test_predict_with_a_model_file_from_an_earlier_version(model, expected, tmp_path):
    out = tmp_path / "predictions.csv"
    assert main(["predict", str(LEGACY / model), str(LEGACY / "data.csv"),
                 "--output", str(out)]) == 0
    # The class labels exactly, the probabilities to float64 rounding.
    pd.testing.assert_frame_equal(pd.read_csv(out), pd.read_csv(LEGACY / expected),
                                  check_exact=False, rtol=1e-9)


def test_the_oldest_file_needs_as_object():
    # Why skoptnn.cli._as_object stays: this file refers to it by that name.
    assert b"_as_object" in (LEGACY / "model_6a4a31c.joblib").read_bytes()
