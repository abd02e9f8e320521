"""The fitted network an estimator holds: one object, loaded safely, read once.

Each test here was written against a bug a review found; see each docstring.
"""

import copy
import pickle
import sys
import threading

import numpy as np
import pytest
import skops.io as sio

from skoptnn import OptimizedMLPClassifier, OptimizedMLPRegressor, trusted_types
from skoptnn.engine.runtime import keras


def test_a_recompiled_unbuilt_model_falls_back_to_the_fit_optimizer_state(binary_data):
    """model_ compiled with a new optimizer and not trained has an unbuilt
    optimizer: pickling, deepcopy and warm_start must not raise (they did: the
    optimizer-state reader raised RuntimeError where a ValueError was caught)."""
    X, y = binary_data
    est = OptimizedMLPClassifier(n_layers=1, units=4, epochs=2, random_state=0,
                                 warm_start=True).fit(X, y)
    est.model_.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    expected = est.predict_proba(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).predict_proba(X), expected)
    np.testing.assert_array_equal(copy.deepcopy(est).predict_proba(X), expected)
    est.fit(X, y)
    assert est.n_epochs_ == 4


def _tampered_load(est, tmp_path, edit):
    cls = type(est)
    original = cls.__getstate__

    def tampered(self):
        state = original(self)
        edit(state)
        return state

    path = tmp_path / "model.skops"
    cls.__getstate__ = tampered
    try:
        sio.dump(est, path)
    finally:
        cls.__getstate__ = original
    return sio.load(path, trusted=trusted_types())


def _network_state(state: dict) -> dict:
    return state["_network"]


@pytest.mark.parametrize("edit, message", [
    (lambda s: _network_state(s)["spec"]["network"].update(activation="os.system"),
     "activation 'os.system'"),
    (lambda s: _network_state(s)["spec"].update(optimizer="evil"), "optimizer 'evil'"),
    (lambda s: _network_state(s)["params"]["trainable"].pop(), "weights do not fit"),
    (lambda s: _network_state(s)["params"]["trainable"].__setitem__(
        0, np.zeros((2, 2), np.float32)), "weights do not fit"),
    (lambda s: _network_state(s)["spec"]["network"].update(n_features=-3), "layer sizes"),
    (lambda s: _network_state(s)["optimizer_state"]["slots"].pop(), "optimizer state"),
])
def test_a_tampered_skops_state_is_refused_with_what_is_wrong(binary_data, tmp_path, edit,
                                                             message):
    """A skops file loads only trusted types, but the state they carry is data:
    a name outside skoptnn's tables or arrays that do not fit the description
    are refused when the file loads, not met later as a crash inside predict."""
    X, y = binary_data
    est = OptimizedMLPClassifier(n_layers=2, units=4, epochs=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=message):
        _tampered_load(est, tmp_path, edit)


def test_an_untampered_skops_state_loads(binary_data, tmp_path):
    X, y = binary_data
    est = OptimizedMLPClassifier(n_layers=2, units=4, epochs=2, random_state=0).fit(X, y)
    loaded = _tampered_load(est, tmp_path, lambda state: None)
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))


def test_predict_beside_a_refit_sees_one_network_or_the_other(binary_data):
    """A predict racing a refit of the same estimator in another thread must get
    the old network's or the new one's outputs, never the new weights with the
    old description (it could: weights and description were separate attributes)."""
    X, y = binary_data
    params = dict(n_layers=1, units=4, epochs=1, random_state=0)
    outputs = {a: OptimizedMLPClassifier(activation=a, **params).fit(X, y).predict_proba(X[:5])
               for a in ("relu", "tanh", "sigmoid")}
    est = OptimizedMLPClassifier(activation="relu", **params).fit(X, y)
    stop, seen = threading.Event(), []

    def refit():
        for i in range(30):
            est.set_params(activation=("tanh", "sigmoid", "relu")[i % 3]).fit(X, y)
        stop.set()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        thread = threading.Thread(target=refit)
        thread.start()
        while not stop.is_set():
            seen.append(est.predict_proba(X[:5]))
        thread.join()
    finally:
        sys.setswitchinterval(interval)
    for proba in seen:
        assert any(np.array_equal(proba, o) for o in outputs.values())


def test_predict_after_model_is_built_refolds_only_when_the_weights_change(binary_data,
                                                                          monkeypatch):
    """Once model_ exists predict follows its weights, but re-deriving the
    prediction layers (batch norm folded) on every call was wasted work."""
    import skoptnn.engine.inference as inference
    import skoptnn.engine.network as network

    X, y = binary_data
    est = OptimizedMLPClassifier(n_layers=2, units=4, epochs=2, batch_norm=True,
                                 random_state=0).fit(X, y)
    model = est.model_
    calls = []
    original = inference.dense_layers

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(inference, "dense_layers", counting)
    monkeypatch.setattr(network, "dense_layers", counting, raising=False)
    first = est.predict_proba(X)
    for _ in range(3):
        np.testing.assert_array_equal(est.predict_proba(X), first)
    assert len(calls) <= 1
    model.fit(X, y, epochs=1, verbose=0)
    changed = est.predict_proba(X)
    assert not np.array_equal(changed, first)
    np.testing.assert_allclose(changed[:, 1], model.predict(X, verbose=0)[:, 0], atol=1e-5)
    assert len(calls) <= 2


def test_the_loop_cache_holds_every_graph_a_shipped_space_can_visit():
    """A long search must not evict and retrace: the cache was a constant 32
    while the presets' spaces can visit more graph keys than that. The keys are
    counted here by building each candidate's real training description."""
    import itertools

    from skopt.space import Categorical, Integer

    from skoptnn import PRESETS, classifier_space, preset_space, regressor_space
    from skoptnn.engine import cache

    def keys(space, cls, n_outputs_task):
        dims = {name: dim for name, dim in space.items()}
        choices = {}
        for name, dim in dims.items():
            if isinstance(dim, Categorical):
                choices[name] = list(dim.categories)
            elif name == "n_layers" and isinstance(dim, Integer):
                choices[name] = sorted({dim.low, dim.high})
            elif name in ("dropout", "clipnorm", "clipvalue"):
                choices[name] = sorted({dim.low, dim.high})
        found = set()
        for values in itertools.product(*choices.values()):
            est = cls(**dict(zip(choices, values, strict=True)))
            est._output_layer = lambda: n_outputs_task
            spec = est._train_spec(n_features=3, n_samples=10.0)
            found.add(spec.graph_key(monitor_gradients=False))
        return found

    biggest = 0
    for make, cls, task in ((classifier_space, OptimizedMLPClassifier,
                             (1, "sigmoid", "binary_crossentropy")),
                            (regressor_space, OptimizedMLPRegressor, None)):
        spaces = [make()] + [preset_space(name, space=make) for name in PRESETS]
        for space in spaces:
            if task is None:
                found = set()
                for loss in space.get("loss", Categorical(["mse"])).categories:
                    keras_loss = {"mse": "mean_squared_error", "mae": "mean_absolute_error",
                                  "huber": "huber"}[loss]
                    found |= keys({k: v for k, v in space.items() if k != "loss"}, cls,
                                  (1, "linear", keras_loss))
            else:
                found = keys(space, cls, task)
            biggest = max(biggest, len(found))
    assert cache.capacity() >= biggest
    # ... sized from those spaces: a space that visits more keys enlarges it.
    assert cache._most_visited_keys() == biggest


def test_fit_leaves_one_fitted_network_and_public_attributes(binary_data):
    """The fitted state is one object (plus model_ once built), not seven
    attributes that each of fit, predict, pickling and model_ reassembled."""
    X, y = binary_data
    est = OptimizedMLPClassifier(n_layers=1, units=4, epochs=2, random_state=0).fit(X, y)
    private = {k for k in vars(est) if k.startswith("_") and not k.endswith("_")}
    assert "_network" in private
    assert not private & {"_params", "_spec", "_optimizer_state", "_learning_rate", "_seed",
                          "_monitor", "_dense"}



def test_a_model_built_under_float64_floatx_pickles_and_loads(binary_data):
    X, y = binary_data
    est = OptimizedMLPClassifier(n_layers=1, units=4, epochs=2, random_state=0).fit(X, y)
    expected = est.predict_proba(X)
    keras.config.set_floatx("float64")
    try:
        est.model_  # noqa: B018
    finally:
        keras.config.set_floatx("float32")
    np.testing.assert_allclose(pickle.loads(pickle.dumps(est)).predict_proba(X), expected,
                               rtol=1e-6)


def _early_stopped(binary_data):
    X, y = binary_data
    return OptimizedMLPClassifier(n_layers=1, units=4, epochs=6, early_stopping=True,
                                  random_state=0, warm_start=True).fit(X, y)


def test_once_model_is_built_a_pickle_keeps_no_early_stopping_references(binary_data):
    """Whatever became of model_ (left alone, recompiled, trained), its weights
    may no longer be the kept epoch's: the references go, in memory and pickled."""
    untouched = _early_stopped(binary_data)
    untouched.model_  # noqa: B018
    recompiled = _early_stopped(binary_data)
    recompiled.model_.compile(optimizer=keras.optimizers.Adam(), loss="binary_crossentropy")
    for est in (untouched, recompiled):
        loaded = pickle.loads(pickle.dumps(est))
        assert loaded._network.monitor is None and loaded._network.from_model


def test_a_continued_fit_after_model_trained_and_a_pickle_starts_from_its_weights(
        binary_data, monkeypatch):
    """In memory and after a pickle alike, weights model_ trained on are not the
    best epoch's: the continued fit is told so (no start epoch)."""
    import skoptnn.engine.ensemble as ensemble  # which calls the trainer, per member

    X, y = binary_data
    calls = []
    real_fit = ensemble.fit
    monkeypatch.setattr(ensemble, "fit", lambda *a, **k: calls.append(k) or real_fit(*a, **k))
    for through_pickle in (False, True):
        est = _early_stopped(binary_data)
        est.model_.fit(X, y, epochs=1, verbose=0)
        if through_pickle:
            est = pickle.loads(pickle.dumps(est))
        calls.clear()
        est.fit(X, y)
        assert calls[0]["start_epoch"] is None and calls[0]["references"] is None


def test_model_built_while_a_refit_runs_does_not_outlive_the_refit(binary_data, monkeypatch):
    """A model_ built from the old network while another thread refits must not
    stay behind: predict, model_ and pickling follow the refit."""
    from skoptnn.engine.network import FittedNetwork

    X, y = binary_data
    est = OptimizedMLPClassifier(n_layers=1, units=4, epochs=2, random_state=0).fit(X, y)
    refitted = threading.Event()
    build = FittedNetwork.build_model

    def slow_build(self):
        model = build(self)
        refitted.wait(timeout=60)
        return model

    monkeypatch.setattr(FittedNetwork, "build_model", slow_build)
    thread = threading.Thread(target=lambda: est.model_)
    thread.start()
    est.set_params(activation="tanh").fit(X, y)
    refitted.set()
    thread.join()
    monkeypatch.setattr(FittedNetwork, "build_model", build)
    expected = OptimizedMLPClassifier(n_layers=1, units=4, epochs=2, random_state=0,
                                      activation="tanh").fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(est.predict_proba(X), expected)
    np.testing.assert_allclose(est.model_.predict(X, verbose=0)[:, 0], expected[:, 1],
                               atol=1e-5)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).predict_proba(X), expected)
