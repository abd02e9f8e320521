"""The Keras ``model_``: built from a network's description and fitted arrays.

Nothing else in skoptnn builds a Keras model: training and prediction run on
plain arrays. Layers are named ``hidden_i``, ``batch_norm_i``, ``dropout_i``
and ``output``, which is how arrays are matched to them; in an ensemble's
model, each member's layers carry its prefix (``m1_hidden_1``, ...) and an
``Average`` layer takes the mean of their outputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import embedding
from .graph import BN_EPSILON, BN_MOMENTUM
from .layout import (
    BN_MOVING,
    BN_TRAINABLE,
    DROPOUT_SEED_OFFSET,
    Layout,
    Params,
    from_keras_order,
    from_layers,
    keras_initializer,
    keras_order,
    kernel_initializer,
    layers,
)
from .optimizers import OPTIMIZERS, OptimizerState, from_keras, to_keras
from .runtime import keras
from .spec import NetworkSpec, TrainSpec


def _dropout_seed(seed: int, index: int) -> int:
    return seed + DROPOUT_SEED_OFFSET + index  # the training graph seeds its masks alike


def build_network(spec: NetworkSpec, seed: int) -> keras.Model:
    """The uncompiled Keras MLP for ``spec``; ``seed`` fixes its initial weights.

    Each hidden block is Dense -> [BatchNormalization] -> activation ->
    [Dropout]; biases start at zero. These are the layers and initial weights
    the training graph starts from (:func:`skoptnn.engine.layout.initial_params`).
    """
    inputs = keras.Input(shape=(spec.n_features,), name="features")
    return keras.Model(inputs, _branch(spec, seed, inputs), name="skoptnn_mlp")


def member_prefix(member: int) -> str:
    """The prefix of ensemble member ``member``'s layer names (0-based member, 1-based name)."""
    return f"m{member + 1}_"


def build_ensemble_network(spec: NetworkSpec, seeds: list[int]) -> keras.Model:
    """The uncompiled Keras ensemble: one input, a branch of :func:`build_network`'s
    layers per member (named with :func:`member_prefix`, seeded with its seed),
    and the mean of the branches' outputs."""
    inputs = keras.Input(shape=(spec.n_features,), name="features")
    outputs = [_branch(spec, seed, inputs, member_prefix(m)) for m, seed in enumerate(seeds)]
    return keras.Model(inputs, keras.layers.Average(name="average")(outputs),
                       name="skoptnn_ensemble")


def _branch(spec: NetworkSpec, seed: int, x, prefix: str = ""):
    regularizer = keras.regularizers.L1L2(l1=spec.l1, l2=spec.l2) if spec.l1 or spec.l2 else None
    if spec.numeric_embedding != "none":
        x = embedding.PeriodicEmbedding(scale=spec.embedding_scale, seed=seed,
                                        name=f"{prefix}embedding")(x)
    n_hidden = len(spec.hidden_layer_sizes)
    for i, units in enumerate(spec.hidden_layer_sizes):
        x = keras.layers.Dense(
            units, kernel_initializer=_initializer(spec, i, seed),
            kernel_regularizer=regularizer, name=f"{prefix}hidden_{i + 1}",
        )(x)
        if spec.batch_norm:
            x = keras.layers.BatchNormalization(
                momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=f"{prefix}batch_norm_{i + 1}")(x)
        x = keras.layers.Activation(spec.activation,
                                    name=f"{prefix}{spec.activation}_{i + 1}")(x)
        if spec.dropout > 0:
            x = keras.layers.Dropout(
                spec.dropout, seed=_dropout_seed(seed, i), name=f"{prefix}dropout_{i + 1}"
            )(x)
    return keras.layers.Dense(
        spec.n_outputs, activation=spec.output_activation,
        kernel_initializer=_initializer(spec, n_hidden, seed),
        kernel_regularizer=regularizer, name=f"{prefix}output",
    )(x)


def _initializer(spec: NetworkSpec, index: int, seed: int):
    return keras_initializer(kernel_initializer(spec, index), seed + index)


def _dense_name(spec: NetworkSpec, index: int, prefix: str = "") -> str:
    return prefix + ("output" if index == len(spec.hidden_layer_sizes) else f"hidden_{index + 1}")


def assign_params(model: keras.Model, spec: NetworkSpec, params: Params, seed: int,
                  step: int, prefix: str = "") -> None:
    """Put ``params`` into ``model``'s layers (those named with ``prefix``); dropout
    streams continue at ``step``."""
    for variable, value in zip(_embedding_variables(model, spec, prefix),
                               Layout.of(spec).front(params).values(), strict=True):
        variable.assign(value)
    for i, layer in enumerate(layers(spec, params)):
        dense = model.get_layer(_dense_name(spec, i, prefix))
        dense.kernel.assign(layer["kernel"])
        dense.bias.assign(layer["bias"])
        if "gamma" in layer:
            bn = model.get_layer(f"{prefix}batch_norm_{i + 1}")
            for name in BN_TRAINABLE + BN_MOVING:
                getattr(bn, name).assign(layer[name])
        if spec.dropout > 0 and i < len(spec.hidden_layer_sizes):
            state = model.get_layer(f"{prefix}dropout_{i + 1}").seed_generator.state
            state.assign(np.array([_dropout_seed(seed, i), step], state.dtype))


def read_params(model: keras.Model, spec: NetworkSpec, prefix: str = "") -> Params:
    """``model``'s current weights (of the layers named with ``prefix``), as the
    training graph lays them out."""
    per_layer = []
    for i in range(len(spec.hidden_layer_sizes) + 1):
        dense = model.get_layer(_dense_name(spec, i, prefix))
        # float32 whatever Keras' floatx: the engine computes in float32.
        layer = {"kernel": _float32(dense.kernel), "bias": _float32(dense.bias)}
        if spec.batch_norm and i < len(spec.hidden_layer_sizes):
            bn = model.get_layer(f"{prefix}batch_norm_{i + 1}")
            layer.update({name: _float32(getattr(bn, name)) for name in BN_TRAINABLE + BN_MOVING})
        per_layer.append(layer)
    variables = _embedding_variables(model, spec, prefix)
    front = ({name: _float32(v) for name, v in zip(embedding.NAMES, variables, strict=True)}
             if variables else None)
    return from_layers(spec, per_layer, front)


def _embedding_variables(model: keras.Model, spec: NetworkSpec, prefix: str = "") -> list:
    """The embedding layer's variables, in :data:`embedding.NAMES` order ([] without one)."""
    if spec.numeric_embedding == "none":
        return []
    layer = model.get_layer(f"{prefix}embedding")
    return [layer.frequencies, layer.kernel, layer.bias]


def _float32(variable) -> np.ndarray:
    return np.asarray(variable.numpy(), np.float32)


def _keras_variables(model: keras.Model, spec: NetworkSpec, prefix: str = "") -> list:
    """The trainable variables in the order of :func:`skoptnn.engine.layout.keras_order`."""
    out = _embedding_variables(model, spec, prefix)
    for i in range(len(spec.hidden_layer_sizes) + 1):
        dense = model.get_layer(_dense_name(spec, i, prefix))
        out += [dense.kernel, dense.bias]
        if spec.batch_norm and i < len(spec.hidden_layer_sizes):
            bn = model.get_layer(f"{prefix}batch_norm_{i + 1}")
            out += [bn.gamma, bn.beta]
    return out


@keras.saving.register_keras_serializable(package="skoptnn")
class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Sparse categorical cross-entropy with label smoothing, which Keras' own
    sparse loss lacks: its one-hot labels through ``categorical_crossentropy``."""

    def __init__(self, label_smoothing: float = 0.0,
                 name: str = "sparse_categorical_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = label_smoothing

    def call(self, y_true, y_pred):
        ops = keras.ops
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        onehot = ops.one_hot(labels, ops.shape(y_pred)[-1], dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(
            onehot, y_pred, label_smoothing=self.label_smoothing)

    def get_config(self) -> dict:
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


def _keras_loss(spec: TrainSpec):
    """What ``model_`` is compiled with: Keras' loss name, or a smoothed loss."""
    if not spec.label_smoothing:
        return spec.loss
    if spec.loss == "binary_crossentropy":
        return keras.losses.BinaryCrossentropy(label_smoothing=spec.label_smoothing)
    return SmoothedSparseCrossentropy(spec.label_smoothing)


def build_model(spec: TrainSpec, params: Params, optimizer_state: OptimizerState,
                learning_rate: float, seed: int) -> keras.Model:
    """The compiled Keras model carrying ``params`` and the optimizer's state."""
    model = build_network(spec.network, seed)  # the fit's seed, for get_config()
    return _compiled(model, spec, learning_rate, [("", params, optimizer_state, seed)],
                     optimizer_state)


def build_ensemble_model(spec: TrainSpec, members: Sequence[tuple[Params, OptimizerState, int]],
                         learning_rate: float) -> keras.Model:
    """The compiled Keras ensemble carrying each member's ``(params, optimizer state,
    seed)``, compiled with the loss of the members' mean output.

    One optimizer trains every branch: its per-variable slots are the members'
    own; its step (and Nadam's global state) is that of the member that trained
    longest, the one value a Keras optimizer can hold.
    """
    model = build_ensemble_network(spec.network, [seed for *_, seed in members])
    lead = max((state for _, state, _ in members), key=lambda state: int(state.step))
    return _compiled(model, spec, learning_rate,
                     [(member_prefix(m), *member) for m, member in enumerate(members)], lead)


def _compiled(model: keras.Model, spec: TrainSpec, learning_rate: float,
              members: list[tuple[str, Params, OptimizerState, int]],
              lead: OptimizerState) -> keras.Model:
    """``model`` compiled, each ``(prefix, params, optimizer state, seed)`` assigned to
    its layers, and its optimizer holding their slots with ``lead``'s step and globals."""
    network = spec.network
    optimizer = OPTIMIZERS[spec.optimizer].keras_class(
        learning_rate=learning_rate, clipnorm=spec.clipnorm, clipvalue=spec.clipvalue,
        # A fixed name: Keras otherwise names each optimizer adam_1, adam_2, ...
        name=f"skoptnn_{spec.optimizer}",
    )
    metric = spec.metric
    if metric == "accuracy" and network.output_activation == "sigmoid":
        # Keras reads "accuracy" over several sigmoid outputs as categorical
        # accuracy; history_ reports each label's (binary) accuracy.
        metric = keras.metrics.BinaryAccuracy(name="accuracy")
    model.compile(optimizer=optimizer, loss=_keras_loss(spec), metrics=[metric])
    variables, slots = [], [[] for _ in lead.slots]
    for prefix, params, state, seed in members:
        assign_params(model, network, params, seed, int(state.step), prefix)
        variables += _keras_variables(model, network, prefix)
        for values, slot in zip(slots, state.slots, strict=True):
            values += keras_order(network, slot)
    optimizer.build(variables)
    to_keras(optimizer, lead._replace(slots=tuple(tuple(values) for values in slots)))
    return model


def read_state(model: keras.Model, spec: TrainSpec) -> tuple[Params, OptimizerState | None]:
    """``model``'s weights and, if it still has the fit's optimizer, that optimizer's state."""
    (params,), states = _read_states(model, spec, [""])
    return params, None if states is None else states[0]


def read_ensemble_state(model: keras.Model, spec: TrainSpec, n_members: int
                        ) -> tuple[list[Params], list[OptimizerState] | None]:
    """:func:`read_state` for each member of an ensemble model: the optimizer's
    slots are the member's, its step and globals the optimizer's one."""
    return _read_states(model, spec, [member_prefix(m) for m in range(n_members)])


def _read_states(model: keras.Model, spec: TrainSpec, prefixes: list[str]
                 ) -> tuple[list[Params], list[OptimizerState] | None]:
    params = [read_params(model, spec.network, prefix) for prefix in prefixes]
    optimizer = model.optimizer
    # Recompiled with another optimizer, or with a new one not yet built (it has
    # no state until it trains): the fit's state no longer applies.
    if type(optimizer) is not OPTIMIZERS[spec.optimizer].keras_class or not optimizer.built:
        return params, None
    # A Keras release that lays its variables out otherwise raises here, loudly.
    state = from_keras(optimizer, spec.optimizer)
    sizes = [len(_keras_variables(model, spec.network, prefix)) for prefix in prefixes]
    if len(state.slots) and len(state.slots[0]) != sum(sizes):
        return params, None  # built for other variables (a layer frozen, say)
    states, start = [], 0
    for size in sizes:
        slots = tuple(from_keras_order(spec.network, list(slot[start:start + size]))
                      for slot in state.slots)
        states.append(state._replace(slots=slots))
        start += size
    return params, states
