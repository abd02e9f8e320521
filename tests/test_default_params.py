"""The estimators' parameters, pinned: names, signature order and defaults.

One table for both estimators, in signature order (each estimator's own
parameters stand where its signature has them); ``-`` marks a parameter the
estimator does not take. A change here changes every saved ``get_params()``,
every search space that names a parameter and every positional call.
"""

import inspect

import pytest
from sklearn.base import clone

from skoptnn import OptimizedMLPClassifier, OptimizedMLPRegressor

# name: (OptimizedMLPClassifier's default, OptimizedMLPRegressor's default)
DEFAULTS = {
    "n_layers": (2, 2),
    "units": (64, 64),
    "hidden_layer_sizes": (None, None),
    "activation": ("relu", "relu"),
    "batch_norm": (False, False),
    "numeric_embedding": ("none", "none"),
    "embedding_scale": (0.1, 0.1),
    "kernel_initializer": ("auto", "auto"),
    "n_ensemble": (1, 1),
    "dropout": (0.0, 0.0),
    "l1": (0.0, 0.0),
    "l2": (3.0, 10.0),
    "loss": ("-", "mse"),
    "label_smoothing": (0.1, "-"),
    "optimizer": ("adam", "adam"),
    "learning_rate": (None, None),
    "lr_schedule": ("constant", "constant"),
    "lr_warmup": (0.0, 0.0),
    "clipnorm": (None, None),
    "clipvalue": (None, None),
    "epochs": (100, 100),
    "batch_size": (32, 32),
    "shuffle": (True, True),
    "class_weight": (None, "-"),
    "early_stopping": (False, False),
    "validation_fraction": (0.1, 0.1),
    "patience": (10, 10),
    "min_delta": (0.0, 0.0),
    "monitor": ("val_loss", "val_loss"),
    "random_state": (None, None),
    "verbose": (0, 0),
    "monitor_gradients": (False, False),
    "warm_start": (False, False),
}
ESTIMATORS = [OptimizedMLPClassifier, OptimizedMLPRegressor]


def _defaults(cls) -> dict:
    column = ESTIMATORS.index(cls)
    return {name: row[column] for name, row in DEFAULTS.items() if row[column] != "-"}


def _typed(params: dict) -> list:
    # 3 == 3.0 and 0 == False: compare the values' reprs, which tell them apart.
    return sorted((name, repr(value)) for name, value in params.items())


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_get_params_defaults(cls):
    expected = _defaults(cls)
    assert _typed(cls().get_params()) == _typed(expected)
    assert _typed(clone(cls()).get_params()) == _typed(expected)
    # The signature: every parameter explicit, in this order, with these defaults.
    parameters = inspect.signature(cls).parameters
    assert list(parameters) == list(expected)
    assert all(p.kind is p.POSITIONAL_OR_KEYWORD for p in parameters.values())
    assert _typed({name: p.default for name, p in parameters.items()}) == _typed(expected)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_parameters_bind_as_in_the_signature(cls):
    names = list(_defaults(cls))
    est = cls(3, 16, warm_start=True)  # positional, in signature order
    assert (est.n_layers, est.units, est.warm_start) == (3, 16, True)
    assert est.get_params()[names[-1]] is True
    assert set(vars(cls())) == set(names)  # __init__ stores its parameters, nothing else
    with pytest.raises(TypeError, match="unexpected keyword argument 'n_layer'"):
        cls(n_layer=3)
    with pytest.raises(TypeError, match="multiple values for argument 'n_layers'"):
        cls(3, n_layers=3)
    with pytest.raises(TypeError, match="positional arguments"):
        cls(*range(len(names) + 1))
