"""The Keras ``model_``: built from a network's description and fitted arrays.

Nothing else in skoptnn builds a Keras model: training and prediction run on
plain arrays. Layers are named ``hidden_i``, ``batch_norm_i``, ``dropout_i``
and ``output``, which is how arrays are matched to them.
"""

from __future__ import annotations

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
    regularizer = keras.regularizers.L1L2(l1=spec.l1, l2=spec.l2) if spec.l1 or spec.l2 else None
    inputs = keras.Input(shape=(spec.n_features,), name="features")
    x = inputs
    if spec.numeric_embedding != "none":
        x = embedding.PeriodicEmbedding(scale=spec.embedding_scale, seed=seed,
                                        name="embedding")(x)
    n_hidden = len(spec.hidden_layer_sizes)
    for i, units in enumerate(spec.hidden_layer_sizes):
        x = keras.layers.Dense(
            units, kernel_initializer=_initializer(spec, i, seed),
            kernel_regularizer=regularizer, name=f"hidden_{i + 1}",
        )(x)
        if spec.batch_norm:
            x = keras.layers.BatchNormalization(
                momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=f"batch_norm_{i + 1}")(x)
        x = keras.layers.Activation(spec.activation, name=f"{spec.activation}_{i + 1}")(x)
        if spec.dropout > 0:
            x = keras.layers.Dropout(
                spec.dropout, seed=_dropout_seed(seed, i), name=f"dropout_{i + 1}"
            )(x)
    outputs = keras.layers.Dense(
        spec.n_outputs, activation=spec.output_activation,
        kernel_initializer=_initializer(spec, n_hidden, seed),
        kernel_regularizer=regularizer, name="output",
    )(x)
    return keras.Model(inputs, outputs, name="skoptnn_mlp")


def _initializer(spec: NetworkSpec, index: int, seed: int):
    return keras_initializer(kernel_initializer(spec, index), seed + index)


def _dense_name(spec: NetworkSpec, index: int) -> str:
    return "output" if index == len(spec.hidden_layer_sizes) else f"hidden_{index + 1}"


def assign_params(model: keras.Model, spec: NetworkSpec, params: Params, seed: int,
                  step: int) -> None:
    """Put ``params`` into ``model``'s layers; dropout streams continue at ``step``."""
    for variable, value in zip(_embedding_variables(model, spec),
                               Layout.of(spec).front(params).values(), strict=True):
        variable.assign(value)
    for i, layer in enumerate(layers(spec, params)):
        dense = model.get_layer(_dense_name(spec, i))
        dense.kernel.assign(layer["kernel"])
        dense.bias.assign(layer["bias"])
        if "gamma" in layer:
            bn = model.get_layer(f"batch_norm_{i + 1}")
            for name in BN_TRAINABLE + BN_MOVING:
                getattr(bn, name).assign(layer[name])
        if spec.dropout > 0 and i < len(spec.hidden_layer_sizes):
            state = model.get_layer(f"dropout_{i + 1}").seed_generator.state
            state.assign(np.array([_dropout_seed(seed, i), step], state.dtype))


def read_params(model: keras.Model, spec: NetworkSpec) -> Params:
    """``model``'s current weights, as the training graph lays them out."""
    per_layer = []
    for i in range(len(spec.hidden_layer_sizes) + 1):
        dense = model.get_layer(_dense_name(spec, i))
        # float32 whatever Keras' floatx: the engine computes in float32.
        layer = {"kernel": _float32(dense.kernel), "bias": _float32(dense.bias)}
        if spec.batch_norm and i < len(spec.hidden_layer_sizes):
            bn = model.get_layer(f"batch_norm_{i + 1}")
            layer.update({name: _float32(getattr(bn, name)) for name in BN_TRAINABLE + BN_MOVING})
        per_layer.append(layer)
    variables = _embedding_variables(model, spec)
    front = ({name: _float32(v) for name, v in zip(embedding.NAMES, variables, strict=True)}
             if variables else None)
    return from_layers(spec, per_layer, front)


def _embedding_variables(model: keras.Model, spec: NetworkSpec) -> list:
    """The embedding layer's variables, in :data:`embedding.NAMES` order ([] without one)."""
    if spec.numeric_embedding == "none":
        return []
    layer = model.get_layer("embedding")
    return [layer.frequencies, layer.kernel, layer.bias]


def _float32(variable) -> np.ndarray:
    return np.asarray(variable.numpy(), np.float32)


def _keras_variables(model: keras.Model, spec: NetworkSpec) -> list:
    """The trainable variables in the order of :func:`skoptnn.engine.layout.keras_order`."""
    out = _embedding_variables(model, spec)
    for i in range(len(spec.hidden_layer_sizes) + 1):
        dense = model.get_layer(_dense_name(spec, i))
        out += [dense.kernel, dense.bias]
        if spec.batch_norm and i < len(spec.hidden_layer_sizes):
            bn = model.get_layer(f"batch_norm_{i + 1}")
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
    network = spec.network
    model = build_network(network, seed)  # the fit's seed, for get_config()
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
    assign_params(model, network, params, seed, int(optimizer_state.step))
    optimizer.build(_keras_variables(model, network))
    slots = tuple(tuple(keras_order(network, slot)) for slot in optimizer_state.slots)
    to_keras(optimizer, optimizer_state._replace(slots=slots))
    return model


def read_state(model: keras.Model, spec: TrainSpec) -> tuple[Params, OptimizerState | None]:
    """``model``'s weights and, if it still has the fit's optimizer, that optimizer's state."""
    params = read_params(model, spec.network)
    optimizer = model.optimizer
    # Recompiled with another optimizer, or with a new one not yet built (it has
    # no state until it trains): the fit's state no longer applies.
    if type(optimizer) is not OPTIMIZERS[spec.optimizer].keras_class or not optimizer.built:
        return params, None
    # A Keras release that lays its variables out otherwise raises here, loudly.
    state = from_keras(optimizer, spec.optimizer)
    if len(state.slots) and len(state.slots[0]) != len(_keras_variables(model, spec.network)):
        return params, None  # built for other variables (a layer frozen, say)
    slots = tuple(from_keras_order(spec.network, list(slot)) for slot in state.slots)
    return params, state._replace(slots=slots)
