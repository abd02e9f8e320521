"""The network's arrays: how they are laid out, and their starting values.

Hidden layers form *blocks*: ``n_unrolled`` single layers, then (for equal
widths) one *stack* holding the remaining square layers along a leading axis,
which the graph loops over. Each hidden block holds ``kernel`` and ``bias``
(and with batch norm ``gamma``/``beta``, plus the non-trainable moving
statistics); the output block holds ``kernel`` and ``bias``. The flat lists
of :class:`Params` run block by block in that order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import embedding
from .activations import ACTIVATIONS
from .runtime import keras
from .spec import NetworkSpec

DENSE = ("kernel", "bias")
BN_TRAINABLE = ("gamma", "beta")
BN_MOVING = ("moving_mean", "moving_variance")
_BN_INITIAL = {"gamma": 1.0, "beta": 0.0, "moving_mean": 0.0, "moving_variance": 1.0}

_INITIALIZER_CLASSES = {
    "zeros": keras.initializers.Zeros,
    "random_normal": keras.initializers.RandomNormal,
    "random_uniform": keras.initializers.RandomUniform,
    "glorot_uniform": keras.initializers.GlorotUniform,
    "glorot_normal": keras.initializers.GlorotNormal,
    "he_normal": keras.initializers.HeNormal,
    "he_uniform": keras.initializers.HeUniform,
    "lecun_normal": keras.initializers.LecunNormal,
    "lecun_uniform": keras.initializers.LecunUniform,
}
INITIALIZERS = ("auto", *_INITIALIZER_CLASSES)

# Hidden layer i's dropout masks come from the stream seeded seed + DROPOUT_SEED_OFFSET + i
# (Keras' Dropout layers of model_ are seeded alike, so the two draw the same masks).
DROPOUT_SEED_OFFSET = 1000


class Params(NamedTuple):
    """A network's values: trainable and moving (batch-norm statistics), flat."""

    trainable: tuple
    moving: tuple


@dataclass(frozen=True)
class Layout:
    """Where each array of a network of this shape sits in :class:`Params`."""

    n_unrolled: int
    stacked: bool
    batch_norm: bool
    embedding: bool = False  # a numeric embedding's arrays come first

    @classmethod
    def of(cls, spec: NetworkSpec) -> Layout:
        return cls(*spec.topology(), spec.batch_norm, spec.numeric_embedding != "none")

    @property
    def n_front(self) -> int:
        """Trainable arrays before the hidden blocks (the embedding's)."""
        return len(embedding.NAMES) if self.embedding else 0

    def front(self, params: Params) -> dict:
        """The embedding's arrays by name ({} without one)."""
        if not self.embedding:
            return {}
        return dict(zip(embedding.NAMES, params.trainable[:self.n_front], strict=True))

    @property
    def hidden_names(self) -> tuple[str, ...]:
        return DENSE + (BN_TRAINABLE if self.batch_norm else ())

    @property
    def moving_names(self) -> tuple[str, ...]:
        return BN_MOVING if self.batch_norm else ()

    @property
    def n_blocks(self) -> int:
        """Hidden blocks: the unrolled layers, then the stack."""
        return self.n_unrolled + int(self.stacked)

    def is_stack(self, block: int) -> bool:
        return self.stacked and block == self.n_unrolled

    def stacked_flags(self) -> list[bool]:
        """For each trainable array: does axis 0 index layers?"""
        flags = [False] * self.n_front
        for block in range(self.n_blocks):
            flags += [self.is_stack(block)] * len(self.hidden_names)
        return flags + [False] * len(DENSE)

    def split(self, params: Params) -> tuple[list[dict], list[dict], dict]:
        """``(hidden trainable dicts, hidden moving dicts, output dict)``, per block."""
        names, moving = self.hidden_names, self.moving_names
        trainable = params.trainable[self.n_front:]
        hidden = [
            dict(zip(names, trainable[b * len(names):(b + 1) * len(names)], strict=True))
            for b in range(self.n_blocks)
        ]
        stats = [
            dict(zip(moving, params.moving[b * len(moving):(b + 1) * len(moving)], strict=True))
            for b in range(self.n_blocks)
        ]
        output = dict(zip(DENSE, params.trainable[-len(DENSE):], strict=True))
        return hidden, stats, output

    def join(self, hidden: list[dict], stats: list[dict], output: dict,
             front: dict | None = None) -> Params:
        moving = [block[n] for block in stats for n in self.moving_names]
        return Params(self.join_trainable(hidden, output, front), tuple(moving))

    def join_trainable(self, hidden: list[dict], output: dict,
                       front: dict | None = None) -> tuple:
        first = [front[n] for n in embedding.NAMES] if self.embedding else []
        trainable = [block[n] for block in hidden for n in self.hidden_names]
        return tuple(first + trainable + [output[n] for n in DENSE])

    def kernel_positions(self) -> list[int]:
        """Where the kernels sit among the trainable arrays (hidden blocks, then output)."""
        per_block, first = len(self.hidden_names), self.n_front
        return [first + b * per_block for b in range(self.n_blocks)] + [
            first + per_block * self.n_blocks]


def _unstack(layout: Layout, blocks: list[dict]) -> list[dict]:
    out = []
    for block, values in enumerate(blocks):
        if layout.is_stack(block):
            out += [{k: v[i] for k, v in values.items()} for i in range(len(values["kernel"]))]
        else:
            out.append(values)
    return out


def _restack(layout: Layout, hidden_layers: list[dict], names: tuple) -> list[dict]:
    blocks = [{n: layer[n] for n in names} for layer in hidden_layers[:layout.n_unrolled]]
    if layout.stacked:
        rest = hidden_layers[layout.n_unrolled:]
        width = len(hidden_layers[0]["bias"])
        # An empty stack (one hidden layer) keeps the width in its shape.
        blocks.append({
            n: np.stack([layer[n] for layer in rest]) if rest
            else np.zeros((0, width, width) if n == "kernel" else (0, width), np.float32)
            for n in names
        })
    return blocks


def layers(spec: NetworkSpec, params: Params) -> list[dict]:
    """One dict of arrays per Dense layer (hidden ones, then the output), stacks unstacked."""
    layout = Layout.of(spec)
    hidden, stats, output = layout.split(params)
    blocks = [{**h, **s} for h, s in zip(hidden, stats, strict=True)]
    return [*_unstack(layout, blocks), output]


def from_layers(spec: NetworkSpec, per_layer: list[dict], front: dict | None = None) -> Params:
    """The inverse of :func:`layers`, given the embedding's arrays (``front``) if it has one."""
    layout = Layout.of(spec)
    *hidden_layers, output = per_layer
    hidden = _restack(layout, hidden_layers, layout.hidden_names)
    stats = _restack(layout, hidden_layers, layout.moving_names) if layout.batch_norm else [
        {} for _ in hidden]
    return layout.join(hidden, stats, output, front)


def keras_order(spec: NetworkSpec, trainable: tuple) -> list:
    """Trainable-shaped arrays (weights, gradients, optimizer slots) in a Keras model's order."""
    layout = Layout.of(spec)
    width = len(layout.hidden_names)
    first, trainable = list(trainable[:layout.n_front]), trainable[layout.n_front:]
    hidden = [dict(zip(layout.hidden_names, trainable[b * width:(b + 1) * width], strict=True))
              for b in range(layout.n_blocks)]
    output = trainable[-len(DENSE):]
    return first + [layer[n] for layer in _unstack(layout, hidden)
                    for n in layout.hidden_names] + list(output)


def from_keras_order(spec: NetworkSpec, values: list) -> tuple:
    """The inverse of :func:`keras_order`."""
    layout = Layout.of(spec)
    names = layout.hidden_names
    front = dict(zip(embedding.NAMES, values[:layout.n_front], strict=True)) \
        if layout.embedding else None
    values = values[layout.n_front:]
    per_layer = [dict(zip(names, values[i:i + len(names)], strict=True))
                 for i in range(0, len(values) - len(DENSE), len(names))]
    hidden = _restack(layout, per_layer, names)
    return layout.join_trainable(hidden, dict(zip(DENSE, values[-len(DENSE):], strict=True)),
                                 front)


def kernel_initializer(spec: NetworkSpec, index: int) -> str:
    """The initializer of Dense layer ``index`` (the output layer is the last)."""
    name = spec.kernel_initializer
    if name != "auto":
        return name
    if index < len(spec.hidden_layer_sizes):
        return ACTIVATIONS[spec.activation].initializer
    return "glorot_uniform"  # the output layer, whatever the hidden activation


def keras_initializer(name: str, seed: int) -> keras.initializers.Initializer:
    """Keras' initializer ``name``, seeded: what a Keras layer of skoptnn's starts from."""
    cls = _INITIALIZER_CLASSES[name]
    return cls() if name == "zeros" else cls(seed=seed)


def draw_kernel(name: str, shape: tuple[int, int], seed: int) -> np.ndarray:
    """The kernel that :func:`keras_initializer` draws for a layer of ``shape``."""
    return np.asarray(keras_initializer(name, seed)(shape, "float32"))


def initial_params(spec: NetworkSpec, seed: int) -> Params:
    """The starting values of every array; Dense layer ``i`` draws with ``seed + i``.

    Biases start at zero; batch norm at gamma 1, beta 0, mean 0, variance 1.
    """
    sizes = [spec.input_width, *spec.hidden_layer_sizes, spec.n_outputs]
    per_layer = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layer = {
            "kernel": draw_kernel(kernel_initializer(spec, i), (fan_in, fan_out), seed + i),
            "bias": np.zeros(fan_out, np.float32),
        }
        if spec.batch_norm and i < len(spec.hidden_layer_sizes):
            layer.update({n: np.full(fan_out, v, np.float32) for n, v in _BN_INITIAL.items()})
        per_layer.append(layer)
    front = (embedding.initial(spec.n_features, spec.embedding_scale, seed)
             if spec.numeric_embedding != "none" else None)
    return from_layers(spec, per_layer, front)
