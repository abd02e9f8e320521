"""Compiled training loops, one per graph key, shared by the threads of a process.

A key (see :meth:`skoptnn.engine.spec.TrainSpec.graph_key`) is traced once per
process; the loop is a pure function, so concurrent fits simply call it.
Also here: the guards that keep TensorFlow from running where it cannot.
"""

from __future__ import annotations

import collections
import functools
import os
import threading
from collections.abc import Callable

import numpy as np

from .loop import make_loop
from .runtime import THREADS_ERROR, tf
from .spec import GraphKey

# Compiled loops kept per process: None sizes the cache on first use by
# capacity(), so that no shipped search space evicts a graph it will visit again.
CACHE_SIZE: int | None = None
# Room for hand-made fits beside a search, each loop holding a few MB.
_FLOOR = 32

_loops: collections.OrderedDict[GraphKey, Callable] = collections.OrderedDict()
_lock = threading.Lock()
_traces = 0


@functools.cache
def _most_visited_keys() -> int:
    """The most graph keys any one of skoptnn's shipped search spaces can visit.

    A space's dimensions that fix the graph (the spec's ``value`` and ``on_off``
    fields, and a depth range that includes 0) multiply its count; the target
    fixes the output layer, so one search sees one.
    """
    from .. import spaces
    from .spec import graph_fields

    marks = graph_fields()
    count_all = {*marks["value"]} - {"output_activation", "metric"}
    candidates = [make() for make in (spaces.classifier_space, spaces.regressor_space)]
    candidates += [spaces.preset_space(name, space=make) for name in spaces.PRESETS
                   for make in (spaces.classifier_space, spaces.regressor_space)]
    most = 0
    for space in candidates:
        count = 1
        for name, dim in space.items():
            categories = getattr(dim, "categories", None)
            if name in count_all and categories is not None:
                count *= len(set(categories))
            elif name in marks["on_off"]:  # a range from 0 holds off and on
                values = categories if categories is not None else (dim.low, dim.high)
                count *= len({bool(v) for v in values})
            elif name == "n_layers" and getattr(dim, "low", 1) == 0:
                count *= 2  # no hidden layer is a graph of its own
        most = max(most, count)
    return most


def capacity() -> int:
    """How many compiled loops this process keeps."""
    return CACHE_SIZE if CACHE_SIZE is not None else max(_FLOOR, _most_visited_keys())


def traced_graphs() -> int:
    """How many training graphs this process has traced so far."""
    return _traces


def _note_trace() -> None:
    global _traces
    with _lock:
        _traces += 1


def _signature(sample):
    # Every dimension unknown: one trace serves every depth, width and data size.
    return tf.nest.map_structure(
        lambda a: tf.TensorSpec([None] * np.ndim(a), tf.as_dtype(np.asarray(a).dtype)), sample
    )


def _with_dropout(key: GraphKey) -> GraphKey | None:
    """The key of the same graph with dropout, for a key without it (else None)."""
    return None if key.dropout else key._replace(dropout=True)


def compiled_loop(key: GraphKey, sample: tuple) -> Callable:
    """The compiled loop for ``key``; ``sample`` (its arguments) gives the signature.

    A fit without dropout runs the graph with dropout at rate 0 when only that
    one is compiled: its masks keep every unit and scale by 1, so it trains
    exactly as the graph without dropout would (a test compares them), and a
    search whose optimizer proposes a dropout of exactly 0 traces no second
    graph for it.
    """
    with _lock:
        for candidate in (key, _with_dropout(key)):
            loop = _loops.get(candidate) if candidate is not None else None
            if loop is not None:
                _loops.move_to_end(candidate)
                return loop
    python_loop = make_loop(key)

    def skoptnn_training_loop(*args):  # the name keeps TensorFlow's retracing hint away
        _note_trace()  # runs only while tracing
        return python_loop(*args)

    # autograph=False: the loop is written with explicit tf.while_loop and tf.cond.
    loop = tf.function(skoptnn_training_loop, input_signature=list(_signature(sample)),
                       autograph=False)
    with _lock:
        loop = _loops.setdefault(key, loop)  # a thread that raced here uses the first
        while len(_loops) > capacity():
            _loops.popitem(last=False)
    return loop


def clear_cache() -> None:
    """Drop every compiled loop of this process."""
    with _lock:
        _loops.clear()


def cached_keys() -> list[GraphKey]:
    with _lock:
        return list(_loops)


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
