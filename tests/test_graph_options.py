"""skoptnn's compiled calls skip some of TensorFlow's graph rewrites, and only they do.

Four of grappler's passes cost much of each new architecture's first-call
set-up and do not speed up these small graphs (``benchmarks/compile_cost.py``);
the option is set per thread, around skoptnn's own calls, so the user's other
TensorFlow functions keep every rewrite.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_classification
from tensorflow.core.protobuf import config_pb2, rewriter_config_pb2
from tensorflow.python.eager import context

from skoptnn import OptimizedMLPClassifier, _training


def _rewrites_disabled() -> bool:
    """Whether this thread's function calls skip exactly skoptnn's passes."""
    options = context.context().function_call_options
    config = config_pb2.ConfigProto.FromString(options.config_proto_serialized)
    rewrites = config.graph_options.rewrite_options
    off = rewriter_config_pb2.RewriterConfig.OFF
    skipped = {name for name in _training._SKIPPED_REWRITES if getattr(rewrites, name) == off}
    kept = ("function_optimization", "arithmetic_optimization")
    assert not rewrites.disable_meta_optimizer
    assert all(getattr(rewrites, name) != off for name in kept)
    return skipped == set(_training._SKIPPED_REWRITES)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=80, n_features=4, random_state=0)
    return X.astype(np.float32), y


def test_fit_and_predict_run_without_rewrites_and_restore_the_option(data, monkeypatch):
    X, y = data
    seen = []
    run = _training._Trainer._run

    def recording_run(self, options, args):
        seen.append(("fit", _rewrites_disabled()))
        return run(self, options, args)

    monkeypatch.setattr(_training._Trainer, "_run", recording_run)
    before = context.context().function_call_options.config_proto_serialized
    assert not _rewrites_disabled()

    est = OptimizedMLPClassifier(hidden_layer_sizes=(5,), epochs=2, random_state=0).fit(X, y)
    trainer = _training.get_trainer(est._spec)
    forward = trainer._forward

    def recording_forward(*args):
        seen.append(("predict", _rewrites_disabled()))
        return forward(*args)

    monkeypatch.setattr(trainer, "_forward", recording_forward)
    assert est.predict(X).shape == (len(X),)

    assert ("fit", True) in seen and ("predict", True) in seen
    assert all(disabled for _, disabled in seen)
    # The caller's thread gets its own options back, unchanged.
    assert context.context().function_call_options.config_proto_serialized == before


def test_option_is_restored_when_the_call_fails():
    before = context.context().function_call_options.config_proto_serialized
    with pytest.raises(RuntimeError, match="boom"), _training._lean_graph_rewrites():
        assert _rewrites_disabled()
        raise RuntimeError("boom")
    assert context.context().function_call_options.config_proto_serialized == before
