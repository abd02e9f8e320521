"""The estimators' learning-rate schedule settings: their check and each fit's cycle."""

from __future__ import annotations


def check_schedule(lr_schedule: str, lr_warmup: float) -> None:
    """Refuse a warm-up with coslog, which starts from a rate of 0 itself."""
    if lr_schedule == "coslog" and lr_warmup:
        raise ValueError(
            f"lr_warmup={lr_warmup!r} does not go with lr_schedule='coslog', which "
            "starts from a rate of 0 itself (a warm-up would climb to the full rate, "
            "then drop back to 0); set lr_warmup=0.0 or another lr_schedule.")


def cycle(epochs_run: int, epochs: int, incremental: bool) -> tuple[int, int]:
    """The schedule's cycle, ``(first epoch, epochs)``, for a fit after ``epochs_run``
    epochs: a fit's own epochs; for partial_fit, every ``epochs`` calls from the first."""
    first = epochs_run
    if incremental:
        first -= first % epochs
    return first, int(epochs)
