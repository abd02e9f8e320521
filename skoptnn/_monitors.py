"""What the loop decides after each epoch: divergence and early stopping.

Small graph pieces that the epoch loop of :mod:`skoptnn._loop` calls once per
epoch. ``kept`` is the snapshot a fit falls back on: the last finite epoch's
weights, or with early stopping the best epoch's.
"""

from __future__ import annotations

from typing import NamedTuple

from ._keras import tf
from ._params import Params


class FitState(NamedTuple):
    """Everything the loop carries from one epoch (and one compiled call) to the next."""

    params: Params
    optimizer: tuple  # an _optimizers.OptimizerState
    kept: Params
    best: tf.Tensor  # best monitored value, signed so that lower is better
    best_epoch: tf.Tensor  # int32, -1 before any
    wait: tf.Tensor  # int32: epochs since the best one
    epoch: tf.Tensor  # int32: epochs run so far
    stopped: tf.Tensor  # bool
    diverged: tf.Tensor  # int32: the epoch whose loss or weights became non-finite, or -1


def is_finite(params: Params, loss) -> tf.Tensor:
    """Whether the epoch's loss and every weight are finite."""
    checks = [tf.reduce_all(tf.math.is_finite(t)) for t in params.trainable + params.moving]
    return tf.reduce_all(tf.stack([tf.math.is_finite(loss), *checks]))


def _select(condition, a: Params, b: Params) -> Params:
    # Once an epoch, on small arrays: an element-wise select per array traces far
    # fewer ops than a tf.cond over them all.
    return tf.nest.map_structure(lambda x, y: tf.where(condition, x, y), a, b)


def end_of_epoch(state: FitState, params: Params, optimizer, row, cfg) -> FitState:
    """The state after an epoch that produced ``params`` and the log ``row``.

    A non-finite epoch puts the kept weights back and stops. Otherwise, with
    early stopping, an epoch that improves the monitored value by more than
    ``min_delta`` becomes the kept one, and ``patience`` epochs without one
    stop the fit; without early stopping every finite epoch is kept.
    """
    finite = is_finite(params, row[0])
    value = cfg.sign * row[cfg.monitor]
    improved = value < state.best - cfg.min_delta
    keep = finite & (improved | ~cfg.early_stopping)
    recorded = keep & cfg.early_stopping
    wait = tf.where(keep, 0, state.wait + 1)
    return FitState(
        params=_select(finite, params, state.kept),
        optimizer=optimizer,
        kept=_select(keep, params, state.kept),
        best=tf.where(recorded, value, state.best),
        best_epoch=tf.where(recorded, state.epoch, state.best_epoch),
        wait=wait,
        epoch=state.epoch + 1,
        stopped=~finite | (cfg.early_stopping & (wait >= cfg.patience)),
        diverged=tf.where(finite, state.diverged, state.epoch),
    )
