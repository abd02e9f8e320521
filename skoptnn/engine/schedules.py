"""Learning-rate schedules: the step size as a share of ``learning_rate``.

A schedule runs over a *cycle* of ``epochs`` epochs, its clock ``p`` going
from 0 to 1 step by step (an epoch's batches advance it evenly). The first
``warmup`` share of the cycle ramps the rate up linearly from 0; the schedule
then runs over the rest, its own clock restarted at 0 (as Keras'
``CosineDecay`` with ``warmup_steps``).

Each row gives the multiplier at clock ``q`` in [0, 1], in TensorFlow; the
code is what the compiled loop is fed, so changing the schedule never
retraces it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

from .runtime import tf


class Schedule(NamedTuple):
    code: int  # fed to the graph
    multiplier: Callable  # float32 clock q in [0, 1] -> share of learning_rate
    doc: str


def _cosine(q):
    return 0.5 * (1.0 + tf.cos(math.pi * q))


def _coslog(q, cycles=4):
    # RealMLP's "coslog4": cosine cycles on a log2 clock, each twice as long as
    # the one before; the rate starts and ends at 0.
    return 0.5 * (1.0 - tf.cos(2.0 * math.pi * tf.math.log(1.0 + (2.0**cycles - 1.0) * q)
                               / math.log(2.0)))


SCHEDULES: dict[str, Schedule] = {
    "constant": Schedule(0, lambda q: tf.ones_like(q), "learning_rate throughout"),
    "cosine": Schedule(1, _cosine, "cosine decay from learning_rate to 0"),
    "coslog": Schedule(2, _coslog, "RealMLP's coslog4: 4 cosine cycles on a log2 clock"),
}


def rate(code, warmup, progress, learning_rate):
    """The learning rate at cycle clock ``progress`` (tensors; ``code`` int32)."""
    progress = tf.clip_by_value(progress, 0.0, 1.0)
    warming = progress < warmup
    # The schedule's own clock starts when warm-up ends.
    q = tf.math.divide_no_nan(progress - warmup, 1.0 - warmup)
    q = tf.clip_by_value(q, 0.0, 1.0)
    shares = tf.stack([SCHEDULES[name].multiplier(q) for name in
                       sorted(SCHEDULES, key=lambda n: SCHEDULES[n].code)])
    share = tf.where(warming, tf.math.divide_no_nan(progress, warmup), shares[code])
    return learning_rate * share
