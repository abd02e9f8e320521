"""The network's forward and backward passes, in raw TensorFlow ops.

Backpropagation is written out layer by layer (it is far cheaper than a
``GradientTape`` through the loop over a stack of layers). Each hidden layer is
Dense -> [batch norm] -> activation -> [dropout], with Keras' own ops and
constants, so a fit trains as the Keras ``model_`` would.
"""

from __future__ import annotations

from typing import NamedTuple

from . import embedding
from .activations import Activation
from .layout import DENSE, DROPOUT_SEED_OFFSET, Layout, Params
from .runtime import tf

# Batch norm's constants, here and in model_'s layers (Keras' defaults).
BN_EPSILON = 1e-3
BN_MOMENTUM = 0.99
# Keras casts a seed generator's int64 state to int32 seeds modulo this.
_SEED_MODULUS = 2**31 - 2


class Net(NamedTuple):
    """What the graph is traced for: the layout and the trace-time choices."""

    layout: Layout
    activation: Activation
    dropout: bool


class Rates(NamedTuple):
    """Run-time values the layers read (tensors)."""

    dropout: tf.Tensor
    dropout_scale: tf.Tensor
    seed: tf.Tensor  # int64: the fit's seed
    step: tf.Tensor  # int64: the optimizer's step, which advances each dropout stream


def _dropout_seed(rates: Rates, index) -> tf.Tensor:
    # Keras' Dropout of hidden layer i draws from the stream [seed + offset + i, step].
    pair = tf.stack([rates.seed + DROPOUT_SEED_OFFSET + tf.cast(index, tf.int64), rates.step])
    return tf.cast(tf.math.floormod(pair, _SEED_MODULUS), tf.int32)


def _dense_forward(net: Net, p: dict, stats: dict, h, index, rates: Rates, training: bool):
    """One hidden layer; returns ``(output, cache for backward, new moving statistics)``."""
    z = tf.matmul(h, p["kernel"]) + p["bias"]
    cache = {"h": h}
    new_stats = stats
    if net.layout.batch_norm:
        if training:
            mean, var = tf.nn.moments(z, axes=[0])
            new_stats = {
                "moving_mean": stats["moving_mean"] * BN_MOMENTUM + mean * (1.0 - BN_MOMENTUM),
                "moving_variance": stats["moving_variance"] * BN_MOMENTUM
                + var * (1.0 - BN_MOMENTUM),
            }
            cache.update(z=z, mean=mean, var=var)
        else:
            mean, var = stats["moving_mean"], stats["moving_variance"]
        z_norm = tf.nn.batch_normalization(z, mean, var, p["beta"], p["gamma"], BN_EPSILON)
    else:
        z_norm = z
    a = net.activation.forward(z_norm)
    cache.update(z_norm=z_norm, a=a)
    if training and net.dropout:
        # TensorFlow's stateless_dropout, as Keras' Dropout calls it.
        noise = tf.random.stateless_uniform(
            tf.shape(a), seed=_dropout_seed(rates, index), dtype=a.dtype
        )
        keep = noise >= rates.dropout
        cache["keep"] = keep
        a = tf.where(keep, a * rates.dropout_scale, tf.zeros([], a.dtype))
    return a, cache, new_stats


def _dense_backward(net: Net, p: dict, cache: dict, g, rates: Rates, input_grad: bool):
    """Gradients of one hidden layer's arrays, and of its input if ``input_grad``."""
    if "keep" in cache:
        g = tf.where(cache["keep"], g * rates.dropout_scale, tf.zeros([], g.dtype))
    g = g * net.activation.derivative(cache["z_norm"], cache["a"])
    grads = {}
    if net.layout.batch_norm:
        inv = tf.math.rsqrt(cache["var"] + BN_EPSILON)
        x_hat = (cache["z"] - cache["mean"]) * inv
        grads["gamma"] = tf.reduce_sum(g * x_hat, axis=0)
        grads["beta"] = tf.reduce_sum(g, axis=0)
        gx = g * p["gamma"]
        g = inv * (gx - tf.reduce_mean(gx, axis=0) - x_hat * tf.reduce_mean(gx * x_hat, axis=0))
    grads["kernel"] = tf.matmul(cache["h"], g, transpose_a=True)
    grads["bias"] = tf.reduce_sum(g, axis=0)
    g_in = tf.matmul(g, p["kernel"], transpose_b=True) if input_grad else None
    return grads, g_in


def _stacked(ta: tf.TensorArray, like) -> tf.Tensor:
    # An empty TensorArray of unknown element shape cannot stack: a zero element
    # past the end (``ta`` has room for depth + 1) keeps it from being empty,
    # without a tf.cond in every training step.
    depth = tf.shape(like)[0]
    return ta.write(depth, tf.zeros(tf.shape(like)[1:], like.dtype)).stack()[:depth]


# Every loop here is sequential (each step needs the last): parallel_iterations=1
# spares TensorFlow's executor the bookkeeping for overlapping iterations.


def _stack_forward(net: Net, p: dict, stats: dict, h, first: int, rates: Rates, training):
    """The stack of equal hidden layers, looped over; ``first`` is its first layer's index."""
    depth = tf.shape(p["kernel"])[0]

    def layer(k, h):
        pk = {n: v[k] for n, v in p.items()}
        sk = {n: v[k] for n, v in stats.items()}
        return _dense_forward(net, pk, sk, h, first + k, rates, training)

    if not training:
        def infer(k, h):
            return k + 1, layer(k, h)[0]

        return tf.while_loop(lambda k, h: k < depth, infer, (0, h),
                             parallel_iterations=1)[1], None, stats

    keys = ["h", "z_norm", "a"] + (["z", "mean", "var"] if net.layout.batch_norm else [])
    caches = {k: tf.TensorArray(tf.float32, size=depth) for k in keys}
    if net.dropout:
        caches["keep"] = tf.TensorArray(tf.bool, size=depth)
    moving = {n: tf.TensorArray(tf.float32, size=depth + 1) for n in stats}  # see _stacked

    def body(k, h, caches, moving):
        out, cache, new_stats = layer(k, h)
        caches = {n: ta.write(k, cache[n]) for n, ta in caches.items()}
        moving = {n: ta.write(k, new_stats[n]) for n, ta in moving.items()}
        return k + 1, out, caches, moving

    _, h, caches, moving = tf.while_loop(
        lambda k, *_: k < depth, body, (0, h, caches, moving), parallel_iterations=1
    )
    return h, caches, {n: _stacked(ta, stats[n]) for n, ta in moving.items()}


def _stack_backward(net: Net, p: dict, caches: dict, g, rates: Rates):
    depth = tf.shape(p["kernel"])[0]
    grads = {n: tf.TensorArray(tf.float32, size=depth + 1)  # see _stacked
             for n in net.layout.hidden_names}

    def body(i, g, grads):
        k = depth - 1 - i
        pk = {n: v[k] for n, v in p.items()}
        cache = {n: ta.read(k) for n, ta in caches.items()}
        layer_grads, g = _dense_backward(net, pk, cache, g, rates, input_grad=True)
        return i + 1, g, {n: ta.write(k, layer_grads[n]) for n, ta in grads.items()}

    _, g, grads = tf.while_loop(lambda i, *_: i < depth, body, (0, g, grads),
                                parallel_iterations=1)
    return {n: _stacked(ta, p[n]) for n, ta in grads.items()}, g


def forward(net: Net, params: Params, x, rates: Rates, training: bool):
    """The output layer's pre-activation; with ``training``, also caches and new statistics.

    Returns ``(z, caches, moving)``.
    """
    layout = net.layout
    hidden, stats, output = layout.split(params)
    front = layout.front(params)
    h, caches, new_stats, embedded = x, [], [], None
    if layout.embedding:
        h, embedded = embedding.forward(front, x)
    for b in range(layout.n_blocks):
        block = _stack_forward if layout.is_stack(b) else _dense_forward
        h, cache, s = block(net, hidden[b], stats[b], h, b, rates, training)
        caches.append(cache)
        new_stats.append(s)
    caches.append({"h": h, "embedding": embedded})
    z = tf.matmul(h, output["kernel"]) + output["bias"]
    return z, caches, layout.join(hidden, new_stats, output, front).moving


def backward(net: Net, params: Params, caches: list, dz, rates: Rates) -> tuple:
    """Gradients of the trainable arrays, given ``dz`` = d loss / d z of the output."""
    layout = net.layout
    hidden, _, output = layout.split(params)
    out_grads = {
        "kernel": tf.matmul(caches[-1]["h"], dz, transpose_a=True),
        "bias": tf.reduce_sum(dz, axis=0),
    }
    # The input's gradient is needed below a hidden layer, or for an embedding.
    needs_input = layout.n_blocks or layout.embedding
    g = tf.matmul(dz, output["kernel"], transpose_b=True) if needs_input else None
    hidden_grads = [None] * layout.n_blocks
    for b in reversed(range(layout.n_blocks)):
        if layout.is_stack(b):
            hidden_grads[b], g = _stack_backward(net, hidden[b], caches[b], g, rates)
        else:
            hidden_grads[b], g = _dense_backward(
                net, hidden[b], caches[b], g, rates, input_grad=b > 0 or layout.embedding
            )
    front_grads = (embedding.backward(layout.front(params), caches[-1]["embedding"], g)
                   if layout.embedding else None)
    return layout.join_trainable(hidden_grads, {n: out_grads[n] for n in DENSE}, front_grads)


def add_penalty(layout: Layout, params: Params, grads: tuple, l1, l2) -> tuple:
    """Add the gradient of Keras' L1L2 penalty on every kernel (l1*|W| + l2*W**2)."""
    grads = list(grads)
    for i in layout.kernel_positions():
        w = params.trainable[i]
        grads[i] = grads[i] + l1 * tf.sign(w) + 2.0 * l2 * w
    return tuple(grads)


def kernel_norms(layout: Layout, grads: tuple) -> tf.Tensor:
    """The L2 norm of each Dense kernel's gradient, in network order (a stack, per layer)."""
    flags = layout.stacked_flags()
    norms = []
    for i in layout.kernel_positions():
        if flags[i]:
            norms.append(tf.sqrt(tf.reduce_sum(tf.square(grads[i]), axis=[1, 2])))
        else:
            norms.append(tf.reshape(tf.norm(grads[i]), [1]))
    return tf.concat(norms, axis=0)
