"""What a skops file of a skoptnn model may hold: the estimators, nothing else.

A fitted estimator's state is plain arrays, numbers, strings and containers
(see ``_MLPMixin.__getstate__``), so ``skops.io`` can load it without running
any code beyond these classes' ``__setstate__``.
"""

from __future__ import annotations

_TRUSTED = (
    "skoptnn.classifier.OptimizedMLPClassifier",
    "skoptnn.regressor.OptimizedMLPRegressor",
)


def trusted_types() -> list[str]:
    """Type names to pass as ``trusted`` to ``skops.io.load`` for skoptnn models.

    Returns
    -------
    types : list of str
        The fully qualified names of skoptnn's estimators. A pipeline of them
        and scikit-learn's own transformers needs nothing else beyond what
        ``skops`` trusts by default (scikit-learn's estimators, NumPy arrays).

    Examples
    --------
    >>> from skoptnn import trusted_types
    >>> trusted_types()
    ['skoptnn.classifier.OptimizedMLPClassifier', 'skoptnn.regressor.OptimizedMLPRegressor']
    """
    return list(_TRUSTED)
