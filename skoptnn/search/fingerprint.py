"""A search's fingerprint: its data and settings as JSON values, and how two differ.

A checkpoint stores the fingerprint of the search that wrote it; a resume
computes its own and is refused, naming what differs, unless the two are
equal, so that two searches are never silently mixed.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from ..base.params import BEFORE_ADDED

# Parameters that change how a search runs, not what it finds.
_IGNORED_PARAMS = frozenset({"verbose", "n_jobs", "pre_dispatch", "memory"})
# The search's own settings that can change a trial's score or the points asked for.
_SETTINGS = ("cv", "scoring", "refit", "optimizer_kwargs", "n_points", "error_score",
             "return_train_score", "random_state")
# Estimator parameters added after checkpoints were first written: a checkpoint
# without one searched as with the value that trained as before it.
_ADDED_PARAMS = BEFORE_ADDED
# Entries compared item by item, and what one item is called in a message.
_ITEMISED = {"estimator": "estimator parameter", "search_space": "search-space dimension",
             "fit_params": "fit parameter"}
_DATA = ("X", "y", "groups", "fit_params")


def search_fingerprint(search: Any, subspaces: list[tuple[dict, int]], X: Any, y: Any,
                       groups: Any, fit_params: dict, prune: list[int] | bool) -> dict:
    """The fingerprint of a :class:`ResumableBayesSearchCV` fitting on this data.

    Parameters
    ----------
    search : ResumableBayesSearchCV
        The search, for its settings.
    subspaces : list of (dict, int)
        Its search spaces with their ``n_iter``; the counts are left out, since
        a resume may ask for more trials.
    X, y, groups, fit_params
        The data and fit parameters, by content hash.
    prune : list of int or False
        The pruning rungs, or False when pruning is off (the schedule's
        thresholds change as it runs, so they are not part of it).

    Returns
    -------
    fingerprint : dict
        JSON values only.
    """
    return {
        "X": data_hash(X), "y": data_hash(y), "groups": data_hash(groups),
        "fit_params": {k: data_hash(v) for k, v in sorted(fit_params.items())},
        "estimator": {"(class)": describe(search.estimator),
                      **estimator_params(search.estimator)},
        "search_space": describe_spaces(subspaces),
        "constructor fit_params": describe(search.fit_params),
        "defaults_first": describe(search.defaults_first),
        "prune": prune,
        **{name: describe(getattr(search, name)) for name in _SETTINGS},
    }


def describe_spaces(subspaces: list[tuple[dict, int]]) -> dict[str, str]:
    """Every dimension by name, ``"i:name"`` when there are several subspaces."""
    return {(name if len(subspaces) == 1 else f"{i}:{name}"): describe_dimension(dim)
            for i, (space, _) in enumerate(subspaces) for name, dim in sorted(space.items())}


def data_hash(data: Any) -> str | None:
    """A content hash of X, y, groups or a fit parameter (None for None)."""
    if data is None:
        return None
    import joblib
    import pandas as pd

    if isinstance(data, (pd.DataFrame, pd.Series)):
        # By content: the same table read twice may be laid out differently in memory.
        digest = hashlib.sha256()
        names = list(data.columns) if isinstance(data, pd.DataFrame) else [data.name]
        dtypes = list(data.dtypes) if isinstance(data, pd.DataFrame) else [data.dtype]
        digest.update(repr((names, [str(d) for d in dtypes], data.shape)).encode())
        digest.update(pd.util.hash_pandas_object(data, index=True).to_numpy().tobytes())
        return digest.hexdigest()
    return joblib.hash(data)


def describe(value: Any) -> Any:
    """A JSON value standing for a setting, equal across processes for equal settings."""
    from sklearn.base import BaseEstimator

    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return repr(value)  # nan != nan, and "nan" compares equal
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [describe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): describe(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return f"array {data_hash(value)}"
    if isinstance(value, BaseEstimator):
        # Its own parameters are described one by one (get_params(deep=True)).
        return _qualified_name(type(value))
    if hasattr(value, "__qualname__"):  # a class or a function
        return _qualified_name(value)
    text = repr(value)
    # A default repr holds a memory address, which differs from run to run.
    return _qualified_name(type(value)) if " at 0x" in text else text


def _qualified_name(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{obj.__qualname__}"


def estimator_params(estimator: Any) -> dict[str, Any]:
    """Every parameter of ``estimator`` (nested ones too) that can change a trial's score."""
    params = estimator.get_params(deep=True) if hasattr(estimator, "get_params") else {}
    return {name: describe(value) for name, value in sorted(params.items())
            if name.rsplit("__", 1)[-1] not in _IGNORED_PARAMS}


def describe_dimension(dimension: Any) -> str:
    """A search-space dimension by what defines it.

    Not its repr: the optimizer changes a dimension's ``transform`` in place.
    """
    from skopt.space import Categorical, check_dimension

    dim = check_dimension(dimension)
    if isinstance(dim, Categorical):
        return f"Categorical({describe(list(dim.categories))!r}, prior={dim.prior!r})"
    fields = {name: describe(getattr(dim, name, None))
              for name in ("low", "high", "prior", "base", "dtype")}
    return f"{type(dim).__name__}({', '.join(f'{k}={v!r}' for k, v in fields.items())})"


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What differs between two fingerprints, one phrase per difference."""
    found = []
    for key in sorted(set(old) | set(new)):
        before, now = old.get(key), new.get(key)
        if before == now:
            continue
        if key in _ITEMISED and isinstance(before, dict) and isinstance(now, dict):
            for name in sorted(set(before) | set(now)):
                if before.get(name) != now.get(name) and not _added_at_default(
                        key, name, before, now):
                    found.append(_difference(f"{_ITEMISED[key]} {name}", before.get(name),
                                             now.get(name), data=key in _DATA))
        else:
            found.append(_difference(key, before, now, data=key in _DATA))
    return found


def _added_at_default(key: str, name: str, before: dict, now: dict) -> bool:
    """Whether ``name`` is an estimator parameter the old checkpoint predates, at its
    default now (nested estimators' parameters too, ``step__name``)."""
    added = _ADDED_PARAMS.get(name.rsplit("__", 1)[-1])
    return key == "estimator" and name not in before and now.get(name) == added


def _difference(what: str, before: Any, now: Any, data: bool) -> str:
    if data:
        return f"{what} (other data than the checkpoint's)"
    return f"{what} ({_short(before)} in the checkpoint, {_short(now)} now)"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
