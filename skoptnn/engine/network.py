"""A fitted network: everything predicting, ``model_``, saving and continuing need.

An estimator holds one :class:`FittedNetwork` and replaces it whole after each
fit, so a ``predict`` running beside a refit in another thread sees either the
old network or the new one, never the new weights with the old description.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from . import embedding
from .activations import ACTIVATIONS
from .embedding import NUMERIC_EMBEDDINGS
from .inference import dense_layers, predict
from .layout import INITIALIZERS, Params, from_layers
from .losses import LOSSES, METRICS, OUTPUT_ACTIVATIONS, SMOOTHED
from .optimizers import OPTIMIZERS, OptimizerState, initial_state
from .spec import NetworkSpec, TrainSpec

#: The version of :meth:`FittedNetwork.to_plain`'s layout.
FORMAT = 1


@dataclass(frozen=True, eq=False)
class FittedNetwork:
    """A trained network and the state its training stopped in.

    ``monitor`` holds early stopping's references (see
    :mod:`skoptnn.engine.monitors`) with the validation rows they were measured
    on, so that a continued fit on the same rows goes on from them.
    ``from_model``: the weights are those a built ``model_`` held, which may have
    trained on since the fit, so they are no longer its kept epoch's.
    """

    spec: TrainSpec
    params: Params
    optimizer_state: OptimizerState
    learning_rate: float
    seed: int
    monitor: dict | None = None
    from_model: bool = False
    # The layers predict multiplies by, batch norm folded in: derived from params.
    dense: list = field(init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "dense", dense_layers(self.spec.network, self.params))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The network's outputs for float32 ``X`` (probabilities for a classifier)."""
        return predict(self.spec.network, self.params, X, dense=self.dense)

    def build_model(self):
        """A compiled Keras model holding these weights and this optimizer state."""
        from .keras_model import build_model

        return build_model(self.spec, self.params, self.optimizer_state, self.learning_rate,
                           self.seed)

    def with_weights(self, params: Params) -> FittedNetwork:
        """This network predicting with ``params`` (itself if they are its own)."""
        return self if _same(params, self.params) else replace(self, params=params)

    def weights_in(self, model) -> Params:
        """The weights a built ``model_`` of this network holds now."""
        from .keras_model import read_params

        return read_params(model, self.spec.network)

    def state_in(self, model) -> tuple[Params, OptimizerState | None]:
        """:meth:`from_keras`'s arguments for a built ``model_`` of this network."""
        from .keras_model import read_state

        return read_state(model, self.spec)

    def from_keras(self, params: Params,
                   optimizer_state: OptimizerState | None) -> FittedNetwork:
        """The network a built ``model_`` holds: its weights and, unless it was
        recompiled, its optimizer's state. Early stopping's references and kept
        epoch no longer apply: the model may have trained on."""
        return replace(self, params=params, monitor=None, from_model=True,
                       optimizer_state=optimizer_state or self.optimizer_state)

    # -- saving: plain arrays, numbers, strings and containers only (skops) -----
    def to_plain(self) -> dict:
        opt = self.optimizer_state
        return {
            "format": FORMAT,
            "spec": asdict(self.spec),
            "params": {"trainable": list(self.params.trainable),
                       "moving": list(self.params.moving)},
            "optimizer_state": {"step": int(opt.step),
                                "slots": [list(slot) for slot in opt.slots],
                                "extra": [float(x) for x in opt.extra]},
            "learning_rate": float(self.learning_rate),
            "seed": int(self.seed),
            "monitor": self.monitor,
            "from_model": bool(self.from_model),
        }

    @classmethod
    def of_keras_model(cls, model, plain: dict) -> FittedNetwork:
        """The network of a Keras model saved with :meth:`to_plain`'s description
        but not its arrays (files of skoptnn versions that pickled ``model_``)."""
        return _keras_network(cls, model, plain)

    @classmethod
    def from_plain(cls, plain: dict) -> FittedNetwork:
        """The inverse of :meth:`to_plain`; refuses a state that is not a network's.

        A skops file loads only trusted types, but their state is data anyone
        could have edited: every name must be one of skoptnn's and every array
        must have the shape the description gives it.
        """
        if not isinstance(plain, dict) or plain.get("format") != FORMAT:
            raise ValueError(f"Not a skoptnn network state of format {FORMAT}: "
                             f"{type(plain).__name__} with format "
                             f"{plain.get('format') if isinstance(plain, dict) else None!r}.")
        try:
            spec = _spec_from_plain(plain["spec"])
            params = Params(tuple(np.asarray(a) for a in plain["params"]["trainable"]),
                            tuple(np.asarray(a) for a in plain["params"]["moving"]))
            _check_arrays("weights", params, _zeros(spec.network))
            opt = plain["optimizer_state"]
            state = OptimizerState(np.int64(opt["step"]),
                                   tuple(tuple(np.asarray(a) for a in s) for s in opt["slots"]),
                                   tuple(np.asarray(x, np.float32) for x in opt["extra"]))
            learning_rate, seed = float(plain["learning_rate"]), int(plain["seed"])
            monitor = _monitor_from_plain(plain.get("monitor"))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"Saved network state: missing or malformed {exc}.") from None
        expected = initial_state(spec.optimizer, list(params.trainable))
        _check_arrays("optimizer state", (state.slots, state.extra),
                      (expected.slots, expected.extra))
        if not (np.isfinite(learning_rate) and learning_rate > 0):
            raise ValueError(f"Saved network state: learning_rate {learning_rate!r} is not "
                             "a positive number.")
        return cls(spec, params, state, learning_rate, seed, monitor,
                   bool(plain.get("from_model", False)))


def _keras_network(cls, model, plain: dict) -> FittedNetwork:
    from .keras_model import read_state

    spec = _spec_from_plain(plain["spec"])
    params, state = read_state(model, spec)
    if state is None:
        state = initial_state(spec.optimizer, list(params.trainable))
    return cls(spec, params, state, float(plain["learning_rate"]), int(plain["seed"]),
               from_model=True)


def _same(a: Params, b: Params) -> bool:
    return all(len(x) == len(y) and all(np.array_equal(p, q) for p, q in zip(x, y, strict=True))
               for x, y in ((a.trainable, b.trainable), (a.moving, b.moving)))


# What a saved description may name: skoptnn's own tables, nothing else.
_NAMES: dict[str, Any] = {
    "activation": ACTIVATIONS, "output_activation": OUTPUT_ACTIVATIONS,
    "kernel_initializer": INITIALIZERS, "loss": LOSSES, "optimizer": OPTIMIZERS,
    "metric": {metric for metric, _ in METRICS},
    "numeric_embedding": NUMERIC_EMBEDDINGS,
}


def _monitor_from_plain(monitor) -> dict | None:
    if monitor is None:
        return None
    references = monitor["references"]
    if not (isinstance(monitor["validation"], list) and len(references) == 4):
        raise ValueError("Saved network state: early stopping's references are malformed.")
    return {"validation": monitor["validation"],
            "references": [float(r) for r in references]}


def _spec_from_plain(plain: dict) -> TrainSpec:
    try:
        network = dict(plain["network"])
        network["hidden_layer_sizes"] = tuple(int(s) for s in network["hidden_layer_sizes"])
        spec = TrainSpec(**{**plain, "network": NetworkSpec(**network)})
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"Saved network state: the description is not skoptnn's ({exc}).") \
            from None
    values = {**asdict(spec.network), **{k: v for k, v in asdict(spec).items()
                                          if k != "network"}}
    for name, allowed in _NAMES.items():
        if not isinstance(values[name], str) or values[name] not in allowed:
            raise ValueError(f"Saved network state: {name} {values[name]!r} is not one of "
                             f"skoptnn's ({', '.join(sorted(allowed))}).")
    if (values["output_activation"] != LOSSES[values["loss"]].output_activation
            or (values["metric"], values["output_activation"]) not in METRICS):
        raise ValueError(f"Saved network state: loss {values['loss']!r}, output "
                         f"{values['output_activation']!r} and metric {values['metric']!r} "
                         "do not go together.")
    if not (isinstance(values["embedding_scale"], (int, float))
            and values["embedding_scale"] > 0):
        raise ValueError(f"Saved network state: embedding_scale {values['embedding_scale']!r} "
                         "is not a positive number.")
    smoothing = values["label_smoothing"]
    if not (isinstance(smoothing, (int, float)) and 0 <= smoothing < 1
            and (smoothing == 0 or values["loss"] in SMOOTHED)):
        raise ValueError(f"Saved network state: label_smoothing {smoothing!r} is not in "
                         f"[0, 1), or does not go with loss {values['loss']!r}.")
    if not 0 <= values["dropout"] < 1:
        raise ValueError(f"Saved network state: dropout {values['dropout']!r} is not in [0, 1).")
    sizes = [values["n_features"], *values["hidden_layer_sizes"], values["n_outputs"]]
    if not all(isinstance(s, (int, np.integer)) and s > 0 for s in sizes):
        raise ValueError(f"Saved network state: layer sizes {sizes} are not positive integers.")
    return spec


def _zeros(spec: NetworkSpec) -> Params:
    sizes = [spec.input_width, *spec.hidden_layer_sizes, spec.n_outputs]
    per_layer = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layer = {"kernel": np.zeros((fan_in, fan_out), np.float32),
                 "bias": np.zeros(fan_out, np.float32)}
        if spec.batch_norm and i < len(spec.hidden_layer_sizes):
            layer.update({n: np.zeros(fan_out, np.float32)
                          for n in ("gamma", "beta", "moving_mean", "moving_variance")})
        per_layer.append(layer)
    front = embedding.zeros(spec.n_features) if spec.numeric_embedding != "none" else None
    return from_layers(spec, per_layer, front)


def _check_arrays(what: str, got, expected) -> None:
    flat_got, flat_expected = _flatten(got), _flatten(expected)
    shapes = [np.shape(a) for a in flat_got]
    if shapes != [np.shape(a) for a in flat_expected] or not all(
            np.asarray(a).dtype == np.float32 for a in flat_got):
        raise ValueError(f"Saved network state: the {what} do not fit the network's "
                         f"description (shapes {shapes}, expected float32 "
                         f"{[np.shape(a) for a in flat_expected]}).")


def _flatten(structure) -> list:
    if isinstance(structure, (tuple, list)):
        return [a for item in structure for a in _flatten(item)]
    return [structure]


class ModelView:
    """A built ``model_`` and the network of its current weights.

    ``model_`` is a live Keras model that may be trained further, so predictions
    follow its weights; the prediction layers are re-derived only when those
    weights have changed since the last call. The network is a
    :class:`FittedNetwork` or an ensemble of them
    (:class:`~skoptnn.engine.ensemble.FittedEnsemble`), which read their model alike.
    """

    def __init__(self, model, network) -> None:
        self.model = model
        self.origin = network  # the fitted network it was built from
        self._network = network

    def network(self):
        """The network with ``model``'s current weights."""
        network = self._network
        # One assignment: threads predicting at once each get a whole network.
        self._network = network = network.with_weights(network.weights_in(self.model))
        return network

    def state(self):
        """The network with ``model``'s weights and, if it kept the fit's optimizer,
        that optimizer's state: what pickling saves and continued training starts from."""
        return self.origin.from_keras(*self.origin.state_in(self.model))
