"""n_ensemble: members trained on the same mini-batches, predicting their mean.

The references are independent of the ensemble's code: single networks fitted
with the member's seed (the member-seed function patched), and a NumPy forward
pass over each member's branch of ``model_``.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import skops.io as sio
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression

import skoptnn.engine.ensemble as ensemble
from skoptnn import OptimizedMLPClassifier, OptimizedMLPRegressor, trusted_types
from skoptnn.engine.cache import traced_graphs
from skoptnn.engine.pruning import PruningSchedule
from skoptnn.engine.runtime import keras

BASE = dict(n_layers=2, units=8, dropout=0.2, batch_size=16, epochs=4, random_state=0)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=120, n_features=5, n_informative=3, n_redundant=0,
                               n_classes=3, n_clusters_per_class=1, flip_y=0.1,
                               random_state=3)
    _, y_reg = make_regression(n_samples=120, n_features=5, noise=5.0, random_state=3)
    y_reg = X @ [3.0, -2.0, 1.0, 0.5, 0.0] + 0.1 * y_reg + 50.0
    targets = {"binary": (y == 1).astype(int), "multiclass": y,
               "multilabel": np.stack([y == 1, y == 2, X[:, 0] > 0], axis=1).astype(int),
               "regression": y_reg}
    return X.astype(np.float32), targets


def _estimator(task: str, **params):
    cls = OptimizedMLPRegressor if task == "regression" else OptimizedMLPClassifier
    return cls(**{**BASE, **params})


def _outputs(est, X):
    """What the estimator predicts as the network's mean output (regressor: in y's units)."""
    return est.predict(X) if isinstance(est, OptimizedMLPRegressor) else est.predict_proba(X)


def _member_params(est) -> list:
    network = est._network
    return [m.params for m in getattr(network, "members", [network])]


def _same_arrays(a, b) -> bool:
    """Whether two lists of Params hold equal arrays, bit for bit."""
    flat_a = [x for params in a for x in (*params.trainable, *params.moving)]
    flat_b = [x for params in b for x in (*params.trainable, *params.moving)]
    return len(flat_a) == len(flat_b) and all(np.array_equal(x, y)
                                              for x, y in zip(flat_a, flat_b, strict=True))


def _numpy_branch(model, prefix: str, X, n_hidden: int, output: str) -> np.ndarray:
    """A member's output from its branch's Keras weights: Dense + ReLU layers, then
    the output activation, in float64 NumPy (no skoptnn code)."""
    h = X.astype(np.float64)
    for i in range(1, n_hidden + 1):
        layer = model.get_layer(f"{prefix}hidden_{i}")
        h = np.maximum(h @ layer.kernel.numpy() + layer.bias.numpy(), 0.0)
    layer = model.get_layer(f"{prefix}output")
    z = h @ layer.kernel.numpy().astype(np.float64) + layer.bias.numpy()
    if output == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if output == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    return z


def test_one_member_is_the_plain_network(data):
    """n_ensemble=1 (explicit) fits, predicts, saves and builds model_ as without it."""
    X, targets = data
    for task in ("multiclass", "regression"):
        y = targets[task]
        params = dict(early_stopping=True, patience=2, epochs=12, batch_norm=True)
        plain = _estimator(task, **params).fit(X, y)
        one = _estimator(task, **params, n_ensemble=1).fit(X, y)
        assert type(one._network).__name__ == "FittedNetwork"
        assert _same_arrays(_member_params(one), _member_params(plain))
        np.testing.assert_array_equal(_outputs(one, X), _outputs(plain, X))
        assert (one.history_, one.n_epochs_, one.best_epoch_) == (
            plain.history_, plain.n_epochs_, plain.best_epoch_)
        assert pickle.dumps(one) == pickle.dumps(plain)  # the same file, byte for byte
        names = [layer.name for layer in one.model_.layers]
        assert names == [layer.name for layer in plain.model_.layers]
        assert "hidden_1" in names and "output" in names


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_members_from_one_seed_equal_one_network(data, task, monkeypatch):
    """Members that share initial weights and dropout masks (every member seed the
    fit's) train exactly as one network: the same mini-batches, the same early
    stopping, schedule, label smoothing and gradient norms."""
    X, targets = data
    y = targets[task]
    params = dict(early_stopping=True, patience=2, epochs=10, lr_schedule="cosine",
                  lr_warmup=0.2, monitor_gradients=True)
    if task != "regression":
        params["label_smoothing"] = 0.1
    single = _estimator(task, **params).fit(X, y)
    monkeypatch.setattr(ensemble, "member_seed", lambda seed, member: seed)
    est = _estimator(task, **params, n_ensemble=3).fit(X, y)
    for member in _member_params(est):
        assert _same_arrays([member], _member_params(single))
    np.testing.assert_allclose(_outputs(est, X), _outputs(single, X), rtol=1e-12, atol=1e-12)
    assert est.history_ == single.history_
    assert (est.n_epochs_, est.best_epoch_) == (single.n_epochs_, single.best_epoch_)
    assert est._network.best_epochs == (single.best_epoch_,) * 3
    assert est.gradient_norms_.equals(single.gradient_norms_)


def test_each_member_stops_early_on_its_own(data, monkeypatch):
    """Member m is the network that one fit with member m's seed (and the fit's
    shuffling and validation split) trains: its own stopping epoch and restored
    weights. The record: n_epochs_ the longest member's, best_epoch_ the latest
    member's, history_ per epoch the mean over the members still training."""
    X, targets = data
    y = targets["binary"]
    params = dict(early_stopping=True, patience=1, epochs=40, learning_rate=0.03)
    monkeypatch.setattr(ensemble, "member_seed", lambda seed, member: seed + 17 * member)
    est = _estimator("binary", **params, n_ensemble=3).fit(X, y)
    singles = []
    for j in range(3):  # one member each: member 0 of a one-member ensemble draws seed + 17 j
        monkeypatch.setattr(ensemble, "member_seed", lambda seed, member, j=j: seed + 17 * j)
        singles.append(_estimator("binary", **params).fit(X, y))
    epochs = [s.n_epochs_ for s in singles]
    assert len(set(epochs)) > 1, "the members should stop at different epochs"
    for member, single in zip(_member_params(est), singles, strict=True):
        assert _same_arrays([member], _member_params(single))
    assert est._network.best_epochs == tuple(s.best_epoch_ for s in singles)
    assert est.n_epochs_ == max(epochs)
    assert est.best_epoch_ == max(s.best_epoch_ for s in singles)
    for name in ("loss", "val_loss", "accuracy"):
        expected = [np.mean([s.history_[name][e] for s in singles if s.n_epochs_ > e])
                    for e in range(max(epochs))]
        np.testing.assert_allclose(est.history_[name], expected, rtol=1e-12)
    np.testing.assert_allclose(est.predict_proba(X),
                               np.mean([s.predict_proba(X) for s in singles], axis=0),
                               rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel", "regression"])
def test_prediction_is_the_mean_of_the_member_branches(data, task):
    """predict_proba (predict) is the mean of the members' outputs, each computed in
    NumPy from its branch of model_; model_ itself predicts the same."""
    X, targets = data
    y = targets[task]
    est = _estimator(task, n_ensemble=3, l2=0.0).fit(X, y)
    model = est.model_
    output = {"binary": "sigmoid", "multilabel": "sigmoid", "multiclass": "softmax",
              "regression": "linear"}[task]
    members = [_numpy_branch(model, f"m{j}_", X, 2, output) for j in (1, 2, 3)]
    assert not np.allclose(members[0], members[1], rtol=1e-3)  # the members differ
    mean = np.mean(members, axis=0)
    keras_mean = model.predict(X, verbose=0)
    assert isinstance(model.get_layer("average"), keras.layers.Average)
    if task == "binary":
        mean, keras_mean = np.hstack([1 - mean, mean]), np.hstack([1 - keras_mean, keras_mean])
    elif task == "regression":  # model_ predicts the standardised target
        mean = mean[:, 0] * y.std() + y.mean()
        keras_mean = keras_mean[:, 0] * y.std() + y.mean()
    np.testing.assert_allclose(_outputs(est, X), mean, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(_outputs(est, X), keras_mean, rtol=1e-5, atol=1e-5)


def test_model_is_compiled_with_the_loss_of_the_mean_and_reads_back_per_member(data):
    X, targets = data
    y = targets["binary"]
    est = _estimator("binary", n_ensemble=3, l2=0.0, label_smoothing=0.2,
                     optimizer="nadam").fit(X, y)
    p = est.predict_proba(X)[:, 1]
    target = y * 0.8 + 0.1  # smoothed labels
    expected = -np.mean(target * np.log(p) + (1 - target) * np.log(1 - p))
    loss = est.model_.evaluate(X, y.astype(np.float32), verbose=0)[0]
    assert loss == pytest.approx(expected, rel=1e-4)
    # Trained on through Keras, model_'s members are what predict and pickling use.
    est.model_.fit(X, y.astype(np.float32), epochs=2, verbose=0)
    after = est.predict_proba(X)
    assert not np.allclose(after[:, 1], p)
    np.testing.assert_allclose(after[:, 1], est.model_.predict(X, verbose=0)[:, 0],
                               rtol=1e-5, atol=1e-6)
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(loaded.predict_proba(X), after)
    # Every member continues from model_'s weights and its optimizer's step.
    step = int(est.model_.optimizer.iterations.numpy())
    assert [int(m.optimizer_state.step) for m in loaded._network.members] == [step] * 3
    n_epochs = loaded.n_epochs_
    loaded.set_params(warm_start=True, epochs=1).fit(X, y)
    assert loaded.n_epochs_ == n_epochs + 1


def test_an_untrained_model_keeps_each_members_own_state(data):
    """Members that ran different numbers of steps (early stopping) keep them when
    model_ is built and pickled without training."""
    X, targets = data
    y = targets["binary"]
    est = _estimator("binary", n_ensemble=3, early_stopping=True, patience=1, epochs=40,
                     learning_rate=0.03, random_state=1).fit(X, y)
    steps = [int(m.optimizer_state.step) for m in est._network.members]
    assert len(set(steps)) > 1
    est.model_  # noqa: B018 (built)
    assert int(est.model_.optimizer.iterations.numpy()) == max(steps)
    loaded = pickle.loads(pickle.dumps(est))
    assert [int(m.optimizer_state.step) for m in loaded._network.members] == steps
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_pickle_and_skops_round_trips(data, task):
    X, targets = data
    y = targets[task]
    est = _estimator(task, n_ensemble=2, batch_norm=True, optimizer="nadam",
                     early_stopping=True, epochs=6).fit(X, y)
    expected = _outputs(est, X)
    raw = sio.dumps(est)
    assert set(sio.get_untrusted_types(data=raw)) <= set(trusted_types())
    for loaded in (pickle.loads(pickle.dumps(est)), sio.loads(raw, trusted=trusted_types())):
        np.testing.assert_array_equal(_outputs(loaded, X), expected)
        assert loaded.history_ == est.history_ and loaded.n_ensemble == 2
        assert loaded._network.best_epochs == est._network.best_epochs
        loaded.set_params(warm_start=True, epochs=1).fit(X, y)
        assert loaded.n_epochs_ == est.n_epochs_ + 1


def test_a_file_without_n_ensemble_loads_as_one_network(data):
    X, targets = data
    est = _estimator("binary").fit(X, targets["binary"])
    state = est.__getstate__()
    del state["n_ensemble"]  # as saved before the parameter existed
    old = OptimizedMLPClassifier.__new__(OptimizedMLPClassifier)
    old.__setstate__(pickle.loads(pickle.dumps(state)))
    assert old.n_ensemble == 1
    np.testing.assert_array_equal(old.predict_proba(X), est.predict_proba(X))


def test_warm_start_and_partial_fit_continue_every_member(data):
    """Two 3-epoch fits, or 6 partial_fit calls, equal one 6-epoch fit, member by member."""
    X, targets = data
    y = targets["multiclass"]
    once = _estimator("multiclass", n_ensemble=3, epochs=6).fit(X, y)
    twice = _estimator("multiclass", n_ensemble=3, epochs=3, warm_start=True)
    twice.fit(X, y).fit(X, y)
    chunks = _estimator("multiclass", n_ensemble=3, epochs=6)
    traces = None
    for call in range(6):
        chunks.partial_fit(X, y, classes=[0, 1, 2])
        if call == 0:
            traces = traced_graphs()
    assert traced_graphs() == traces  # no graph traced again, for any member
    for est in (twice, chunks):
        assert est.n_epochs_ == 6
        assert _same_arrays(_member_params(est), _member_params(once))
        np.testing.assert_array_equal(est.predict_proba(X), once.predict_proba(X))
        np.testing.assert_allclose(est.history_["loss"], once.history_["loss"], rtol=1e-12)


def test_an_ensemble_traces_no_graph_a_single_network_does_not(data):
    X, targets = data
    y = targets["binary"]
    _estimator("binary", optimizer="adagrad").fit(X, y)
    before = traced_graphs()
    _estimator("binary", optimizer="adagrad", n_ensemble=4).fit(X, y)
    assert traced_graphs() == before


@pytest.mark.parametrize("old, new", [(2, 3), (1, 2), (3, 1)])
def test_a_changed_n_ensemble_is_refused(data, old, new):
    X, targets = data
    y = targets["binary"]
    est = _estimator("binary", n_ensemble=old, warm_start=True, epochs=1).fit(X, y)
    message = f"n_ensemble was {old}; this fit's is {new}"
    with pytest.raises(ValueError, match=message):
        est.set_params(n_ensemble=new).fit(X, y)
    with pytest.raises(ValueError, match=message):
        est.partial_fit(X, y)
    assert est.n_epochs_ == 1 and est.n_ensemble == new  # the fitted ensemble is untouched
    np.testing.assert_array_equal(
        est.predict_proba(X), clone(est).set_params(n_ensemble=old).fit(X, y).predict_proba(X))


@pytest.mark.parametrize("value", [0, -1, 1.5, "2", None])
def test_bad_n_ensemble_is_refused_by_name(data, value):
    X, targets = data
    with pytest.raises(ValueError, match="'n_ensemble' parameter"):
        _estimator("binary", n_ensemble=value).fit(X, targets["binary"])


def test_a_pruned_ensemble_stops_every_member(data):
    X, targets = data
    est = _estimator("binary", n_ensemble=2, early_stopping=True, epochs=10)
    est.fit(X, targets["binary"], pruning=PruningSchedule((2,), (1e9,)))  # cannot be met
    assert est.pruned_epoch_ == 2 and est.n_epochs_ == 2
    assert len(est.history_["val_loss"]) == 2


def test_quiet_by_default_and_one_header_per_member_when_verbose(data, capsys):
    X, targets = data
    _estimator("binary", n_ensemble=2, epochs=2).fit(X, targets["binary"])
    assert capsys.readouterr().out == ""
    _estimator("binary", n_ensemble=2, epochs=2, verbose=1).fit(X, targets["binary"])
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if line.startswith("Ensemble member")] == [
        "Ensemble member 1/2", "Ensemble member 2/2"]
    assert sum(line.startswith("Epoch ") for line in lines) == 4


def test_member_seeds_are_the_fits_then_spread():
    seeds = ensemble.member_seeds(123, 5)
    assert seeds[0] == 123 and len(set(seeds)) == 5
    assert all(0 <= s < 2**31 - 1 for s in seeds)
    assert all(abs(s - 123) > 1000 for s in seeds[1:])  # no member shares a layer's stream
    assert ensemble.member_seeds(123, 5) == seeds  # reproducible
