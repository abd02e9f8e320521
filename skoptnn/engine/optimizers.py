"""Keras 3's optimizers as pure TensorFlow update rules.

For the raw-TensorFlow training engine, which keeps weights and optimizer state
as tensors in one ``tf.function``: reproduces the arithmetic of
``keras.optimizers.{Adam, AdamW, Nadam, RMSprop, SGD, Adagrad, Adadelta}`` at
their default hyper-parameters, operation for operation (float32 round-off
included), Keras' ``clipnorm``/``clipvalue``, and the conversion of the state
to and from a built Keras optimizer (``to_keras``/``from_keras``).

Keras' step is: clip each gradient, decay every variable (AdamW), run the update
rule (Nadam first advances its global ``u_product``), increment ``iterations``.
``clip_gradients`` does the first, ``apply_updates`` the rest. The rules are
elementwise, so a *stacked* tensor (axis 0 indexing equal-shape layers) is
updated exactly as its slices one by one; only clipnorm must know of stacks.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from .runtime import keras, tf

_F32 = tf.float32


class OptimizerState(NamedTuple):
    """The optimizer's state as a ``tf.nest`` structure (valid ``tf.while_loop`` loop vars)."""

    step: Any  # int64 scalar: Keras' `iterations`, the number of updates applied so far
    slots: tuple  # slots[k][i]: slot k of variable i
    extra: tuple  # global float32 scalars (Nadam: (u_product,))


# An update function maps (variable, gradient, its slots, lr, step, extras) to
# (new variable, new slots); `step` is Keras' `iterations` before this update.
# Its keyword defaults are the Keras hyper-parameters it hard-codes (the tests
# compare them with the Keras signatures). Python-float constants stay Python
# floats where Keras keeps them so, because `1 - 0.9` computed in float64 then
# rounded is not `1 - float32(0.9)`.


def _sgd(var, grad, slots, lr, step, extra):
    return var - grad * lr, ()


def _adam(var, grad, slots, lr, step, extra, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    m, v = slots
    t = tf.cast(step + 1, _F32)
    beta_1_power = tf.pow(tf.constant(beta_1, _F32), t)
    beta_2_power = tf.pow(tf.constant(beta_2, _F32), t)
    alpha = lr * tf.sqrt(1 - beta_2_power) / (1 - beta_1_power)
    m = m + (grad - m) * (1 - beta_1)
    v = v + (tf.square(grad) - v) * (1 - beta_2)
    # Keras: epsilon outside the sqrt, and not bias-corrected.
    return var - (m * alpha) / (tf.sqrt(v) + epsilon), (m, v)


def _nadam_u_product(extra, step, beta_1=0.9):
    (u_product,) = extra
    t = tf.cast(step + 1, _F32)
    return (u_product * beta_1 * (1.0 - 0.5 * tf.pow(tf.constant(0.96, _F32), t)),)


def _nadam(var, grad, slots, lr, step, extra, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    m, v = slots
    (u_product_t,) = extra  # already advanced for this step, as in Keras
    # Unlike Adam, Keras' Nadam casts the betas to float32 before `1 - beta`.
    beta_1, beta_2 = tf.constant(beta_1, _F32), tf.constant(beta_2, _F32)
    decay = tf.constant(0.96, _F32)
    u_t = beta_1 * (1.0 - 0.5 * tf.pow(decay, tf.cast(step + 1, _F32)))
    u_t_1 = beta_1 * (1.0 - 0.5 * tf.pow(decay, tf.cast(step + 2, _F32)))
    u_product_t_1 = u_product_t * u_t_1
    beta_2_power = tf.pow(beta_2, tf.cast(step + 1, _F32))
    m = m + (grad - m) * (1 - beta_1)
    v = v + (tf.square(grad) - v) * (1 - beta_2)
    m_hat = (u_t_1 * m) / (1 - u_product_t_1) + ((1 - u_t) * grad) / (1 - u_product_t)
    v_hat = v / (1 - beta_2_power)
    return var - (m_hat * lr) / (tf.sqrt(v_hat) + epsilon), (m, v)


def _rmsprop(var, grad, slots, lr, step, extra, rho=0.9, epsilon=1e-7):
    (velocity,) = slots
    velocity = rho * velocity + (1 - rho) * tf.square(grad)
    # Keras: epsilon inside the sqrt.
    return var - (lr * grad) / tf.sqrt(velocity + epsilon), (velocity,)


def _adagrad(var, grad, slots, lr, step, extra, epsilon=1e-7):
    (accumulator,) = slots
    accumulator = accumulator + tf.square(grad)
    return var - (lr * grad) / tf.sqrt(accumulator + epsilon), (accumulator,)


def _adadelta(var, grad, slots, lr, step, extra, rho=0.95, epsilon=1e-7):
    accumulated_grad, accumulated_delta = slots
    accumulated_grad = rho * accumulated_grad + (1 - rho) * tf.square(grad)
    delta = -((tf.sqrt(accumulated_delta + epsilon) * grad) / tf.sqrt(accumulated_grad + epsilon))
    accumulated_delta = rho * accumulated_delta + (1 - rho) * tf.square(delta)
    return var + lr * delta, (accumulated_grad, accumulated_delta)


@dataclass(frozen=True)
class Rule:
    """One optimizer: its Keras class, state layout and update function."""

    keras_class: type
    slots: tuple[str, ...]  # per-variable slot names, as Keras suffixes its slot variables
    update: Callable  # (var, grad, slots, lr, step, extra) -> (var, slots)
    slot_init: float = 0.0
    extra_init: tuple[float, ...] = ()  # initial values of the global scalars
    update_extra: Callable | None = None  # (extra, step) -> extra, before the updates
    weight_decay: float | None = None  # decoupled decay, `var - var * wd * lr`


_opt = keras.optimizers
OPTIMIZERS: dict[str, Rule] = {
    "adam": Rule(_opt.Adam, ("momentum", "velocity"), _adam),
    "adamw": Rule(_opt.AdamW, ("momentum", "velocity"), _adam, weight_decay=0.004),
    "nadam": Rule(
        _opt.Nadam,
        ("momentum", "velocity"),
        _nadam,
        extra_init=(1.0,),
        update_extra=_nadam_u_product,
    ),
    "rmsprop": Rule(_opt.RMSprop, ("velocity",), _rmsprop),
    "sgd": Rule(_opt.SGD, (), _sgd),
    "adagrad": Rule(_opt.Adagrad, ("accumulator",), _adagrad, slot_init=0.1),
    "adadelta": Rule(_opt.Adadelta, ("accumulated_grad", "accumulated_delta_var"), _adadelta),
}


def default_learning_rate(name: str) -> float:
    """Keras' default learning rate for optimizer ``name``."""
    return inspect.signature(OPTIMIZERS[name].keras_class).parameters["learning_rate"].default


def initial_state(name: str, params: Sequence) -> OptimizerState:
    """The state of a freshly built Keras optimizer for ``params``, as numpy arrays."""
    rule = OPTIMIZERS[name]
    slots = tuple(
        tuple(np.full(tuple(p.shape), rule.slot_init, np.float32) for p in params)
        for _ in rule.slots
    )
    extra = tuple(np.asarray(x, np.float32) for x in rule.extra_init)
    return OptimizerState(np.int64(0), slots, extra)


def clip_gradients(grads: Sequence, mode: str | None, threshold, stacked: Sequence[bool]) -> list:
    """Keras' ``clipnorm`` (``mode="norm"``) or ``clipvalue`` (``"value"``); None: unchanged.

    A stacked gradient stands for one Keras variable per slice along axis 0, so
    clipnorm bounds each slice's norm, not the stack's.
    """
    grads = [tf.convert_to_tensor(g, _F32) for g in grads]
    if mode is None:
        return grads
    threshold = tf.cast(threshold, _F32)
    if mode == "value":
        return [tf.clip_by_value(g, -threshold, threshold) for g in grads]
    if mode == "norm":
        return [
            tf.clip_by_norm(g, threshold, axes=tf.range(1, tf.rank(g)) if s else None)
            for g, s in zip(grads, stacked, strict=True)
        ]
    raise ValueError(f"clipping mode must be None, 'norm' or 'value'; got {mode!r}")


def apply_updates(
    name: str, params: Sequence, grads: Sequence, state: OptimizerState, learning_rate
) -> tuple[list, OptimizerState]:
    """One Keras optimizer step on already-clipped ``grads``; returns new params and state."""
    rule = OPTIMIZERS[name]
    lr = tf.cast(learning_rate, _F32)
    params = [tf.convert_to_tensor(p, _F32) for p in params]
    grads = [tf.convert_to_tensor(g, _F32) for g in grads]
    step = tf.cast(state.step, tf.int64)
    slots = tf.nest.map_structure(lambda s: tf.convert_to_tensor(s, _F32), state.slots)
    extra = tuple(tf.convert_to_tensor(x, _F32) for x in state.extra)
    if rule.weight_decay is not None:
        # Keras decays every variable before any update; the decayed one is updated.
        wd = tf.constant(rule.weight_decay, _F32)
        params = [p - p * wd * lr for p in params]
    if rule.update_extra is not None:
        extra = tuple(rule.update_extra(extra, step))
    new_params, new_slots = [], []
    for i, (p, g) in enumerate(zip(params, grads, strict=True)):
        p, s = rule.update(p, g, tuple(slot[i] for slot in slots), lr, step, extra)
        new_params.append(p)
        new_slots.append(s)
    slots = tuple(tuple(s[k] for s in new_slots) for k in range(len(rule.slots)))
    return new_params, OptimizerState(step + 1, slots, extra)


def _keras_layout(optimizer, rule: Rule) -> tuple[Any, list[list], list]:
    """Split a built Keras optimizer's ``variables`` into (iterations, slots[k][i], extras).

    Keras 3.10-3.15 lay them out as: ``iteration``, ``learning_rate``, then per
    model variable (in build order) one ``<path>_<slot>`` variable per slot in
    ``rule.slots`` order, then the global scalars (Nadam's ``u_product``).
    Anything else is refused rather than guessed.
    """
    variables = list(optimizer.variables)
    n_slots, n_extra = len(rule.slots), len(rule.extra_init)
    per_var = variables[2 : len(variables) - n_extra]
    extras = variables[len(variables) - n_extra :]
    ok = (
        getattr(optimizer, "built", False)
        and [v.name for v in variables[:2]] == ["iteration", "learning_rate"]
        and len(variables) >= 2 + n_extra
        and (len(per_var) % n_slots == 0 if n_slots else not per_var)
        and all(v.name.endswith("_" + rule.slots[j % n_slots]) for j, v in enumerate(per_var))
        and all(tuple(v.shape) == () and v.dtype == "float32" for v in extras)
    )
    if not ok:
        raise RuntimeError(
            f"Unexpected layout of a {type(optimizer).__name__}'s variables (is it built?): "
            f"{[v.name for v in variables]}. Expected 'iteration', 'learning_rate', then per "
            f"model variable {list(rule.slots)}, then {n_extra} float32 scalar(s). This Keras "
            "version lays out its optimizer state differently: update "
            "skoptnn.engine.optimizers._keras_layout."
        )
    return variables[0], [per_var[k::n_slots] for k in range(n_slots)], extras


def to_keras(optimizer: keras.optimizers.Optimizer, state: OptimizerState) -> None:
    """Write ``state`` (one slot entry per Keras variable) into a built Keras optimizer.

    The learning rate is left as it is.
    """
    (rule,) = [r for r in OPTIMIZERS.values() if type(optimizer) is r.keras_class]
    iterations, slot_vars, extra_vars = _keras_layout(optimizer, rule)
    iterations.assign(np.int64(state.step))
    for variables, values in zip(slot_vars, state.slots, strict=True):
        for variable, value in zip(variables, values, strict=True):
            variable.assign(value)
    for variable, value in zip(extra_vars, state.extra, strict=True):
        variable.assign(value)


def from_keras(optimizer: keras.optimizers.Optimizer, name: str) -> OptimizerState:
    """A built Keras optimizer's state, as numpy arrays."""
    iterations, slot_vars, extra_vars = _keras_layout(optimizer, OPTIMIZERS[name])
    return OptimizerState(
        np.int64(iterations.numpy()),
        tuple(tuple(np.asarray(v.numpy(), np.float32) for v in vs) for vs in slot_vars),
        tuple(np.asarray(v.numpy(), np.float32) for v in extra_vars),
    )
