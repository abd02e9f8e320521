"""What a skops file of a skoptnn model may hold: the estimators, nothing else.

A fitted estimator's state is plain arrays, numbers, strings and containers
(see ``_MLPMixin.__getstate__``), so ``skops.io`` can load it without running
any code beyond these classes' ``__setstate__``.
"""

from __future__ import annotations

from dataclasses import asdict

_TRUSTED = (
    "skoptnn.classifier.OptimizedMLPClassifier",
    "skoptnn.regressor.OptimizedMLPRegressor",
    # A fitted SimpleImputer holds a dtype, which skops loads as data (no code
    # runs) but does not trust by default; `skoptnn tune`'s pipelines have one.
    "numpy.dtype",
    # scikit-learn 1.6's fitted ColumnTransformer keeps its remainder columns in
    # this list subclass (a plain list from 1.7 on); `skoptnn tune` has one.
    "sklearn.compose._column_transformer._RemainderColsList",
)


def trusted_types() -> list[str]:
    """Type names to pass as ``trusted`` to ``skops.io.load`` for skoptnn models.

    Returns
    -------
    types : list of str
        The fully qualified names of skoptnn's estimators, and two data types
        that ``skoptnn tune``'s preprocessing holds and skops loads as plain
        data but does not trust by default: ``numpy.dtype`` (a fitted
        ``SimpleImputer``) and, on scikit-learn 1.6, a ``ColumnTransformer``'s
        list of remainder columns.

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


def to_plain(state: dict) -> dict:
    """``state`` (an estimator's ``__dict__``) with only arrays and built-in values."""
    state = dict(state)
    params = state.get("_params")
    if params is not None:
        state["_params"] = {"trainable": list(params.trainable), "moving": list(params.moving)}
    opt = state.get("_optimizer_state")
    if opt is not None:
        state["_optimizer_state"] = {
            "step": int(opt.step), "slots": [list(slot) for slot in opt.slots],
            "extra": [float(x) for x in opt.extra]}
    spec = state.get("_spec")
    if spec is not None:
        state["_spec"] = asdict(spec)
    for name in ("gradient_norms_", "raw_gradient_norms_"):
        if state.get(name) is not None:
            state[name] = _frame_to_plain(state[name])
    return state


def from_plain(state: dict) -> dict:
    """The inverse of :func:`to_plain`."""
    import numpy as np

    from ..engine.layout import Params
    from ..engine.optimizers import OptimizerState
    from ..engine.spec import NetworkSpec, TrainSpec

    state = dict(state)
    params = state.get("_params")
    if isinstance(params, dict):
        state["_params"] = Params(tuple(params["trainable"]), tuple(params["moving"]))
    opt = state.get("_optimizer_state")
    if isinstance(opt, dict):
        state["_optimizer_state"] = OptimizerState(
            np.int64(opt["step"]), tuple(tuple(slot) for slot in opt["slots"]),
            tuple(np.asarray(x, np.float32) for x in opt["extra"]))
    spec = state.get("_spec")
    if isinstance(spec, dict):
        network = dict(spec["network"])
        network["hidden_layer_sizes"] = tuple(network["hidden_layer_sizes"])
        state["_spec"] = TrainSpec(**{**spec, "network": NetworkSpec(**network)})
    for name in ("gradient_norms_", "raw_gradient_norms_"):
        if isinstance(state.get(name), dict):
            state[name] = _frame_from_plain(state[name])
    return state
