"""The early-stopping rule of skoptnn.engine.monitors, on hand-made validation curves."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from skoptnn.engine.layout import Params
from skoptnn.engine.monitors import IMPROVEMENT_ERRORS, FitState, end_of_epoch
from skoptnn.engine.runtime import tf


def _run(values, errors, patience=3, min_delta=0.0, early_stopping=True, refs=None):
    """Feed one epoch per value; return (epochs run, kept epoch, kept weight).

    ``refs``: (best, its error, anchor, its error) an earlier call ended with.
    """
    best, best_error, anchor, anchor_error = refs or (np.inf, 0.0, np.inf, 0.0)
    cfg = SimpleNamespace(sign=tf.constant(1.0), monitor=2, min_delta=tf.constant(min_delta),
                          early_stopping=tf.constant(early_stopping),
                          patience=tf.constant(patience))
    start = Params((tf.constant([-1.0]),), ())
    state = FitState(params=start, optimizer=(), kept=start, best=tf.constant(best),
                     best_error=tf.constant(best_error), anchor=tf.constant(anchor),
                     anchor_error=tf.constant(anchor_error), best_epoch=tf.constant(-1),
                     wait=tf.constant(0), epoch=tf.constant(0), stopped=tf.constant(False),
                     diverged=tf.constant(-1))
    for epoch, (value, error) in enumerate(zip(values, errors, strict=True)):
        if bool(state.stopped):
            break
        params = Params((tf.constant([float(epoch)]),), ())  # the weights name their epoch
        row = tf.constant([0.5, 0.5, value, 0.5])
        state = end_of_epoch(state, params, (), row, tf.constant(error), cfg)
    return int(state.epoch), int(state.best_epoch), float(state.kept.trainable[0][0])


def test_without_noise_it_is_classic_early_stopping():
    # Zero standard error: the best epoch is kept, and `patience` epochs after it stop.
    values = [1.0, 0.8, 0.7, 0.75, 0.72, 0.71, 0.9, 0.6]
    ran, kept, weight = _run(values, [0.0] * len(values))
    assert (ran, kept, weight) == (6, 2, 2.0)


def test_a_dip_within_the_noise_neither_resets_patience_nor_pins_the_weights():
    # Epoch 1 dips by less than half a standard error: no improvement, so the fit
    # stops 3 epochs after epoch 0; every epoch is within one error of the best, so
    # the latest (the most trained) is kept.
    values = [1.0, 0.98, 0.99, 1.01, 0.5]
    ran, kept, weight = _run(values, [0.1] * len(values))
    assert (ran, kept, weight) == (4, 3, 3.0)


def test_a_rise_past_the_noise_is_not_kept():
    values = [1.0, 0.5, 0.56, 0.8, 0.9]
    ran, kept, _ = _run(values, [0.1] * len(values))
    assert ran == 5 and kept == 2  # 0.56 is within 0.1 of 0.5; 0.8 and 0.9 are not


def test_slow_steady_improvement_keeps_going():
    # Each epoch gains 0.01 against an error of 0.1: no single step counts, but a few
    # steps add up to more than the margin over the last improvement.
    steps = int(IMPROVEMENT_ERRORS * 0.1 / 0.01) + 1
    values = [1.0 - 0.01 * i for i in range(30)]
    assert _run(values, [0.1] * 30, patience=steps + 1)[0] == 30
    assert _run(values, [0.1] * 30, patience=steps - 1)[0] < 30  # too little patience


def test_min_delta_adds_to_the_margin():
    values = [1.0, 0.9, 0.8, 0.7, 0.6]
    # Only epoch 0 beats the last improvement by more than 0.25: two epochs later it stops.
    assert _run(values, [0.0] * 5, patience=2, min_delta=0.25)[0] == 3


def test_without_early_stopping_every_epoch_is_kept():
    values = [1.0, 2.0, 3.0]
    assert _run(values, [0.0] * 3, early_stopping=False) == (3, -1, 2.0)


def test_one_wild_row_cannot_widen_its_own_margin():
    # Epoch 2's mean is ruined by one row, which also inflates its own standard
    # error; the margin is the best epoch's error, so epoch 2 is not kept.
    values, errors = [0.5, 0.3, 10.0, 0.35], [0.05, 0.05, 9.5, 0.05]
    ran, kept, _ = _run(values, errors)
    assert (ran, kept) == (4, 3)


def test_a_nan_validation_value_is_skipped_not_kept():
    ran, kept, weight = _run([0.5, np.nan, 0.49, 0.48], [0.0] * 4)
    assert (ran, kept, weight) == (4, 3, 3.0)
    # Nor does it count as an improvement, nor reset patience: 3 epochs after 0.5 it stops.
    assert _run([0.5, np.nan, np.nan, 0.6, 0.6, 0.6], [0.0] * 6)[0] == 4


def test_a_continued_fit_keeps_to_the_first_calls_best():
    # A validation loss that only rises after 0.6: one call keeps the last epoch
    # within one error (0.1) of 0.6. A second call that carries the references on
    # keeps nothing past that margin; one that started afresh from 0.7 would.
    values, errors = [0.6, 0.65, 0.7, 0.75, 0.78], [0.1] * 5
    assert _run(values, errors, patience=10)[1] == 2
    carried = _run(values[3:], errors[3:], patience=10, refs=(0.6, 0.1, 0.6, 0.1))
    assert carried[1] == -1 and carried[2] == -1.0  # the start weights stay
    afresh = _run(values[3:], errors[3:], patience=10, refs=(0.7, 0.1, 0.7, 0.1))
    assert afresh[1] == 1
