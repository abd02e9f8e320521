"""An estimator's parameters as the engine's description of a network and its training."""

from __future__ import annotations

from numbers import Integral

import numpy as np

from ..engine.optimizers import OPTIMIZERS, default_learning_rate
from ..engine.spec import NetworkSpec, TrainSpec


def hidden_layer_sizes(est) -> tuple[int, ...]:
    """The hidden widths: ``hidden_layer_sizes``, else ``n_layers`` x ``units``."""
    if est.hidden_layer_sizes is None:
        return (int(est.units),) * int(est.n_layers)
    sizes = est.hidden_layer_sizes
    sizes = [sizes] if np.ndim(sizes) == 0 else list(sizes)
    if not all(isinstance(s, Integral) and s > 0 for s in sizes):
        raise ValueError(
            f"hidden_layer_sizes must be positive integers; got {est.hidden_layer_sizes!r}."
        )
    return tuple(int(s) for s in sizes)


def train_spec(est, n_features: int, n_samples: float) -> TrainSpec:
    """The training description of ``est``'s parameters for data of this size."""
    if est.clipnorm is not None and est.clipvalue is not None:
        # Keras' optimizers refuse both; say so before training, not after.
        raise ValueError(
            f"clipnorm and clipvalue cannot both be set (got clipnorm={est.clipnorm}, "
            f"clipvalue={est.clipvalue}); set one of them to None."
        )
    n_outputs, output_activation, loss = est._output_layer()
    network = NetworkSpec(
        n_features=int(n_features),
        hidden_layer_sizes=hidden_layer_sizes(est),
        activation=est.activation,
        batch_norm=bool(est.batch_norm),
        dropout=float(est.dropout),
        # Per sample: the penalty is counted once for the whole training set,
        # each batch's mean loss carrying 1/n_samples of it, so its pull
        # weakens as the data grows (a prior that more data outweighs).
        l1=float(est.l1) / n_samples,
        l2=float(est.l2) / n_samples,
        n_outputs=n_outputs,
        output_activation=output_activation,
        kernel_initializer=est.kernel_initializer,
        numeric_embedding=est.numeric_embedding,
        embedding_scale=float(est.embedding_scale),
    )
    return TrainSpec(
        network=network,
        loss=loss,
        metric=est._metric,
        optimizer=est.optimizer,
        clipnorm=None if est.clipnorm is None else float(est.clipnorm),
        clipvalue=None if est.clipvalue is None else float(est.clipvalue),
        label_smoothing=float(getattr(est, "label_smoothing", 0.0)),
    )


def search_defaults(est) -> dict:
    """What the parameters that default to None mean, as values a search space holds.

    A search that starts from the estimator's own configuration (see
    ``ResumableBayesSearchCV(defaults_first=True)``) reads these instead of
    drawing the None ones at random: ``learning_rate=None`` is the
    optimizer's Keras default, and no clipping is an infinite threshold
    (the space's largest).
    """
    out: dict = {}
    if est.learning_rate is None and est.optimizer in OPTIMIZERS:
        out["learning_rate"] = default_learning_rate(est.optimizer)
    for name in ("clipnorm", "clipvalue"):
        if getattr(est, name) is None:
            out[name] = float("inf")
    return out


_LOSS_PARAMS = {"mean_squared_error": "mse", "mean_absolute_error": "mae"}


def check_same_network(old: TrainSpec, new: TrainSpec) -> None:
    """Refuse to continue ``old`` with a description whose arrays would not fit."""
    before, now = old.kept(), new.kept()
    for name in before:
        if before[name] != now[name]:
            was, is_ = before[name], now[name]
            if name == "loss":  # the parameter's value, not Keras' name for it
                was, is_ = _LOSS_PARAMS.get(was, was), _LOSS_PARAMS.get(is_, is_)
            raise ValueError(
                f"warm_start=True and partial_fit continue the fitted network, whose {name} "
                f"was {was!r}; this fit's is {is_!r}. Keep it, or set warm_start=False "
                "(or refit with fit) to train a new network."
            )


def check_same_members(old: int, new: int) -> None:
    """Refuse to continue an ensemble of ``old`` members with ``n_ensemble=new``."""
    if old != new:
        raise ValueError(
            f"warm_start=True and partial_fit continue the fitted network, whose n_ensemble "
            f"was {old!r}; this fit's is {new!r}. Keep it, or set warm_start=False "
            "(or refit with fit) to train a new network."
        )
