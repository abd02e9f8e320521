"""Hidden-layer activations: one table row each.

A row gives the TensorFlow forward pass (Keras' own op, so training matches
Keras), its derivative for the hand-written backward pass (from the
pre-activation ``z`` and the activation ``a``), and the NumPy forward pass
that prediction runs in float64.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from scipy.special import erf, expit

from .runtime import tf

# Keras' selu constants (Klambauer et al.), as TensorFlow's selu op uses them.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
# Keras' "leaky_relu" activation uses negative_slope=0.2.
_LEAKY_SLOPE = 0.2


class Activation(NamedTuple):
    forward: Callable  # z -> a, TensorFlow
    derivative: Callable  # (z, a) -> da/dz, TensorFlow
    numpy: Callable  # z -> a, NumPy float64; may overwrite z
    initializer: str  # what kernel_initializer="auto" draws for it


def _gelu_derivative(z, a):
    cdf = 0.5 * (1.0 + tf.math.erf(z * (1.0 / math.sqrt(2.0))))
    pdf = tf.exp(-0.5 * tf.square(z)) * (1.0 / math.sqrt(2.0 * math.pi))
    return cdf + z * pdf


def _silu_derivative(z, a):
    s = tf.sigmoid(z)
    return s * (1.0 + z * (1.0 - s))


# "auto" initializers: He for the ReLU family (keeps the activations' variance
# through rectifiers), LeCun for selu (its self-normalisation assumes it),
# Glorot for the saturating tanh and sigmoid.
ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation(
        tf.nn.relu, lambda z, a: tf.cast(z > 0, z.dtype), lambda z: np.maximum(z, 0.0, out=z),
        "he_normal"),
    "leaky_relu": Activation(
        lambda z: tf.nn.leaky_relu(z, alpha=_LEAKY_SLOPE),
        lambda z, a: tf.where(z > 0, tf.ones_like(z), tf.fill(tf.shape(z), _LEAKY_SLOPE)),
        lambda z: np.where(z > 0, z, _LEAKY_SLOPE * z), "he_normal"),
    "elu": Activation(
        tf.nn.elu, lambda z, a: tf.where(a < 0, a + 1.0, tf.ones_like(a)),
        lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0.0))), "he_normal"),
    "gelu": Activation(
        lambda z: tf.nn.gelu(z, approximate=False), _gelu_derivative,
        lambda z: 0.5 * z * (1.0 + erf(z / math.sqrt(2.0))), "he_normal"),
    "selu": Activation(
        tf.nn.selu,
        lambda z, a: tf.where(a < 0, a + _SELU_SCALE * _SELU_ALPHA,
                              tf.fill(tf.shape(a), _SELU_SCALE)),
        lambda z: _SELU_SCALE * np.where(
            z > 0, z, _SELU_ALPHA * np.expm1(np.minimum(z, 0.0))), "lecun_normal"),
    "silu": Activation(tf.nn.silu, _silu_derivative, lambda z: z * expit(z), "he_normal"),
    "tanh": Activation(
        tf.tanh, lambda z, a: 1.0 - tf.square(a), lambda z: np.tanh(z, out=z), "glorot_uniform"),
    "sigmoid": Activation(
        tf.sigmoid, lambda z, a: a * (1.0 - a), lambda z: expit(z, out=z), "glorot_uniform"),
}
