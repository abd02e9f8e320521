"""Periodic embeddings of numeric features (Gorishniy et al., NeurIPS 2022: "PLR").

Each feature ``x_j`` becomes ``relu(W_j [cos(2 pi f_j x_j), sin(2 pi f_j x_j)] + b_j)``:
``N_FREQUENCIES`` learned frequencies ``f_j`` (drawn from a normal of standard
deviation ``embedding_scale``), then a linear layer of its own to ``EMBEDDING_DIM``
units and a ReLU. The features' embeddings, side by side, are the first hidden
layer's input. Everything about the embedding is here: its arrays and their
starting values, the training graph's forward and backward passes, the NumPy
forward pass of prediction and the Keras layer of ``model_``.
"""

from __future__ import annotations

import math

import numpy as np

from .runtime import keras, tf

#: The numeric_embedding choices (``"none"``: the features feed the first layer as they are).
NUMERIC_EMBEDDINGS = ("none", "periodic")
# What the embedding's arrays are called, in the order Params holds them (first).
NAMES = ("frequencies", "embedding_kernel", "embedding_bias")
N_FREQUENCIES = 8
EMBEDDING_DIM = 8
# The frequencies draw from a stream of their own (the Dense layers use seed + i).
FREQUENCY_SEED_OFFSET = 2000
_TWO_PI = 2.0 * math.pi


def width(n_features: int) -> int:
    """The first hidden layer's input width: every feature's embedding."""
    return n_features * EMBEDDING_DIM


def initial(n_features: int, scale: float, seed: int) -> dict[str, np.ndarray]:
    """Starting values: frequencies ~ N(0, scale), each feature's kernel uniform in
    +-1/sqrt(its 2 * N_FREQUENCIES inputs) (as a Dense layer of that fan-in in
    PyTorch, which the paper's code uses), biases 0."""
    frequencies = keras.initializers.RandomNormal(
        stddev=scale, seed=seed + FREQUENCY_SEED_OFFSET)((n_features, N_FREQUENCIES), "float32")
    bound = 1.0 / math.sqrt(2 * N_FREQUENCIES)
    kernel = keras.initializers.RandomUniform(-bound, bound, seed=seed + FREQUENCY_SEED_OFFSET + 1)(
        (n_features, 2 * N_FREQUENCIES, EMBEDDING_DIM), "float32")
    return {"frequencies": np.asarray(frequencies), "embedding_kernel": np.asarray(kernel),
            "embedding_bias": np.zeros((n_features, EMBEDDING_DIM), np.float32)}


def zeros(n_features: int) -> dict[str, np.ndarray]:
    """Arrays of the right shapes (for checking saved ones)."""
    return {"frequencies": np.zeros((n_features, N_FREQUENCIES), np.float32),
            "embedding_kernel": np.zeros((n_features, 2 * N_FREQUENCIES, EMBEDDING_DIM),
                                         np.float32),
            "embedding_bias": np.zeros((n_features, EMBEDDING_DIM), np.float32)}


# -- training graph ---------------------------------------------------------------
def forward(p: dict, x):
    """``(embedded x of shape [rows, features * EMBEDDING_DIM], cache for backward)``."""
    angles = _TWO_PI * x[:, :, None] * p["frequencies"][None]  # [B, F, m]
    periodic = tf.concat([tf.cos(angles), tf.sin(angles)], axis=-1)  # [B, F, 2m]
    z = tf.einsum("bfk,fkd->bfd", periodic, p["embedding_kernel"]) + p["embedding_bias"]
    a = tf.nn.relu(z)
    flat = tf.reshape(a, [tf.shape(x)[0], -1])
    return flat, {"x": x, "angles": angles, "periodic": periodic, "z": z}


def backward(p: dict, cache: dict, g) -> dict:
    """Gradients of the embedding's arrays, given ``g`` = d loss / d its output."""
    z = cache["z"]
    g = tf.reshape(g, tf.shape(z))
    g = tf.where(z > 0, g, tf.zeros([], g.dtype))  # relu
    grads = {"embedding_kernel": tf.einsum("bfk,bfd->fkd", cache["periodic"], g),
             "embedding_bias": tf.reduce_sum(g, axis=0)}
    g_periodic = tf.einsum("bfd,fkd->bfk", g, p["embedding_kernel"])
    m = tf.shape(p["frequencies"])[1]
    angles = cache["angles"]
    g_angles = -g_periodic[:, :, :m] * tf.sin(angles) + g_periodic[:, :, m:] * tf.cos(angles)
    grads["frequencies"] = tf.reduce_sum(g_angles * (_TWO_PI * cache["x"][:, :, None]), axis=0)
    return grads


# -- prediction -------------------------------------------------------------------
def numpy_forward(p: dict, x: np.ndarray, dtype=np.float64) -> np.ndarray:
    """:func:`forward` in NumPy, in ``dtype``."""
    frequencies, kernel, bias = (p[n].astype(dtype) for n in NAMES)
    angles = _TWO_PI * x[:, :, None] * frequencies[None]
    periodic = np.concatenate([np.cos(angles), np.sin(angles)], axis=-1)
    z = np.einsum("bfk,fkd->bfd", periodic, kernel) + bias
    return np.maximum(z, 0.0).reshape(len(x), kernel.shape[0] * kernel.shape[2])


# -- model_ -------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package="skoptnn")
class PeriodicEmbedding(keras.layers.Layer):
    """Keras layer of the periodic embedding (what ``model_`` starts with).

    Parameters
    ----------
    n_frequencies : int
        Learned frequencies per feature.
    dim : int
        Units of each feature's linear layer.
    scale : float
        Standard deviation of the frequencies' starting values.
    seed : int
        Seed of the starting values.
    """

    def __init__(self, n_frequencies: int = N_FREQUENCIES, dim: int = EMBEDDING_DIM,
                 scale: float = 0.1, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.n_frequencies, self.dim, self.scale, self.seed = n_frequencies, dim, scale, seed

    def build(self, input_shape):
        n_features = int(input_shape[-1])
        start = initial(n_features, self.scale, self.seed)
        self.frequencies = self.add_weight(
            name="frequencies", shape=(n_features, self.n_frequencies),
            initializer=keras.initializers.Constant(start["frequencies"]))
        self.kernel = self.add_weight(
            name="embedding_kernel", shape=(n_features, 2 * self.n_frequencies, self.dim),
            initializer=keras.initializers.Constant(start["embedding_kernel"]))
        self.bias = self.add_weight(name="embedding_bias", shape=(n_features, self.dim),
                                    initializer="zeros")

    def call(self, x):
        ops = keras.ops
        angles = _TWO_PI * ops.expand_dims(x, -1) * ops.expand_dims(self.frequencies, 0)
        periodic = ops.concatenate([ops.cos(angles), ops.sin(angles)], axis=-1)
        z = ops.einsum("bfk,fkd->bfd", periodic, self.kernel) + self.bias
        return ops.reshape(ops.relu(z), (-1, self.kernel.shape[0] * self.dim))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], int(input_shape[-1]) * self.dim)

    def get_config(self) -> dict:
        return {**super().get_config(), "n_frequencies": self.n_frequencies, "dim": self.dim,
                "scale": self.scale, "seed": self.seed}
