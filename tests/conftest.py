import os

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def binary_data():
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=240, n_features=6, n_informative=4, n_redundant=0, random_state=0
    )
    return X.astype(np.float32), y


@pytest.fixture(scope="session")
def multiclass_data():
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=300, n_features=6, n_informative=4, n_redundant=0, n_classes=3,
        n_clusters_per_class=1, random_state=1,
    )
    return X.astype(np.float32), y


def cli_error(capsys) -> str:
    """The one error line the skoptnn command printed (notes aside)."""
    err = [line for line in capsys.readouterr().err.strip().splitlines()
           if not line.startswith("skoptnn: note: ")]
    assert len(err) == 1, err
    assert err[0].startswith("skoptnn: error: ")
    return err[0]


class Interrupt(Exception):
    """Stands for a kill: raised by a search callback after some trials."""


def interrupt_after(n):
    """A search callback that raises :class:`Interrupt` once ``n`` trials are told."""
    def callback(result):
        if len(result.x_iters) >= n:
            raise Interrupt
    return callback


@pytest.fixture
def one_blas_thread():
    """BLAS on one thread (a search's Gaussian process makes many tiny calls)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        yield
