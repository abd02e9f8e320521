"""What a fit tells its user: warnings of divergence and of gradients, and its record.

``_MLPMixin._fit`` calls these after the members (one for a plain network) have
trained; :func:`skoptnn.engine.ensemble.record` has already made their results
one record.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from ..engine.ensemble import Record
from ..engine.gradients import GradientWarning, diagnose, norm_tables
from ..engine.trainer import FitResult


class DivergenceWarning(UserWarning):
    """Training stopped because the loss, weights or outputs became NaN or infinite."""


def warn_divergences(results: Sequence[FitResult], learning_rate: float,
                     stacklevel: int) -> None:
    """One :class:`DivergenceWarning` per member that diverged, saying what it kept."""
    for m, result in enumerate(results):
        if result.diverged_epoch is None:
            continue
        kept = (f"the weights of epoch {result.kept_epoch}" if result.kept_epoch
                else "the initial weights")
        which = f" (ensemble member {m + 1} of {len(results)})" if len(results) > 1 else ""
        warnings.warn(
            f"Training diverged{which}: the loss, weights or outputs became non-finite at "
            f"epoch {result.diverged_epoch + 1}; the fit kept {kept}. "
            f"Lower learning_rate (now {learning_rate:g}) or set clipnorm=1.0.",
            DivergenceWarning, stacklevel=stacklevel + 1)


def gradient_tables(record: Record, first_epoch: int, stacklevel: int) -> tuple:
    """``(gradient_norms_, raw_gradient_norms_)`` of a fit that monitored gradients,
    warning (:class:`GradientWarning`) when they vanish or explode."""
    tables = norm_tables(record.gradient_norms, record.kernel_names, first_epoch)
    message = diagnose(tables[1])
    if message is not None:
        warnings.warn(message, GradientWarning, stacklevel=stacklevel + 1)
    return tables


def joined_history(before: dict, n_before: int, record: Record) -> dict:
    """One history across continued calls, as ``n_epochs_`` counts: a column one of
    the calls did not record (val_loss without early stopping) is NaN there, so
    every column has ``n_epochs_`` entries."""
    history = record.history
    return {k: before.get(k, [np.nan] * n_before) + history.get(k, [np.nan] * record.n_epochs)
            for k in dict.fromkeys([*before, *history])}
