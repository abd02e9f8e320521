"""Build the Keras MLP described by a :class:`NetworkSpec`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ._keras import keras

ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "selu", "silu", "tanh", "sigmoid")
INITIALIZERS = (
    "auto",
    "zeros",
    "random_normal",
    "random_uniform",
    "glorot_uniform",
    "glorot_normal",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "lecun_uniform",
)

# "auto": He for the ReLU family (keeps activations' variance through
# rectifiers), LeCun for SELU (its self-normalisation assumes it), Glorot for
# the saturating tanh/sigmoid and for the output layer.
_AUTO_INITIALIZER = {
    "relu": "he_normal",
    "leaky_relu": "he_normal",
    "elu": "he_normal",
    "gelu": "he_normal",
    "silu": "he_normal",
    "selu": "lecun_normal",
    "tanh": "glorot_uniform",
    "sigmoid": "glorot_uniform",
}

_INITIALIZER_CLASSES = {
    "zeros": keras.initializers.Zeros,
    "random_normal": keras.initializers.RandomNormal,
    "random_uniform": keras.initializers.RandomUniform,
    "glorot_uniform": keras.initializers.GlorotUniform,
    "glorot_normal": keras.initializers.GlorotNormal,
    "he_normal": keras.initializers.HeNormal,
    "he_uniform": keras.initializers.HeUniform,
    "lecun_normal": keras.initializers.LecunNormal,
    "lecun_uniform": keras.initializers.LecunUniform,
}


def resolve_initializer(name: str, activation: str) -> str:
    """Return the concrete initializer name that ``name`` stands for."""
    return _AUTO_INITIALIZER[activation] if name == "auto" else name


def _initializer(name: str, seed: int) -> keras.initializers.Initializer:
    cls = _INITIALIZER_CLASSES[name]
    return cls() if name == "zeros" else cls(seed=seed)


@dataclass(frozen=True)
class NetworkSpec:
    """Everything that fixes the network's graph, plus its initializer.

    Two specs that differ only in ``kernel_initializer`` share a graph, so the
    trainer cache keys on :meth:`graph_key`.
    """

    n_features: int
    hidden_layer_sizes: tuple[int, ...]
    activation: str
    batch_norm: bool
    dropout: float
    l1: float
    l2: float
    n_outputs: int
    output_activation: str
    kernel_initializer: str = "auto"

    def graph_key(self) -> NetworkSpec:
        return dataclasses.replace(self, kernel_initializer="auto")


def build_network(spec: NetworkSpec, seed: int) -> keras.Model:
    """Build (uncompiled) the MLP for ``spec``; ``seed`` fixes its initial weights.

    Each hidden block is Dense -> [BatchNormalization] -> activation ->
    [Dropout]: normalising before the non-linearity is what batch norm was
    designed for. Biases start at zero.
    """
    regularizer = (
        keras.regularizers.L1L2(l1=spec.l1, l2=spec.l2) if spec.l1 or spec.l2 else None
    )
    inputs = keras.Input(shape=(spec.n_features,), name="features")
    x = inputs
    for i, units in enumerate(spec.hidden_layer_sizes):
        init = resolve_initializer(spec.kernel_initializer, spec.activation)
        x = keras.layers.Dense(
            units,
            kernel_initializer=_initializer(init, seed + i),
            kernel_regularizer=regularizer,
            name=f"hidden_{i + 1}",
        )(x)
        if spec.batch_norm:
            x = keras.layers.BatchNormalization(name=f"batch_norm_{i + 1}")(x)
        x = keras.layers.Activation(spec.activation, name=f"{spec.activation}_{i + 1}")(x)
        if spec.dropout > 0:
            x = keras.layers.Dropout(spec.dropout, seed=seed + 1000 + i, name=f"dropout_{i + 1}")(x)
    out_init = (
        "glorot_uniform" if spec.kernel_initializer == "auto" else spec.kernel_initializer
    )
    outputs = keras.layers.Dense(
        spec.n_outputs,
        activation=spec.output_activation,
        kernel_initializer=_initializer(out_init, seed + len(spec.hidden_layer_sizes)),
        kernel_regularizer=regularizer,
        name="output",
    )(x)
    return keras.Model(inputs, outputs, name="skoptnn_mlp")
