"""What using skoptnn changes in the process: docs/compatibility.md, "What importing
skoptnn changes". Each check runs in a fresh interpreter, as a user's process starts."""

import json
import os
import re
import subprocess
import sys

import pytest

# Where scikeras' import patches Keras (scikeras/__init__.py).
_PATCHED = """
import keras
PATCHED = [(keras.Model, "__reduce__"), (keras.Model, "__deepcopy__"),
           (keras.losses.Loss, "__reduce__"), (keras.metrics.Metric, "__reduce__"),
           (keras.optimizers.Optimizer, "__reduce__")]
def methods():
    return [vars(cls).get(name) for cls, name in PATCHED]
"""

# Pickle and deepcopy of Keras objects and of a fitted estimator with model_ built.
_ROUND_TRIPS = """
import copy, pickle
import numpy as np
X = np.random.RandomState(0).randn(30, 3).astype("float32")
y = (X[:, 0] > 0).astype(int)

def round_trips(obj, same):
    return all(same(obj, f(obj)) for f in (lambda o: pickle.loads(pickle.dumps(o)),
                                            copy.deepcopy))

def same_model(a, b):
    return np.allclose(np.asarray(a(X)), np.asarray(b(X)))

def plain_model():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    model.fit(X, X[:, :2], epochs=1, verbose=0)
    return model

def keras_objects_round_trip():
    same_config = lambda a, b: a.get_config() == b.get_config()
    return (round_trips(plain_model(), same_model)
            and all(round_trips(o, same_config) for o in (
                keras.optimizers.Adam(0.01), keras.losses.Huber(delta=2.0),
                keras.metrics.AUC(num_thresholds=50))))

def estimator_round_trips(est):
    expected = est.predict_proba(X)
    return (round_trips(est, lambda a, b: np.array_equal(b.predict_proba(X), expected))
            and round_trips(est.model_, same_model))
"""


def _run(code, **env_updates):
    """Run ``code`` in a fresh interpreter; return its last stdout line as JSON, and stderr."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("SKOPTNN_TF_LOGS", "TF_CPP_MIN_LOG_LEVEL", "SKOPTNN_NUM_THREADS")}
    env.update(env_updates)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1]), out.stderr


def test_keras_objects_pickle_as_without_skoptnn():
    # scikeras' patch is undone: Keras' own methods, before and after using skoptnn.
    facts, _ = _run(_PATCHED + _ROUND_TRIPS + """
import json, sys
own = methods()
before = keras_objects_round_trip()
from skoptnn import OptimizedMLPClassifier
est = OptimizedMLPClassifier(epochs=2, random_state=0).fit(X, y)
est.model_
print(json.dumps({
    "scikeras_imported": "scikeras" in sys.modules,
    "unchanged": [now is then for now, then in zip(methods(), own)],
    "model_reduce": keras.Model.__reduce__.__qualname__,
    "before": before, "after": keras_objects_round_trip(),
    "estimator": estimator_round_trips(est),
}))
""")
    assert facts["scikeras_imported"]  # else the check below would prove nothing
    assert facts["unchanged"] == [True] * 5
    assert facts["model_reduce"] == "KerasSaveable.__reduce__"
    assert facts["before"] and facts["after"] and facts["estimator"]


def test_scikeras_imported_first_keeps_its_patch(tmp_path):
    # The user's own import of scikeras: its patch stays, and skoptnn still works with it.
    # An estimator pickled with its model_ (as scikeras-era skoptnn did) in that
    # process loads in a process where Keras pickles models itself.
    facts, _ = _run(_PATCHED + _ROUND_TRIPS + f"""
import json, pickle
import scikeras
from scikeras import _saving_utils as su
from scikeras.wrappers import BaseWrapper
more_tags_before = "_more_tags" in vars(BaseWrapper)
from skoptnn import OptimizedMLPClassifier
est = OptimizedMLPClassifier(epochs=2, random_state=0).fit(X, y)
blob = pickle.dumps({{**est.__getstate__(), "model_": est.model_}})
open({str(tmp_path / "old.pkl")!r}, "wb").write(blob)
np.save({str(tmp_path / "expected.npy")!r}, est.predict_proba(X))
print(json.dumps({{
    "patched": [m is p for m, p in zip(methods(), [
        su.pack_keras_model, su.deepcopy_model, su.pack_keras_loss, su.pack_keras_metric,
        su.pack_keras_optimizer])],
    "scikeras_format": b"unpack_keras_model" in blob,
    "estimator": estimator_round_trips(est),
    "more_tags": [more_tags_before, "_more_tags" in vars(BaseWrapper)],
}}))
""")
    assert facts["patched"] == [True] * 5
    assert facts["scikeras_format"] and facts["estimator"]
    # Kept, as documented: scikeras' dead _more_tags is gone from its BaseWrapper.
    assert facts["more_tags"] == [True, False]

    loaded, _ = _run(_PATCHED + _ROUND_TRIPS + f"""
import json
from skoptnn import OptimizedMLPClassifier
est = OptimizedMLPClassifier.__new__(OptimizedMLPClassifier)
est.__setstate__(pickle.load(open({str(tmp_path / "old.pkl")!r}, "rb")))
print(json.dumps({{
    "same": np.array_equal(est.predict_proba(X), np.load({str(tmp_path / "expected.npy")!r})),
    "model_reduce": keras.Model.__reduce__.__qualname__,
    "estimator": estimator_round_trips(est),
}}))
""")
    assert loaded == {"same": True, "model_reduce": "KerasSaveable.__reduce__",
                      "estimator": True}


# Another thread logs to stderr and watches what file descriptor 2 is while
# skoptnn loads TensorFlow.
_LOAD_WHILE_LOGGING = """
import json, logging, os, sys, threading, time
log = logging.getLogger("app")
log.addHandler(logging.StreamHandler(sys.stderr))  # bound to sys.stderr now, as apps do
log.propagate = False
log.setLevel(logging.INFO)
fd2 = lambda: (os.fstat(2).st_dev, os.fstat(2).st_ino)
stderr, seen, ticks, done = fd2(), set(), [], threading.Event()

def other_thread():
    i = 0
    while not done.is_set():
        seen.add(fd2())
        log.info("tick %d", i)
        i += 1
        time.sleep(0.005)
    ticks.append(i)

thread = threading.Thread(target=other_thread)
thread.start()
from skoptnn.engine import runtime
done.set()
thread.join()
tf_log = runtime.tf.get_logger()
tf_log.warning("5 out of the last 5 calls to <function skoptnn_training_loop at 0x1> "
               "triggered tf.function retracing.")
tf_log.warning("5 out of the last 5 calls to <function users_step at 0x1> "
               "triggered tf.function retracing.")
print(json.dumps({"redirected": bool(seen - {stderr}), "restored": fd2() == stderr,
                  "ticks": ticks[0], "level": os.environ.get("TF_CPP_MIN_LOG_LEVEL")}))
"""

_TF_NOTICE = re.compile(r"^([IWEF]\d{4} |\d{4}-\d\d-\d\d .*: [IWEF] |WARNING: All log)", re.M)


def test_tensorflow_loads_quietly_and_other_output_is_kept():
    facts, stderr = _run(_LOAD_WHILE_LOGGING)
    # Kept, as documented: descriptor 2 is redirected, process-wide, while TensorFlow
    # loads, then restored; TF_CPP_MIN_LOG_LEVEL is set when unset and stays set.
    assert facts["redirected"] and facts["restored"]
    assert facts["level"] == "2"
    assert not _TF_NOTICE.search(stderr), stderr
    # Contained: the other thread's lines written meanwhile are delayed, not lost.
    assert facts["ticks"] > 1
    lines = stderr.splitlines()
    assert sorted(line for line in lines if line.startswith("tick ")) == sorted(
        f"tick {i}" for i in range(facts["ticks"]))
    # TensorFlow's logger drops only its retracing hint about skoptnn's own graphs.
    assert "users_step" in stderr and "skoptnn_training_loop" not in stderr


def test_opting_out_leaves_stderr_and_log_level_alone():
    facts, _ = _run(_LOAD_WHILE_LOGGING, SKOPTNN_TF_LOGS="1", TF_CPP_MIN_LOG_LEVEL="1")
    assert not facts["redirected"] and facts["restored"]
    assert facts["level"] == "1"


@pytest.mark.parametrize("line, dropped", [
    (b"I0000 00:00:1796621473.744867   13546 port.cc:153] oneDNN custom operations are on.\n",
     True),
    (b"E0000 00:00:1796621478.708442   13546 cuda_platform.cc:52] failed call to cuInit\n",
     True),
    (b"W0501 12:34:56.123456    4242 op_kernel.cc:1858] OP_REQUIRES failed\n", True),
    (b"2024-01-31 12:00:00.123456: I tensorflow/core/util/port.cc:113] oneDNN custom\n",
     True),
    (b"WARNING: All log messages before absl::InitializeLog() is called are written to "
     b"STDERR\n", True),
    (b"tick 3\n", False),
    (b"2024-01-31 12:00:00,123 - distributed.worker - WARNING - Event loop unresponsive\n",
     False),
    (b"/x/y.py:3: UserWarning: something\n", False),
    (b"Traceback (most recent call last):\n", False),
])
def test_only_tensorflow_records_are_dropped(line, dropped):
    from skoptnn.engine.runtime import _TF_RECORD

    assert bool(_TF_RECORD.match(line)) is dropped
