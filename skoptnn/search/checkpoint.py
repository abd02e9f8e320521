"""The checkpoint file of a resumable search: what it holds, how it is written and checked.

A checkpoint is JSON, not a pickle: loading it runs no code, and a user can
read it. It holds the random state the search started from, every finished
trial (its point, the score told to the optimizer and scikit-learn's per-split
records) and a fingerprint of the data and settings, so that a resume with
other data or settings is refused instead of silently mixing two searches.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "skoptnn-search-checkpoint"
# 2: defaults-first and pruning (their settings in the fingerprint, each split's
# "pruning" record, with its fold key). 3: one point asked with the optimizer's ask(),
# which proposes other points than the ask(n_points=1) of earlier versions, so their
# searches cannot be replayed as they ran.
VERSION = 3
_READABLE = (3,)

# Parameters that change how a search runs, not what it finds.
_IGNORED_PARAMS = frozenset({"verbose", "n_jobs", "pre_dispatch", "memory"})
# The per-split records of scikit-learn's _fit_and_score that cv_results_ is built from,
# and how far the fit got when the search prunes (see _search_pruning.strip_extras).
_OUT_KEYS = ("fit_error", "test_scores", "train_scores", "n_test_samples", "fit_time",
             "score_time", "pruning")


class CheckpointMismatch(ValueError):
    """A checkpoint written for other data or settings than a resume has.

    ``differences`` lists what differs, one phrase each.
    """

    def __init__(self, message: str, differences: list[str]) -> None:
        super().__init__(message)
        self.differences = differences


# -- writing files atomically ---------------------------------------------------
@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` on success.

    A reader (or a resume after a kill) sees the old file or the new one,
    never half of one. The temporary file is removed if the block fails.
    """
    path = Path(path)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    # Not tempfile.mkstemp: its files are private (0600); this one gets the umask's mode.
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as f:  # on disk before the rename, for a power cut too
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


# -- describing data and settings -----------------------------------------------
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
        return repr(value)  # JSON has no nan, and nan != nan
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


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


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


# Entries compared item by item, and what one item is called in a message.
_ITEMISED = {"estimator": "estimator parameter", "search_space": "search-space dimension",
             "fit_params": "fit parameter"}
_DATA = ("X", "y", "groups", "fit_params")


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What differs between two fingerprints, one phrase per difference."""
    found = []
    for key in sorted(set(old) | set(new)):
        before, now = old.get(key), new.get(key)
        if before == now:
            continue
        if key in _ITEMISED and isinstance(before, dict) and isinstance(now, dict):
            for name in sorted(set(before) | set(now)):
                if before.get(name) != now.get(name):
                    found.append(_difference(f"{_ITEMISED[key]} {name}", before.get(name),
                                             now.get(name), data=key in _DATA))
        else:
            found.append(_difference(key, before, now, data=key in _DATA))
    return found


def _difference(what: str, before: Any, now: Any, data: bool) -> str:
    if data:
        return f"{what} (other data than the checkpoint's)"
    return f"{what} ({_short(before)} in the checkpoint, {_short(now)} now)"


# -- the per-trial records ------------------------------------------------------
def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def encode_out(records: list[dict]) -> list[dict]:
    """scikit-learn's per-split records as JSON values."""
    return [{k: _plain(r[k]) for k in _OUT_KEYS if k in r} for r in records]


def encode_point(point: list) -> list:
    return [_plain(v) for v in point]


def decode_point(point: list, dimensions: list) -> list:
    """A point read back from JSON, with each categorical value as its category.

    JSON turns tuples into lists; the optimizer needs the category itself.
    """
    from skopt.space import Categorical

    decoded = []
    for value, dim in zip(point, dimensions, strict=True):
        if isinstance(dim, Categorical):
            value = next((c for c in dim.categories if _plain(c) == value), value)
        decoded.append(value)
    return decoded


# -- the file -------------------------------------------------------------------
@dataclass
class Checkpoint:
    """A search's progress: its start, its finished trials and what it was run on.

    ``trials`` holds one dict per finished trial, in evaluation order:
    ``subspace`` (index into the search spaces), ``step`` (trials asked for
    together share it), ``x`` (the point), ``y`` (the value told to the
    optimizer: minus the score) and ``out`` (scikit-learn's per-split records,
    with a ``pruning`` entry when the search prunes: the fold's key, its pruned
    epoch, its epochs and its value at each rung, which the next rounds'
    thresholds are computed from; see ``_search_pruning.strip_extras``).
    """

    path: Path | None  # None: kept in memory only
    fingerprint: dict[str, Any]
    random_state: list  # numpy's legacy MT19937 state when the search started
    trials: list[dict] = field(default_factory=list)
    version: int = VERSION  # of the file it was read from; saved as VERSION

    @classmethod
    def load(cls, path: str | os.PathLike) -> Checkpoint | None:
        """Read the checkpoint at ``path``; None if there is none."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            data = json.loads(text)
            ok = data.get("format") == FORMAT
        except (ValueError, AttributeError):
            ok = False
        if not ok:
            raise ValueError(f"checkpoint={str(path)!r} is not a search checkpoint written "
                             "by skoptnn; pass another path, or resume=False to overwrite it.")
        version = data.get("version")
        if version in (1, 2):
            raise ValueError(
                f"checkpoint={str(path)!r} was written by an earlier skoptnn (format version "
                f"{version}), whose search asked its optimizer for points another way"
                + (" and had neither defaults-first nor pruning" if version == 1 else "")
                + ": it cannot be resumed as the same search. Pass resume=False to start "
                "over (overwriting it), or another checkpoint path.")
        if version not in _READABLE:
            raise ValueError(f"checkpoint={str(path)!r} has format version {version}; this "
                             f"skoptnn reads versions {', '.join(map(str, _READABLE))}.")
        return cls(path, data["fingerprint"], data["random_state"], data["trials"], version)

    def save(self) -> None:
        """Write the checkpoint atomically: a kill leaves the previous one whole."""
        data = {"format": FORMAT, "version": VERSION, "fingerprint": self.fingerprint,
                "random_state": self.random_state, "trials": self.trials}
        atomic_write_text(self.path, json.dumps(data, allow_nan=True))

    def rng(self) -> np.random.RandomState:
        """A RandomState in the state the search started from."""
        state = self.random_state
        rng = np.random.RandomState()
        rng.set_state((state[0], np.asarray(state[1], dtype=np.uint32), *state[2:]))
        return rng

    def steps(self, subspace: int) -> list[list[dict]]:
        """The finished trials of one subspace, grouped as they were asked for."""
        steps: dict[int, list[dict]] = {}
        for trial in self.trials:
            if trial["subspace"] == subspace:
                steps.setdefault(trial["step"], []).append(trial)
        return list(steps.values())

    def count(self, subspace: int) -> int:
        """How many trials of one subspace are finished."""
        return sum(trial["subspace"] == subspace for trial in self.trials)


def random_state_json(rng: np.random.RandomState) -> list:
    """``rng.get_state()`` as JSON values."""
    name, keys, pos, has_gauss, cached = rng.get_state()
    return [name, keys.tolist(), int(pos), int(has_gauss), float(cached)]
