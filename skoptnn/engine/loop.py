"""The training loop: epochs and mini-batches inside one ``tf.function``.

The function is pure: weights, optimizer slots and the loop's bookkeeping go
in as tensors with unknown dimensions and come out updated, so one trace
serves every depth, width, data size and hyper-parameter value, and threads
can run it at once. What fixes the trace is the key of
:meth:`skoptnn.engine.spec.TrainSpec.graph_key`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from . import monitors, schedules
from .activations import ACTIVATIONS
from .graph import Net, Rates, add_penalty, backward, forward, kernel_norms
from .layout import Layout, Params
from .losses import LOSSES, METRICS, OUTPUT_ACTIVATIONS, SMOOTHED
from .optimizers import apply_updates, clip_gradients
from .runtime import tf
from .spec import FED, GraphKey

# The columns of a history row.
N_COLUMNS = 4  # loss, metric, val_loss, val_metric


class Data(NamedTuple):
    x: tf.Tensor
    y: tf.Tensor
    w: tf.Tensor  # sample weights, mean 1 over the training rows
    x_val: tf.Tensor
    y_val: tf.Tensor
    w_val: tf.Tensor


#: What a fit feeds the graph besides the spec's scalars (``FED``), float32 unless said.
LOOP_FIELDS = {
    "learning_rate": "the optimizer's step size (the schedule's share of it)",
    "lr_schedule": "int32: the schedule's code (engine.schedules)",
    "warmup": "share of the schedule's cycle that warms the rate up",
    "cycle_start": "int32: the epoch the schedule's cycle began at",
    "cycle_epochs": "int32: the cycle's length in epochs",
    "dropout_scale": "1 / (1 - dropout), computed in double precision as TensorFlow does",
    "batch_size": "int32",
    "n_epochs": "int32: epochs this call may run",
    "seed": "int64: dropout masks (an ensemble member's own seed)",
    "shuffle_seed": "int64: the order of the mini-batches (the fit's seed, which an "
                    "ensemble's members share)",
    "patience": "int32",
    "min_delta": "early stopping's least improvement",
    "monitor": "int32: the history column early stopping watches",
    "sign": "1 if lower is better, -1 if higher is",
    "shuffle": "bool",
    "early_stopping": "bool",
}

#: The run-time values of a fit: the spec's fed scalars (derived from its marks)
#: and the loop's own.
Config = NamedTuple("Config", [(name, tf.Tensor) for name in (*FED, *LOOP_FIELDS)])


def _shuffle_seed(cfg: Config, epoch) -> tf.Tensor:
    # A fresh permutation each epoch, reproducible from (shuffle seed, epoch).
    return tf.stack([tf.cast(cfg.shuffle_seed % (2**31 - 1), tf.int32), epoch])


def _network_and_loss(key: GraphKey, label_smoothing=None):
    """The layout, layers, loss, output activation and metric of ``key``'s graph;
    the loss with ``label_smoothing`` (a tensor) if the key smooths labels."""
    n_unrolled, stacked = key.topology
    layout = Layout(n_unrolled, stacked, key.batch_norm, key.numeric_embedding != "none")
    net = Net(layout, ACTIVATIONS[key.activation], key.dropout)
    loss = LOSSES[key.loss]
    if key.label_smoothing:
        loss = SMOOTHED[key.loss](label_smoothing)
    output_activation = OUTPUT_ACTIVATIONS[loss.output_activation][0]
    metric = METRICS[key.metric, loss.output_activation]
    return layout, net, loss, output_activation, metric


def _mean_and_error(values, n):
    """The mean of per-row ``values`` over ``n`` rows, and its standard error."""
    mean = tf.math.divide_no_nan(tf.reduce_sum(values), n)
    variance = tf.math.divide_no_nan(tf.reduce_sum(tf.square(values - mean)), n - 1.0)
    return mean, tf.sqrt(tf.math.divide_no_nan(variance, n))


def _evaluate(net, loss, output_activation, metric, params: Params, x, y, w):
    """The mean (weighted) data loss and mean metric of ``params`` on ``x``, and
    their standard errors (how far a mean over these rows is to be trusted)."""
    rates = Rates(0.0, 1.0, tf.constant(0, tf.int64), tf.constant(0, tf.int64))
    z = forward(net, params, x, rates, training=False)[0]
    n = tf.cast(tf.shape(x)[0], tf.float32)
    value, value_error = _mean_and_error(w * loss.value(z, y), n)
    score, score_error = _mean_and_error(metric(output_activation(z), y), n)
    return value, score, value_error, score_error


def evaluate(key: GraphKey, params: Params, x, y, w,
             label_smoothing: float = 0.0) -> tuple[float, float, float, float]:
    """:func:`make_loop`'s validation loss and metric for ``params`` and their standard
    errors, computed eagerly (no trace)."""
    _, net, loss, output_activation, metric = _network_and_loss(
        key, tf.constant(label_smoothing, tf.float32))
    params = tf.nest.map_structure(tf.convert_to_tensor, params)
    out = _evaluate(net, loss, output_activation, metric, params, x, y, w)
    return tuple(float(t) for t in out)


def make_loop(key: GraphKey) -> Callable:
    """The Python function that :mod:`skoptnn.engine.cache` traces for ``key``."""
    n_unrolled, stacked = key.topology
    layout, net, _, output_activation, metric = _network_and_loss(key, 0.0)
    optimizer = key.optimizer
    clip = "norm" if key.clipnorm else "value" if key.clipvalue else None
    monitor_gradients = key.monitor_gradients
    stacked_flags = layout.stacked_flags()
    positions = layout.kernel_positions()

    def n_kernels(params: Params):
        # Depth is dynamic, and with it the number of kernels in a stack.
        if not stacked:
            return len(positions)
        return len(positions) - 1 + tf.shape(params.trainable[positions[n_unrolled]])[0]

    def loss_of(cfg: Config):
        return _network_and_loss(key, cfg.label_smoothing)[2]

    def train_step(params: Params, opt, x, y, w, cfg: Config, learning_rate):
        loss = loss_of(cfg)
        rates = Rates(cfg.dropout, cfg.dropout_scale, cfg.seed, opt.step)
        z, caches, moving = forward(net, params, x, rates, training=True)
        n = tf.cast(tf.shape(x)[0], tf.float32)
        loss_sum = tf.reduce_sum(w * loss.value(z, y))
        metric_sum = tf.reduce_sum(metric(output_activation(z), y))
        dz = loss.gradient(z, y) * (w / n)[:, None]
        grads = add_penalty(layout, params, backward(net, params, caches, dz, rates),
                            cfg.l1, cfg.l2)
        norms = None
        if monitor_gradients:  # before and after clipping
            raw = kernel_norms(layout, grads)
        threshold = cfg.clipnorm if clip == "norm" else cfg.clipvalue
        grads = clip_gradients(list(grads), clip, threshold, stacked_flags)
        if monitor_gradients:
            norms = tf.stack([raw, kernel_norms(layout, grads)])
        trainable, opt = apply_updates(
            optimizer, list(params.trainable), grads, opt, learning_rate
        )
        return Params(tuple(trainable), moving), opt, loss_sum, metric_sum, norms


    def run_epoch(state: monitors.FitState, data: Data, cfg: Config):
        n = tf.shape(data.x)[0]
        n_batches = (n + cfg.batch_size - 1) // cfg.batch_size
        order = tf.cond(
            cfg.shuffle,
            lambda: tf.argsort(tf.random.stateless_uniform(
                [n], seed=_shuffle_seed(cfg, state.epoch))),
            lambda: tf.range(n),
        )

        epoch_in_cycle = tf.cast(state.epoch - cfg.cycle_start, tf.float32)

        def batch(b, params, opt, loss_sum, metric_sum, norm_sum):
            idx = order[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            x, y, w = (tf.gather(t, idx) for t in (data.x, data.y, data.w))
            progress = (epoch_in_cycle + tf.cast(b, tf.float32)
                        / tf.cast(n_batches, tf.float32)) / tf.cast(cfg.cycle_epochs, tf.float32)
            learning_rate = schedules.rate(cfg.lr_schedule, cfg.warmup, progress,
                                           cfg.learning_rate)
            params, opt, step_loss, step_metric, norms = train_step(
                params, opt, x, y, w, cfg, learning_rate)
            if monitor_gradients:
                norm_sum += norms
            return b + 1, params, opt, loss_sum + step_loss, metric_sum + step_metric, norm_sum

        _, params, opt, loss_sum, metric_sum, norm_sum = tf.while_loop(
            lambda b, *_: b < n_batches, batch,
            (0, state.params, state.optimizer, 0.0, 0.0, tf.zeros([2, n_kernels(state.params)])),
            parallel_iterations=1,  # sequential, as every loop here (see graph.py)
        )
        val_loss, val_metric, loss_error, metric_error = _evaluate(
            net, loss_of(cfg), output_activation, metric, params,
            data.x_val, data.y_val, data.w_val)
        n_rows = tf.cast(n, tf.float32)
        row = tf.stack([loss_sum / n_rows, metric_sum / n_rows, val_loss, val_metric])
        errors = tf.stack([0.0, 0.0, loss_error, metric_error])  # standard errors of row
        state = monitors.end_of_epoch(state, params, opt, row, errors[cfg.monitor], cfg)
        return state, row, norm_sum / tf.cast(n_batches, tf.float32)

    def loop(state: monitors.FitState, data: Data, cfg: Config):
        rows = tf.TensorArray(tf.float32, size=0, dynamic_size=True, element_shape=[N_COLUMNS])
        norms = tf.TensorArray(tf.float32, size=0, dynamic_size=True, infer_shape=False)

        def epoch(i, state, rows, norms):
            state, row, norm = run_epoch(state, data, cfg)
            return i + 1, state, rows.write(i, row), norms.write(i, norm)

        _, state, rows, norms = tf.while_loop(
            lambda i, state, *_: (i < cfg.n_epochs) & ~state.stopped, epoch,
            (0, state, rows, norms), parallel_iterations=1,
        )
        if monitor_gradients:
            return state, rows.stack(), norms.stack()
        return state, rows.stack()

    return loop
