"""Files written by skoptnn's previous layout still load and predict the same.

``tests/data/legacy`` holds pickles, skops files and a search checkpoint
written by the flat layout (see its README); their fitted state was seven
private attributes, now one fitted network.
"""

import pickle
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from sklearn.datasets import load_diabetes, load_iris

from skoptnn import trusted_types

LEGACY = Path(__file__).parent / "data" / "legacy"


def _data(name, target=False):
    if name == "classifier":
        return load_iris(return_X_y=True)[int(target)]
    X, y = load_diabetes(return_X_y=True)
    X, y = (X - X.mean(0)) / X.std(0), (y - y.mean()) / y.std()
    n = 100 if name == "regressor" else 50
    return (y if target else X)[:n]


def _outputs(est, X):
    return est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)


@pytest.mark.skipif(int(np.__version__.split(".")[0]) < 2,
                    reason="these pickles were written under NumPy 2, which NumPy 1.x cannot "
                           "unpickle (numpy._core); the skops files are tested below")
@pytest.mark.parametrize("name", ["classifier", "regressor", "regressor_model"])
def test_old_pickles_load_predict_and_train_on(name):
    with open(LEGACY / f"{name}.pkl", "rb") as f:
        est = pickle.load(f)
    X = _data(name)
    expected = np.load(LEGACY / f"{name}_pred.npy")
    np.testing.assert_allclose(_outputs(est, X), expected, rtol=1e-6, atol=1e-7)
    # Everything else a fitted estimator offers works on the old state too.
    assert est.model_.count_params() > 0
    assert np.asarray(est.model_(X[:3].astype(np.float32))).shape[0] == 3
    # Parameters added since take the values that train as skoptnn did then, not
    # today's defaults (the classifier smooths its labels by default now).
    params = est.get_params()
    assert params["n_ensemble"] == 1 and params["numeric_embedding"] == "none"
    assert params["lr_schedule"] == "constant" and params.get("label_smoothing", 0.0) == 0.0
    est.set_params(warm_start=True, epochs=1)
    y = _data(name, target=True)
    n_epochs = est.n_epochs_
    est.fit(X, y)
    assert est.n_epochs_ == n_epochs + 1


@pytest.mark.parametrize("name", ["classifier", "regressor"])
def test_old_skops_files_load_and_predict_the_same(name):
    est = sio.load(LEGACY / f"{name}.skops", trusted=trusted_types())
    np.testing.assert_allclose(_outputs(est, _data(name)), np.load(LEGACY / f"{name}_pred.npy"),
                               rtol=1e-6, atol=1e-7)
    if name == "regressor":  # gradient norms were saved as plain tables too
        assert est.gradient_norms_.shape[0] == est.n_epochs_
