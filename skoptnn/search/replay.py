"""Resuming a search: the checkpoint a fit continues, and its trials read back.

The finished trials become scikit-learn's candidates and per-split records
(so that ``cv_results_`` covers them) and are told to a fresh optimizer in
the order they were asked for, which brings it to the state they left it in.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from skopt.utils import dimensions_aslist, point_asdict

from . import fingerprint
from .checkpoint import Checkpoint, CheckpointMismatch, decode_point, random_state_json
from .proposals import Asking, same_points


def open_checkpoint(search: Any, subspaces: list[tuple[dict, int]], X: Any, y: Any,
                    groups: Any, fit_params: dict, prune: list[int] | bool) -> Checkpoint:
    """The checkpoint a fit of ``search`` continues, or a new one.

    A new one (no ``checkpoint`` file, ``resume=False``) starts from the
    search's ``random_state``; one read back keeps, per subspace, its first
    ``n_iter`` trials.

    Parameters
    ----------
    search : ResumableBayesSearchCV
        The search being fitted, for its ``checkpoint``, ``resume`` and settings.
    subspaces : list of (dict, int)
        Its search spaces with their ``n_iter``.
    X, y, groups, fit_params, prune
        What :func:`.fingerprint.search_fingerprint` describes.

    Returns
    -------
    state : Checkpoint
        Its ``path`` is None when the search keeps no checkpoint.

    Raises
    ------
    ValueError
        If the checkpoint's folder does not exist or the file is not a
        checkpoint this skoptnn can resume.
    CheckpointMismatch
        If the checkpoint holds a search of other data or settings.
    """
    from sklearn.utils import check_random_state

    path = None if search.checkpoint is None else Path(search.checkpoint)
    # Hashing the data is for checkpoints only.
    found = {} if path is None else fingerprint.search_fingerprint(
        search, subspaces, X, y, groups, fit_params, prune)
    if path is not None and not path.parent.is_dir():
        raise ValueError(f"checkpoint={str(path)!r}: its folder {str(path.parent)!r} does "
                         "not exist; create it first.")
    state = Checkpoint.load(path) if path is not None and search.resume else None
    if state is None:
        # A copy of the start state: a resume recreates it from the file.
        start = random_state_json(check_random_state(search.random_state))
        return Checkpoint(path, found, start)
    differ = fingerprint.differences(state.fingerprint, found)
    if differ:
        raise CheckpointMismatch(
            f"checkpoint={str(path)!r} holds a search of other data or settings; "
            f"these differ: {'; '.join(differ)}. Pass resume=False to start over "
            "(overwriting it), or another checkpoint path.", differ)
    # A smaller n_iter than the checkpoint's trials: the first n_iter of them.
    keep, counts = [], {}
    for trial in state.trials:
        i = trial["subspace"]
        if i < len(subspaces) and counts.get(i, 0) < subspaces[i][1]:
            counts[i] = counts.get(i, 0) + 1
            keep.append(trial)
    if len(keep) < len(state.trials):
        state.trials, state.written = keep, None  # the file is rewritten with these only
    return state


def resumed_results(state: Checkpoint,
                    subspaces: list[tuple[dict, int]]) -> tuple[list[dict], list[dict]]:
    """The checkpoint's trials as scikit-learn's candidate params and split records.

    Parameters
    ----------
    state : Checkpoint
        The checkpoint read back.
    subspaces : list of (dict, int)
        The search spaces the trials' ``subspace`` indexes.

    Returns
    -------
    params : list of dict
        One per trial, as ``cv_results_["params"]``.
    out : list of dict
        ``n_splits`` per trial: the records ``_format_results`` takes.
    """
    params, out = [], []
    for trial in state.trials:
        space = subspaces[trial["subspace"]][0]
        point = decode_point(trial["x"], dimensions_aslist(space))
        params.append(dict(point_asdict(space, point)))
        out.extend(trial["out"])
    return params, out


def replay(state: Checkpoint, subspace: int, optimizer: Any,
           defaults: Callable[[], list] | None) -> Any:
    """Ask and tell the checkpoint's trials of one subspace, as the interrupted search did.

    Parameters
    ----------
    state : Checkpoint
        The checkpoint read back.
    subspace : int
        Which subspace's trials, told to ``optimizer``.
    optimizer : skopt.Optimizer
        The subspace's optimizer, new.
    defaults : callable or None
        With defaults-first, gives the subspace's defaults point, the first
        trial's (told, never asked).

    Returns
    -------
    result : OptimizeResult or None
        The optimizer's result after the last ``tell``; None without trials.
    """
    result = None
    dimensions = optimizer.space.dimensions
    for n, batch in enumerate(state.steps(subspace)):
        if n == 0 and defaults is not None:
            asked = [defaults()]
        else:
            asked = Asking(optimizer).ask(len(batch))  # draws from the random state as then
        points = [decode_point(t["x"], dimensions) for t in batch]
        if not same_points(asked, points):
            warnings.warn(
                f"Resuming from {state.path}: the optimizer proposed other points "
                f"than the checkpoint holds (subspace {subspace}, step {n}); the finished "
                "trials are kept, but the rest of the search will differ from an "
                "uninterrupted one.", UserWarning, stacklevel=4)
        result = Asking(optimizer).tell(points, [t["y"] for t in batch])
    return result
