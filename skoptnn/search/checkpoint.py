"""The checkpoint file of a resumable search: what it holds, how it is written and read.

A checkpoint is JSON Lines, not a pickle: loading it runs no code, and a user
can read it. The first line, the header, holds the random state the search
started from and the fingerprint of its data and settings (see
:mod:`.fingerprint`); each further line is one finished step, the trials the
optimizer proposed together (one unless ``n_points > 1``): each trial's point,
the value told to the optimizer and scikit-learn's per-split records.

A step is appended to the file when its trials finish, so a search writes each
trial once. A kill in the middle of an append leaves at most a partial last
line: loading ignores it (that step runs again, whole, so a resumed search asks
its optimizer as the uninterrupted one did) and the next save cuts it off.
Every line is strict JSON: a non-finite float (the NaN score of a failed fit,
an infinite loss) is written as ``{"__skoptnn_float__": "nan"}`` (``"inf"``,
``"-inf"``) and read back as that float.
"""

from __future__ import annotations

import contextlib
import json
import math
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
# searches cannot be replayed as they ran. 4: JSON Lines, a step appended per line, and
# strict JSON (tagged non-finite floats); a version 3 file (one JSON document, rewritten
# after every trial) holds the same values, so it is read and rewritten as version 4.
VERSION = 4
_READABLE = (3, 4)

# The per-split records of scikit-learn's _fit_and_score that cv_results_ is built from,
# and how far the fit got when the search prunes (see pruning.strip_extras).
_OUT_KEYS = ("fit_error", "test_scores", "train_scores", "n_test_samples", "fit_time",
             "score_time", "pruning")
# JSON has no NaN or infinity. The key cannot clash with a scorer name a user would
# choose (as pruning's extra scores).
_FLOAT_TAG = "__skoptnn_float__"
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


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


# -- strict JSON lines ------------------------------------------------------------
def _tagged(value: Any) -> Any:
    """``value`` as JSON values, every non-finite float replaced by its tag."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else {_FLOAT_TAG: repr(value)}
    if isinstance(value, dict):
        return {str(k): _tagged(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_tagged(v) for v in value]
    return value


def _untag(obj: dict) -> Any:
    tag = obj.get(_FLOAT_TAG)
    if len(obj) == 1 and isinstance(tag, str) and tag in _NON_FINITE:
        return _NON_FINITE[tag]
    return obj


def _refuse(token: str) -> Any:
    raise ValueError(f"{token} is not JSON")


def dumps_line(value: Any) -> str:
    """``value`` (JSON values, floats of any kind) as one line of strict JSON, with its newline."""
    return json.dumps(_tagged(value), allow_nan=False) + "\n"


def loads_line(line: str | bytes) -> Any:
    """A line of :func:`dumps_line` read back, non-finite floats included."""
    return json.loads(line, object_hook=_untag, parse_constant=_refuse)


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
    """A point of the optimizer as JSON values."""
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
    thresholds are computed from; see :func:`.pruning.strip_extras`).
    Add trials with :meth:`append`, which also writes them.
    """

    path: Path | None  # None: kept in memory only
    fingerprint: dict[str, Any]
    random_state: list  # numpy's legacy MT19937 state when the search started
    trials: list[dict] = field(default_factory=list)
    version: int = VERSION  # of the file it was read from; saved as VERSION
    # Bytes of the file holding exactly this checkpoint in format VERSION, which trials
    # are appended after; None: the next write rewrites the whole file.
    written: int | None = field(default=None, repr=False, compare=False)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Checkpoint | None:
        """Read the checkpoint at ``path``; None if there is none.

        A last line that is cut short or unreadable (a kill in the middle of
        writing it) is ignored: that trial did not finish.

        Raises
        ------
        ValueError
            If the file is not a checkpoint, or one of a format version this
            skoptnn cannot resume.
        """
        path = Path(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        lines = data.split(b"\n")
        # Leniently (NaN tokens): versions 1 to 3 were a single document that held them,
        # on one line unless someone reformatted it.
        header, single = _json_or_none(lines[0]), False
        if header is None:
            header, single = _json_or_none(data), True
        ok = isinstance(header, dict) and header.get("format") == FORMAT
        version = header.get("version") if ok else None
        if not ok or (single and version == VERSION):
            raise ValueError(f"checkpoint={str(path)!r} is not a search checkpoint written "
                             "by skoptnn; pass another path, or resume=False to overwrite it.")
        _check_version(path, version)
        if version == 3:
            return cls(path, header["fingerprint"], header["random_state"], header["trials"], 3)
        body = lines[1:]
        final = max((i for i, line in enumerate(body) if line.strip()), default=-1)
        trials, end = [], len(lines[0]) + 1
        for i, line in enumerate(body[:final + 1]):
            try:
                if i == len(body) - 1:  # no newline after it
                    raise ValueError("cut short")
                step = loads_line(line)
                if not isinstance(step, list):
                    raise ValueError("not a step")
                trials.extend(step)
            except ValueError:
                if i == final:  # a write a kill cut short: that step did not finish
                    break
                raise ValueError(f"checkpoint={str(path)!r}: line {i + 2} is not a trial; the "
                                 "file was changed by something else than skoptnn. Pass "
                                 "resume=False to start over (overwriting it).") from None
            end += len(line) + 1
        return cls(path, header["fingerprint"], header["random_state"], trials, version,
                   written=end if end == len(data) else None)

    def save(self) -> None:
        """Write the whole checkpoint atomically: a kill leaves the previous file whole."""
        header = {"format": FORMAT, "version": VERSION, "fingerprint": self.fingerprint,
                  "random_state": self.random_state}
        text = "".join(dumps_line(line) for line in [header, *_steps(self.trials)])
        atomic_write_text(self.path, text)
        self.version, self.written = VERSION, len(text.encode("utf-8"))

    def append(self, trials: list[dict]) -> None:
        """Add finished trials and write them: appended to the file, or with a :meth:`save`.

        The file is rewritten only when it does not hold exactly this
        checkpoint in the current format: after a resume of a version 3 file,
        of a file whose last line a kill cut short, or of a smaller ``n_iter``
        than it has trials.
        """
        self.trials.extend(trials)
        if self.path is None:
            return
        if self.written is None or _size(self.path) != self.written:
            self.save()
            return
        data = "".join(dumps_line(step) for step in _steps(trials)).encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            view = memoryview(data)
            while view:  # a regular file takes it in one call; a short write is allowed
                view = view[os.write(fd, view):]
            os.fsync(fd)  # on disk before the search moves on, as a save's rename
        finally:
            os.close(fd)
        self.written += len(data)

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


def _steps(trials: list[dict]) -> list[list[dict]]:
    """``trials`` as runs of one step each (consecutive trials of a subspace and step)."""
    runs: list[list[dict]] = []
    for trial in trials:
        if runs and (runs[-1][0]["subspace"], runs[-1][0]["step"]) == (trial["subspace"],
                                                                        trial["step"]):
            runs[-1].append(trial)
        else:
            runs.append([trial])
    return runs


def _check_version(path: Path, version: Any) -> None:
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


def _json_or_none(text: bytes) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # removed under the search: written again whole
        return None


def random_state_json(rng: np.random.RandomState) -> list:
    """``rng.get_state()`` as JSON values."""
    name, keys, pos, has_gauss, cached = rng.get_state()
    return [name, keys.tolist(), int(pos), int(has_gauss), float(cached)]
