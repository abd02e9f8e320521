"""What a search hands a fit so that the fit can stop once it cannot win.

TensorFlow-free. :class:`PruningSchedule` is the contract between
:class:`skoptnn.search.ResumableBayesSearchCV` (which sets the thresholds from
finished candidates) and the estimators' ``fit`` (which checks them):

- ``rungs``: epoch counts of this fit call (1-based, ascending) after which
  the fit checks its score;
- ``thresholds``: one per rung, the score the fit must have reached by then to
  go on; NaN means no check at that rung;
- ``by_fold``: thresholds for one fold only, keyed by :func:`fold_key` of the
  data the fit gets (folds differ in level, so each is compared with the same
  fold of earlier candidates); a fold without an entry uses ``thresholds``.

The score is the best *validation* score so far of the split that
``early_stopping=True`` holds out, signed so that higher is better (see
:func:`validation_scores`). A fit without a validation split is never pruned.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

# The history column each estimator's pruning watches, and its sign (higher is better),
# by the estimator's metric. The classifier's is the validation cross-entropy: on a
# small split it is far less noisy than accuracy, and it ranks candidates whatever
# score the search uses (balanced accuracy, say). The regressor's is the validation
# MAE, the same for every loss a search tries.
WATCHED = {"accuracy": ("val_loss", -1.0), "mae": ("val_mae", -1.0)}


@dataclass
class PruningSchedule:
    """Rung epochs and the minimum validation score a fit needs at each.

    Mutable on purpose: a search passes one schedule as a fit parameter and
    raises its thresholds between rounds of candidates (joblib pickles it
    anew for every round).
    """

    rungs: tuple[int, ...] = (4, 8, 16, 32, 64)
    thresholds: tuple[float, ...] = field(default=())
    by_fold: dict[int, tuple[float, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rungs = tuple(int(r) for r in self.rungs)
        if not self.thresholds:
            self.thresholds = (float("nan"),) * len(self.rungs)
        self.thresholds = tuple(float(t) for t in self.thresholds)
        if len(self.thresholds) != len(self.rungs):
            raise ValueError(
                f"PruningSchedule needs one threshold per rung; got {len(self.rungs)} rungs "
                f"and {len(self.thresholds)} thresholds."
            )
        if any(r < 1 for r in self.rungs) or list(self.rungs) != sorted(set(self.rungs)):
            raise ValueError(f"rungs must be ascending epoch counts >= 1; got {self.rungs}.")

    def thresholds_for(self, key: int) -> tuple[float, ...]:
        """The thresholds of the fold whose :func:`fold_key` is ``key``."""
        return tuple(self.by_fold.get(key, self.thresholds))


def fold_key(*arrays) -> int:
    """A number naming the data of a fit (its ``X``, ``y``, ...): equal data, equal key.

    It travels back to the search as a float among the scores, so it fits in
    a float's 53-bit mantissa.
    """
    digest = hashlib.blake2b(digest_size=8)
    for a in arrays:
        a = np.ascontiguousarray(a)
        digest.update(repr((a.shape, a.dtype.str)).encode())
        digest.update(a.tobytes())
    return int.from_bytes(digest.digest(), "little") >> 12


def validation_scores(history: Mapping[str, Sequence[float]], metric: str) -> np.ndarray | None:
    """Per-epoch validation score, higher is better; None without a validation split."""
    column, sign = WATCHED[metric]
    values = history.get(column)
    if values is None:
        return None
    return sign * np.asarray(values, dtype=float)


def best_so_far(scores: np.ndarray, rungs: Sequence[int]) -> np.ndarray:
    """The best score of the first ``r`` epochs for each rung ``r``.

    A rung past the last epoch gets the final best: a fit that early stopping
    ended keeps its best weights, so its score no longer changes. NaN epochs
    (diverged) are ignored; no finite epoch gives NaN.
    """
    finite = np.where(np.isfinite(scores), scores, -np.inf)
    running = np.maximum.accumulate(finite) if len(finite) else finite
    out = np.full(len(rungs), np.nan)
    for i, r in enumerate(rungs):
        if len(running):
            value = running[min(r, len(running)) - 1]
            out[i] = value if np.isfinite(value) else np.nan
    return out
