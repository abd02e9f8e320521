"""Predictions in NumPy, from a fitted network's arrays.

Prediction needs no TensorFlow: one matrix product per layer, in float64 by
default (so a row's prediction does not depend on the batch it comes in).
"""

from __future__ import annotations

import numpy as np

from ._activations import ACTIVATIONS
from ._graph import BN_EPSILON
from ._losses import numpy_output
from ._params import Params, layers
from ._spec import NetworkSpec


def predict(spec: NetworkSpec, params: Params, X: np.ndarray, dtype=np.float64) -> np.ndarray:
    """The network's outputs (after the output activation) for ``X``, in inference mode."""
    activation = ACTIVATIONS[spec.activation].numpy
    *hidden, output = layers(spec, params)
    h = np.asarray(X, dtype=dtype)
    with np.errstate(over="ignore", invalid="ignore"):  # callers check for non-finite outputs
        for layer in hidden:
            z = h @ layer["kernel"].astype(dtype) + layer["bias"].astype(dtype)
            if spec.batch_norm:
                scale = layer["gamma"].astype(dtype) / np.sqrt(
                    layer["moving_variance"].astype(dtype) + dtype(BN_EPSILON))
                z = (z - layer["moving_mean"].astype(dtype)) * scale + layer["beta"].astype(dtype)
            h = activation(z)
        z = h @ output["kernel"].astype(dtype) + output["bias"].astype(dtype)
        return numpy_output(spec.output_activation, z)
