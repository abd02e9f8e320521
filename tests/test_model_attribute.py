"""model_: the Keras network, built from the fitted weights on first access."""

import pickle

import numpy as np
import pytest
from keras_reference import ACTIVATIONS, AUTO_INIT

from skoptnn import OptimizedMLPClassifier, OptimizedMLPRegressor
from skoptnn.engine.keras_model import build_network, read_params
from skoptnn.engine.layout import initial_params
from skoptnn.engine.runtime import keras, tf
from skoptnn.engine.spec import NetworkSpec

SMALL = dict(n_layers=2, units=8, epochs=10, batch_size=32, learning_rate=0.01, random_state=0)
# kernel_initializer -> Keras' initializer class, as the docstrings list them
# (written out here, not read from skoptnn's table).
INITIALIZERS = {name: getattr(keras.initializers, cls) for name, cls in (
    ("zeros", "Zeros"), ("random_normal", "RandomNormal"), ("random_uniform", "RandomUniform"),
    ("glorot_uniform", "GlorotUniform"), ("glorot_normal", "GlorotNormal"),
    ("he_normal", "HeNormal"), ("he_uniform", "HeUniform"),
    ("lecun_normal", "LecunNormal"), ("lecun_uniform", "LecunUniform"),
)}
SEED = 1234


def _expected_class(init: str, activation: str, index: int, n_hidden: int):
    if init != "auto":
        return INITIALIZERS[init]
    # "auto": by activation for the hidden layers, Glorot (uniform) for the output layer.
    return AUTO_INIT[activation] if index < n_hidden else keras.initializers.GlorotUniform


@pytest.mark.parametrize("hidden, batch_norm",
                         [((), False), ((5,), True), ((5, 4), False), ((6, 6, 6), True)])
def test_initial_weights_are_keras_initializers_seeded_per_layer(hidden, batch_norm):
    """Dense layer i starts from Keras' initializer (the literal class) seeded SEED + i;
    biases at 0; batch norm at gamma 1, beta 0, moving mean 0, moving variance 1. Fits
    start from initial_params without building a model: it holds exactly those values."""
    cases = [(init, "relu") for init in INITIALIZERS]
    cases += [("auto", activation) for activation in ACTIVATIONS]
    for init, activation in cases:
        spec = NetworkSpec(7, hidden, activation, batch_norm, 0.2, 0.0, 1e-3, 3, "softmax",
                           kernel_initializer=init)
        model = build_network(spec, seed=SEED)
        dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
        assert len(dense) == len(hidden) + 1
        for i, layer in enumerate(dense):
            cls = _expected_class(init, activation, i, len(hidden))
            assert type(layer.kernel_initializer) is cls, (init, activation, i)
            shape = tuple(layer.kernel.shape)
            draw = cls() if cls is keras.initializers.Zeros else cls(seed=SEED + i)
            np.testing.assert_array_equal(layer.kernel.numpy(), np.asarray(draw(shape)),
                                          err_msg=f"{init} {activation} layer {i}")
            np.testing.assert_array_equal(layer.bias.numpy(), 0.0)
        for layer in model.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                for name, value in [("gamma", 1.0), ("beta", 0.0), ("moving_mean", 0.0),
                                    ("moving_variance", 1.0)]:
                    np.testing.assert_array_equal(getattr(layer, name).numpy(), value)
        got, expected = initial_params(spec, seed=SEED), read_params(model, spec)
        for a, b in zip(tf.nest.flatten(got), tf.nest.flatten(expected), strict=True):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b, err_msg=f"{init} {activation}")


def test_fit_and_predict_build_no_keras_model(binary_data):
    X, y = binary_data
    est = OptimizedMLPClassifier(**SMALL).fit(X, y)
    est.predict_proba(X)
    pickle.dumps(est)
    assert "_model" not in est.__dict__


def test_model_is_built_once_and_predicts_like_the_estimator(binary_data):
    X, y = binary_data
    est = OptimizedMLPClassifier(**SMALL).fit(X, y)
    model = est.model_
    assert est.model_ is model
    np.testing.assert_allclose(
        model.predict(X, verbose=0)[:, 0], est.predict_proba(X)[:, 1], rtol=1e-5, atol=1e-6
    )


def test_optimizer_state_and_settings_are_handed_over(binary_data):
    X, y = binary_data
    est = OptimizedMLPClassifier(**{**SMALL, "early_stopping": False}, optimizer="rmsprop",
                                 clipnorm=0.5).fit(X, y)
    optimizer = est.model_.optimizer
    assert int(optimizer.iterations.numpy()) == est.n_epochs_ * -(-len(X) // est.batch_size)
    assert type(optimizer).__name__ == "RMSprop" and optimizer.clipnorm == 0.5
    assert np.isclose(float(np.asarray(optimizer.learning_rate)), 0.01)
    # Settings changed after fit do not leak into the fitted model.
    est.set_params(learning_rate=0.5)
    assert "_model" in est.__dict__
    fresh = pickle.loads(pickle.dumps(est))
    assert np.isclose(float(np.asarray(fresh.model_.optimizer.learning_rate)), 0.01)


def test_training_model_further_changes_predict_and_survives_pickle(binary_data):
    X, y = binary_data
    est = OptimizedMLPClassifier(**SMALL).fit(X, y)
    before = est.predict_proba(X)
    est.model_.fit(X, y, epochs=3, verbose=0)
    after = est.predict_proba(X)
    assert not np.allclose(before, after)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).predict_proba(X), after)


def test_refit_replaces_a_built_model(binary_data):
    X, y = binary_data
    est = OptimizedMLPRegressor(**SMALL).fit(X, y.astype(float))
    first = est.model_
    est.set_params(random_state=1).fit(X, y.astype(float))
    assert est.model_ is not first
    # The regressor standardises its target: model_ predicts on that scale.
    raw = est.model_.predict(X, verbose=0)[:, 0] * y.std() + y.mean()
    np.testing.assert_allclose(raw, est.predict(X), rtol=1e-5, atol=1e-5)


def test_model_before_fit_is_an_attribute_error():
    est = OptimizedMLPClassifier()
    assert not hasattr(est, "model_")
    with pytest.raises(AttributeError, match="before fit"):
        est.model_  # noqa: B018


def test_estimator_pickled_with_its_model_still_loads(binary_data):
    # Before model_ was built on demand, the pickled state held the model, and
    # the fitted description as the flat layout's private attributes.
    X, y = binary_data
    est = OptimizedMLPClassifier(**SMALL).fit(X, y)
    expected = est.predict_proba(X)
    state = est.__getstate__()
    network = state.pop("_network")
    legacy = {**state, "_spec": network["spec"], "_seed": network["seed"],
              "_learning_rate": network["learning_rate"], "_monitor": None,
              "model_": est.model_}
    old = OptimizedMLPClassifier.__new__(OptimizedMLPClassifier)
    old.__setstate__(pickle.loads(pickle.dumps(legacy)))
    np.testing.assert_array_equal(old.predict_proba(X), expected)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(old)).predict_proba(X), expected)
    old.set_params(warm_start=True, epochs=1).fit(X, y)  # continues from the model's state
    assert old.n_epochs_ == est.n_epochs_ + 1


def test_model_recompiled_with_another_optimizer_still_pickles(binary_data):
    X, y = binary_data
    est = OptimizedMLPClassifier(**SMALL, optimizer="adam").fit(X, y)
    est.model_.compile(optimizer="sgd", loss="binary_crossentropy")
    est.model_.fit(X, y, epochs=2, verbose=0)
    expected = est.predict_proba(X)
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(loaded.predict_proba(X), expected)
    assert type(loaded.model_.optimizer).__name__ == "Adam"  # as fit left it


def test_model_carries_the_fits_seed(binary_data):
    X, y = binary_data
    seeds = {
        OptimizedMLPClassifier(**{**SMALL, "random_state": r}).fit(X, y).model_
        .get_layer("hidden_1").kernel_initializer.seed
        for r in (0, 1)
    }
    assert len(seeds) == 2


def test_fine_tuning_model_with_a_frozen_layer(binary_data):
    import copy

    X, y = binary_data
    est = OptimizedMLPClassifier(**SMALL, batch_norm=True).fit(X, y)
    model = est.model_
    # The usual way to fine-tune: freeze the first layers, train the rest.
    model.get_layer("hidden_1").trainable = False
    model.get_layer("batch_norm_1").trainable = False
    frozen = model.get_layer("hidden_1").kernel.numpy()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(X, y.astype("float32"), epochs=2, verbose=0)
    np.testing.assert_array_equal(model.get_layer("hidden_1").kernel.numpy(), frozen)
    expected = model.predict(X, verbose=0)[:, 0]
    np.testing.assert_allclose(est.predict_proba(X)[:, 1], expected, rtol=1e-5, atol=1e-6)
    for other in (pickle.loads(pickle.dumps(est)), copy.deepcopy(est)):
        np.testing.assert_allclose(other.predict_proba(X)[:, 1], expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(other.model_.get_layer("hidden_1").kernel.numpy(), frozen)
