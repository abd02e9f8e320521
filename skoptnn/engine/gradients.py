"""Reading the gradient norms that ``monitor_gradients=True`` records.

The guide's test for vanishing and exploding gradients: compare the size of
the first layer's gradient with the last layer's, and watch for norms that
blow up. The thresholds are deliberately coarse (orders of magnitude), so a
warning means something is wrong, not that a network is merely deep.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# The first layer's median norm below this share of the output layer's: vanishing.
VANISHING_RATIO = 1e-3
# A kernel gradient norm above this is exploding: Keras' losses are batch
# means, so healthy norms of a small MLP are of order 0.01 to 10.
EXPLODING_NORM = 1e3

_REMEDIES = (
    "Remedies: activation='relu' (no saturation), kernel_initializer='auto' or "
    "'he_normal', batch_norm=True, StandardScaler on the inputs"
)


class GradientWarning(UserWarning):
    """Gradients vanished, exploded or were all zero in a fit with ``monitor_gradients=True``."""


def norm_tables(norms: np.ndarray, layer_names: list[str],
                first_epoch: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split the trainer's (n_epochs, 2, n_layers) array into (applied, raw) tables."""
    index = pd.RangeIndex(first_epoch, first_epoch + len(norms), name="epoch")
    raw = pd.DataFrame(norms[:, 0, :].astype(float), index=index, columns=layer_names)
    applied = pd.DataFrame(norms[:, 1, :].astype(float), index=index, columns=layer_names)
    return applied, raw


def diagnose(raw: pd.DataFrame) -> str | None:
    """Return a warning message if ``raw`` (norms before clipping) looks unhealthy."""
    if raw.empty:
        return None
    values = raw.to_numpy()
    if not np.isfinite(values).all():
        layer = raw.columns[(~np.isfinite(values)).any(axis=0).argmax()]
        # The index counts epochs across warm-started fits; messages count from 1.
        epoch = int(raw.index[(~np.isfinite(values)).any(axis=1).argmax()])
        return (
            f"Exploding gradients: the gradient norm of layer {layer!r} became non-finite "
            f"at epoch {epoch + 1}. Lower learning_rate, or set clipnorm=1.0 or "
            f"clipvalue=0.5. {_REMEDIES}."
        )
    peak = values.max()
    if peak > EXPLODING_NORM:
        row, col = np.unravel_index(values.argmax(), values.shape)
        epoch = int(raw.index[row])
        return (
            f"Exploding gradients: the gradient norm of layer {raw.columns[col]!r} reached "
            f"{peak:.3g} at epoch {epoch + 1} (over {EXPLODING_NORM:g}). Lower "
            f"learning_rate, or set clipnorm=1.0 or clipvalue=0.5. {_REMEDIES}."
        )
    if not values.any():
        return (
            "No gradient: every layer's kernel gradient is exactly zero, so the network "
            "does not learn. kernel_initializer='zeros' does this with relu or tanh (every "
            "hidden unit starts, and stays, identical); use 'auto'."
        )
    if raw.shape[1] < 2:
        return None
    first, last = raw.iloc[:, 0].median(), raw.iloc[:, -1].median()
    if last > 0 and first < VANISHING_RATIO * last:
        size = "zero" if first == 0 else f"{last / first:.3g}x smaller"
        return (
            f"Vanishing gradients: the first layer's gradient norm ({first:.3g}, median over "
            f"epochs) is {size} than the output layer's ({last:.3g}), so the first layers "
            f"barely learn. {_REMEDIES}; fewer layers."
        )
    return None
