"""A 2-D binary indicator target: one sigmoid per label, as MLPClassifier does."""

import numpy as np
import pytest
from sklearn.datasets import make_multilabel_classification
from sklearn.metrics import accuracy_score
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from skoptnn import OptimizedMLPClassifier
from skoptnn.engine.runtime import keras


@pytest.fixture(scope="module")
def multilabel():
    X, Y = make_multilabel_classification(n_samples=300, n_features=8, n_classes=3,
                                          random_state=0)
    return StandardScaler().fit_transform(X), Y


@pytest.fixture(scope="module")
def fitted(multilabel):
    X, Y = multilabel
    return OptimizedMLPClassifier(n_layers=1, units=32, epochs=60, l2=1e-4,
                                  random_state=0).fit(X, Y)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_multilabel_shapes_and_semantics_match_mlpclassifier(multilabel, fitted):
    X, Y = multilabel
    ref = MLPClassifier((32,), max_iter=300, random_state=0).fit(X, Y)
    # One sigmoid unit per label, trained on binary cross-entropy (model_ says so;
    # tests/test_gradients_sgd.py compares the training itself with Keras').
    output = fitted.model_.layers[-1]
    assert output.units == 3 and output.activation is keras.activations.sigmoid
    # Binary cross-entropy of the smoothed labels (the default label_smoothing=0.1).
    loss = fitted.model_.loss
    assert loss.fn is keras.losses.binary_crossentropy
    assert loss.get_config()["label_smoothing"] == pytest.approx(0.1)
    np.testing.assert_array_equal(fitted.classes_, ref.classes_)
    pred, proba = fitted.predict(X), fitted.predict_proba(X)
    assert pred.shape == ref.predict(X).shape == Y.shape
    assert pred.dtype.kind == ref.predict(X).dtype.kind == "i"
    assert set(np.unique(pred)) <= {0, 1}
    assert proba.shape == ref.predict_proba(X).shape == Y.shape
    # Independent sigmoids: rows do not sum to 1, and predict thresholds at 0.5.
    assert not np.allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(pred, (proba > 0.5).astype(int))
    # score is subset accuracy, as for every scikit-learn classifier.
    assert fitted.score(X, Y) == pytest.approx(accuracy_score(Y, pred))
    assert fitted.score(X, Y) > 0.5 and fitted.score(X, Y) >= ref.score(X, Y) - 0.15


def test_multilabel_history_is_per_label_accuracy(fitted, multilabel):
    X, Y = multilabel
    assert 0.5 < fitted.history_["accuracy"][-1] <= 1.0
    per_label = (fitted.predict(X) == Y).mean()
    assert abs(fitted.history_["accuracy"][-1] - per_label) < 0.1


def test_multilabel_refusals(multilabel):
    X, Y = multilabel
    with pytest.raises(ValueError, match="class_weight"):
        OptimizedMLPClassifier(epochs=1, class_weight="balanced").fit(X, Y)
    with pytest.raises(ValueError, match="multiclass-multioutput"):
        OptimizedMLPClassifier(epochs=1).fit(X, Y * np.array([1, 2, 3]))


def test_multilabel_with_early_stopping_and_partial_fit(multilabel):
    X, Y = multilabel
    est = OptimizedMLPClassifier(epochs=5, early_stopping=True, random_state=0).fit(X, Y)
    assert len(est.history_["val_loss"]) == est.n_epochs_
    inc = OptimizedMLPClassifier(random_state=0).partial_fit(X, Y, classes=[0, 1, 2])
    inc.partial_fit(X, Y)
    assert inc.predict(X).shape == Y.shape and inc.n_epochs_ == 2


def test_a_column_vector_target_is_one_dimensional(multilabel):
    X, Y = multilabel
    with pytest.warns(Warning, match="column-vector y"):
        est = OptimizedMLPClassifier(epochs=2, random_state=0).fit(X, Y[:, :1])
    assert est.predict(X).shape == (len(X),)


def test_partial_fit_takes_the_same_label_names_again(multilabel):
    X, Y = multilabel
    est = OptimizedMLPClassifier(random_state=0).partial_fit(X, Y, classes=["x", "y", "z"])
    est.partial_fit(X, Y, classes=["x", "y", "z"])
    with pytest.raises(ValueError, match="3 labels; this y has 2"):
        est.partial_fit(X, Y[:, :2])


def test_model_evaluate_reports_the_per_label_accuracy_of_history(fitted, multilabel):
    X, Y = multilabel
    logs = fitted.model_.evaluate(X.astype("float32"), Y.astype("float32"), verbose=0,
                                  return_dict=True)
    per_label = float((fitted.predict(X) == Y).mean())  # binary accuracy at 0.5
    assert logs["accuracy"] == pytest.approx(per_label, abs=1e-6)
