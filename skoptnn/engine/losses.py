"""Losses and metrics over the output layer's pre-activation ``z``.

A loss row gives the per-sample loss (Keras' formula: the classifiers' from
logits, as Keras computes them after a sigmoid or softmax output) and its
derivative with respect to ``z``, which starts the hand-written backward pass.
A batch's loss is Keras' ``sum_over_batch_size``: ``sum(w * loss) / rows``.
Metrics are unweighted per-sample values, averaged as Keras' ``metrics=`` are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from scipy.special import expit, softmax

from .runtime import tf

_HUBER_DELTA = 1.0  # Keras' default


class Loss(NamedTuple):
    output_activation: str
    value: Callable  # (z, y) -> per-sample loss, shape [n]
    gradient: Callable  # (z, y) -> d loss / d z, shape of z


def _sparse_labels(y):
    return tf.cast(y[:, 0], tf.int32)


def _bce(z, y):
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=z), axis=-1)


def _sparse_ce(z, y):
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=_sparse_labels(y), logits=z)


def _sparse_ce_gradient(z, y):
    return tf.nn.softmax(z) - tf.one_hot(_sparse_labels(y), tf.shape(z)[1], dtype=z.dtype)


def _width(z):
    return tf.cast(tf.shape(z)[1], z.dtype)


def _huber(z, y):
    error = z - y
    abs_error = tf.abs(error)
    quadratic = 0.5 * tf.square(error)
    linear = _HUBER_DELTA * abs_error - 0.5 * _HUBER_DELTA**2
    return tf.reduce_mean(tf.where(abs_error <= _HUBER_DELTA, quadratic, linear), axis=-1)


def _huber_gradient(z, y):
    error = z - y
    clipped = _HUBER_DELTA * tf.sign(error)
    return tf.where(tf.abs(error) <= _HUBER_DELTA, error, clipped) / _width(z)


# Keys are Keras' loss names: model_ is compiled with them.
LOSSES: dict[str, Loss] = {
    "binary_crossentropy": Loss(
        "sigmoid", _bce, lambda z, y: (tf.sigmoid(z) - y) / _width(z)),
    "sparse_categorical_crossentropy": Loss("softmax", _sparse_ce, _sparse_ce_gradient),
    "mean_squared_error": Loss(
        "linear", lambda z, y: tf.reduce_mean(tf.square(z - y), axis=-1),
        lambda z, y: 2.0 * (z - y) / _width(z)),
    "mean_absolute_error": Loss(
        "linear", lambda z, y: tf.reduce_mean(tf.abs(z - y), axis=-1),
        lambda z, y: tf.sign(z - y) / _width(z)),
    "huber": Loss("linear", _huber, _huber_gradient),
}

def _smoothed_sigmoid(amount):
    # Keras' binary_crossentropy(label_smoothing=a): targets y (1 - a) + a / 2.
    loss = LOSSES["binary_crossentropy"]

    def target(y):
        return y * (1.0 - amount) + 0.5 * amount

    return Loss("sigmoid", lambda z, y: loss.value(z, target(y)),
                lambda z, y: loss.gradient(z, target(y)))


def _smoothed_softmax(amount):
    # Keras' categorical_crossentropy(label_smoothing=a) of the one-hot labels:
    # targets onehot (1 - a) + a / n_classes.
    def target(z, y):
        onehot = tf.one_hot(_sparse_labels(y), tf.shape(z)[1], dtype=z.dtype)
        return onehot * (1.0 - amount) + amount / _width(z)

    return Loss("softmax",
                lambda z, y: tf.nn.softmax_cross_entropy_with_logits(labels=target(z, y),
                                                                     logits=z),
                lambda z, y: tf.nn.softmax(z) - target(z, y))


# Label smoothing of the classifiers' losses, by loss: amount (a tensor) -> Loss.
SMOOTHED: dict[str, Callable] = {
    "binary_crossentropy": _smoothed_sigmoid,
    "sparse_categorical_crossentropy": _smoothed_softmax,
}


OUTPUT_ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    # name: (TensorFlow, NumPy float64)
    "sigmoid": (tf.sigmoid, lambda z: expit(z, out=z)),  # NumPy: may overwrite z
    "softmax": (tf.nn.softmax, lambda z: softmax(z, axis=1)),
    "linear": (tf.identity, lambda z: z),
}


def _binary_accuracy(p, y):
    # Keras' binary_accuracy at 0.5, averaged over the sigmoid units (labels).
    return tf.reduce_mean(tf.cast(tf.equal(y, tf.cast(p > 0.5, y.dtype)), p.dtype), axis=-1)


def _sparse_accuracy(p, y):
    predicted = tf.cast(tf.argmax(p, axis=-1), y.dtype)
    return tf.cast(tf.equal(y[:, 0], predicted), p.dtype)


# Per-sample metric values from the outputs p (after the output activation),
# by (metric, output activation): the output width is fed at run time, so the
# graph cannot tell one sigmoid unit from a softmax layer by its shape.
METRICS: dict[tuple[str, str], Callable] = {
    ("accuracy", "sigmoid"): _binary_accuracy,
    ("accuracy", "softmax"): _sparse_accuracy,
    ("mae", "linear"): lambda p, y: tf.reduce_mean(tf.abs(y - p), axis=-1),
}

# Whether a larger value of the metric is better (early stopping's direction).
HIGHER_IS_BETTER = {"accuracy": True, "mae": False, "loss": False}


def numpy_output(name: str, z: np.ndarray) -> np.ndarray:
    """The output activation ``name`` applied to ``z`` in NumPy."""
    return OUTPUT_ACTIVATIONS[name][1](z)
