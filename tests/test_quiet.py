"""At verbose=0 a fresh process prints nothing: no TensorFlow start-up notices."""

import os
import subprocess
import sys

# Import, fit (early stopping, gradient monitoring), predict, model_, pickle:
# everything a first session touches.
_SESSION = """
import pickle
import numpy as np
from skoptnn import OptimizedMLPClassifier, OptimizedMLPRegressor
rng = np.random.RandomState(0)
X = rng.randn(60, 4)
clf = OptimizedMLPClassifier(epochs=3, early_stopping=True, monitor_gradients=True,
                             batch_norm=True, dropout=0.1, random_state=0)
clf.fit(X, X[:, 0] > 0).predict_proba(X)
clf.model_
pickle.loads(pickle.dumps(clf)).predict(X)
OptimizedMLPRegressor(epochs=3, random_state=0).fit(X, X[:, 1]).predict(X)
"""


def test_a_fresh_session_prints_nothing():
    env = {k: v for k, v in os.environ.items() if k != "SKOPTNN_TF_LOGS"}
    result = subprocess.run([sys.executable, "-c", _SESSION], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    # Both file descriptors: TensorFlow's C++ logging writes to fd 2 directly.
    assert (result.stdout, result.stderr) == ("", "")
