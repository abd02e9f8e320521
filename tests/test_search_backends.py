"""The resumable search keeps its optimizer's work in this process, whatever joblib backend.

scikit-optimize searches its acquisition function with ``joblib.Parallel(n_jobs=1)``.
joblib's Dask backend ignores ``n_jobs`` and would ship those calls to the cluster;
the backend below does the same, in threads, and notes every function it runs.
"""

from joblib import parallel_config, register_parallel_backend
from joblib.parallel import ThreadingBackend
from sklearn.datasets import load_iris
from sklearn.linear_model import RidgeClassifier
from skopt import BayesSearchCV
from skopt.space import Real

from skoptnn.search import ResumableBayesSearchCV

RAN: list[str] = []


class IgnoresNJobs(ThreadingBackend):
    """Two threads whatever ``n_jobs`` says, as joblib's Dask backend uses every worker."""

    def configure(self, n_jobs=1, parallel=None, **kwargs):
        return super().configure(n_jobs=2, parallel=parallel, **kwargs)

    @staticmethod
    def _note(func):
        RAN.extend(getattr(f, "__name__", type(f).__name__) for f, _, _ in func.items)

    def submit(self, func, callback=None):  # joblib >= 1.5
        self._note(func)
        return super().submit(func, callback)

    def apply_async(self, func, callback=None):  # joblib 1.4
        self._note(func)
        return super().apply_async(func, callback)


register_parallel_backend("ignores_n_jobs", IgnoresNJobs)


def _run(search_class, n_iter=6, **kwargs):
    X, y = load_iris(return_X_y=True)
    RAN.clear()
    search = search_class(
        RidgeClassifier(), {"alpha": Real(1e-3, 1e3, prior="log-uniform")},
        n_iter=n_iter, cv=2, n_points=2, n_jobs=2, random_state=0,
        optimizer_kwargs={"n_initial_points": 2}, **kwargs)  # the model guides the rest
    with parallel_config(backend="ignores_n_jobs"):
        search.fit(X, y)
    return search, list(RAN)


def test_plain_bayes_search_sends_its_optimizer_to_such_a_backend():
    # The control: what skoptnn's search works around happens without it.
    _, ran = _run(BayesSearchCV)
    assert "fmin_l_bfgs_b" in ran


def test_only_fits_reach_the_backend(tmp_path):
    # RidgeClassifier runs no joblib itself: whatever else reached the backend came from
    # the search.
    _, ran = _run(ResumableBayesSearchCV, checkpoint=tmp_path / "search.jsonl")
    assert set(ran) == {"_fit_and_score"}
    assert len(ran) == 6 * 2  # every fit, and nothing else
    # Resuming replays the optimizer (ask and tell) here as well.
    _, ran = _run(ResumableBayesSearchCV, checkpoint=tmp_path / "search.jsonl", n_iter=8)
    assert set(ran) == {"_fit_and_score"} and len(ran) == 2 * 2
