"""The fit loop: every epoch runs inside one compiled TensorFlow graph.

Keras' ``Model.fit`` spends ~45 ms of Python per epoch (data adapters,
callbacks, logs) on top of microseconds of arithmetic for a small MLP. Here one
``tf.function`` runs shuffling, mini-batches (Keras' own ``train_step``, so
losses, regularisation, clipping and metrics are exactly Keras'), validation,
early stopping and divergence checks for all epochs.

Tracing costs ~0.5-1 s, so a :class:`_Trainer` (a template model, its
optimizer and the compiled functions) is cached per graph and reused: each fit
draws fresh initial weights into the template, resets the optimizer to its
initial state, trains, and hands the weights and optimizer state back as
arrays. The graph depends only on the architecture, the loss and the
optimizer's type: learning rate, dropout rate, L1/L2 factors and clipping
thresholds are variables the fit assigns, so a search over them compiles once.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import dataclasses
import functools
import gc
import inspect
import os
import threading
from dataclasses import dataclass, field

import numpy as np

from ._keras import THREADS_ERROR, keras, tf
from ._network import (
    NetworkSpec,
    Rates,
    Weights,
    assign_values,
    assign_weights,
    build_network,
    initial_weights,
    read_values,
    read_weights,
    variables_as_built,
)

OPTIMIZERS = {
    "adam": keras.optimizers.Adam,
    "adamw": keras.optimizers.AdamW,
    "nadam": keras.optimizers.Nadam,
    "rmsprop": keras.optimizers.RMSprop,
    "sgd": keras.optimizers.SGD,
    "adagrad": keras.optimizers.Adagrad,
    "adadelta": keras.optimizers.Adadelta,
}


@functools.cache
def default_learning_rate(optimizer: str) -> float:
    """Keras' default learning rate for the optimizer named ``optimizer``."""
    return float(inspect.signature(OPTIMIZERS[optimizer]).parameters["learning_rate"].default)


def make_optimizer(optimizer: str, clipnorm=None, clipvalue=None):
    """A Keras optimizer of type ``optimizer``, at its default learning rate."""
    # A fixed name: Keras otherwise names each optimizer adam_1, adam_2, ...
    # and TensorFlow keeps ~30 kB per distinct variable name for good.
    return OPTIMIZERS[optimizer](
        clipnorm=clipnorm, clipvalue=clipvalue, name=f"skoptnn_{optimizer}"
    )


# Folds of one candidate reuse one trainer, so a few suffice. A 10-layer one
# holds ~30 MB once run (benchmarks/compile_cost.py (d)), and joblib's process
# workers restart, losing every compiled graph, once they grow 300 MB past
# their first task: 4 deep trainers stay well below that.
_CACHE_SIZE = 4
_SCORES = {"accuracy", "auc", "r2_score"}


@dataclass(frozen=True)
class TrainSpec:
    """Everything a fit's training depends on, beyond its data and loop options."""

    network: NetworkSpec
    loss: str
    metrics: tuple[str, ...]
    optimizer: str
    clipnorm: float | None
    clipvalue: float | None

    def graph_key(self) -> TrainSpec:
        """This spec with what the compiled graph reads from variables blanked out.

        Two specs with one key share a trainer: only whether dropout, L1, L2
        and each clipping are on fixes the graph, not their values. The
        initializer only matters for the estimator's own starting weights.
        """
        net = self.network
        network = dataclasses.replace(
            net, kernel_initializer="auto", dropout=float(net.dropout > 0),
            l1=float(net.l1 > 0), l2=float(net.l2 > 0),
        )
        return dataclasses.replace(
            self, network=network,
            clipnorm=None if self.clipnorm is None else 1.0,
            clipvalue=None if self.clipvalue is None else 1.0,
        )


@dataclass
class EarlyStopping:
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs."""

    monitor: str = "val_loss"
    patience: int = 10
    min_delta: float = 0.0

    @property
    def sign(self) -> float:
        # Losses and errors improve downwards, scores upwards.
        return -1.0 if self.monitor.removeprefix("val_") in _SCORES else 1.0


@dataclass
class FitResult:
    weights: Weights  # (trainable, non-trainable), as Keras orders a model's variables
    optimizer_state: list[np.ndarray]  # as Keras orders the optimizer's variables
    history: dict[str, list[float]]
    n_epochs: int
    best_epoch: int | None = None
    diverged_epoch: int | None = None
    kept_epoch: int = 0  # after divergence: whose weights were kept (0: the initial ones)
    extra: dict = field(default_factory=dict)


class _Trainer:
    """A template network with its optimizer and compiled loop, for one graph.

    Fits in concurrent threads (joblib's threading backend) share the compiled
    loop: each takes a free *state* (this trainer's own variables, or a
    replica's: same network, optimizer and bookkeeping variables, never traced)
    and runs the one traced graph on it, passing the state's variables in place
    of the ones the graph captured. One compile per architecture per process,
    however many threads train it.
    """

    def __init__(self, spec: TrainSpec, owner: _Trainer | None = None):
        self.spec = spec
        self._owner = owner or self  # whose compiled functions this state runs
        self._lock = threading.Lock()
        self._trace_lock = threading.Lock()
        self._free = [self]  # the owner's pool of idle states
        self._captures: dict[tuple, list] = {}
        self.rates = Rates()
        self.model = build_network(spec.network, seed=0, rates=self.rates)
        self._clipnorm = tf.Variable(1.0, trainable=False, name="clipnorm")
        self._clipvalue = tf.Variable(1.0, trainable=False, name="clipvalue")
        self.optimizer = make_optimizer(spec.optimizer)
        # Keras reads clipnorm/clipvalue as Python floats while tracing; this
        # instance's clipping reads them from variables instead.
        self.optimizer._clip_gradients = self._clip_gradients
        self.model.compile(
            optimizer=self.optimizer, loss=spec.loss, metrics=list(spec.metrics)
        )
        if not tf.distribute.has_strategy():
            # Keras all-reduces gradients through tf.distribute even with one
            # replica, where it is the identity; traced, that registers a custom
            # gradient in TensorFlow's global registry that keeps the whole
            # graph alive for good (~10 MB per architecture over a search).
            self.optimizer._all_reduce_sum_gradients = list
        # tf.function may create variables only on its first trace, and the
        # loop has several traces: create every variable eagerly now.
        self.optimizer.build(variables_as_built(self.model)[0])
        self._optimizer_init = read_values(self.optimizer.variables)
        n_out = spec.network.n_outputs
        x0 = np.zeros((2, spec.network.n_features), np.float32)
        y0 = np.zeros((2, 1 if spec.loss.startswith(("sparse", "binary")) else n_out), np.float32)
        self.model.test_step((x0, y0, np.ones(2, np.float32)))
        self.model.reset_metrics()
        self.log_names = list(self.model.get_metrics_result())
        # Gradient monitoring watches the Dense kernels, in network order.
        weights = self.model.trainable_weights
        dense = [lay for lay in self.model.layers if isinstance(lay, keras.layers.Dense)]
        self.kernel_names = [lay.name for lay in dense]
        self._kernel_index = [
            next(i for i, w in enumerate(weights) if w is lay.kernel) for lay in dense
        ]

        variables = self.model.variables
        self._snapshot = [tf.Variable(v.value, trainable=False) for v in variables]
        self._epoch = tf.Variable(0, dtype=tf.int32, trainable=False)
        self._best = tf.Variable(np.inf, dtype=tf.float32, trainable=False)
        self._best_epoch = tf.Variable(-1, dtype=tf.int32, trainable=False)
        self._wait = tf.Variable(0, dtype=tf.int32, trainable=False)
        self._stopped = tf.Variable(False, trainable=False)
        self._diverged = tf.Variable(-1, dtype=tf.int32, trainable=False)
        # Fixed signatures (any number of rows) so each function traces once.
        n_features = spec.network.n_features
        y_width = 1 if spec.loss.startswith(("sparse", "binary")) else spec.network.n_outputs
        rows = (
            tf.TensorSpec([None, n_features], tf.float32),
            tf.TensorSpec([None, y_width], tf.float32),
            tf.TensorSpec([None], tf.float32),
        )
        self._data_signature = rows + rows
        self._runs: dict[tuple, tf.types.experimental.GenericFunction] = {}
        self._forward = tf.function(
            self._forward_fn,
            input_signature=[
                *([tf.TensorSpec(v.shape, v.dtype) for v in split]
                  for split in variables_as_built(self.model)),
                tf.TensorSpec([None, n_features], tf.float32),
            ],
        )

    # -- the compiled loop ---------------------------------------------------
    def _clip_gradients(self, grads):
        """Keras' ``Optimizer._clip_gradients``, thresholds read from variables."""
        if self.spec.clipnorm is not None:
            # tf.clip_by_norm: what Keras' TensorFlow optimizer clips with.
            return [None if g is None else tf.clip_by_norm(g, self._clipnorm) for g in grads]
        if self.spec.clipvalue is not None:
            v = self._clipvalue
            return [None if g is None else keras.ops.clip(g, -v, v) for g in grads]
        return grads

    def _take_snapshot(self):
        for saved, v in zip(self._snapshot, self.model.variables, strict=True):
            saved.assign(v.value)

    def _weights_are_finite(self):
        # Floating variables only: dropout keeps an integer seed state among them.
        return tf.reduce_all([
            tf.reduce_all(tf.math.is_finite(v)) for v in self.model.variables
            if keras.backend.is_float_dtype(v.dtype)
        ])

    def _restore_snapshot(self):
        for saved, v in zip(self._snapshot, self.model.variables, strict=True):
            v.assign(saved)

    def _monitored_train_step(self, data):
        """Keras' ``train_step``, also returning the Dense kernels' gradient norms.

        Returns the norms before clipping and those of the gradients the
        optimizer applies (after ``clipnorm``/``clipvalue``), shape (2, n_kernels).
        """
        model = self.model
        x, y, sample_weight = data
        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            loss = model._compute_loss(
                x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True
            )
            model._loss_tracker.update_state(loss, sample_weight=tf.shape(x)[0])
            loss = self.optimizer.scale_loss(loss)
        weights = model.trainable_weights
        grads = tape.gradient(loss, weights)
        kernels = [grads[i] for i in self._kernel_index]
        # The optimizer clips each gradient on its own, so clipping the kernels'
        # alone gives exactly the gradients it applies to them.
        applied = self.optimizer._clip_gradients(kernels)
        self.optimizer.apply(grads, weights)
        model.compute_metrics(x, y, y_pred, sample_weight=sample_weight)
        return tf.stack([
            tf.stack([tf.norm(g) for g in kernels]),
            tf.stack([tf.norm(g) for g in applied]),
        ])

    def _run_epochs(self, data, n_epochs, batch_size, seed, patience, min_delta, sign,
                    *, shuffle, validate, monitor, early_stopping, monitor_gradients):
        X, y, sw, X_val, y_val, sw_val = data
        model = self.model
        n = tf.shape(X)[0]
        n_batches = (n + batch_size - 1) // batch_size
        names = self.log_names + (["val_" + k for k in self.log_names] if validate else [])
        rows = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
        n_kernels = len(self._kernel_index)
        grad_rows = tf.TensorArray(
            tf.float32, size=0, dynamic_size=True, element_shape=[2, n_kernels]
        )
        i = 0
        for _ in tf.range(n_epochs):
            epoch = self._epoch.value()
            if shuffle:
                # A fresh permutation each epoch, reproducible from (seed, epoch).
                noise = tf.random.stateless_uniform([n], seed=tf.stack([seed, epoch]))
                order = tf.argsort(noise)
            else:
                order = tf.range(n)
            model.reset_metrics()
            norm_sum = tf.zeros([2, n_kernels])
            for b in tf.range(n_batches):
                idx = order[b * batch_size:(b + 1) * batch_size]
                batch = (tf.gather(X, idx), tf.gather(y, idx), tf.gather(sw, idx))
                if monitor_gradients:  # a Python bool: one branch is traced
                    norm_sum += self._monitored_train_step(batch)
                else:
                    model.train_step(batch)
            if monitor_gradients:
                grad_rows = grad_rows.write(i, norm_sum / tf.cast(n_batches, tf.float32))
            logs = dict(model.get_metrics_result())
            if validate:
                model.reset_metrics()
                model.test_step((X_val, y_val, sw_val))
                val_logs = model.get_metrics_result()
                logs.update({"val_" + k: v for k, v in val_logs.items()})
            rows = rows.write(i, tf.stack([tf.cast(logs[k], tf.float32) for k in names]))
            i += 1
            # The loss is taken before each batch's update: the epoch's last
            # update can still have left non-finite weights.
            finite = tf.math.logical_and(
                tf.math.is_finite(logs["loss"]), self._weights_are_finite()
            )
            if not finite:
                # Keep the last good weights; the caller warns and predicts with them.
                self._restore_snapshot()
                self._diverged.assign(epoch)
                self._stopped.assign(True)
            elif early_stopping:
                current = sign * tf.cast(logs[monitor], tf.float32)
                if current < self._best - min_delta:
                    self._best.assign(current)
                    self._best_epoch.assign(epoch)
                    self._wait.assign(0)
                    self._take_snapshot()
                else:
                    self._wait.assign_add(1)
                    if self._wait >= patience:
                        self._stopped.assign(True)
            else:
                self._take_snapshot()
            self._epoch.assign_add(1)
            if self._stopped.value():
                break
        if monitor_gradients:
            return rows.stack(), grad_rows.stack()
        return rows.stack()

    def _compiled_run(self, key: tuple, options: dict):
        """The compiled loop for one combination (``key``) of the loop's static options."""
        with self._lock:  # one tf.function per key, even when threads race here
            if key not in self._runs:
                self._runs[key] = self._new_run(options)
            return self._runs[key]

    def _new_run(self, options):
        scalar = tf.TensorSpec([], tf.int32)
        signature = [self._data_signature, scalar, scalar, scalar, scalar,
                     tf.TensorSpec([], tf.float32), tf.TensorSpec([], tf.float32)]
        return tf.function(
            functools.partial(self._run_epochs, **options), input_signature=signature
        )

    def _state_variables(self) -> list:
        """Every variable the compiled loop reads or writes, in a fixed order."""
        variables = [
            *self.model.variables, *self.optimizer.variables, *self.model.metrics_variables,
            *self._snapshot, self._epoch, self._best, self._best_epoch, self._wait,
            self._stopped, self._diverged, *self.rates.variables, self._clipnorm,
            self._clipvalue,
        ]
        return [getattr(v, "_value", v) for v in variables]  # Keras' wraps a tf.Variable

    def _run(self, options: dict, args: tuple):
        """Run the owner's compiled loop on this state's variables."""
        key = tuple(sorted(options.items()))
        function = self._owner._compiled_run(key, options)
        # One signature, so this traces once; one trace at a time per trainer,
        # as threads would otherwise trace through the same Keras objects.
        with self._owner._trace_lock:
            concrete = function.get_concrete_function()
        # The owner's own captures map to themselves: one path for every state.
        if key not in self._captures:
            self._captures[key] = self._swap_captures(concrete.captured_inputs)
        return concrete._call_flat(tf.nest.flatten(args), self._captures[key])

    def _swap_captures(self, captured: list) -> list:
        owner = {id(v.handle): i for i, v in enumerate(self._owner._state_variables())}
        mine = self._state_variables()
        swapped = []
        for tensor in captured:
            if id(tensor) in owner:
                swapped.append(mine[owner[id(tensor)]].handle)
            elif tensor.dtype == tf.resource:  # state we do not know: sharing it would race
                raise RuntimeError("skoptnn: the compiled loop captured an unknown variable.")
            else:
                swapped.append(tensor)
        return swapped

    def _acquire(self) -> _Trainer:
        # The pool grows to the number of fits that ever ran at once (one per
        # thread) and lives as long as the trainer stays cached.
        with self._lock:
            if self._free:
                return self._free.pop()
        return _Trainer(self.spec, owner=self)  # another thread trains this graph now

    def _release(self, state: _Trainer) -> None:
        with self._lock:
            self._free.append(state)

    def _outputs_are_finite(self, *Xs) -> bool:
        weights = [[v.value for v in split] for split in variables_as_built(self.model)]
        forward = self._owner._forward  # traced once per architecture, as for predict
        return all(np.isfinite(forward(*weights, X).numpy()).all() for X in Xs)

    def _forward_fn(self, trainable, non_trainable, X):
        return self.model.stateless_call(trainable, non_trainable, X, training=False)[0]

    # -- driving it ----------------------------------------------------------
    def fit(self, *args, **kwargs) -> FitResult:
        """Train on a free state of this trainer; see :meth:`_fit`."""
        with _in_use(), _lean_graph_rewrites():
            state = self._acquire()
            try:
                return state._fit(*args, **kwargs)
            finally:
                self._release(state)

    def _fit(self, spec, seed, X, y, sample_weight, validation, *, epochs, batch_size,
             shuffle, learning_rate, early_stopping, verbose,
             monitor_gradients=False) -> FitResult:
        """Train a network of ``spec`` from the initial weights ``seed`` gives."""
        self.rates.assign(spec.network)
        self._clipnorm.assign(spec.clipnorm or 1.0)
        self._clipvalue.assign(spec.clipvalue or 1.0)
        assign_weights(self.model, initial_weights(self.model, spec.network, seed))
        assign_values(self.optimizer.variables, self._optimizer_init)
        self.optimizer.learning_rate = learning_rate
        self._take_snapshot()
        self._epoch.assign(0)
        self._best.assign(np.inf)
        self._best_epoch.assign(-1)
        self._wait.assign(0)
        self._stopped.assign(False)
        self._diverged.assign(-1)

        validate = validation is not None
        if validate:
            X_val, y_val, sw_val = validation
        else:  # placeholders of the right rank, never read
            X_val, y_val, sw_val = X[:0], y[:0], sample_weight[:0]
        data = tuple(
            _as_tensor(a, spec)
            for a, spec in zip(
                (X, y, sample_weight, X_val, y_val, sw_val), self._data_signature, strict=True
            )
        )
        es = early_stopping or EarlyStopping()
        options = {
            "shuffle": bool(shuffle),
            "validate": validate,
            "monitor": es.monitor,
            "early_stopping": early_stopping is not None,
            "monitor_gradients": bool(monitor_gradients),
        }
        args = (
            tf.constant(min(batch_size, len(X)), tf.int32),
            tf.constant(seed % (2**31 - 1), tf.int32),
            tf.constant(es.patience, tf.int32),
            tf.constant(es.min_delta, tf.float32),
            tf.constant(es.sign, tf.float32),
        )
        names = self.log_names + (["val_" + k for k in self.log_names] if validate else [])
        # verbose: one compiled call per epoch so progress can be printed.
        chunk = 1 if verbose else epochs
        rows, norms = [], []
        done = 0
        while done < epochs and not bool(self._stopped.numpy()):
            n = min(chunk, epochs - done)
            out = self._run(options, (data, tf.constant(n, tf.int32), *args))
            if monitor_gradients:
                out, grad_out = out
                norms.append(grad_out.numpy())
            out = out.numpy()
            rows.append(out)
            done += len(out)
            if len(out) == 0:  # never for n >= 1; guards against spinning forever
                break
            if verbose:
                logs = " - ".join(f"{k}: {v:.4f}" for k, v in zip(names, out[-1], strict=True))
                print(f"Epoch {done}/{epochs} - {logs}", flush=True)
        best = int(self._best_epoch.numpy())
        diverged = int(self._diverged.numpy())
        if early_stopping is not None and best >= 0 and diverged < 0:
            self._restore_snapshot()  # the best epoch's weights, as promised
        table = np.concatenate(rows) if rows else np.zeros((0, len(names)))
        # Which weights were kept: the last finite epoch's, or the best one's.
        kept = diverged if early_stopping is None else best + 1
        if not self._outputs_are_finite(data[0], data[3]):
            # Finite weights can still overflow the outputs (a huge regression
            # output, say): only the initial weights are known to be safe.
            assign_weights(self.model, initial_weights(self.model, spec.network, seed))
            diverged = diverged if diverged >= 0 else len(table) - 1
            kept = best = -1
        if diverged >= 0:
            # The diverged epoch's optimizer state (NaN or huge moments) would
            # wreck any further training of model_ from the kept weights.
            assign_values(self.optimizer.variables, self._optimizer_init)
            self.optimizer.learning_rate = learning_rate
        if verbose and early_stopping is not None and best >= 0 and diverged < 0:
            how = "stopped early" if len(table) < epochs else "ran every epoch"
            value = table[best, names.index(es.monitor)]
            print(f"Early stopping {how}: restored the weights of epoch {best + 1} "
                  f"({es.monitor}: {value:.4f})", flush=True)
        extra = {}
        if monitor_gradients:
            shape = (0, 2, len(self.kernel_names))
            extra["gradient_norms"] = np.concatenate(norms) if norms else np.zeros(shape)
            extra["kernel_names"] = list(self.kernel_names)
        return FitResult(
            weights=read_weights(self.model),
            # The optimizer's state too, so the estimator's model_ can keep training.
            optimizer_state=read_values(self.optimizer.variables),
            history={k: table[:, j].astype(float).tolist() for j, k in enumerate(names)},
            n_epochs=len(table),
            best_epoch=best if early_stopping is not None and best >= 0 else None,
            diverged_epoch=diverged if diverged >= 0 else None,
            kept_epoch=max(kept, 0),
            extra=extra,
        )

    def predict(self, weights: Weights, X) -> np.ndarray:
        """The network's outputs for ``X`` with ``weights`` (trainable, non-trainable)."""
        trainable, non_trainable = weights
        with _in_use(), _lean_graph_rewrites():
            return self._forward(trainable, non_trainable, tf.convert_to_tensor(X)).numpy()


def _as_tensor(array, spec: tf.TensorSpec) -> tf.Tensor:
    shape = (-1,) if spec.shape.rank == 1 else (-1, spec.shape[1])
    return tf.convert_to_tensor(np.asarray(array, np.float32).reshape(shape))


_trainers: collections.OrderedDict[TrainSpec, _Trainer] = collections.OrderedDict()
_trainers_lock = threading.Lock()

# TensorFlow keeps every function it has run instantiated (optimised graph and
# executor) in the eager context's kernel cache, for good: a search that tries
# a new architecture per trial grows by megabytes a trial, and joblib's workers
# get restarted for "leaking". Every _CACHE_SIZE evictions, when no fit or
# predict is running, the cache is cleared, as keras.backend.clear_session()
# does; cached trainers re-instantiate on their next call.
_runtime_lock = threading.Lock()
_active_calls = 0
_evictions = 0


@contextlib.contextmanager
def _in_use():
    global _active_calls
    with _runtime_lock:
        _active_calls += 1
    try:
        yield
    finally:
        with _runtime_lock:
            _active_calls -= 1


# Grappler passes that cost the most of a new graph's first-call set-up and do
# not speed up these small dense graphs (benchmarks/compile_cost.py (d)). The
# rest stay on: with no rewrites at all a new architecture's first fit holds
# about twice the memory, and arithmetic simplification keeps training equal
# to Keras' own Model.fit to float32 round-off.
_SKIPPED_REWRITES = ("constant_folding", "layout_optimizer", "remapping", "shape_optimization")


@functools.lru_cache(maxsize=8)
def _lean_config(config_proto: bytes):
    """``config_proto`` (a serialized ConfigProto) with :data:`_SKIPPED_REWRITES` off.

    Never mutated: FunctionCallOptions only serializes it.
    """
    from tensorflow.core.protobuf import config_pb2, rewriter_config_pb2

    config = config_pb2.ConfigProto.FromString(config_proto)
    rewrites = config.graph_options.rewrite_options
    for name in _SKIPPED_REWRITES:
        setattr(rewrites, name, rewriter_config_pb2.RewriterConfig.OFF)
    return config


@contextlib.contextmanager
def _lean_graph_rewrites():
    """Run this thread's compiled functions with :data:`_SKIPPED_REWRITES` off.

    The option is per thread and only covers skoptnn's own calls: the user's
    other TensorFlow functions keep every rewrite.
    """
    from tensorflow.python.eager import context

    ctx = context.context()
    current = ctx.function_call_options
    # A fresh options object per call: TensorFlow's context managers mutate them.
    ctx.function_call_options = context.FunctionCallOptions(
        executor_type=current.executor_type,
        config_proto=_lean_config(current.config_proto_serialized),
    )
    try:
        yield
    finally:
        ctx.function_call_options = current


def _release_runtime_memory(evicted: int, force: bool = False) -> bool:
    """Clear TensorFlow's kernel cache if enough trainers died; return whether it did."""
    global _evictions
    from tensorflow.python.eager import context

    with _runtime_lock:  # held: no fit or predict may start meanwhile
        _evictions += evicted
        if _active_calls or not (force or _evictions >= _CACHE_SIZE):
            return False
        _evictions = 0
        gc.collect()  # the evicted trainers' graphs sit in reference cycles
        context.context().clear_kernel_cache()
        _trim_heap()
        return True


def _trim_heap() -> None:
    # glibc keeps freed memory mapped; hand it back so the process' resident
    # size (which joblib's workers police) reflects what is really in use.
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


# TensorFlow's runtime does not survive fork() once it has run: a fit in the
# child would hang for ever, so it is refused by name instead. A fork after a
# mere import (a script's top-level imports, a forkserver's preload) is fine.
_tf_used = False
_forked = False


def _note_fork() -> None:
    global _forked
    _forked = _forked or _tf_used  # the child inherits the parent's flags


if hasattr(os, "register_at_fork"):  # POSIX only; Windows has no fork
    os.register_at_fork(after_in_child=_note_fork)


def check_runtime() -> None:
    """Raise if TensorFlow cannot run in this process; else note that it is about to."""
    global _tf_used
    if _forked:
        raise RuntimeError(
            "skoptnn cannot train or predict in a process forked after it had run "
            "TensorFlow (TensorFlow would hang). Use multiprocessing's 'spawn' or "
            "'forkserver' start method, or joblib's default (loky) backend."
        )
    if THREADS_ERROR is not None:
        raise ValueError(str(THREADS_ERROR))
    _tf_used = True


def get_trainer(spec: TrainSpec) -> _Trainer:
    """Return the cached trainer for ``spec``'s graph, building it if needed."""
    check_runtime()
    key = spec.graph_key()
    with _trainers_lock:
        trainer = _trainers.get(key)
        if trainer is not None:
            _trainers.move_to_end(key)
            return trainer
    trainer = _Trainer(key)
    evicted = 0
    with _trainers_lock:
        trainer = _trainers.setdefault(key, trainer)
        while len(_trainers) > _CACHE_SIZE:
            _trainers.popitem(last=False)
            evicted += 1
    if evicted:
        _release_runtime_memory(evicted)
    return trainer


def clear_cache() -> None:
    """Drop every cached trainer, its compiled graphs and their TensorFlow kernels."""
    with _trainers_lock:
        evicted = len(_trainers)
        _trainers.clear()
    _release_runtime_memory(evicted, force=True)
