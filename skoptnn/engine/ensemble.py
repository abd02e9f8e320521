"""Ensembles: networks trained on the same mini-batches, predicting their mean output.

Member ``m`` of an ensemble draws its initial weights and its dropout masks
from :func:`member_seed` ``(seed, m)``, where ``seed`` is the fit's; member 0's
is the fit's seed itself, so a one-member ensemble is the plain network. Every
member shuffles with the fit's seed: all see the same mini-batches in the same
order (and, with early stopping, are judged on the same validation rows), and
differ only in where they start and which units they drop, as in a deep
ensemble (Lakshminarayanan et al., 2017). With early stopping each member
stops, and restores its own best epoch, on its own.

The members train one after another through the same compiled loop, so an
ensemble traces no graph a single network would not. Training them at once
along a leading member axis of the graph (as TabM does, Gorishniy et al.,
2025) is future work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from .layout import Params
from .network import FittedNetwork
from .optimizers import OptimizerState
from .spec import TrainSpec
from .trainer import FitResult, fit

#: The version of :meth:`FittedEnsemble.to_plain`'s layout (a string: never a
#: network's integer format).
FORMAT = "ensemble-1"

# The estimators draw seeds in [0, int32 max); members' seeds stay in that range.
_SEED_RANGE = int(np.iinfo(np.int32).max)


def member_seed(seed: int, member: int) -> int:
    """The seed of member ``member``'s initial weights and dropout masks (0-based).

    Member 0's is ``seed`` itself. The others are hashed from ``(seed,
    member)``, not offset from ``seed``: a network draws layer ``i`` with
    ``seed + i``, so nearby seeds would share streams.
    """
    if member == 0:
        return int(seed)
    state = np.random.SeedSequence(int(seed), spawn_key=(int(member),)).generate_state(1)
    return int(state[0]) % _SEED_RANGE


def member_seeds(seed: int, n_members: int) -> list[int]:
    """The seeds of an ensemble's members, in order."""
    return [member_seed(seed, m) for m in range(n_members)]


def train_members(spec: TrainSpec, seeds: Sequence[int], shuffle_seed: int, X, y, sample_weight,
                  validation, *, starts: Sequence[dict], epochs: int, pruning=None,
                  verbose: int = 0, **kwargs) -> list[FitResult]:
    """Train one member per seed with :func:`skoptnn.engine.trainer.fit`, in turn.

    ``starts`` holds each member's continuation arguments (``start``,
    ``optimizer_state``, ... or nothing for a fresh member); ``kwargs`` are
    the trainer's other arguments, the same for every member. Once a member
    is pruned, the later ones train no further than its epoch: the ensemble
    cannot win.
    """
    results = []
    for m, (seed, start) in enumerate(zip(seeds, starts, strict=True)):
        if verbose and len(seeds) > 1:
            print(f"Ensemble member {m + 1}/{len(seeds)}", flush=True)
        result = fit(spec, seed, X, y, sample_weight, validation, epochs=epochs,
                     pruning=pruning, verbose=verbose, shuffle_seed=shuffle_seed,
                     **kwargs, **start)
        if result.pruned_epoch is not None:
            epochs = min(epochs, result.pruned_epoch - start.get("first_epoch", 0))
        results.append(result)
    return results


class Record(NamedTuple):
    """What an estimator reports of a fit (``history_``, ``n_epochs_``, ...)."""

    history: dict[str, list[float]]
    n_epochs: int
    best_epoch: int | None
    pruned_epoch: int | None
    gradient_norms: np.ndarray | None  # (n_epochs, 2, n_kernels), as FitResult's
    kernel_names: list[str]


def record(results: Sequence[FitResult]) -> Record:
    """The report of the members' fits, as one network's for a single member.

    For several: per epoch, the mean of the history (and gradient norms) over
    the members that ran that epoch; the most epochs any member ran; the
    latest epoch a member restored (the ensemble's weights come from no later
    epoch); the earliest epoch a member was pruned at.
    """
    if len(results) == 1:
        (r,) = results
        return Record(r.history, r.n_epochs, r.best_epoch, r.pruned_epoch, r.gradient_norms,
                      r.kernel_names)
    n_epochs = max(r.n_epochs for r in results)
    history = {name: _mean_of_running([r.history[name] for r in results], n_epochs).tolist()
               for name in results[0].history}
    best = [r.best_epoch for r in results if r.best_epoch is not None]
    pruned = [r.pruned_epoch for r in results if r.pruned_epoch is not None]
    norms = None
    if results[0].gradient_norms is not None:
        norms = _mean_of_running([r.gradient_norms for r in results], n_epochs)
    return Record(history, n_epochs, max(best) if best else None,
                  min(pruned) if pruned else None, norms, results[0].kernel_names)


def _mean_of_running(series: Sequence, n_epochs: int) -> np.ndarray:
    """Per epoch, the mean over the series that reach it (one row per epoch each).

    Counted, not NaN-skipped: a member's own non-finite value (a divergence)
    stays in the mean.
    """
    rows = [np.asarray(s, np.float64) for s in series]
    total = np.zeros((n_epochs, *rows[0].shape[1:]))
    count = np.zeros(n_epochs)
    for row in rows:
        total[:len(row)] += row
        count[:len(row)] += 1
    return total / count.reshape(-1, *[1] * (total.ndim - 1))


@dataclass(frozen=True, eq=False)
class FittedEnsemble:
    """Trained members (:class:`~skoptnn.engine.network.FittedNetwork`) that
    predict the mean of their outputs.

    It offers what an estimator uses of a single network: ``predict``,
    ``build_model``, reading a built model back (``weights_in``,
    ``state_in``, ``with_weights``, ``from_keras``) and saving. An estimator
    replaces it whole after each fit, as a network. ``best_epochs``: each
    member's restored epoch (None without early stopping), where its continued
    fit's early stopping starts from.
    """

    members: tuple[FittedNetwork, ...]
    best_epochs: tuple[int | None, ...]

    @property
    def spec(self) -> TrainSpec:
        return self.members[0].spec

    @property
    def seed(self) -> int:
        """The fit's seed (member 0's), which every member shuffles with."""
        return self.members[0].seed

    @property
    def learning_rate(self) -> float:
        return self.members[0].learning_rate

    @property
    def from_model(self) -> bool:
        return self.members[0].from_model

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The mean of the members' outputs for float32 ``X``."""
        out = self.members[0].predict(X)
        for member in self.members[1:]:
            out += member.predict(X)
        out /= len(self.members)
        return out

    def build_model(self):
        """The compiled Keras ensemble (see ``keras_model.build_ensemble_model``)."""
        from .keras_model import build_ensemble_model

        return build_ensemble_model(
            self.spec, [(m.params, m.optimizer_state, m.seed) for m in self.members],
            self.learning_rate)

    def weights_in(self, model) -> tuple[Params, ...]:
        """Each member's weights in a built ``model_`` of this ensemble."""
        from .keras_model import member_prefix, read_params

        return tuple(read_params(model, self.spec.network, member_prefix(m))
                     for m in range(len(self.members)))

    def state_in(self, model) -> tuple[tuple[Params, ...], tuple[OptimizerState, ...] | None]:
        """:meth:`from_keras`'s arguments for a built ``model_`` of this ensemble."""
        from .keras_model import read_ensemble_state

        params, states = read_ensemble_state(model, self.spec, len(self.members))
        return tuple(params), None if states is None else tuple(states)

    def with_weights(self, params: Sequence[Params]) -> FittedEnsemble:
        """This ensemble predicting with each member's ``params`` (itself if unchanged)."""
        members = tuple(m.with_weights(p) for m, p in zip(self.members, params, strict=True))
        if all(new is old for new, old in zip(members, self.members, strict=True)):
            return self
        return replace(self, members=members)

    def from_keras(self, params: Sequence[Params],
                   states: Sequence[OptimizerState] | None) -> FittedEnsemble:
        """The ensemble a built ``model_`` holds (see ``FittedNetwork.from_keras``).

        The model's one optimizer counts one step for all members: while it
        has not trained (its step is the one it was built with), each member
        keeps its own step and globals; once it has, they all take its own.
        """
        built = max(int(m.optimizer_state.step) for m in self.members)
        members = []
        for m, member in enumerate(self.members):
            state = None if states is None else states[m]
            if state is not None and int(state.step) == built:
                own = member.optimizer_state
                state = state._replace(step=own.step, extra=own.extra)
            members.append(member.from_keras(params[m], state))
        return replace(self, members=tuple(members))

    # -- saving: plain values only, as FittedNetwork's (skops) ---------------------
    def to_plain(self) -> dict:
        return {"format": FORMAT, "members": [m.to_plain() for m in self.members],
                "best_epochs": [None if b is None else int(b) for b in self.best_epochs]}

    @classmethod
    def from_plain(cls, plain: dict) -> FittedEnsemble:
        """The inverse of :meth:`to_plain`; refuses a state that is not an ensemble's."""
        if not isinstance(plain, dict) or plain.get("format") != FORMAT:
            raise ValueError(f"Not a skoptnn ensemble state of format {FORMAT!r}.")
        members, best = plain.get("members"), plain.get("best_epochs")
        if not (isinstance(members, list) and members and isinstance(best, list)
                and len(best) == len(members)):
            raise ValueError("Saved ensemble state: members and best_epochs must be lists "
                             "of one entry per member.")
        if not all(b is None or (isinstance(b, (int, np.integer)) and b >= 0) for b in best):
            raise ValueError(f"Saved ensemble state: best_epochs {best!r} are not epochs.")
        networks = tuple(FittedNetwork.from_plain(m) for m in members)
        first = networks[0]
        if any(n.spec != first.spec or n.learning_rate != first.learning_rate
               for n in networks):
            raise ValueError("Saved ensemble state: its members describe different networks.")
        return cls(networks, tuple(None if b is None else int(b) for b in best))


def fitted(spec: TrainSpec, results: Sequence[FitResult], seeds: Sequence[int],
           learning_rate: float, validation_key) -> FittedNetwork | FittedEnsemble:
    """What an estimator keeps of its members' fits: the network itself for one member.

    ``validation_key`` names the validation rows early stopping's references
    were measured on.
    """
    networks = tuple(
        FittedNetwork(spec, r.params, r.optimizer_state, learning_rate, seed,
                      monitor=None if r.monitor is None else
                      {"validation": validation_key, "references": list(r.monitor)})
        for r, seed in zip(results, seeds, strict=True))
    if len(networks) == 1:
        return networks[0]
    return FittedEnsemble(networks, tuple(r.best_epoch for r in results))


def members(network: FittedNetwork | FittedEnsemble,
            best_epoch: int | None) -> list[tuple[FittedNetwork, int | None]]:
    """Each member with its restored epoch (``best_epoch``: a single network's)."""
    if isinstance(network, FittedEnsemble):
        return list(zip(network.members, network.best_epochs, strict=True))
    return [(network, best_epoch)]


def from_plain(plain: dict) -> FittedNetwork | FittedEnsemble:
    """A saved network or ensemble, by its format."""
    if isinstance(plain, dict) and plain.get("format") == FORMAT:
        return FittedEnsemble.from_plain(plain)
    return FittedNetwork.from_plain(plain)
