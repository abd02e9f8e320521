"""Write files with skoptnn's layout of commit c5fcb5e (session 10), for tests.

Run it by hand, from the repository root, on that commit; importing it (as pytest's
doctest collection does) writes nothing.
"""

import json
import pickle

import numpy as np
import skops.io as sio
from sklearn.datasets import load_diabetes, load_iris
from skopt.space import Integer, Real

from skoptnn import OptimizedMLPClassifier, OptimizedMLPRegressor, ResumableBayesSearchCV


def main() -> None:
    out = "tests/data/legacy/"
    X, y = load_iris(return_X_y=True)
    clf = OptimizedMLPClassifier(
        n_layers=1,
        units=8,
        epochs=5,
        random_state=0,
        early_stopping=True,
        batch_norm=True,
        dropout=0.1,
        validation_fraction=0.2,
    ).fit(X, y)
    Xr, yr = load_diabetes(return_X_y=True)
    Xr = (Xr - Xr.mean(0)) / Xr.std(0)
    yr = (yr - yr.mean()) / yr.std()
    reg = OptimizedMLPRegressor(
        n_layers=2, units=4, epochs=5, random_state=0, monitor_gradients=True
    ).fit(Xr[:100], yr[:100])
    reg_model = OptimizedMLPRegressor(n_layers=1, units=4, epochs=3, random_state=1).fit(
        Xr[:50], yr[:50]
    )
    _ = reg_model.model_  # pickled with its Keras model built
    for name, est, XX in (
        ("classifier", clf, X),
        ("regressor", reg, Xr[:100]),
        ("regressor_model", reg_model, Xr[:50]),
    ):
        with open(out + name + ".pkl", "wb") as f:
            pickle.dump(est, f)
        if name != "regressor_model":
            sio.dump(est, out + name + ".skops")
        p = est.predict_proba(XX) if hasattr(est, "predict_proba") else est.predict(XX)
        np.save(out + name + "_pred.npy", p)
    search = ResumableBayesSearchCV(
        OptimizedMLPClassifier(epochs=3, early_stopping=True, random_state=0),
        {"units": Integer(4, 16), "learning_rate": Real(1e-3, 1e-2, prior="log-uniform")},
        n_iter=3,
        cv=2,
        random_state=0,
        checkpoint=out + "search_checkpoint.json",
    )
    search.fit(X, y)
    json.dump(
        {
            "best_params": {
                k: (v.item() if hasattr(v, "item") else v) for k, v in search.best_params_.items()
            },
            "n": len(search.cv_results_["params"]),
            "mean_test_score": list(map(float, search.cv_results_["mean_test_score"])),
        },
        open(out + "search_expected.json", "w"),
    )


if __name__ == "__main__":
    main()
