"""The estimators' parameters: one table for their signatures, stored values and docs.

``OptimizedMLPClassifier`` and ``OptimizedMLPRegressor`` take the same
parameters but for a few. Each estimator's table is :func:`mlp_params`: the
shared rows below with its own ``l2`` default and ``monitor`` choices, and its
own parameters inserted. :func:`estimator_params`, a class decorator, turns
that table into the estimator's ``__init__`` and into the Parameters section
of its docstring (the attributes every estimator has come with it);
:func:`samples_doc` writes the Parameters section of ``predict`` and its kin.

The ``__init__`` stores each parameter under its own name and does nothing
else, as scikit-learn requires; its signature lists every parameter with its
default, in the table's order (``inspect.signature``, ``help()``, notebooks'
completion, ``get_params`` and ``clone`` read it), and it binds positional and
keyword arguments as a written-out signature would. Tools that read the
source without running it (static type checkers, some editors) see
``__init__(self, *args, **kwargs)``.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

__all__ = ["BEFORE_ADDED", "Param", "choices", "estimator_params", "mlp_params", "samples_doc"]


class Param(NamedTuple):
    """One parameter: its name, default, numpydoc type and description."""

    name: str
    default: Any
    type: str
    doc: str

    def numpydoc(self) -> str:
        default = f'"{self.default}"' if isinstance(self.default, str) else repr(self.default)
        return (f"{self.name} : {self.type}, default={default}\n"
                + textwrap.indent(inspect.cleandoc(self.doc), "    "))


def choices(*values: str) -> str:
    """A numpydoc type of string choices: ``{"a", "b"}``."""
    return "{" + ", ".join(f'"{v}"' for v in values) + "}"


# In signature order. l2's default and monitor's choices are each estimator's (mlp_params).
_SHARED = (
    Param("n_layers", 2, "int", """
        Number of hidden layers (0 gives a linear model). Ignored when
        ``hidden_layer_sizes`` is given.
    """),
    Param("units", 64, "int", """
        Units in each hidden layer. Ignored when ``hidden_layer_sizes`` is given.
    """),
    Param("hidden_layer_sizes", None, "tuple of int", """
        Explicit hidden layer sizes, as in scikit-learn's MLPs; overrides
        ``n_layers`` and ``units``. Tune ``n_layers``/``units`` instead:
        scikit-optimize cannot search tuples.
    """),
    Param("activation", "relu", choices("relu", "leaky_relu", "elu", "gelu", "selu", "silu",
                                         "tanh", "sigmoid"), """
        Hidden-layer activation. ReLU and its relatives do not saturate, which
        keeps gradients from vanishing in deep networks.
    """),
    Param("batch_norm", False, "bool", """
        Add batch normalization between each hidden Dense layer and its
        activation.
    """),
    Param("numeric_embedding", "none", choices("none", "periodic"), """
        How each feature enters the network. "periodic" (Gorishniy et al.,
        NeurIPS 2022, "PLR") maps feature ``x`` to ``relu(W [cos(2 pi f x),
        sin(2 pi f x)] + b)`` with 8 learned frequencies ``f`` and a linear
        layer of 8 units per feature, trained with the rest; the first hidden
        layer sees 8 inputs per feature. Scale the features first (as for any
        MLP; ``SmoothClipScaler`` suits it).
    """),
    Param("embedding_scale", 0.1, "float > 0", """
        Standard deviation of the periodic embedding's starting frequencies:
        larger values let the network resolve finer detail of each feature.
    """),
    Param("kernel_initializer", "auto", "str", """
        Weight initialization: "auto" picks He (normal) for the ReLU family,
        LeCun (normal) for selu and Glorot (uniform) for tanh, sigmoid and the
        output layer. Also "zeros", "random_normal", "random_uniform",
        "glorot_uniform", "glorot_normal", "he_normal", "he_uniform",
        "lecun_normal", "lecun_uniform". Biases start at zero.
    """),
    Param("n_ensemble", 1, "int >= 1", """
        Train this many networks and predict the mean of their outputs (the
        classifier's probabilities, the regressor's predictions): a deep
        ensemble (Lakshminarayanan et al., 2017). The members see the same
        mini-batches (and validation split) and differ in their initial
        weights and dropout masks, which member 0 draws from the fit's seed and
        the others from seeds derived from it; so ``n_ensemble=1`` is the plain
        network. With early stopping each member stops and restores its own
        best epoch. The members train one after another, so a fit costs about
        ``n_ensemble`` times one network's (training them in one graph is
        future work). ``model_`` holds one branch per member (layers
        ``m1_hidden_1``, ...) averaged by a ``keras.layers.Average``.
    """),
    Param("dropout", 0.0, "float in [0, 1)", """
        Dropout rate after each hidden activation.
    """),
    Param("l1", 0.0, "float >= 0", """
        L1 penalty on every layer's weights, per training sample (as ``l2``).
    """),
    Param("l2", None, "float >= 0", """
        L2 penalty on every layer's weights, per training sample: training
        minimises the mean loss plus ``l2 * sum(w**2) / n_samples``, so the
        penalty counts once for the whole training set and its pull weakens as
        the data grows. The default keeps small tables from overfitting
        without holding back large ones (how it was chosen, and on which data:
        ``benchmarks/l2_defaults.md``). In ``partial_fit``, ``n_samples`` is
        the rows of the call.
    """),
    Param("optimizer", "adam", choices("adam", "adamw", "nadam", "rmsprop", "sgd", "adagrad",
                                        "adadelta"), """
        Keras optimizer.
    """),
    Param("learning_rate", None, "float > 0", """
        Learning rate; None uses the Keras default of ``optimizer``.
    """),
    Param("lr_schedule", "constant", choices("constant", "cosine", "coslog"), """
        How the learning rate moves over a fit's ``epochs`` (step by step):
        "constant" keeps ``learning_rate``; "cosine" decays it to 0 along a
        half cosine; "coslog" is RealMLP's schedule (Holzmueller et al., 2024):
        four cosine cycles from 0 up to ``learning_rate`` and back, each twice
        as long as the one before. The schedule spans ``epochs``, so early
        stopping may end a fit before the rate has come down. A warm-started
        ``fit`` runs the schedule afresh over its own ``epochs``; each
        ``partial_fit`` call runs one epoch of it, starting over every
        ``epochs`` calls. ``model_`` trains on at the constant ``learning_rate``.
    """),
    Param("lr_warmup", 0.0, "float in [0, 1)", """
        Share of the schedule's ``epochs`` over which the learning rate first
        climbs linearly from 0; ``lr_schedule`` then runs over the rest (as
        Keras' ``CosineDecay`` with ``warmup_steps``). Not with "coslog",
        which starts from 0 itself.
    """),
    Param("clipnorm", None, "float > 0", """
        Clip each gradient to this L2 norm (None: no clipping).
    """),
    Param("clipvalue", None, "float > 0", """
        Clip each gradient element to [-clipvalue, clipvalue] (None: off).
    """),
    Param("epochs", 100, "int", """
        Maximum number of passes over the training data.
    """),
    Param("batch_size", 32, "int", """
        Mini-batch size (capped at the number of samples).
    """),
    Param("shuffle", True, "bool", """
        Reshuffle the training data before every epoch.
    """),
    Param("early_stopping", False, "bool", """
        Hold out ``validation_fraction`` of the training data (stratified by
        class for a classifier's 1-D target), stop when ``monitor`` (by
        default the validation loss, without the L1/L2 penalty) has not
        improved for ``patience`` epochs, and restore the best weights.
        An epoch improves when it beats the last improvement's value by more
        than ``min_delta`` plus half that value's standard error (the noise of
        a mean over the validation rows, large on a small split); the weights
        restored (``best_epoch_``) are the latest epoch's within one standard
        error of the best value: the most trained of the epochs the validation
        split measures as good as the best.
    """),
    Param("validation_fraction", 0.1, "float in (0, 1)", """
        Share of the training data held out for early stopping.
    """),
    Param("patience", 10, "int", """
        Epochs without improvement before stopping.
    """),
    Param("min_delta", 0.0, "float >= 0", """
        Margin an improvement of ``monitor`` needs on top of its noise.
    """),
    Param("monitor", "val_loss", "", """
        Validation quantity that early stopping watches.
    """),
    Param("random_state", None, "int, RandomState instance or None", """
        Seeds weight initialization, dropout, shuffling and the validation
        split; an int makes fits on CPU repeatable.
    """),
    Param("verbose", 0, "int", """
        0 is silent; 1 or more prints one line per epoch and, with early
        stopping, which epoch's weights were restored.
    """),
    Param("monitor_gradients", False, "bool", """
        Record each Dense layer's kernel gradient norm every epoch in
        ``gradient_norms_`` and warn (``GradientWarning``) when gradients vanish,
        explode or are exactly zero (as after ``kernel_initializer="zeros"``).
        Off by default: it runs a slower training step.
    """),
    Param("warm_start", False, "bool", """
        When True, ``fit`` continues from the fitted weights and optimizer state
        (history and ``n_epochs_`` count on) instead of starting afresh. The
        network must stay the same: a change of data width, layers,
        activation, batch norm, optimizer, loss, classes or number of targets
        is refused.
    """),
)

# The fitted attributes of both estimators, after each one's own in its docstring.
_SHARED_ATTRIBUTES = """
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names, when X was a DataFrame with string column names.
    n_epochs_ : int
        Epochs actually run (by an ensemble's member that ran longest).
    best_epoch_ : int or None
        With early stopping, the 0-based epoch whose weights were restored; for
        an ensemble, the latest of its members' (no member's weights come from
        a later epoch).
    pruned_epoch_ : int or None
        The epochs run when a search's ``pruning`` schedule stopped the last
        fit (see ``fit``); None when it did not.
    gradient_norms_ : pandas.DataFrame or None
        With ``monitor_gradients=True``: one row per epoch (index "epoch",
        0-based), one column per Dense layer ("hidden_1", ..., "output"); the L2
        norm of the layer's kernel gradient as applied by the optimizer (after
        ``clipnorm``/``clipvalue``), averaged over the epoch's mini-batches.
        None otherwise.
    raw_gradient_norms_ : pandas.DataFrame or None
        The same before clipping (equal to ``gradient_norms_`` without it).
"""


# The Parameters section of the methods that take only the samples (predict and its kin).
_SAMPLES = """
    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Samples.
"""


#: Parameters added since skoptnn's first release, each with the value that trains
#: as skoptnn did before it (not always its default now): what an estimator
#: pickled before a parameter existed, or a search checkpointed then, stands for.
BEFORE_ADDED: dict[str, Any] = {
    "label_smoothing": 0.0, "lr_schedule": "constant", "lr_warmup": 0.0,
    "numeric_embedding": "none", "embedding_scale": 0.1, "n_ensemble": 1,
}


def mlp_params(*, l2: float, monitor: Sequence[str],
               insert: Mapping[str, Param]) -> tuple[Param, ...]:
    """One estimator's parameters, in signature order.

    The shared ones, with ``l2``'s default and ``monitor``'s choices (the
    first is the default), and after the shared parameter each key of
    ``insert`` names, the estimator's own parameter.
    """
    own = {"l2": {"default": l2}, "monitor": {"default": monitor[0], "type": choices(*monitor)}}
    params = []
    for param in _SHARED:
        params.append(param._replace(**own.get(param.name, {})))
        if param.name in insert:
            params.append(insert[param.name])
    return tuple(params)


def estimator_params(params: Sequence[Param]) -> Callable[[type], type]:
    """Class decorator: an ``__init__`` storing ``params``, and their docs.

    In the class docstring, the line ``{parameters}`` becomes the Parameters
    section, the numpydoc entries of ``params``, and the line ``{attributes}``
    the entries of the fitted attributes every estimator has.
    """
    signature = inspect.Signature([
        inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        *(inspect.Parameter(p.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=p.default)
          for p in params),
    ])

    def decorate(cls: type) -> type:
        def __init__(self, *args, **kwargs):
            try:
                bound = signature.bind(self, *args, **kwargs)
            except TypeError as exc:  # Python's own wording names the function
                raise TypeError(f"{__init__.__qualname__}() {exc}") from None
            bound.apply_defaults()
            for name, value in list(bound.arguments.items())[1:]:
                setattr(self, name, value)

        __init__.__signature__ = signature
        __init__.__module__ = cls.__module__
        __init__.__qualname__ = f"{cls.__qualname__}.__init__"
        cls.__init__ = __init__
        parameters = "\n".join(["Parameters", "----------", *(p.numpydoc() for p in params)])
        cls.__doc__ = _fill(cls.__doc__, parameters=parameters,
                            attributes=inspect.cleandoc(_SHARED_ATTRIBUTES))
        return cls

    return decorate


def samples_doc(method: Callable) -> Callable:
    """Method decorator: the docstring's line ``{parameters}`` becomes the
    Parameters section of a method whose one parameter is ``X``, the samples."""
    method.__doc__ = _fill(method.__doc__, parameters=inspect.cleandoc(_SAMPLES))
    return method


def _fill(doc: str | None, **sections: str) -> str | None:
    if doc is None:  # python -OO
        return None
    doc = inspect.cleandoc(doc)
    for name, text in sections.items():
        line = "{" + name + "}"
        if doc.count(f"\n{line}\n") != 1:
            raise ValueError(f"the docstring needs one line {line}")
        doc = doc.replace(f"\n{line}\n", f"\n{text}\n")
    return doc
