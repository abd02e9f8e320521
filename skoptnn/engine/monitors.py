"""What the loop decides after each epoch: divergence and early stopping.

Small graph pieces that the epoch loop of :mod:`skoptnn.engine.loop` calls once per
epoch. ``kept`` is the snapshot a fit falls back on: the last finite epoch's
weights, or with early stopping the restored epoch's.

Early stopping judges the monitored validation value against its noise, the
standard error of a mean over so few rows: on a small validation split an
epoch's dip or rise of a fraction of that error says nothing. So an epoch
counts as an improvement (and resets ``patience``) only when it beats the
value of the last improvement by more than ``IMPROVEMENT_ERRORS`` of that
value's standard errors (so a slow but steady learner still improves now and
then), and the weights kept are those of the latest epoch within
``KEPT_ERRORS`` of the best value's standard errors: among the epochs that
the validation rows measure as equally good, the most trained. The errors
are those of the reference values, not of the epoch judged, so one wildly
wrong validation row cannot widen its own margin. Both margins shrink as the
validation split grows.
"""

from __future__ import annotations

from typing import NamedTuple

from .layout import Params
from .runtime import tf


class FitState(NamedTuple):
    """Everything the loop carries from one epoch (and one compiled call) to the next."""

    params: Params
    optimizer: tuple  # an _optimizers.OptimizerState
    kept: Params
    best: tf.Tensor  # best monitored value, signed so that lower is better
    best_error: tf.Tensor  # its standard error
    anchor: tf.Tensor  # the value at the last improvement, which the next must beat
    anchor_error: tf.Tensor  # its standard error
    best_epoch: tf.Tensor  # int32: the kept epoch (early stopping), -1 before any
    wait: tf.Tensor  # int32: epochs since the last improvement
    epoch: tf.Tensor  # int32: epochs run so far
    stopped: tf.Tensor  # bool
    diverged: tf.Tensor  # int32: the epoch whose loss or weights became non-finite, or -1


def is_finite(params: Params, loss) -> tf.Tensor:
    """Whether the epoch's loss and every weight are finite."""
    checks = [tf.reduce_all(tf.math.is_finite(t)) for t in params.trainable + params.moving]
    return tf.reduce_all(tf.stack([tf.math.is_finite(loss), *checks]))


# Margins in standard errors of the monitored value (see the module docstring);
# benchmarks/early_stopping.py measures what they cost and save.
IMPROVEMENT_ERRORS = 0.5
KEPT_ERRORS = 1.0


def _select(condition, a: Params, b: Params) -> Params:
    # Once an epoch, on small arrays: an element-wise select per array traces far
    # fewer ops than a tf.cond over them all.
    return tf.nest.map_structure(lambda x, y: tf.where(condition, x, y), a, b)


def end_of_epoch(state: FitState, params: Params, optimizer, row, error, cfg) -> FitState:
    """The state after an epoch that produced ``params`` and the log ``row``.

    ``error`` is the standard error of the monitored value. A non-finite epoch
    puts the kept weights back and stops. Otherwise, with early stopping, an
    epoch improves when it beats the last improvement's value by more than
    ``min_delta`` plus ``IMPROVEMENT_ERRORS`` of its standard errors, and
    ``patience`` epochs without one stop the fit; its weights are kept when
    it is within ``KEPT_ERRORS`` of the best value's standard errors. A
    non-finite monitored value is neither kept nor an improvement. Without
    early stopping every finite epoch is kept.
    """
    finite = is_finite(params, row[0])
    value = cfg.sign * row[cfg.monitor]
    judged = finite & cfg.early_stopping & tf.math.is_finite(value)
    improved = judged & (
        value < state.anchor - cfg.min_delta - IMPROVEMENT_ERRORS * state.anchor_error)
    new_best = judged & (value < state.best)
    best = tf.where(new_best, value, state.best)
    best_error = tf.where(new_best, error, state.best_error)
    keep = finite & (~cfg.early_stopping
                     | (judged & (value - best <= KEPT_ERRORS * best_error)))
    recorded = keep & cfg.early_stopping
    wait = tf.where(improved | (finite & ~cfg.early_stopping), 0, state.wait + 1)
    return FitState(
        params=_select(finite, params, state.kept),
        optimizer=optimizer,
        kept=_select(keep, params, state.kept),
        best=best,
        best_error=best_error,
        anchor=tf.where(improved, value, state.anchor),
        anchor_error=tf.where(improved, error, state.anchor_error),
        best_epoch=tf.where(recorded, state.epoch, state.best_epoch),
        wait=wait,
        epoch=state.epoch + 1,
        stopped=~finite | (cfg.early_stopping & (wait >= cfg.patience)),
        diverged=tf.where(finite, state.diverged, state.epoch),
    )
