"""Training data as the network takes it: float32 features, weights and a hold-out."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.model_selection import train_test_split

# The network computes in float32.
FLOAT32_MAX = float(np.finfo(np.float32).max)


def as_float32(X) -> np.ndarray:
    """``X`` (validated, float32 or float64, maybe sparse) as the network's dense float32."""
    try:
        # A finite float64 beyond float32's range would silently become inf.
        with np.errstate(over="raise"):
            if sp.issparse(X):
                # Cast before densifying: a dense float64 copy would take twice the memory.
                return X.astype(np.float32).toarray()
            return np.asarray(X, dtype=np.float32)
    except FloatingPointError:
        raise ValueError(
            f"X has values too large for float32, the precision the network computes in "
            f"(largest magnitude {abs(X).max():.3g}, float32 holds up to "
            f"{FLOAT32_MAX:.3g}). Rescale X, e.g. with StandardScaler."
        ) from None


def drop_zero_weights(X, y_encoded, y, sample_weight):
    """The rows of non-zero weight: a zero weight means "not in the data", so the
    mini-batches are exactly those of the data without it."""
    keep = sample_weight != 0
    if not keep.any():
        raise ValueError("sample_weight is zero for every sample: nothing to train on.")
    if keep.all():
        return X, y_encoded, y, sample_weight
    return X[keep], y_encoded[keep], y[keep], sample_weight[keep]


def mean_one(sample_weight: np.ndarray) -> np.ndarray:
    """Weights scaled to mean 1, as float32.

    The loss averages ``w * loss`` over the rows; scaled to mean 1, that is the
    weighted mean, so a weight of k counts as k copies of the row (as in
    scikit-learn's MLP) and multiplying every weight by c changes nothing.
    """
    return (sample_weight / sample_weight.mean()).astype(np.float32)


def penalty_samples(sample_weight: np.ndarray) -> float:
    """The number of training samples the L1/L2 penalty is spread over.

    Weights count as copies of a row relative to a typical (the median) row, so
    that only their ratios matter and one tiny weight cannot switch the penalty off.
    """
    return float(sample_weight.sum() / np.median(sample_weight))


def split_validation(X, y_encoded, sample_weight, *, fraction: float, seed: int,
                     stratify=None):
    """``(X, y, w)`` for training and ``(X, y, w)`` held out for early stopping."""
    if stratify is not None:
        labels, counts = np.unique(stratify, return_counts=True)
        if counts.min() < 2:
            rare = np.asarray(labels[counts.argmin()]).tolist()  # plain, for the message
            raise ValueError(
                "early_stopping=True holds out a stratified validation set "
                f"(validation_fraction={fraction}), which needs at least "
                f"2 samples of every class; class {rare!r} has "
                f"{counts.min()} with non-zero weight. Provide more samples or set "
                "early_stopping=False."
            )
    try:
        X_tr, X_val, y_tr, y_val, w_tr, w_val = train_test_split(
            X, y_encoded, sample_weight, test_size=fraction,
            random_state=seed % (2**32), stratify=stratify,
        )
    except ValueError as exc:
        raise ValueError(
            f"early_stopping=True could not hold out validation_fraction="
            f"{fraction} of {len(X)} samples: {exc} Provide more "
            "samples, change validation_fraction, or set early_stopping=False."
        ) from None
    return (X_tr, y_tr, w_tr), (X_val, y_val, w_val)
