"""Build the Keras MLP described by a :class:`NetworkSpec`."""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from ._keras import keras, tf

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
    """Everything that describes the network, as plain values."""

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


class Rates:
    """Variables holding a network's dropout rate and L1/L2 factors.

    A network built with them (see :func:`build_network`) reads these values
    when it runs, not when it is traced, so one compiled training graph serves
    every dropout rate and regularisation strength.
    """

    def __init__(self):
        def scalar(name):
            return tf.Variable(0.0, dtype=tf.float32, trainable=False, name=name)

        self.dropout = scalar("dropout_rate")
        self.dropout_scale = scalar("dropout_scale")
        self.l1 = scalar("l1")
        self.l2 = scalar("l2")

    @property
    def variables(self) -> list[tf.Variable]:
        return [self.dropout, self.dropout_scale, self.l1, self.l2]

    def assign(self, spec: NetworkSpec) -> None:
        self.dropout.assign(spec.dropout)
        # 1 / keep_prob in double precision, then float32: exactly TensorFlow's
        # scale for a Python-float rate.
        self.dropout_scale.assign(1.0 / (1.0 - spec.dropout))
        self.l1.assign(spec.l1)
        self.l2.assign(spec.l2)


class _RateDropout(keras.layers.Dropout):
    """``keras.layers.Dropout`` with its rate read from :class:`Rates` at run time.

    Same seed stream, mask and float32 scale as Keras' Dropout with a float
    rate, so training is bit-for-bit the same.
    """

    def __init__(self, rates: Rates, **kwargs):
        super().__init__(0.5, **kwargs)  # any rate > 0: Keras then makes the seed generator
        self._rates = rates

    def call(self, inputs, training=False):
        # Keras' private seed helpers; imported here, after ._keras set up Keras.
        from keras.src.backend.tensorflow.random import _cast_seed, _get_concrete_noise_shape
        from keras.src.random.seed_generator import draw_seed

        if not training:
            return inputs
        # What keras.backend.random.dropout and tf.nn.experimental.stateless_dropout
        # do for a float rate, with the rate and scale as tensors.
        seed = _cast_seed(draw_seed(self.seed_generator))
        shape = _get_concrete_noise_shape(inputs, self.noise_shape)
        noise = tf.random.stateless_uniform(shape, seed=seed, dtype=inputs.dtype)
        scaled = tf.math.multiply(inputs, self._rates.dropout_scale)
        return tf.where(noise >= self._rates.dropout, scaled, tf.zeros([], inputs.dtype))


class _RateL1L2(keras.regularizers.Regularizer):
    """``keras.regularizers.L1L2`` with its factors read from :class:`Rates`."""

    def __init__(self, rates: Rates, use_l1: bool, use_l2: bool):
        self._rates, self._use_l1, self._use_l2 = rates, use_l1, use_l2

    def __call__(self, x):
        ops = keras.ops
        regularization = ops.convert_to_tensor(0.0, dtype=x.dtype)
        if self._use_l1:
            regularization += ops.cast(self._rates.l1, x.dtype) * ops.sum(ops.absolute(x))
        if self._use_l2:
            regularization += ops.cast(self._rates.l2, x.dtype) * ops.sum(ops.square(x))
        return regularization


def _kernel_initializer(spec: NetworkSpec, index: int, seed: int) -> keras.initializers.Initializer:
    """The initializer of Dense layer ``index`` (the output layer is the last)."""
    if index < len(spec.hidden_layer_sizes):
        name = resolve_initializer(spec.kernel_initializer, spec.activation)
    else:  # the output layer: Glorot, whatever the hidden activation
        name = "glorot_uniform" if spec.kernel_initializer == "auto" else spec.kernel_initializer
    return _initializer(name, seed + index)


def _dropout_seed(seed: int, index: int) -> int:
    return seed + 1000 + index


def build_network(spec: NetworkSpec, seed: int, rates: Rates | None = None) -> keras.Model:
    """Build (uncompiled) the MLP for ``spec``; ``seed`` fixes its initial weights.

    Each hidden block is Dense -> [BatchNormalization] -> activation ->
    [Dropout]: normalising before the non-linearity is what batch norm was
    designed for. Biases start at zero.

    With ``rates``, dropout and L1/L2 read their values from those variables
    (``spec`` then only says whether each is on): the trainers' templates.
    """
    if rates is not None:
        regularizer = _RateL1L2(rates, spec.l1 > 0, spec.l2 > 0) if spec.l1 or spec.l2 else None
    else:
        regularizer = (
            keras.regularizers.L1L2(l1=spec.l1, l2=spec.l2) if spec.l1 or spec.l2 else None
        )
    inputs = keras.Input(shape=(spec.n_features,), name="features")
    x = inputs
    for i, units in enumerate(spec.hidden_layer_sizes):
        x = keras.layers.Dense(
            units,
            kernel_initializer=_kernel_initializer(spec, i, seed),
            kernel_regularizer=regularizer,
            name=f"hidden_{i + 1}",
        )(x)
        if spec.batch_norm:
            x = keras.layers.BatchNormalization(name=f"batch_norm_{i + 1}")(x)
        x = keras.layers.Activation(spec.activation, name=f"{spec.activation}_{i + 1}")(x)
        if spec.dropout > 0:
            options = {"seed": _dropout_seed(seed, i), "name": f"dropout_{i + 1}"}
            if rates is not None:
                x = _RateDropout(rates, **options)(x)
            else:
                x = keras.layers.Dropout(spec.dropout, **options)(x)
    outputs = keras.layers.Dense(
        spec.n_outputs,
        activation=spec.output_activation,
        kernel_initializer=_kernel_initializer(spec, len(spec.hidden_layer_sizes), seed),
        kernel_regularizer=regularizer,
        name="output",
    )(x)
    model = keras.Model(inputs, outputs, name="skoptnn_mlp")
    variables_as_built(model)  # before anyone can freeze a layer
    return model


# Keras recomputes model.trainable_variables from the layers' current
# ``trainable`` flags, so a user freezing a layer of ``model_`` would reshuffle
# the (trainable, non_trainable) split that compiled graphs and pickled
# weights are laid out in. Each model's split is therefore fixed once.
_AS_BUILT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def variables_as_built(model: keras.Model) -> tuple[list, list]:
    """``model``'s ``(trainable, non_trainable)`` variables as first seen, frozen layers or not."""
    split = _AS_BUILT.get(model)
    if split is None:
        split = (list(model.trainable_variables), list(model.non_trainable_variables))
        _AS_BUILT[model] = split
    return split


Weights = tuple[list[np.ndarray], list[np.ndarray]]


def initial_weights(model: keras.Model, spec: NetworkSpec, seed: int) -> Weights:
    """The starting weights ``build_network(spec, seed)`` would have, for ``model``.

    ``model`` is any network built from a spec with ``spec``'s structure.
    Returns ``(trainable, non_trainable)`` in the order of
    :func:`variables_as_built`. Drawing them costs
    about a millisecond; building a Keras model for them costs ~20.
    """
    values = {}
    dense = dropout = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            init = _kernel_initializer(spec, dense, seed)
            values[id(layer.kernel)] = np.asarray(init(layer.kernel.shape, layer.kernel.dtype))
            values[id(layer.bias)] = np.zeros(layer.bias.shape, layer.bias.dtype)
            dense += 1
        elif isinstance(layer, keras.layers.BatchNormalization):
            for var, init in (
                (layer.gamma, layer.gamma_initializer),
                (layer.beta, layer.beta_initializer),
                (layer.moving_mean, layer.moving_mean_initializer),
                (layer.moving_variance, layer.moving_variance_initializer),
            ):
                values[id(var)] = np.asarray(init(var.shape, var.dtype))
        elif isinstance(layer, keras.layers.Dropout):
            state = layer.seed_generator.state  # Keras starts a seed stream at [seed, 0]
            values[id(state)] = np.array([_dropout_seed(seed, dropout), 0], state.dtype)
            dropout += 1
    trainable, non_trainable = variables_as_built(model)
    return [values[id(v)] for v in trainable], [values[id(v)] for v in non_trainable]


def read_values(variables) -> list[np.ndarray]:
    """The values of ``variables``, as arrays."""
    return [v.numpy() for v in variables]


def assign_values(variables, values) -> None:
    """Set each of ``variables`` to its array in ``values``."""
    for variable, value in zip(variables, values, strict=True):
        variable.assign(value)


def read_weights(model: keras.Model) -> Weights:
    """``model``'s ``(trainable, non_trainable)`` weights, as arrays."""
    trainable, non_trainable = variables_as_built(model)
    return read_values(trainable), read_values(non_trainable)


def assign_weights(model: keras.Model, weights: Weights) -> None:
    """Set ``model``'s weights from ``(trainable, non_trainable)`` arrays."""
    for variables, values in zip(variables_as_built(model), weights, strict=True):
        assign_values(variables, values)
