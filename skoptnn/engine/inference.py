"""Predictions in NumPy, from a fitted network's arrays.

Prediction needs no TensorFlow: one matrix product per layer, in float64 by
default (so a row's prediction depends on the batch it comes in only at float64
round-off, far below what float32 weights can tell apart).
Batch norm (inference mode) is folded into its layer's kernel and bias once,
and rows go through the network in blocks small enough to stay in cache.
"""

from __future__ import annotations

import numpy as np

from . import embedding
from .activations import ACTIVATIONS
from .graph import BN_EPSILON
from .layout import Layout, Params, layers
from .losses import numpy_output
from .spec import NetworkSpec

# Rows per block: each layer's activations for a block fit in the CPU cache,
# where whole-array temporaries of a large batch would not.
BLOCK_ROWS = 8192


def dense_layers(spec: NetworkSpec, params: Params, dtype=np.float64) -> list[tuple]:
    """``(kernel, bias)`` per layer in ``dtype``, batch norm folded into the hidden ones."""
    out = []
    *hidden, output = layers(spec, params)
    for layer in hidden:
        kernel, bias = layer["kernel"].astype(dtype), layer["bias"].astype(dtype)
        if spec.batch_norm:
            scale = layer["gamma"].astype(dtype) / np.sqrt(
                layer["moving_variance"].astype(dtype) + dtype(BN_EPSILON))
            kernel = kernel * scale
            bias = (bias - layer["moving_mean"].astype(dtype)) * scale + layer["beta"].astype(dtype)
        out.append((kernel, bias))
    out.append((output["kernel"].astype(dtype), output["bias"].astype(dtype)))
    return out


def predict(spec: NetworkSpec, params: Params, X: np.ndarray, dtype=np.float64,
            dense: list[tuple] | None = None) -> np.ndarray:
    """The network's outputs (after the output activation) for ``X``, in inference mode.

    ``dense`` is :func:`dense_layers`' result for ``params`` when the caller keeps it.
    """
    if dense is None:
        dense = dense_layers(spec, params, dtype)
    activation = ACTIVATIONS[spec.activation].numpy
    *hidden, (kernel_out, bias_out) = dense
    front = Layout.of(spec).front(params)

    def outputs(h):
        if front:
            h = embedding.numpy_forward(front, h, dtype)
        for kernel, bias in hidden:
            z = h @ kernel
            z += bias
            h = activation(z)
        z = h @ kernel_out
        z += bias_out
        return z

    X = np.asarray(X)
    with np.errstate(over="ignore", invalid="ignore"):  # callers check for non-finite outputs
        if len(X) <= BLOCK_ROWS:
            return numpy_output(spec.output_activation, outputs(X.astype(dtype, copy=False)))
        result = np.empty((len(X), kernel_out.shape[1]), dtype)
        for start in range(0, len(X), BLOCK_ROWS):
            result[start:start + BLOCK_ROWS] = outputs(
                X[start:start + BLOCK_ROWS].astype(dtype, copy=False))
        return numpy_output(spec.output_activation, result)
