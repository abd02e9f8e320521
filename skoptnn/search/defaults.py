"""Defaults first: the estimator's own configuration as a point of a search space.

:class:`~skoptnn.search.ResumableBayesSearchCV` makes it the first trial of
each search space, so that a search never ends below that configuration's
cross-validated score.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from skopt.space import Categorical, Integer, Real
from skopt.utils import dimensions_aslist

from .pruning import final_step

_MISSING = object()  # a searched name the estimator has no parameter for


def defaults_point(estimator: Any, space: dict, start: np.random.RandomState,
                   subspace: int) -> list:
    """The estimator's own configuration as a point of ``space``.

    Parameters
    ----------
    estimator : estimator or Pipeline
        The search's estimator; its ``get_params(deep=True)`` names the
        searched parameters.
    space : dict
        One search space, dimensions by parameter name.
    start : numpy.random.RandomState
        In the state the search started from. A value that must be drawn
        comes from a RandomState derived from it and ``subspace``, so that
        the optimizer's own draws stay as they were.
    subspace : int
        The index of ``space`` among the search spaces.

    Returns
    -------
    point : list
        One value per dimension, in the order of ``sorted(space)``: the
        estimator's value if the dimension holds it, clipped to the bounds if
        it is an out-of-range number, drawn otherwise (see :func:`project`).
    """
    seed = start.randint(np.iinfo(np.int32).max)
    rng = np.random.RandomState([seed, subspace])
    params = estimator.get_params(deep=True)
    # What skoptnn's None parameters stand for (learning_rate=None: the optimizer's
    # default), so that they are the estimator's own values, not random ones.
    step, prefix = final_step(estimator)
    meanings = getattr(step, "_search_defaults", None)
    dims = dict(zip(sorted(space), dimensions_aslist(space), strict=True))
    for name, value in (meanings() if callable(meanings) else {}).items():
        dim = dims.get(prefix + name)
        held = isinstance(dim, Categorical) and None in dim.categories
        if params.get(prefix + name, _MISSING) is None and not held:
            params[prefix + name] = value
    return [project(params.get(name, _MISSING), dim, rng) for name, dim in dims.items()]


def project(value: Any, dimension: Any, rng: np.random.RandomState) -> Any:
    """``value`` as a point of ``dimension``: kept, clipped, or drawn as the optimizer would.

    An infinite number is clipped too (no clipping, ``clipnorm=inf``, is the
    largest threshold the dimension has); NaN is drawn.
    """
    if isinstance(dimension, Categorical):
        for category in dimension.categories:
            if _same(category, value):
                return category
    elif (isinstance(dimension, (Integer, Real)) and isinstance(value, numbers.Real)
          and not isinstance(value, (bool, np.bool_)) and not np.isnan(value)):
        value = min(max(value, dimension.low), dimension.high)
        return int(round(value)) if isinstance(dimension, Integer) else float(value)
    drawn = dimension.rvs(n_samples=1, random_state=rng)[0]
    return drawn.item() if isinstance(drawn, np.generic) else drawn


def _same(category: Any, value: Any) -> bool:
    # True is not the category 1, nor 1.0 the category True.
    if isinstance(category, (bool, np.bool_)) != isinstance(value, (bool, np.bool_)):
        return False
    try:
        return bool(category == value)
    except (TypeError, ValueError):  # e.g. an array compared with a string
        return False
