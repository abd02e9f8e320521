"""What the classifier and the regressor share: parameters, validation, fit.

scikeras' wrappers are the base classes (:mod:`skoptnn.base.scikeras`). The
subclasses encode targets; this mixin validates, replaces Keras' ``fit`` loop
with skoptnn's compiled one (:func:`skoptnn.engine.trainer.fit`, once per
member of an ensemble, :mod:`skoptnn.engine.ensemble`) and keeps the result as
one :class:`~skoptnn.engine.network.FittedNetwork` (or one
:class:`~skoptnn.engine.ensemble.FittedEnsemble`), which predicts in NumPy; the
Keras ``model_`` is built from it only when asked for.
"""

from __future__ import annotations

import inspect
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ..engine import ensemble
from ..engine.activations import ACTIVATIONS
from ..engine.cache import check_runtime
from ..engine.embedding import NUMERIC_EMBEDDINGS
from ..engine.ensemble import FittedEnsemble
from ..engine.layout import INITIALIZERS
from ..engine.network import FittedNetwork, ModelView
from ..engine.optimizers import OPTIMIZERS, default_learning_rate
from ..engine.pruning import PruningSchedule, fold_key
from ..engine.schedules import SCHEDULES
from ..engine.spec import TrainSpec
from ..engine.trainer import EarlyStopping
from .data import (
    FLOAT32_MAX,
    as_float32,
    drop_zero_weights,
    mean_one,
    penalty_samples,
    split_validation,
)
from .describe import check_same_members, check_same_network, search_defaults, train_spec
from .guard import guarded
from .params import BEFORE_ADDED
from .persist import from_plain, to_plain
from .report import DivergenceWarning as DivergenceWarning  # re-exported: defined here once
from .report import gradient_tables, joined_history, warn_divergences
from .schedule import check_schedule, cycle
from .scikeras import hidden_property as _hidden_property

# The compiled loop counts epochs in int32.
_INT32_MAX = 2**31 - 1
_FLOAT32_MAX = FLOAT32_MAX  # the classifier's class_weight check

# Warnings raised in _fit point at the caller of fit: _fit, guarded, fit, then
# scikit-learn's _fit_context wrapper stand in between (and _partial_fit for
# partial_fit).
_USER_FRAME = 5


class _MLPMixin:
    """Shared parameters and fit of skoptnn's estimators (not public)."""

    _parameter_constraints: dict = {
        "n_layers": [Interval(Integral, 0, None, closed="left")],
        "units": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": [None, "array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "batch_norm": ["boolean"],
        "kernel_initializer": [StrOptions(set(INITIALIZERS))],
        "numeric_embedding": [StrOptions(set(NUMERIC_EMBEDDINGS))],
        "embedding_scale": [Interval(Real, 0, None, closed="neither")],
        "n_ensemble": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "l1": [Interval(Real, 0, None, closed="left")],
        "l2": [Interval(Real, 0, None, closed="left")],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "learning_rate": [None, Interval(Real, 0, None, closed="neither")],
        "lr_schedule": [StrOptions(set(SCHEDULES))],
        "lr_warmup": [Interval(Real, 0, 1, closed="left")],
        "clipnorm": [None, Interval(Real, 0, None, closed="neither")],
        "clipvalue": [None, Interval(Real, 0, None, closed="neither")],
        "epochs": [Interval(Integral, 1, _INT32_MAX, closed="both")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "patience": [Interval(Integral, 1, _INT32_MAX, closed="both")],
        "min_delta": [Interval(Real, 0, None, closed="left")],
        "monitor": [str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "monitor_gradients": ["boolean"],
        "warm_start": ["boolean"],
    }

    # scikeras entry points that would bypass this fit.
    initialize = _hidden_property("initialize", "fit() builds the model")
    # scikeras' encoder factories, which skoptnn's fit never calls.
    target_encoder = _hidden_property(
        "target_encoder", "skoptnn encodes targets itself"
    )
    feature_encoder = _hidden_property(
        "feature_encoder", "skoptnn passes features to the network as float32 arrays"
    )

    # -- scikit-learn plumbing that scikeras overrides -------------------------
    @classmethod
    def _get_param_names(cls):
        # scikeras lists instance attributes; scikit-learn reads __init__.
        return BaseEstimator._get_param_names.__func__(cls)

    set_params = BaseEstimator.set_params
    __repr__ = BaseEstimator.__repr__

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.required = True
        return tags

    # -- subclasses fill these in ---------------------------------------------
    _metric: str = ""

    def _encode_target(self, y, sample_weight, continuing=False, classes=None,
                       incremental=False):
        """Encode ``y`` for the network; ``continuing``: keep the fitted encoding."""
        raise NotImplementedError

    def _output_layer(self) -> tuple[int, str, str]:
        """Return ``(n_outputs, activation, loss)`` for the fitted target."""
        raise NotImplementedError

    def _stratify(self, y):
        return None

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, pruning=None):
        """Train the network on ``(X, y)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. Sparse input is densified.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights. The loss is their weighted mean, so a weight of
            k counts as k copies of the sample and only the ratios between
            weights matter; rows of weight 0 are left out. For the per-sample
            L1/L2 penalty a row counts as its weight divided by the median
            non-zero weight.
        pruning : object, default=None
            Set by :class:`~skoptnn.ResumableBayesSearchCV` (not by hand) to
            stop a candidate that cannot win: after each of its rung epochs, a
            fit whose best validation loss (the regressor's: MAE) so far is
            worse than the threshold earlier candidates set for the same fold
            stops, keeping the weights early stopping would
            (``pruned_epoch_`` says when). Only with ``early_stopping=True``,
            whose validation split it watches; ignored otherwise.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if pruning is not None and not isinstance(pruning, PruningSchedule):
            raise TypeError("pruning is set by skoptnn's ResumableBayesSearchCV (a "
                            f"PruningSchedule) or None; got {type(pruning).__name__}.")
        return self._guarded(self._fit, X, y, sample_weight, pruning=pruning)

    def _guarded(self, train, *args, **kwargs):
        """Run ``train``: one at a time per instance, and all or nothing (see guard)."""
        return guarded(self, train, *args, **kwargs)

    def _partial_fit(self, X, y, sample_weight, classes=None):
        first = not self.__sklearn_is_fitted__()
        if first and self._is_classifier and classes is None:
            raise ValueError(
                f"classes must be passed on the first call to {type(self).__name__}."
                "partial_fit: every class the network will ever see sizes its output layer."
            )
        if not first and classes is not None:
            same = (len(classes) == len(self.classes_) if self._multilabel
                    else np.array_equal(np.unique(classes), self.classes_))
            if not same:
                raise ValueError(
                    f"classes={np.asarray(classes).tolist()!r} differs from the classes of the "
                    f"first partial_fit call, {self.classes_.tolist()!r}."
                )
        return self._fit(X, y, sample_weight, incremental=True, classes=classes,
                         stacklevel=_USER_FRAME + 1)

    def _fit(self, X, y, sample_weight, incremental=False, classes=None,
             stacklevel=_USER_FRAME, pruning=None):
        # Continued training (warm_start, partial_fit) starts from the fitted
        # network; partial_fit trains one epoch, on all the rows it is given (no
        # early stopping: nothing is held out).
        check_schedule(self.lr_schedule, self.lr_warmup)
        continuing = self.__sklearn_is_fitted__() and (incremental or self.warm_start)
        previous = self._continued_network() if continuing else None
        X, y = self._validate_training_data(X, y, reset=not continuing)
        sample_weight = self._sample_weight(X, y, sample_weight, incremental=incremental,
                                            classes=classes)
        # Only the ratios matter from here on (float64: never the possibly huge
        # products of sample_weight and class_weight); at most 1, so no sum overflows.
        sample_weight /= sample_weight.max()
        y_encoded = self._encode_target(y, sample_weight, continuing=continuing,
                                        classes=classes, incremental=incremental)
        X, y_encoded, y, sample_weight = drop_zero_weights(X, y_encoded, y, sample_weight)
        sample_weight = mean_one(sample_weight)
        seed = self._draw_seed() if previous is None else previous.seed

        early_stopping = None if incremental else self._early_stopping()
        pruning = self._fold_pruning(pruning, early_stopping, X, y_encoded)
        validation = validation_key = None
        if early_stopping is not None:
            (X, y_encoded, sample_weight), validation = split_validation(
                X, y_encoded, sample_weight, fraction=self.validation_fraction, seed=seed,
                stratify=self._stratify(y))
            # Early stopping's references go on only for the same monitored value over
            # the same validation rows and weights (and, for a smoothed loss, the same
            # smoothing; keys of fits without it stay as they were).
            validation_key = [early_stopping.monitor, fold_key(*validation)]
            if getattr(self, "label_smoothing", 0.0):
                validation_key.append(float(self.label_smoothing))
        spec = self._train_spec(X.shape[1], penalty_samples(sample_weight))
        if previous is None:
            seeds, starts = ensemble.member_seeds(seed, self.n_ensemble), [{}] * self.n_ensemble
        else:
            check_same_network(previous.spec, spec)
            members = ensemble.members(previous, self.best_epoch_)
            check_same_members(len(members), self.n_ensemble)
            seeds = [member.seed for member, _ in members]
            starts = [self._continuation(member, best, validation_key) for member, best in members]

        learning_rate = (default_learning_rate(self.optimizer) if self.learning_rate is None
                         else float(self.learning_rate))
        # The members shuffle with the fit's seed: the same mini-batches for all.
        results = ensemble.train_members(
            spec, seeds, seed, X, y_encoded, sample_weight, validation, starts=starts,
            epochs=1 if incremental else self.epochs, batch_size=self.batch_size,
            shuffle=self.shuffle, learning_rate=learning_rate, early_stopping=early_stopping,
            verbose=self.verbose, monitor_gradients=self.monitor_gradients, pruning=pruning,
            lr_schedule=self.lr_schedule, warmup=float(self.lr_warmup),
            cycle=cycle(0 if previous is None else self.n_epochs_, self.epochs, incremental),
        )
        record = ensemble.record(results)
        self._report(results, record, learning_rate,
                     0 if previous is None else self.n_epochs_, stacklevel + 1)
        self._record(record, previous)
        # One assignment: a predict in another thread sees the old network or this one.
        self._network = ensemble.fitted(spec, results, seeds, learning_rate, validation_key)
        # The Keras model_ is built on first access (see model_): building one
        # costs more than training a small network from a compiled graph.
        self.__dict__.pop("_model", None)
        return self

    # -- the steps of fit -----------------------------------------------------
    def _continued_network(self) -> FittedNetwork | FittedEnsemble:
        """What continued training starts from: model_'s weights if it was built
        (it may have trained on), else fit's."""
        view = self._view()
        return self._network if view is None else view.state()

    def _continuation(self, previous: FittedNetwork, best_epoch: int | None,
                      validation_key) -> dict:
        """The trainer's arguments that continue ``previous`` (a network, or an
        ensemble's member) restored at ``best_epoch``, numbering epochs on."""
        monitor = previous.monitor
        references = (tuple(monitor["references"]) if monitor is not None
                      and validation_key is not None
                      and monitor["validation"] == validation_key else None)
        # Whose weights these are: the restored best epoch's, unless model_
        # held them (it may have trained on: then, as without early stopping, the last's).
        trained_on = previous.from_model
        return {"start": previous.params, "optimizer_state": previous.optimizer_state,
                "first_epoch": self.n_epochs_,
                "start_epoch": None if trained_on else best_epoch,
                "references": None if trained_on else references}

    def _draw_seed(self) -> int:
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _fold_pruning(self, pruning, early_stopping, X, y_encoded):
        """This fold's own pruning thresholds: folds differ in level (see the engine's pruning)."""
        if pruning is None or early_stopping is None:
            self.__dict__.pop("_fold_key", None)
            return None
        self._fold_key = fold_key(X, y_encoded)
        return PruningSchedule(pruning.rungs, pruning.thresholds_for(self._fold_key))

    def _report(self, results, record: ensemble.Record, learning_rate: float,
                first_epoch: int, stacklevel: int) -> None:
        """Warn about a divergence (of each member), and about gradients that vanish
        or explode."""
        warn_divergences(results, learning_rate, stacklevel + 1)
        self.gradient_norms_ = self.raw_gradient_norms_ = None
        if self.monitor_gradients:
            self.gradient_norms_, self.raw_gradient_norms_ = gradient_tables(
                record, first_epoch, stacklevel + 1)

    def _record(self, record: ensemble.Record,
                previous: FittedNetwork | FittedEnsemble | None) -> None:
        """The public record of the fit: history, epochs run, best and pruned epoch."""
        history, n_before = record.history, 0
        if previous is not None:
            history, n_before = joined_history(self.history_, self.n_epochs_, record), \
                self.n_epochs_
        self.history_ = history
        self.n_epochs_ = n_before + record.n_epochs
        self.best_epoch_ = record.best_epoch
        self.pruned_epoch_ = record.pruned_epoch

    def _search_defaults(self) -> dict:
        """What the None parameters mean, as values a search space holds (see describe)."""
        return search_defaults(self)

    # -- the Keras model, built on demand --------------------------------------
    @property
    def model_(self):
        """The trained network as a compiled Keras model, built on first access.

        It is built once and kept: training it further (``model_.fit``)
        changes what ``predict`` returns and what pickling saves.
        """
        network = self.__dict__.get("_network")
        if network is None:
            raise AttributeError(f"{type(self).__name__} has no model_ before fit.")
        view = self._view()
        if view is None:
            check_runtime()
            view = ModelView(network.build_model(), network)
            # setdefault: threads that race here all get the same model; a view a
            # refit made stale meanwhile is replaced.
            current = self.__dict__.setdefault("_model", view)
            if current.origin is network:
                view = current
            else:
                self.__dict__["_model"] = view
        return view.model

    def _view(self) -> ModelView | None:
        """The built model_'s view, if it was built from the current network."""
        view = self.__dict__.get("_model")
        return view if view is not None and view.origin is self.__dict__.get("_network") \
            else None

    def __getstate__(self):
        state = dict(super().__getstate__())
        if state.pop("_model", None) is not None:  # what model_ holds now, not what fit left
            state["_network"] = self._continued_network()
        # Plain arrays and built-in values only, so that skops.io loads it safely.
        return to_plain(state)

    def __setstate__(self, state):
        state = from_plain(state)
        # Estimators pickled by scikeras-era code hold the model itself.
        model = state.pop("model_", None)
        super().__setstate__(state)
        # Parameters added since it was pickled take the values that train as the
        # versions before them did.
        for name, param in inspect.signature(type(self).__init__).parameters.items():
            if name != "self" and name not in self.__dict__:
                setattr(self, name, BEFORE_ADDED.get(name, param.default))
        if model is not None:
            self.__dict__["_model"] = ModelView(model, self._network)

    def _validate_training_data(self, X, y, reset=True):
        X, y = validate_data(
            self, X, y, reset=reset, accept_sparse=("csr", "csc", "coo"),
            dtype=(np.float32, np.float64), multi_output=self._multi_output,
            y_numeric=not self._is_classifier,
        )
        return as_float32(X), y

    def _sample_weight(self, X, y, sample_weight, incremental=False, classes=None):
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64, copy=True)
        if np.any(sample_weight < 0):
            raise ValueError("sample_weight must be non-negative.")
        if not sample_weight.any():
            # scikit-learn >= 1.8 says so itself; 1.6-1.7 let it through to a 0/0.
            raise ValueError("Sample weights must contain at least one non-zero number.")
        return sample_weight

    def _train_spec(self, n_features: int, n_samples: float) -> TrainSpec:
        return train_spec(self, n_features, n_samples)

    def _early_stopping(self) -> EarlyStopping | None:
        if not self.early_stopping:
            return None
        return EarlyStopping(self.monitor, int(self.patience), float(self.min_delta))

    # -- predict --------------------------------------------------------------
    def _predict_raw(self, X, **kwargs):
        """Network outputs for ``X`` (probabilities for a classifier)."""
        check_is_fitted(self)
        X = validate_data(
            self, X, reset=False, accept_sparse=("csr", "csc", "coo"),
            dtype=(np.float32, np.float64),
        )
        return self._live_network().predict(as_float32(X))

    def _live_network(self) -> FittedNetwork | FittedEnsemble:
        """The network to predict with: model_'s current weights once it is built."""
        view = self._view()
        return self._network if view is None else view.network()

    def __sklearn_is_fitted__(self):
        return "_network" in self.__dict__
