"""skoptnn: a well-regularised Keras MLP as a first-class scikit-learn estimator.

Importing ``skoptnn`` is cheap: TensorFlow loads on first use of an estimator.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.2.0"

_LAZY = {
    "OptimizedMLPClassifier": "skoptnn.classifier",
    "OptimizedMLPRegressor": "skoptnn.regressor",
    "DivergenceWarning": "skoptnn.base.report",
    "GradientWarning": "skoptnn.engine.gradients",
    "classifier_space": "skoptnn.spaces",
    "regressor_space": "skoptnn.spaces",
    "preset_space": "skoptnn.spaces",
    "PRESETS": "skoptnn.spaces",
    "trials_dataframe": "skoptnn.search",
    "ProgressCallback": "skoptnn.search",
    "ResumableBayesSearchCV": "skoptnn.search",
    "plot_convergence": "skoptnn.plotting",
    "plot_history": "skoptnn.plotting",
    "plot_gradient_norms": "skoptnn.plotting",
    "trusted_types": "skoptnn.base.persist",
    "SmoothClipScaler": "skoptnn.preprocessing",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    # Lazy so that `skoptnn --help` and `import skoptnn.spaces` skip TensorFlow.
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'skoptnn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
