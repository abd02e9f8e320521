"""Drive one fit: feed the compiled loop, run it, and read back arrays.

``fit`` draws the starting weights, runs the compiled loop of
:mod:`skoptnn.engine.cache` (in one call, or one call per epoch when printing
progress), then settles what to keep: the best epoch's weights with early
stopping, the last finite ones after a divergence, the initial ones if even
those overflow the outputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .cache import check_runtime, compiled_loop
from .inference import predict
from .layout import Params, initial_params
from .loop import Config, Data, evaluate
from .losses import HIGHER_IS_BETTER
from .monitors import FitState
from .optimizers import OptimizerState, initial_state
from .pruning import PruningSchedule, best_so_far, validation_scores
from .runtime import tf
from .schedules import SCHEDULES
from .spec import TrainSpec


@dataclass
class EarlyStopping:
    """Stop when ``monitor`` has not improved for ``patience`` epochs (see :mod:`.monitors`)."""

    monitor: str = "val_loss"
    patience: int = 10
    min_delta: float = 0.0


@dataclass
class FitResult:
    params: Params  # NumPy arrays
    optimizer_state: OptimizerState  # NumPy arrays
    history: dict[str, list[float]]
    n_epochs: int
    best_epoch: int | None = None
    diverged_epoch: int | None = None
    kept_epoch: int = 0  # after divergence: whose weights were kept (0: the initial ones)
    gradient_norms: np.ndarray | None = None  # (n_epochs, 2, n_kernels): raw, applied
    kernel_names: list[str] = field(default_factory=list)
    pruned_epoch: int | None = None  # epochs run (from the first fit) when a rung stopped it
    # Early stopping's references at the end (best, its error, last improvement, its
    # error): a continued fit on the same validation rows goes on from them.
    monitor: tuple[float, float, float, float] | None = None


def column_names(metric: str) -> list[str]:
    """The history columns the loop fills, in order."""
    return ["loss", metric, "val_loss", f"val_{metric}"]


def _numpy(structure):
    return tf.nest.map_structure(lambda t: t.numpy(), structure)


def _float32(a) -> np.ndarray:
    return np.asarray(a, np.float32)


def fit(spec: TrainSpec, seed: int, X, y, sample_weight, validation, *, epochs: int,
        batch_size: int, shuffle: bool, learning_rate: float,
        early_stopping: EarlyStopping | None, verbose: int,
        monitor_gradients: bool = False, start: Params | None = None,
        optimizer_state: OptimizerState | None = None, first_epoch: int = 0,
        start_epoch: int | None = None, pruning: PruningSchedule | None = None,
        references: tuple[float, float, float, float] | None = None,
        lr_schedule: str = "constant", warmup: float = 0.0,
        cycle: tuple[int, int] | None = None, shuffle_seed: int | None = None) -> FitResult:
    """Train a network of ``spec`` from the initial weights ``seed`` gives.

    Continued training passes ``start`` and ``optimizer_state`` (NumPy arrays of
    an earlier fit) and ``first_epoch``, the epochs already run: epochs are
    numbered on from it, so shuffling and dropout go on as one longer fit would.
    Epoch numbers in the result (``best_epoch``, ``diverged_epoch``,
    ``kept_epoch``) count from the first fit. With early stopping, ``start``
    (the weights of epoch ``start_epoch``, by default the last one) is the best
    so far until an epoch comes within the noise of the best value;
    ``references``, the ``FitResult.monitor`` of the earlier fit on the same
    validation rows, carries its best value and last improvement on, so that a
    later call does not judge its epochs against the kept (possibly worse)
    weights alone.

    ``pruning`` (only with validation data) stops the fit after a rung epoch
    whose best validation score so far is below the rung's threshold; the
    fit then ends as early stopping would, with the weights it keeps.

    ``lr_schedule`` and ``warmup`` (see :mod:`.schedules`) shape the learning
    rate over ``cycle``, ``(first epoch, length in epochs)`` of the schedule's
    cycle; by default the cycle is this call's ``epochs``, from ``first_epoch``.

    ``shuffle_seed`` (by default ``seed``) orders the mini-batches, ``seed``
    alone draws the initial weights and the dropout masks: an ensemble's
    members (:mod:`.ensemble`) share the one and differ in the other.
    """
    check_runtime()
    network = spec.network
    if start is None:
        start = initial_params(network, seed)
    fresh_optimizer = initial_state(spec.optimizer, list(start.trainable))
    if optimizer_state is None:
        optimizer_state = fresh_optimizer
    validate = validation is not None
    if validate:
        X_val, y_val, w_val = validation
    else:  # an empty validation set of the right rank, never used
        X_val, y_val, w_val = X[:0], y[:0], sample_weight[:0]
    data = Data(*(_float32(a) for a in (X, y, sample_weight, X_val, y_val, w_val)))

    names = column_names(spec.metric)
    es = early_stopping or EarlyStopping()
    monitor = es.monitor.removeprefix("val_")
    cfg = Config(
        **{name: np.float32(value) for name, value in spec.fed().items()},
        learning_rate=np.float32(learning_rate),
        lr_schedule=np.int32(SCHEDULES[lr_schedule].code), warmup=np.float32(warmup),
        cycle_start=np.int32(cycle[0] if cycle else first_epoch),
        cycle_epochs=np.int32(cycle[1] if cycle else epochs),
        # 1 / keep_prob in double precision, then float32: TensorFlow's own dropout scale.
        dropout_scale=np.float32(1.0 / (1.0 - network.dropout)),
        batch_size=np.int32(min(batch_size, len(X))),
        n_epochs=np.int32(epochs), seed=np.int64(seed),
        shuffle_seed=np.int64(seed if shuffle_seed is None else shuffle_seed),
        patience=np.int32(es.patience),
        min_delta=np.float32(es.min_delta), monitor=np.int32(names.index(es.monitor)),
        sign=np.float32(-1.0 if HIGHER_IS_BETTER.get(monitor, False) else 1.0),
        shuffle=np.bool_(shuffle), early_stopping=np.bool_(early_stopping is not None),
    )
    start_value, start_best_epoch = np.nan, -1
    start_refs = (np.inf, 0.0, np.inf, 0.0)  # best, its error, anchor, its error
    key = spec.graph_key(monitor_gradients)
    if first_epoch and early_stopping is not None:
        value, score, value_error, score_error = evaluate(
            key, start, data.x_val, data.y_val, data.w_val, spec.label_smoothing)
        start_value, error = (value, value_error) if cfg.monitor == 2 else (score, score_error)
        if np.isfinite(start_value):
            signed = float(cfg.sign) * start_value
            start_refs = (signed, error, signed, error) if references is None else references
            start_best_epoch = first_epoch - 1 if start_epoch is None else start_epoch
    refs = dict(zip(("best", "best_error", "anchor", "anchor_error"),
                    (np.float32(v) for v in start_refs), strict=True))
    state = FitState(
        params=start, optimizer=optimizer_state, kept=start, **refs,
        best_epoch=np.int32(start_best_epoch),
        wait=np.int32(0), epoch=np.int32(first_epoch), stopped=np.bool_(False),
        diverged=np.int32(-1),
    )
    loop = compiled_loop(key, (state, data, cfg))

    shown = names if validate else names[:2]
    rows, norms = [], []
    # Calls end at every epoch when printing progress, and at pruning rungs.
    stops = range(1, epochs + 1) if verbose else [epochs]
    rungs = {}
    if pruning is not None and validate:
        rungs = {r: t for r, t in zip(pruning.rungs, pruning.thresholds, strict=True)
                 if r < epochs and np.isfinite(t)}
        stops = sorted({*stops, *rungs})
    done, pruned_epoch = 0, None
    for stop in stops:
        if done >= epochs or bool(state.stopped):
            break
        out = loop(state, data, cfg._replace(n_epochs=np.int32(stop - done)))
        state = _numpy(out[0])
        table = out[1].numpy()
        if monitor_gradients:
            norms.append(out[2].numpy())
        rows.append(table)
        done += len(table)
        if verbose:
            logs = " - ".join(f"{k}: {table[-1, names.index(k)]:.4f}" for k in shown)
            print(f"Epoch {first_epoch + done}/{first_epoch + epochs} - {logs}", flush=True)
        if done in rungs and not bool(state.stopped):
            scores = validation_scores(
                {k: np.concatenate(rows)[:, names.index(k)] for k in names}, spec.metric)
            if best_so_far(scores, [done])[0] < rungs[done]:  # NaN (no score yet): go on
                pruned_epoch = first_epoch + done
                break
    table = np.concatenate(rows) if rows else np.zeros((0, len(names)), np.float32)

    best, diverged = int(state.best_epoch), int(state.diverged)
    params = state.params
    if early_stopping is not None and best >= 0 and diverged < 0:
        params = state.kept  # the kept epoch's weights (see monitors.py), as promised
    # Which weights were kept: the last finite epoch's, or the best one's (epoch
    # k's weights are those after k epochs; first_epoch: where this call started).
    kept = diverged if early_stopping is None else best + 1 if best >= 0 else first_epoch
    if not all(np.isfinite(predict(network, params, x, np.float32)).all()
               for x in (data.x, data.x_val)):
        # Finite weights can still overflow the outputs (a huge regression
        # output, say): only the initial weights are known to be safe.
        params = start
        diverged = diverged if diverged >= 0 else first_epoch + len(table) - 1
        kept, best = first_epoch, -1
    optimizer_state = state.optimizer
    if diverged >= 0:
        # The diverged epoch's optimizer state (NaN or huge moments) would
        # wreck any further training from the kept weights.
        optimizer_state = fresh_optimizer
    if verbose and early_stopping is not None and best >= 0 and diverged < 0:
        how = "stopped early" if len(table) < epochs else "ran every epoch"
        value = (table[best - first_epoch, names.index(es.monitor)] if best >= first_epoch
                 else start_value)
        print(f"Early stopping {how}: restored the weights of epoch {best + 1} "
              f"({es.monitor}: {value:.4f})", flush=True)
    n_hidden = len(network.hidden_layer_sizes)
    return FitResult(
        params=params,
        optimizer_state=optimizer_state,
        history={k: table[:, names.index(k)].astype(float).tolist() for k in shown},
        n_epochs=len(table),
        best_epoch=best if early_stopping is not None and best >= 0 else None,
        diverged_epoch=diverged if diverged >= 0 else None,
        kept_epoch=max(kept, 0),
        gradient_norms=np.concatenate(norms) if monitor_gradients else None,
        kernel_names=[f"hidden_{i + 1}" for i in range(n_hidden)] + ["output"],
        pruned_epoch=pruned_epoch,
        monitor=(tuple(float(v) for v in (state.best, state.best_error, state.anchor,
                                          state.anchor_error))
                 if early_stopping is not None and best >= 0 and diverged < 0 else None),
    )
