"""skoptnn's compiled calls skip TensorFlow's graph optimiser, and only they do.

Grappler's rewrites cost ~0.1 s on each new architecture's first call and do
not speed up these small graphs (``benchmarks/compile_cost.py``); the option
is set per thread, around skoptnn's own calls, so the user's other TensorFlow
functions are optimised as usual.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_classification
from tensorflow.core.protobuf import config_pb2
from tensorflow.python.eager import context

from skoptnn import OptimizedMLPClassifier, _training


def _rewrites_disabled() -> bool:
    options = context.context().function_call_options
    config = config_pb2.ConfigProto.FromString(options.config_proto_serialized)
    return config.graph_options.rewrite_options.disable_meta_optimizer


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
    with pytest.raises(RuntimeError, match="boom"), _training._without_graph_rewrites():
        assert _rewrites_disabled()
        raise RuntimeError("boom")
    assert context.context().function_call_options.config_proto_serialized == before
