"""Reference Keras models for the tests that compare skoptnn's training with Keras'.

Everything a reference is built from is written out here literally (Keras'
class, initializer and loss names, as skoptnn's docstrings promise them),
never read from skoptnn's own tables: a name that skoptnn maps wrongly then
shows up as a mismatch instead of being copied into the expectation.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from skoptnn.engine.runtime import keras

OPTIMIZERS = {
    "adam": keras.optimizers.Adam, "adamw": keras.optimizers.AdamW,
    "nadam": keras.optimizers.Nadam, "rmsprop": keras.optimizers.RMSprop,
    "sgd": keras.optimizers.SGD, "adagrad": keras.optimizers.Adagrad,
    "adadelta": keras.optimizers.Adadelta,
}
# kernel_initializer="auto": He (normal) for the ReLU family, LeCun (normal) for
# selu, Glorot (uniform) for tanh and sigmoid (and for the output layer).
AUTO_INIT = {
    "relu": keras.initializers.HeNormal, "leaky_relu": keras.initializers.HeNormal,
    "elu": keras.initializers.HeNormal, "gelu": keras.initializers.HeNormal,
    "silu": keras.initializers.HeNormal, "selu": keras.initializers.LecunNormal,
    "tanh": keras.initializers.GlorotUniform, "sigmoid": keras.initializers.GlorotUniform,
}
ACTIVATIONS = sorted(AUTO_INIT)
# The regressor's loss parameter -> Keras' loss.
REGRESSION_LOSSES = {"mse": "mean_squared_error", "mae": "mean_absolute_error",
                     "huber": "huber"}


def fit_seed(random_state) -> int:
    """The fit's seed, drawn as scikit-learn estimators draw one from random_state."""
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def standardised(y) -> np.ndarray:
    """The regressor's training target: each column to zero mean and unit variance."""
    y = np.asarray(y, np.float64).reshape(len(y), -1)
    return ((y - y.mean(axis=0)) / y.std(axis=0)).astype(np.float32)


def reference(params: dict, n_features: int, n_outputs: int, output: str, loss: str,
              metric: str, n_samples: int):
    """A compiled Keras model built from the estimator's parameters alone.

    Dense layer ``i`` starts from Keras' initializer seeded ``seed + i`` (the
    documented contract), hidden layer ``i``'s Dropout is seeded ``seed + 1000 + i``.
    """
    seed = fit_seed(params["random_state"])
    sizes = params.get("hidden_layer_sizes") or (params["units"],) * params["n_layers"]
    activation = params.get("activation", "relu")
    # skoptnn's l1 and l2 are per training sample; Keras' per batch (of mean loss).
    l1, l2 = params.get("l1", 0.0) / n_samples, params["l2"] / n_samples
    reg = keras.regularizers.L1L2(l1=l1, l2=l2) if l1 or l2 else None
    inputs = keras.Input((n_features,))
    x = inputs
    for i, units in enumerate(sizes):
        x = keras.layers.Dense(units, kernel_initializer=AUTO_INIT[activation](seed=seed + i),
                               kernel_regularizer=reg)(x)
        if params.get("batch_norm"):
            x = keras.layers.BatchNormalization()(x)
        x = keras.layers.Activation(activation)(x)
        if params.get("dropout"):
            x = keras.layers.Dropout(params["dropout"], seed=seed + 1000 + i)(x)
    outputs = keras.layers.Dense(
        n_outputs, activation=output, kernel_regularizer=reg,
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed + len(sizes)))(x)
    model = keras.Model(inputs, outputs)
    kwargs = {k: params[k] for k in ("clipnorm", "clipvalue", "learning_rate") if k in params}
    model.compile(optimizer=OPTIMIZERS[params.get("optimizer", "adam")](**kwargs), loss=loss,
                  metrics=[metric])
    return model


def dense_weights(model) -> list[np.ndarray]:
    """Every Dense layer's kernel and bias, in network order."""
    return [w for layer in model.layers if isinstance(layer, keras.layers.Dense)
            for w in (layer.kernel.numpy(), layer.bias.numpy())]


def named_weights(model) -> list[tuple[str, np.ndarray]]:
    """Every weight (trainable or not) with a name saying which layer type and which array."""
    out = []
    counts: dict[str, int] = {}
    for layer in model.layers:
        kind = type(layer).__name__
        if not layer.weights:
            continue
        counts[kind] = counts.get(kind, 0) + 1
        for w in layer.weights:
            out.append((f"{kind}_{counts[kind]}/{w.name}", np.asarray(w.numpy())))
    return out
