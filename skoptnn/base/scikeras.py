"""scikeras, the estimators' base classes, and what skoptnn fixes in it.

scikeras 0.13 predates scikit-learn 1.6's tag API; the fixes below keep its
wrappers usable as bases on scikit-learn >= 1.6.
"""

from __future__ import annotations

from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

# TensorFlow first, through skoptnn's quiet import: scikeras imports it too.
from ..engine import runtime  # noqa: F401  isort: skip
from scikeras.wrappers import BaseWrapper, KerasClassifier, KerasRegressor  # noqa: E402

# scikeras 0.13 still defines the tag API that scikit-learn 1.6 removed (its
# body calls BaseEstimator._more_tags, which no longer exists, so nothing can
# call it), and scikit-learn rejects any class in an estimator's MRO that
# defines it without __sklearn_tags__. Drop the dead method.
if "_more_tags" in vars(BaseWrapper):
    del BaseWrapper._more_tags


class SklearnMixinsFirst(type):
    """Put scikit-learn's mixins before ``BaseEstimator`` in the MRO.

    scikeras declares ``KerasClassifier(BaseWrapper, ClassifierMixin)``; since
    scikit-learn 1.6 that order hides the mixin's ``__sklearn_tags__``, so
    ``is_classifier`` is False. No subclass can reorder its bases' MRO with
    plain inheritance, so this metaclass moves each mixin just before
    ``BaseEstimator``, which is where scikit-learn requires it.
    """

    def mro(cls):
        order = super().mro()
        for mixin in (ClassifierMixin, RegressorMixin):
            if mixin in order and BaseEstimator in order:
                order.remove(mixin)
                order.insert(order.index(BaseEstimator), mixin)
        return order


def hidden_property(name: str, reason: str) -> property:
    # hasattr() must be False for scikeras methods that bypass skoptnn's fit,
    # so scikit-learn's meta-estimators do not pick them up.
    def getter(self):
        raise AttributeError(f"{type(self).__name__}.{name} is not available: {reason}")

    return property(getter)



__all__ = ["KerasClassifier", "KerasRegressor", "SklearnMixinsFirst", "hidden_property"]
