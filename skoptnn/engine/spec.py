"""One description of a network and its training, as plain values.

Every field says how the training graph treats it (``graph`` in its metadata):

* ``"value"``: its value fixes the graph (a trace-time choice);
* ``"on_off"``: only whether it is set fixes the graph, its value is fed;
* ``"fed"``: its value is fed to the graph as a scalar;
* ``"shape"``: it reaches the graph only as the shapes of the arrays (depth,
  width), which the graph leaves unknown;
* ``"none"``: the graph never sees it (for example the initializer, which only
  draws the starting weights).

and whether continued training (``warm_start``, ``partial_fit``) must keep it
(``keep``: the arrays or the optimizer state it starts from would not fit).

The graph's cache key (:class:`GraphKey`), the scalars fed to it
(:meth:`TrainSpec.fed`) and what continued training checks
(:meth:`TrainSpec.kept`) are all derived from these marks, so none of them is
a hand-kept list that could drift from the fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, NamedTuple


def _mark(graph: str, keep: bool = False, **kwargs):
    return field(metadata={"graph": graph, "keep": keep}, **kwargs)


@dataclass(frozen=True)
class NetworkSpec:
    """The network: layers, activations, per-layer techniques and output."""

    n_features: int = _mark("shape", keep=True)
    hidden_layer_sizes: tuple[int, ...] = _mark("shape", keep=True)  # but see topology()
    activation: str = _mark("value", keep=True)
    batch_norm: bool = _mark("value", keep=True)
    dropout: float = _mark("on_off")
    l1: float = _mark("fed")
    l2: float = _mark("fed")
    n_outputs: int = _mark("shape", keep=True)
    output_activation: str = _mark("value", keep=True)
    kernel_initializer: str = _mark("none", default="auto")
    # Defaults: descriptions saved before these fields existed load as without them.
    numeric_embedding: str = _mark("value", keep=True, default="none")
    embedding_scale: float = _mark("none", default=0.1)

    @property
    def input_width(self) -> int:
        """The first hidden layer's input width (the embedding's, with one)."""
        if self.numeric_embedding == "none":
            return self.n_features
        from .embedding import width

        return width(self.n_features)

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
    loss: str = _mark("value", keep=True)
    metric: str = _mark("value")
    optimizer: str = _mark("value", keep=True)
    clipnorm: float | None = _mark("on_off")
    clipvalue: float | None = _mark("on_off")
    # Defaults: descriptions saved before these fields existed load as without them.
    label_smoothing: float = _mark("on_off", default=0.0)

    def _marked(self):
        for spec in (self.network, self):
            for f in fields(spec):
                if "graph" in f.metadata:
                    yield f, getattr(spec, f.name)

    def graph_key(self, monitor_gradients: bool) -> GraphKey:
        """What fixes the compiled training graph; fits with one key share it."""
        values = {f.name: (bool(v) if f.metadata["graph"] == "on_off" else v)
                  for f, v in self._marked() if f.metadata["graph"] in ("value", "on_off")}
        return GraphKey(**values, topology=self.network.topology(),
                        monitor_gradients=bool(monitor_gradients))

    def fed(self) -> dict[str, float]:
        """The scalars fed to the graph (an unset ``on_off`` field as 0)."""
        return {f.name: (0.0 if v is None else float(v))
                for f, v in self._marked() if f.metadata["graph"] in ("fed", "on_off")}

    def kept(self) -> dict[str, Any]:
        """What continued training must keep, by field name."""
        return {f.name: v for f, v in self._marked() if f.metadata["keep"]}


def _names(*marks: str) -> list[str]:
    return [f.name for cls in (NetworkSpec, TrainSpec) for f in fields(cls)
            if f.metadata.get("graph") in marks]


#: The compiled graph's cache key: the ``value`` and ``on_off`` fields (the
#: latter as bools), the network's topology and whether gradients are monitored.
GraphKey = NamedTuple("GraphKey", [(name, Any) for name in _names("value", "on_off")]
                      + [("topology", tuple), ("monitor_gradients", bool)])

#: The scalars a fit feeds the graph (:meth:`TrainSpec.fed`), in order.
FED = tuple(_names("fed", "on_off"))


def graph_fields() -> dict[str, list[str]]:
    """The fields of each mark, for documentation and tests."""
    out: dict[str, list[str]] = {}
    for cls in (NetworkSpec, TrainSpec):
        for f in fields(cls):
            if "graph" in f.metadata:
                out.setdefault(f.metadata["graph"], []).append(f.name)
    return out
