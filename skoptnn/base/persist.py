"""What a skops file of a skoptnn model may hold: the estimators, nothing else.

A fitted estimator's state is plain arrays, numbers, strings and containers
(see ``_MLPMixin.__getstate__``), so ``skops.io`` can load it without running
any code beyond these classes' ``__setstate__``.
"""

from __future__ import annotations

_TRUSTED = (
    "skoptnn.classifier.OptimizedMLPClassifier",
    "skoptnn.regressor.OptimizedMLPRegressor",
    # A fitted SimpleImputer holds a dtype, which skops loads as data (no code
    # runs) but does not trust by default; `skoptnn tune`'s pipelines have one.
    "numpy.dtype",
    # scikit-learn 1.6's fitted ColumnTransformer keeps its remainder columns in
    # this list subclass (a plain list from 1.7 on); `skoptnn tune` has one.
    "sklearn.compose._column_transformer._RemainderColsList",
    # `skoptnn tune`'s preprocessing: the scaler, and the seeded folds its
    # TargetEncoder cross-fits with (plain settings, no code).
    "skoptnn.preprocessing.SmoothClipScaler",
    "sklearn.model_selection._split.KFold",
    "sklearn.model_selection._split.StratifiedKFold",
)


def trusted_types() -> list[str]:
    """Type names to pass as ``trusted`` to ``skops.io.load`` for skoptnn models.

    Returns
    -------
    types : list of str
        The fully qualified names of skoptnn's estimators and of
        :class:`~skoptnn.SmoothClipScaler`, and the types that ``skoptnn
        tune``'s preprocessing holds and skops loads as plain data but does
        not trust by default: ``numpy.dtype`` (a fitted ``SimpleImputer``),
        on scikit-learn 1.6 a ``ColumnTransformer``'s list of remainder
        columns, and the ``KFold``/``StratifiedKFold`` splitters its
        ``TargetEncoder`` cross-fits with.

    Examples
    --------
    >>> from skoptnn import trusted_types
    >>> trusted_types()[:2]
    ['skoptnn.classifier.OptimizedMLPClassifier', 'skoptnn.regressor.OptimizedMLPRegressor']
    """
    return list(_TRUSTED)


# -- an estimator's state as plain values, and back --------------------------------
def _frame_to_plain(frame) -> dict:
    return {"values": frame.to_numpy(), "columns": [str(c) for c in frame.columns],
            "first_epoch": int(frame.index[0]) if len(frame) else 0}


def _frame_from_plain(plain: dict):
    import pandas as pd

    index = pd.RangeIndex(plain["first_epoch"], plain["first_epoch"] + len(plain["values"]),
                          name="epoch")
    return pd.DataFrame(plain["values"], index=index, columns=plain["columns"])


_FRAMES = ("gradient_norms_", "raw_gradient_norms_")
# The fitted state of the flat layout (before skoptnn.engine.network): seven
# private attributes, saved each as plain values. Files users hold carry them.
_LEGACY = {"_spec": "spec", "_params": "params", "_optimizer_state": "optimizer_state",
           "_learning_rate": "learning_rate", "_seed": "seed", "_monitor": "monitor"}


def to_plain(state: dict) -> dict:
    """``state`` (an estimator's ``__dict__``) with only arrays and built-in values."""
    state = dict(state)
    if state.get("_network") is not None:
        state["_network"] = state["_network"].to_plain()
    for name in _FRAMES:
        if state.get(name) is not None:
            state[name] = _frame_to_plain(state[name])
    return state


def from_plain(state: dict) -> dict:
    """The inverse of :func:`to_plain`, for this layout's states and the flat layout's."""
    from ..engine.ensemble import from_plain as network_from_plain
    from ..engine.network import FORMAT, FittedNetwork

    state = dict(state)
    if "_spec" in state:
        state.pop("_dense", None)  # derived: rebuilt from the weights
        legacy = {new: state.pop(old, None) for old, new in _LEGACY.items()}
        model = state.get("model_")  # scikeras-era files pickled the Keras model itself
        if legacy["params"] is None and model is not None:
            state["_network"] = FittedNetwork.of_keras_model(model, legacy)
        else:
            state["_network"] = {"format": FORMAT, **legacy}
    if isinstance(state.get("_network"), dict):
        state["_network"] = network_from_plain(state["_network"])
    for name in _FRAMES:
        if isinstance(state.get(name), dict):
            state[name] = _frame_from_plain(state[name])
    return state
