"""TensorFlow's thread budget follows the worker's share of the cores."""

import os
import subprocess
import sys

import pytest

from skoptnn.engine.threads import ENV_VAR, thread_budget


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, None),
        ({"OMP_NUM_THREADS": "1"}, 1),  # what joblib's and Dask's workers set
        ({"OMP_NUM_THREADS": "3,1"}, 3),
        ({"OMP_NUM_THREADS": ""}, None),
        ({ENV_VAR: "auto", "OMP_NUM_THREADS": "2"}, 2),
        ({ENV_VAR: "4", "OMP_NUM_THREADS": "1"}, 4),
        ({ENV_VAR: "0", "OMP_NUM_THREADS": "1"}, None),
    ],
)
def test_thread_budget(env, expected):
    assert thread_budget(env) == expected


@pytest.mark.parametrize("value", ["-1", "two", "1.5"])
def test_bad_budget_names_the_variable(value):
    with pytest.raises(ValueError, match=ENV_VAR):
        thread_budget({ENV_VAR: value})


def _tf_threads(env_updates):
    env = {k: v for k, v in os.environ.items() if k not in (ENV_VAR, "OMP_NUM_THREADS")}
    env.update(env_updates)
    code = (
        "import skoptnn.engine.runtime as k; t = k.tf.config.threading; "
        "print(t.get_intra_op_parallelism_threads(), t.get_inter_op_parallelism_threads())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.split()


def test_a_joblib_worker_environment_limits_tensorflow():
    assert _tf_threads({"OMP_NUM_THREADS": "1"}) == ["1", "1"]
    assert _tf_threads({ENV_VAR: "0", "OMP_NUM_THREADS": "1"}) == ["0", "0"]


def test_a_plain_process_keeps_tensorflows_defaults():
    # As docs/compatibility.md says: without either variable skoptnn sets no pool size.
    assert _tf_threads({}) == ["0", "0"]


def test_joblib_workers_train_with_their_share():
    # In a clean process: this one's environment may already carry a budget.
    env = {k: v for k, v in os.environ.items() if k not in (ENV_VAR, "OMP_NUM_THREADS")}
    code = (
        "from joblib import Parallel, delayed\n"
        "def threads():\n"
        "    import skoptnn.engine.runtime as k\n"
        "    return k.tf.config.threading.get_intra_op_parallelism_threads()\n"
        "print(*Parallel(n_jobs=2, backend='loky')(delayed(threads)() for _ in range(2)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    # joblib gives each of n_jobs process workers OMP_NUM_THREADS = cores // n_jobs.
    share = max((os.cpu_count() or 1) // 2, 1)
    assert out.stdout.split() == [str(share)] * 2


@pytest.mark.parametrize("value", ["²", "99999"])
def test_unusable_counts_name_the_variable(value):
    with pytest.raises(ValueError, match=ENV_VAR):
        thread_budget({ENV_VAR: value})
    # An unusable OMP_NUM_THREADS is ignored under "auto", never an error.
    assert thread_budget({"OMP_NUM_THREADS": value}) in (None, 4096)


def test_a_bad_budget_is_reported_by_fit_not_at_import():
    # Raised at import, it would reach a joblib worker's user as an unpickling error.
    env = {**os.environ, ENV_VAR: "two"}
    code = (
        "import skoptnn.engine.runtime\n"
        "from skoptnn import OptimizedMLPClassifier\n"
        "try:\n"
        "    OptimizedMLPClassifier(epochs=1).fit([[0.0], [1.0]], [0, 1])\n"
        "except ValueError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True, timeout=120)
    assert out.stdout.startswith(f"{ENV_VAR} must be 'auto' or an integer")
