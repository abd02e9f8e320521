"""The periodic numeric embedding trains as a Keras model of the paper's formula.

The reference embedding layer is written out here from the formula (Gorishniy
et al., 2022): ``relu(W_j [cos(2 pi f_j x_j), sin(2 pi f_j x_j)] + b_j)`` per
feature, with the starting values the parameter documents (frequencies from
``RandomNormal(stddev=embedding_scale, seed=seed + 2000)``, kernels from
``RandomUniform(-1/4, 1/4, seed=seed + 2001)``, biases 0). Keras differentiates
it; skoptnn's backward pass is written by hand. Under plain SGD a gradient off
by a factor or a sign changes every step.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import skops.io as sio
from keras_reference import fit_seed, named_weights, standardised

from skoptnn import OptimizedMLPClassifier, OptimizedMLPRegressor, trusted_types
from skoptnn.engine.runtime import keras

N, BATCH, EPOCHS, FEATURES = 64, 32, 4, 3
M, D = 8, 8  # frequencies and units per feature
LR, SCALE = 0.2, 0.5
BASE = {"hidden_layer_sizes": (6,), "optimizer": "sgd", "learning_rate": LR, "l2": 0.0,
        "random_state": 0, "numeric_embedding": "periodic", "embedding_scale": SCALE}
MOVED = 1e-2


class Periodic(keras.layers.Layer):
    def build(self, input_shape):
        seed = fit_seed(0)
        f = keras.initializers.RandomNormal(stddev=SCALE, seed=seed + 2000)((FEATURES, M))
        w = keras.initializers.RandomUniform(-0.25, 0.25, seed=seed + 2001)((FEATURES, 2 * M, D))
        self.f = self.add_weight(shape=(FEATURES, M), initializer=keras.initializers.Constant(
            np.asarray(f)))
        self.w = self.add_weight(shape=(FEATURES, 2 * M, D),
                                 initializer=keras.initializers.Constant(np.asarray(w)))
        self.b = self.add_weight(shape=(FEATURES, D), initializer="zeros")

    def call(self, x):
        ops = keras.ops
        angle = 2 * math.pi * x[:, :, None] * self.f[None]
        c = ops.concatenate([ops.cos(angle), ops.sin(angle)], axis=-1)
        z = ops.einsum("bfk,fkd->bfd", c, self.w) + self.b
        return ops.reshape(ops.relu(z), (-1, FEATURES * D))


def _reference(n_outputs, output, loss, metric, learning_rate=LR):
    seed = fit_seed(0)
    inputs = keras.Input((FEATURES,))
    x = Periodic()(inputs)
    x = keras.layers.Dense(6, activation="relu",
                           kernel_initializer=keras.initializers.HeNormal(seed=seed))(x)
    out = keras.layers.Dense(n_outputs, activation=output,
                             kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 1))(x)
    model = keras.Model(inputs, out)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss=loss, metrics=[metric])
    return model


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(N, FEATURES)).astype(np.float32)
    logits = np.sin(2 * X) @ rng.normal(size=(FEATURES, 3))
    return X, logits.argmax(axis=1), 3 * np.cos(X[:, 0]) + X[:, 1]


def _weights(model):
    return [w for _, w in named_weights(model)]


def _compare(est, model, start):
    ours, theirs = _weights(est.model_), _weights(model)
    assert [w.shape for w in ours] == [w.shape for w in theirs]
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=2e-5)
    # Every array moved, the frequencies included: the comparison has power.
    assert all(np.abs(b - s).max() > MOVED for b, s in zip(theirs, start, strict=True))


# task: (estimator, outputs, output activation, Keras loss, metric, Keras' target)
TASKS = {
    "classifier": (OptimizedMLPClassifier, 3, "softmax", "sparse_categorical_crossentropy",
                   "accuracy", lambda y: y.astype(np.float32)[:, None]),
    "regressor": (OptimizedMLPRegressor, 1, "linear", "mean_squared_error", "mae",
                  standardised),
}


def _fit_both(X, y, task, learning_rate=LR):
    """skoptnn's fit, Keras' fit of the reference, and the reference's starting weights."""
    cls, n_outputs, output, loss, metric, target = TASKS[task]
    plain = {"label_smoothing": 0.0} if cls is OptimizedMLPClassifier else {}  # as Keras' loss
    est = cls(**BASE, **plain, epochs=EPOCHS, batch_size=BATCH, shuffle=False).fit(X, y)
    model = _reference(n_outputs, output, loss, metric, learning_rate)
    start = _weights(model)
    model.fit(X, target(y), epochs=EPOCHS, batch_size=BATCH, shuffle=False, verbose=0)
    return est, model, start


def test_classifier_with_embedding_trains_like_keras_sgd(data):
    X, y, _ = data
    est, model, start = _fit_both(X, y, "classifier")
    _compare(est, model, start)
    np.testing.assert_allclose(est.predict_proba(X), np.asarray(model(X)), atol=1e-5)


def test_regressor_with_embedding_trains_like_keras_sgd(data):
    X, _, y = data
    _compare(*_fit_both(X, y, "regressor"))


def test_twice_the_gradient_fails_the_comparison(data):
    X, y, _ = data
    est, model, start = _fit_both(X, y, "classifier", learning_rate=2 * LR)
    with pytest.raises(AssertionError):
        _compare(est, model, start)


@pytest.fixture(scope="module")
def fitted(data):
    X, y, _ = data
    return OptimizedMLPClassifier(numeric_embedding="periodic", n_layers=2, units=8,
                                  batch_norm=True, dropout=0.1, epochs=5,
                                  random_state=0).fit(X, y)


def test_model_and_saved_files_predict_as_the_estimator(data, fitted, tmp_path):
    X = data[0]
    proba = fitted.predict_proba(X)
    np.testing.assert_allclose(fitted.model_.predict(X, verbose=0), proba, atol=1e-6)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(fitted)).predict_proba(X), proba)
    path = tmp_path / "model.skops"
    sio.dump(fitted, path)
    loaded = sio.load(path, trusted=trusted_types())
    np.testing.assert_array_equal(loaded.predict_proba(X), proba)
    # model_ saved and reloaded by Keras: the registered layer comes back.
    keras_path = tmp_path / "model.keras"
    fitted.model_.save(keras_path)
    np.testing.assert_allclose(keras.models.load_model(keras_path).predict(X, verbose=0),
                               proba, atol=1e-6)


def test_continued_training_equals_one_longer_fit(data):
    X, y, _ = data
    params = dict(numeric_embedding="periodic", n_layers=1, units=8, random_state=0)
    once = OptimizedMLPClassifier(**params, epochs=6).fit(X, y)
    twice = OptimizedMLPClassifier(**params, epochs=3, warm_start=True).fit(X, y).fit(X, y)
    np.testing.assert_array_equal(once.predict_proba(X), twice.predict_proba(X))
    with pytest.raises(ValueError, match="numeric_embedding"):
        twice.set_params(numeric_embedding="none").fit(X, y)


def test_embedding_parameters_are_validated(data):
    X, y, _ = data
    with pytest.raises(ValueError, match="numeric_embedding"):
        OptimizedMLPClassifier(numeric_embedding="linear").fit(X, y)
    with pytest.raises(ValueError, match="embedding_scale"):
        OptimizedMLPClassifier(embedding_scale=0.0).fit(X, y)
