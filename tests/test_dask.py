"""BayesSearchCV through joblib's Dask backend runs its fits on the workers."""

import functools
import os
from pathlib import Path

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

distributed = pytest.importorskip("distributed")
skopt = pytest.importorskip("skopt")


def _accuracy_recording_pid(estimator, X, y, *, directory):
    # A scorer runs where the fit ran: leave this process's PID behind.
    Path(directory, str(os.getpid())).touch()
    return float(np.mean(estimator.predict(X) == y))


def _tf_threads():
    import skoptnn.engine.runtime as k

    return k.tf.config.threading.get_intra_op_parallelism_threads()


@pytest.mark.timeout(300)
def test_search_runs_on_a_local_dask_cluster(binary_data, tmp_path):
    from dask.distributed import Client, LocalCluster, get_task_stream
    from joblib import parallel_backend
    from skopt import BayesSearchCV
    from skopt.space import Integer, Real

    from skoptnn import OptimizedMLPClassifier
    from skoptnn.search import ResumableBayesSearchCV

    X, y = binary_data
    search = BayesSearchCV(
        make_pipeline(
            StandardScaler(),
            OptimizedMLPClassifier(units=16, epochs=30, learning_rate=0.01, random_state=0),
        ),
        {
            "optimizedmlpclassifier__n_layers": Integer(1, 2),
            "optimizedmlpclassifier__dropout": Real(0.0, 0.3),
        },
        n_iter=4, cv=2, n_points=2, n_jobs=2, random_state=0,
        scoring=functools.partial(_accuracy_recording_pid, directory=str(tmp_path)),
        optimizer_kwargs={"n_initial_points": 2},  # the Gaussian process asks for 2 trials
    )
    # Context managers close the cluster even when an assertion or the timeout fires.
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                     dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        worker_pids = set(client.run(os.getpid).values())
        workers = set(client.scheduler_info()["workers"])
        with get_task_stream(client) as tasks, parallel_backend("dask"):
            search.fit(X, y)
        # Dask's nanny sets OMP_NUM_THREADS=1, so each worker's TensorFlow uses 1 thread.
        assert set(client.run(_tf_threads).values()) == {1}
        # skoptnn's search sends only its fits; plain BayesSearchCV also sent
        # scikit-optimize's acquisition searches (joblib's Dask backend ignores n_jobs=1).
        resumable = ResumableBayesSearchCV(search.estimator, search.search_spaces, prune=False,
                                           **{k: v for k, v in search.get_params().items()
                                              if k in ("n_iter", "cv", "n_points", "n_jobs",
                                                       "random_state", "optimizer_kwargs")})
        with get_task_stream(client) as resumable_tasks, parallel_backend("dask"):
            resumable.fit(X, y)
    keys = [str(t["key"]) for t in tasks.data]
    assert any("fmin_l_bfgs_b" in k for k in keys)
    keys = [str(t["key"]) for t in resumable_tasks.data]
    assert keys and all("_fit_and_score" in k for k in keys)
    assert len(resumable.cv_results_["params"]) == 4

    scored_in = {int(p.name) for p in tmp_path.iterdir()}
    assert scored_in and scored_in <= worker_pids and os.getpid() not in scored_in
    # The scheduler's log agrees: tasks ran, and only on the cluster's workers.
    assert tasks.data and {t["worker"] for t in tasks.data} <= workers
    assert len(search.cv_results_["params"]) == 4
    # Learned on the workers: these settings score 0.73-0.80 here, where random
    # predictions would score about 0.55 in four tries.
    assert 0.68 < search.best_score_ <= 1
    assert search.best_estimator_.predict(X).shape == y.shape
