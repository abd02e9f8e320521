"""Label smoothing trains as Keras' cross-entropies with ``label_smoothing``.

Under plain SGD the targets' offset changes every gradient, so the weights
after a few steps tell a right smoothing from a wrong one. Keras' sparse
cross-entropy has no ``label_smoothing``: the multiclass reference trains on
one-hot labels with ``CategoricalCrossentropy``.
"""

from __future__ import annotations

import numpy as np
import pytest
from keras_reference import named_weights, reference

from skoptnn import OptimizedMLPClassifier
from skoptnn.engine.runtime import keras

N, BATCH, EPOCHS = 64, 32, 4
BASE = {"hidden_layer_sizes": (8, 6), "optimizer": "sgd", "learning_rate": 0.5, "l2": 0.0,
        "random_state": 0}
SMOOTHING = 0.2


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(N, 5)).astype(np.float32)
    logits = X @ rng.normal(size=(5, 3))
    return X, {"binary": (logits[:, 0] > 0).astype(int), "multiclass": logits.argmax(axis=1),
               "multilabel": (logits > 0).astype(int)}


# task: (outputs, output activation, Keras loss, metric, target Keras trains on)
TASKS = {
    "binary": (1, "sigmoid", lambda a: keras.losses.BinaryCrossentropy(label_smoothing=a),
               "accuracy", lambda y: y.astype(np.float32).reshape(-1, 1)),
    "multiclass": (3, "softmax",
                   lambda a: keras.losses.CategoricalCrossentropy(label_smoothing=a),
                   "accuracy", lambda y: np.eye(3, dtype=np.float32)[y]),
    "multilabel": (3, "sigmoid", lambda a: keras.losses.BinaryCrossentropy(label_smoothing=a),
                   "binary_accuracy", lambda y: y.astype(np.float32)),
}


def _fit_both(X, y, task, smoothing, early_stopping=False):
    est = OptimizedMLPClassifier(**BASE, label_smoothing=SMOOTHING, epochs=EPOCHS,
                                 batch_size=BATCH, shuffle=False).fit(X, y)
    n_outputs, output, loss, metric, target = TASKS[task]
    model = reference(BASE, X.shape[1], n_outputs, output, loss(smoothing), metric, N)
    history = model.fit(X, target(y), epochs=EPOCHS, batch_size=BATCH, shuffle=False,
                        verbose=0).history
    return est, model, history


def _same_weights(est, model) -> bool:
    return all(np.allclose(a, b, rtol=1e-4, atol=1e-5) for (_, a), (_, b) in
               zip(named_weights(est.model_), named_weights(model), strict=True))


@pytest.mark.parametrize("task", sorted(TASKS))
def test_label_smoothing_trains_like_keras(data, task):
    X, y = data
    est, model, history = _fit_both(X, y[task], task, SMOOTHING)
    assert _same_weights(est, model)
    np.testing.assert_allclose(est.history_["loss"], history["loss"], rtol=1e-5, atol=1e-6)
    # model_ is compiled with the smoothed loss: it evaluates what training reported.
    loss = est.model_.evaluate(X, TASKS[task][4](y[task]) if task != "multiclass"
                               else y[task].reshape(-1, 1), verbose=0)[0]
    assert loss == pytest.approx(
        float(model.evaluate(X, TASKS[task][4](y[task]), verbose=0)[0]), rel=1e-4)


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_a_wrong_smoothing_fails_the_comparison(data, task):
    """The comparison's power: Keras at half the smoothing trains other weights."""
    X, y = data
    est, model, _ = _fit_both(X, y[task], task, SMOOTHING / 2)
    assert not _same_weights(est, model)


def test_label_smoothing_keeps_probabilities_off_the_extremes(data):
    X, y = data
    plain = OptimizedMLPClassifier(epochs=200, l2=0.0, random_state=0,
                                   label_smoothing=0.0).fit(X, y["binary"])
    smooth = OptimizedMLPClassifier(epochs=200, l2=0.0, random_state=0,
                                    label_smoothing=0.2).fit(X, y["binary"])
    # The smoothed targets are 0.1 and 0.9: its probabilities gather near them,
    # where the plain network's run to 0 and 1.
    assert np.median(plain.predict_proba(X).max(axis=1)) > 0.99
    assert 0.85 < np.median(smooth.predict_proba(X).max(axis=1)) < 0.93
    np.testing.assert_allclose(smooth.model_.predict(X, verbose=0)[:, 0],
                               smooth.predict_proba(X)[:, 1], atol=1e-6)


def test_label_smoothing_is_validated(data):
    X, y = data
    with pytest.raises(ValueError, match="label_smoothing"):
        OptimizedMLPClassifier(label_smoothing=1.0).fit(X, y["binary"])


def test_validation_loss_is_the_smoothed_loss_of_the_validation_rows(data):
    """history_'s val_loss (what early stopping watches) is the smoothed cross-entropy
    of the kept weights on the held-out rows, recomputed here in NumPy."""
    from keras_reference import fit_seed
    from sklearn.model_selection import train_test_split

    X, y = data
    est = OptimizedMLPClassifier(epochs=30, early_stopping=True, validation_fraction=0.25,
                                 l2=0.0, label_smoothing=SMOOTHING, random_state=0).fit(
        X, y["multiclass"])
    # The hold-out: a stratified split seeded with the fit's seed (the documented split).
    _, X_val, _, y_val = train_test_split(X, y["multiclass"], test_size=0.25,
                                          random_state=fit_seed(0), stratify=y["multiclass"])
    p = est.predict_proba(X_val)
    target = np.eye(3)[y_val] * (1 - SMOOTHING) + SMOOTHING / 3
    expected = -(target * np.log(p)).sum(axis=1).mean()
    assert est.history_["val_loss"][est.best_epoch_] == pytest.approx(expected, rel=1e-4)
    unsmoothed = -np.log(p[np.arange(len(y_val)), y_val]).mean()
    assert abs(unsmoothed - expected) > 0.05  # the two differ: the check has power


def test_warm_start_with_another_smoothing_judges_its_epochs_afresh(data):
    """A warm-started fit whose smoothing changed does not compare its (smoothed)
    validation losses with the earlier fit's best: it trains and keeps its own epochs."""
    X, y = data
    X, target = np.tile(X, (4, 1)), np.tile(y["binary"], 4)
    est = OptimizedMLPClassifier(early_stopping=True, patience=3, epochs=40, l2=0.0,
                                 random_state=0).fit(X, target)
    first_epochs, before = est.n_epochs_, est.predict_proba(X)
    est.set_params(warm_start=True, label_smoothing=0.3).fit(X, target)
    assert est.best_epoch_ >= first_epochs  # an epoch of the second fit was kept
    assert np.abs(est.predict_proba(X) - before).max() > 1e-3
