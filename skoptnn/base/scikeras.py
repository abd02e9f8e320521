"""scikeras, the estimators' base classes, and what skoptnn fixes in it.

scikeras 0.13 predates scikit-learn 1.6's tag API; the fixes below keep its
wrappers usable as bases on scikit-learn >= 1.6. What importing scikeras changes
in Keras is undone here, unless the user imported scikeras first (see
docs/compatibility.md, "What importing skoptnn changes").
"""

from __future__ import annotations

import sys

from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

# TensorFlow first, through skoptnn's quiet import: scikeras imports it too.
from ..engine.runtime import keras  # isort: skip

# scikeras' import replaces, for every Keras object in the process, how models
# pickle and deep-copy and how losses, metrics and optimizers pickle (see
# scikeras/__init__.py). skoptnn needs none of it: its estimators pickle without
# their Keras model, and Keras 3 pickles and copies all of these itself. So when
# this is scikeras' first import, Keras' own methods are put back; when the user
# imported scikeras before, its patch is theirs and stays.
_SCIKERAS_PATCHES = (
    (keras.Model, "__reduce__"),
    (keras.Model, "__deepcopy__"),
    (keras.losses.Loss, "__reduce__"),
    (keras.metrics.Metric, "__reduce__"),
    (keras.optimizers.Optimizer, "__reduce__"),
)
_INHERITED = object()  # not in the class's own namespace (Keras' KerasSaveable has it)


def _keras_methods() -> dict:
    return {(cls, name): vars(cls).get(name, _INHERITED) for cls, name in _SCIKERAS_PATCHES}


def _put_back(methods: dict) -> None:
    for (cls, name), method in methods.items():
        if vars(cls).get(name, _INHERITED) is method:
            continue
        if method is _INHERITED:
            delattr(cls, name)
        else:
            setattr(cls, name, method)


_keras_own = None if "scikeras" in sys.modules else _keras_methods()
from scikeras.wrappers import BaseWrapper, KerasClassifier, KerasRegressor  # noqa: E402

if _keras_own is not None:
    _put_back(_keras_own)

# scikeras 0.13 still defines the tag API that scikit-learn 1.6 removed (its
# body calls BaseEstimator._more_tags, which no longer exists, so any call
# fails), and scikit-learn's estimator checks (check_estimator_tags_renamed)
# reject any class in an estimator's MRO that defines it without
# __sklearn_tags__. No subclass can hide a base's method from that check, so
# the dead method goes from scikeras' class itself.
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
