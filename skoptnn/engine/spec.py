"""One description of a network and its training, as plain values.

Every field says how the training graph treats it (``graph`` in its metadata):

* ``"value"``: its value fixes the graph (a trace-time choice);
* ``"on_off"``: only whether it is non-zero fixes the graph, its value is fed;
* ``"fed"``: a tensor fed to the graph (shapes included: depth and width);
* ``"none"``: the graph never sees it (for example the initializer, which only
  draws the starting weights).

:meth:`TrainSpec.graph_key` is derived from these marks, so the cache key, the
runtime feed and docs/engine.md's list of what recompiles cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields


def _mark(graph: str, **kwargs):
    return field(metadata={"graph": graph}, **kwargs)


@dataclass(frozen=True)
class NetworkSpec:
    """The network: layers, activations, per-layer techniques and output."""

    n_features: int = _mark("fed")
    hidden_layer_sizes: tuple[int, ...] = _mark("fed")  # but see topology()
    activation: str = _mark("value")
    batch_norm: bool = _mark("value")
    dropout: float = _mark("on_off")
    l1: float = _mark("fed")
    l2: float = _mark("fed")
    n_outputs: int = _mark("fed")
    output_activation: str = _mark("value")
    kernel_initializer: str = _mark("none", default="auto")

    def topology(self) -> tuple[int, bool]:
        """``(layers unrolled in the graph, whether a stack of equal layers follows)``.

        Equal hidden widths (``n_layers`` x ``units``) are one unrolled first layer
        and a stack of ``n_layers - 1`` square layers that the graph loops over, so
        neither depth nor width fixes the graph. Irregular sizes unroll every
        layer: their graph is fixed by the depth (not the widths).
        """
        sizes = self.hidden_layer_sizes
        if not sizes:
            return 0, False
        if len(set(sizes)) == 1:
            return 1, True
        return len(sizes), False


@dataclass(frozen=True)
class TrainSpec:
    """Everything a fit's training depends on, beyond its data and loop options."""

    network: NetworkSpec
    loss: str = _mark("value")
    metric: str = _mark("value")
    optimizer: str = _mark("value")
    clipnorm: float | None = _mark("on_off")
    clipvalue: float | None = _mark("on_off")

    @property
    def clip(self) -> tuple[str | None, float]:
        """``(clipping mode, threshold)``: ``("norm", c)``, ``("value", c)`` or ``(None, 1.0)``."""
        if self.clipnorm is not None:
            return "norm", self.clipnorm
        if self.clipvalue is not None:
            return "value", self.clipvalue
        return None, 1.0

    def graph_key(self, monitor_gradients: bool) -> tuple:
        """What fixes the compiled training graph; fits with one key share it."""
        key = []
        for spec in (self.network, self):
            for f in fields(spec):
                mark = f.metadata.get("graph")
                value = getattr(spec, f.name)
                if mark == "value":
                    key.append((f.name, value))
                elif mark == "on_off":
                    key.append((f.name, bool(value)))
        key.append(("topology", self.network.topology()))
        key.append(("monitor_gradients", bool(monitor_gradients)))
        return tuple(key)


def graph_fields() -> dict[str, list[str]]:
    """The fields of each mark, for documentation and tests."""
    out: dict[str, list[str]] = {}
    for cls in (NetworkSpec, TrainSpec):
        for f in fields(cls):
            if "graph" in f.metadata:
                out.setdefault(f.metadata["graph"], []).append(f.name)
    return out
