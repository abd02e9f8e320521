"""Ready-made scikit-optimize search spaces for skoptnn's estimators.

Only scikit-optimize is imported here, never TensorFlow, so building a space
(for example in a CLI's ``--help`` path or a config module) stays cheap.

Every dimension takes int, float, str or bool values: scikit-optimize cannot
search tuples, which is why the spaces tune ``n_layers`` and ``units`` rather
than ``hidden_layer_sizes``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from skopt.space import Categorical, Dimension, Integer, Real, check_dimension

__all__ = ["PRESETS", "classifier_space", "preset_space", "regressor_space"]


def _common_dimensions() -> dict[str, Dimension]:
    # Built fresh on every call: skopt dimensions are mutable (their ``name``),
    # so two spaces must never share one object. Regions where no candidate
    # can win are left out (the guide's wider choices are in the presets, see
    # _preset_dimensions): they cost a search the most time, running every
    # epoch, and each categorical choice adds dimensions to the optimizer's model.
    return {
        "n_layers": Integer(1, 6),
        "units": Integer(8, 128),
        # Not sigmoid: past one layer its gradients vanish and candidates end at the
        # majority class. Two choices are one dimension for the optimizer's model.
        "activation": Categorical(["relu", "tanh"]),
        "dropout": Real(0.0, 0.5),
        # Adaptive optimizers only: plain SGD needs rates outside this range and
        # runs to ``epochs`` inside it; Nadam is Adam with Nesterov momentum, a
        # near-twin that doubled the graphs to compile.
        "optimizer": Categorical(["rmsprop", "adam"]),
        # Log-uniform: a learning rate matters by its order of magnitude. Below
        # 3e-4 these optimizers crawl; above 3e-2 they overshoot.
        "learning_rate": Real(3e-4, 3e-2, prior="log-uniform"),
        # Per training sample (see the estimators' l2): 1e-3 barely regularises,
        # 30 is strong on a table of hundreds of rows.
        "l2": Real(1e-3, 30.0, prior="log-uniform"),
        # Batches of 16 double an epoch's steps for no better score. An integer range,
        # not a list: scikit-optimize turns each category into a dimension.
        "batch_size": Integer(32, 128, prior="log-uniform"),
    }


def _preset_dimensions() -> dict[str, Dimension]:
    """The guide's full choices, for the presets that tune one aspect at a time."""
    return {
        "activation": Categorical(["relu", "tanh", "sigmoid", "selu", "elu", "leaky_relu",
                                   "gelu", "silu"]),
        # Not adadelta: it needs learning rates near 1.0 (Keras' own advice).
        "optimizer": Categorical(["sgd", "rmsprop", "adagrad", "adam", "nadam"]),
        "learning_rate": Real(1e-4, 1e-1, prior="log-uniform"),
        "kernel_initializer": Categorical(
            ["auto", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
             "lecun_uniform", "lecun_normal"]
        ),
        "batch_size": Categorical([16, 32, 64, 128]),
        "n_layers": Integer(1, 10),
        # Clipping is for learning rates large enough to diverge, outside the
        # default space's range; each clipped step also costs more.
        "clipnorm": Real(0.1, 10.0, prior="log-uniform"),
        # The techniques beyond the guide. Not in the default spaces: the embedding
        # and label smoothing each double the graphs a search compiles, and a
        # schedule over ``epochs`` barely moves the rate of a fit that stops early.
        "lr_schedule": Categorical(["constant", "cosine", "coslog"]),
        "lr_warmup": Real(0.0, 0.2),
        "label_smoothing": Real(0.0, 0.2),
        "numeric_embedding": Categorical(["none", "periodic"]),
        "embedding_scale": Real(0.01, 1.0, prior="log-uniform"),
    }


# Preset dimensions of parameters only the classifier takes.
_CLASSIFIER_ONLY = frozenset({"label_smoothing"})


def _regressor_dimensions() -> dict[str, Dimension]:
    dims = _common_dimensions()
    dims["loss"] = Categorical(["mse", "mae", "huber"])
    return dims


def _contains_tuple(dim: Dimension) -> bool:
    return isinstance(dim, Categorical) and any(
        isinstance(c, (tuple, list)) for c in dim.categories
    )


def _as_dimension(name: str, value: Any) -> Dimension:
    if isinstance(value, Dimension):
        dim = copy.deepcopy(value)  # never mutate the caller's object
    elif isinstance(value, (list, tuple)):
        dim = check_dimension(value)
    else:
        raise TypeError(
            f"Override {name!r} must be a skopt Dimension or a list/tuple of values; "
            f"got {type(value).__name__}."
        )
    if _contains_tuple(dim):
        raise ValueError(
            f"Override {name!r} has tuple-valued categories, which scikit-optimize cannot "
            "search; tune n_layers and units instead of hidden_layer_sizes."
        )
    return dim


def _build(
    defaults: dict[str, Dimension],
    prefix: str,
    include: Iterable[str] | None,
    exclude: Iterable[str] | None,
    overrides: Mapping[str, Any],
    regressor: bool = False,
) -> dict[str, Dimension]:
    if isinstance(include, str) or isinstance(exclude, str):
        raise TypeError("include and exclude take a list of names, not a string.")
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a str; got {type(prefix).__name__}.")
    # Read once: a generator would be used up by the check below.
    include = None if include is None else list(include)
    exclude = None if exclude is None else list(exclude)
    extra = {name: _as_dimension(name, value) for name, value in overrides.items()}
    # The presets' dimensions the default space leaves out (kernel_initializer, clipnorm) stay
    # known names, so that code written when the default spaces searched them runs on:
    # excluding one changes nothing, including one adds the preset's dimension.
    optional = {name: dim for name, dim in _preset_dimensions().items()
                if name not in defaults and name not in extra
                and not (regressor and name in _CLASSIFIER_ONLY)}
    known = set(defaults) | set(extra) | set(optional)
    for label, names in (("include", include), ("exclude", exclude)):
        unknown = sorted(set(names or ()) - known)
        if unknown:
            raise ValueError(
                f"Unknown dimension name(s) in {label}: {', '.join(unknown)}. "
                f"Known names: {', '.join(sorted(known))}."
            )
    keep = set(set(defaults) | set(extra) if include is None else include) - set(exclude or ())
    # Defaults first, in their documented order, then new dimensions, so the
    # dict reads like the table in the docstring.
    merged = {**defaults, **optional, **extra}
    if prefix and not prefix.endswith("__"):
        prefix += "__"  # a step name alone is the common mistake
    space = {}
    for name, dim in merged.items():
        if name in keep:
            dim.name = name  # labels the axes of skopt.plots; the prefix is clutter there
            space[prefix + name] = dim
    return space


def classifier_space(
    prefix: str = "",
    include: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
    **overrides: Any,
) -> dict[str, Dimension]:
    """Search space over :class:`~skoptnn.OptimizedMLPClassifier`'s parameters.

    ==================  ===================================================
    name                dimension
    ==================  ===================================================
    n_layers            ``Integer(1, 6)``
    units               ``Integer(8, 128)``
    activation          ``Categorical(["relu", "tanh"])``
    dropout             ``Real(0.0, 0.5)``
    optimizer           ``Categorical(["rmsprop", "adam"])``
    learning_rate       ``Real(3e-4, 3e-2, prior="log-uniform")``
    l2                  ``Real(1e-3, 30.0, prior="log-uniform")``
    batch_size          ``Integer(32, 128, prior="log-uniform")``
    ==================  ===================================================

    The ranges leave out regions where a candidate cannot win but costs the
    most time (sigmoid, plain SGD, learning rates that crawl, batches of 16,
    depth past 6) and near-twins (Nadam beside Adam); the initializer stays
    "auto" (the right one for each activation) and gradients unclipped (the
    learning rates here do not diverge). Fewer choices also mean fewer
    graphs to compile (4) and a smaller model for scikit-optimize. The
    :data:`PRESETS` that tune one aspect at a time search the guide's full
    choices: eight activations, every optimizer but Adadelta, learning rates
    from 1e-4 to 0.1, seven initializers, batches from 16, depth to 10, and
    ``clipnorm`` from 0.1 to 10; the "techniques" preset searches the
    learning-rate schedule, label smoothing and the periodic numeric
    embedding with its scale, which ``include`` (as ``lr_warmup``) can also
    add here.

    ``kernel_initializer`` and ``clipnorm``, which earlier versions searched
    by default, are still known names: ``exclude=["clipnorm"]`` changes
    nothing, and ``include=[..., "kernel_initializer"]`` adds the presets'
    dimension (or the override's, if one is given).

    Parameters
    ----------
    prefix : str, default=""
        Prepended to every key, e.g. ``"optimizedmlpclassifier__"`` when the
        estimator is the last step of ``make_pipeline``. A missing trailing
        ``"__"`` is added.
    include : iterable of str, default=None
        Keep only these dimensions (unprefixed names), from the table, the
        overrides and ``kernel_initializer``. None keeps the table's and the
        overrides'.
    exclude : iterable of str, default=None
        Drop these dimensions (unprefixed names), applied after ``include``.
    **overrides : Dimension, list or tuple
        Replace a dimension or add one for another parameter (for example
        ``epochs=Integer(10, 100)``). A list or tuple is converted as
        scikit-optimize does: ``(low, high[, prior])`` gives ``Integer`` or
        ``Real``, anything else a ``Categorical``.

    Returns
    -------
    space : dict of str to skopt.space.Dimension
        A search space for ``skopt.BayesSearchCV(search_spaces=...)``.

    Raises
    ------
    ValueError
        If ``include`` or ``exclude`` names an unknown dimension, or an
        override has tuple-valued categories.

    Examples
    --------
    >>> from skoptnn.spaces import classifier_space
    >>> space = classifier_space(prefix="optimizedmlpclassifier", include=["units", "optimizer"])
    >>> sorted(space)
    ['optimizedmlpclassifier__optimizer', 'optimizedmlpclassifier__units']
    >>> classifier_space(exclude=["clipnorm"], units=[16, 32, 64])["units"]
    Categorical(categories=(16, 32, 64), prior=None)
    """
    return _build(_common_dimensions(), prefix, include, exclude, overrides)


def regressor_space(
    prefix: str = "",
    include: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
    **overrides: Any,
) -> dict[str, Dimension]:
    """Search space over :class:`~skoptnn.OptimizedMLPRegressor`'s parameters.

    The dimensions of :func:`classifier_space` plus
    ``loss=Categorical(["mse", "mae", "huber"])``.

    Parameters
    ----------
    prefix : str, default=""
        Prepended to every key, e.g. ``"optimizedmlpregressor__"``. A missing
        trailing ``"__"`` is added.
    include : iterable of str, default=None
        Keep only these dimensions (unprefixed names), as in
        :func:`classifier_space` (``kernel_initializer`` included).
    exclude : iterable of str, default=None
        Drop these dimensions (unprefixed names), applied after ``include``.
    **overrides : Dimension, list or tuple
        Replace or add dimensions, as in :func:`classifier_space`.

    Returns
    -------
    space : dict of str to skopt.space.Dimension
        A search space for ``skopt.BayesSearchCV(search_spaces=...)``, with
        ``loss`` beside :func:`classifier_space`'s dimensions.

    Raises
    ------
    ValueError
        As :func:`classifier_space`: for an unknown name in ``include`` or
        ``exclude`` (``loss`` is known here), or an override with tuple-valued
        categories.

    Examples
    --------
    >>> from skoptnn.spaces import regressor_space
    >>> space = regressor_space(exclude=["loss", "activation"])
    >>> "loss" in space, "units" in space
    (False, True)
    """
    return _build(_regressor_dimensions(), prefix, include, exclude, overrides, regressor=True)


#: Named subsets of :func:`classifier_space`, one per step of the classic
#: "grid search a Keras model" guide: tune one aspect at a time (over the guide's
#: full choices), then all. ``None`` means the whole default space.
PRESETS: dict[str, tuple[str, ...] | None] = {
    "optimizer": ("optimizer",),
    "learning_rate": ("optimizer", "learning_rate"),
    "batch_size": ("batch_size",),
    "initializer": ("kernel_initializer",),
    "activation": ("activation",),
    "dropout": ("dropout", "l2"),
    "units": ("units",),
    "layers": ("n_layers",),
    "clipping": ("clipnorm",),
    # Not lr_warmup: it does not go with coslog, and a search cannot make one
    # dimension depend on another.
    "techniques": ("lr_schedule", "label_smoothing", "numeric_embedding", "embedding_scale"),
    "all": None,
}


def preset_space(
    name: str,
    prefix: str = "",
    *,
    space: Callable[..., dict[str, Dimension]] = classifier_space,
    exclude: Iterable[str] | None = None,
    **overrides: Any,
) -> dict[str, Dimension]:
    """Search space of one of the :data:`PRESETS`.

    Parameters
    ----------
    name : str
        A key of :data:`PRESETS`: "optimizer", "learning_rate", "batch_size",
        "initializer", "activation", "dropout", "units", "layers", "clipping",
        "techniques" (``lr_schedule``, ``label_smoothing`` (classifier),
        ``numeric_embedding``, ``embedding_scale``) or "all".
    prefix : str, default=""
        Prepended to every key, as in :func:`classifier_space`.
    space : callable, default=classifier_space
        The full space to select from; pass :func:`regressor_space` for the
        regressor.
    exclude : iterable of str, default=None
        Drop these dimensions from the preset (useful with "all").
    **overrides : Dimension, list or tuple
        Replace or add dimensions; added ones are always included.

    Returns
    -------
    space : dict of str to skopt.space.Dimension
        The selected dimensions.

    Raises
    ------
    ValueError
        If ``name`` is not a preset.
    TypeError
        If ``space`` is not callable.

    Examples
    --------
    >>> from skoptnn.spaces import preset_space
    >>> list(preset_space("layers", prefix="clf"))
    ['clf__n_layers']
    >>> preset_space("optimizer")["optimizer"].categories
    ('sgd', 'rmsprop', 'adagrad', 'adam', 'nadam')
    """
    if not isinstance(name, str) or name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}; choose one of {', '.join(PRESETS)}.")
    if not callable(space):
        raise TypeError(
            f"space must be classifier_space or regressor_space (a function); got {space!r}."
        )
    if "include" in overrides:
        raise TypeError("preset_space takes no include: the preset names the dimensions.")
    include = PRESETS[name]
    if include is not None and space is regressor_space:
        include = tuple(n for n in include if n not in _CLASSIFIER_ONLY)
    if include is not None:
        # The guide's full choice for each tuned aspect, unless overridden.
        wide = {k: v for k, v in _preset_dimensions().items() if k in include}
        overrides = {**wide, **overrides}
        include = (*include, *overrides)
    return space(prefix, include=include, exclude=exclude, **overrides)
