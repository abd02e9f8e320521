"""What the classifier and the regressor share: parameters, validation, fit.

scikeras' wrappers are the base classes. This module fixes what scikeras 0.13
breaks on scikit-learn >= 1.6, encodes targets itself (in the subclasses) and
replaces Keras' ``fit`` loop with skoptnn's compiled one (:mod:`skoptnn.engine.trainer`). A
fitted estimator holds its weights as arrays and predicts in NumPy; the Keras
``model_`` is built from them only when asked for.
"""

from __future__ import annotations

import threading
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    _fit_context,
)
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ..engine.activations import ACTIVATIONS
from ..engine.cache import check_runtime
from ..engine.gradients import GradientWarning, diagnose, norm_tables
from ..engine.inference import dense_layers, predict
from ..engine.keras_model import build_model, read_params, read_state
from ..engine.layout import INITIALIZERS
from ..engine.optimizers import OPTIMIZERS, default_learning_rate
from ..engine.pruning import PruningSchedule, fold_key
from ..engine.spec import NetworkSpec, TrainSpec
from ..engine.trainer import EarlyStopping, fit
from .persist import from_plain, to_plain
from .scikeras import hidden_property as _hidden_property

# The compiled loop counts epochs in int32; the network computes in float32.
_INT32_MAX = 2**31 - 1
_FLOAT32_MAX = float(np.finfo(np.float32).max)

# ids of the estimators whose fit is running (an id is unique while fit holds self).
_fitting: set[int] = set()
_fitting_lock = threading.Lock()


# Warnings raised in _fit point at the caller of fit: _fit, _guarded, fit, then
# scikit-learn's _fit_context wrapper stand in between (and _partial_fit for
# partial_fit).
_USER_FRAME = 5


class DivergenceWarning(UserWarning):
    """Training stopped because the loss, weights or outputs became NaN or infinite."""


class _MLPMixin:
    """Shared parameters and fit of skoptnn's estimators (not public)."""

    _parameter_constraints: dict = {
        "n_layers": [Interval(Integral, 0, None, closed="left")],
        "units": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": [None, "array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "batch_norm": ["boolean"],
        "kernel_initializer": [StrOptions(set(INITIALIZERS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "l1": [Interval(Real, 0, None, closed="left")],
        "l2": [Interval(Real, 0, None, closed="left")],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "learning_rate": [None, Interval(Real, 0, None, closed="neither")],
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

    # -- fit ------------------------------------------------------------------
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
        """Run ``train``: one at a time per instance, and all or nothing."""
        # Two fits of one instance at once would interleave their attributes.
        with _fitting_lock:
            if id(self) in _fitting:
                raise RuntimeError(
                    f"{type(self).__name__}.fit is already running on this instance in "
                    "another thread; fit one clone per thread (sklearn.base.clone)."
                )
            _fitting.add(id(self))
        try:
            # A failed fit leaves the estimator exactly as it was, never half-fitted.
            state = dict(self.__dict__)
            try:
                return train(*args, **kwargs)
            except BaseException:
                self.__dict__.clear()
                self.__dict__.update(state)
                raise
        finally:
            with _fitting_lock:
                _fitting.discard(id(self))

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
        # weights and optimizer state; partial_fit trains one epoch, on all the
        # rows it is given (no early stopping: nothing is held out).
        continuing = self.__sklearn_is_fitted__() and (incremental or self.warm_start)
        previous = self._fitted_state() if continuing else None
        X, y = self._validate_training_data(X, y, reset=not continuing)
        sample_weight = self._sample_weight(X, y, sample_weight, incremental=incremental,
                                            classes=classes)
        # Only the ratios matter from here on (float64: never the possibly huge
        # products of sample_weight and class_weight); at most 1, so no sum overflows.
        sample_weight /= sample_weight.max()
        y_encoded = self._encode_target(y, sample_weight, continuing=continuing,
                                        classes=classes, incremental=incremental)
        X, y_encoded, y, sample_weight = self._drop_zero_weights(X, y_encoded, y, sample_weight)
        # Keras averages w * loss over the rows; scaled to mean 1, that is the
        # weighted mean, so a weight of k counts as k copies of the row (as in
        # scikit-learn's MLP) and multiplying every weight by c changes nothing.
        sample_weight = (sample_weight / sample_weight.mean()).astype(np.float32)
        if previous is None:
            rng = check_random_state(self.random_state)
            seed = int(rng.randint(np.iinfo(np.int32).max))
        else:  # shuffling and dropout go on from where the last fit left them
            seed = previous["seed"]

        early_stopping = None if incremental else self._early_stopping()
        if pruning is not None and early_stopping is not None:
            # This fold's own thresholds: folds differ in level (see _pruning).
            self._fold_key = fold_key(X, y_encoded)
            pruning = PruningSchedule(pruning.rungs, pruning.thresholds_for(self._fold_key))
        else:
            pruning = None
            self.__dict__.pop("_fold_key", None)
        validation = None
        monitor = None
        if early_stopping is not None:
            X, y_encoded, sample_weight, validation = self._split_validation(
                X, y_encoded, y, sample_weight, seed
            )
            # Early stopping's references go on only for the same monitored value over
            # the same validation rows and weights.
            validation_key = [early_stopping.monitor, fold_key(*validation)]
            if previous is not None and previous["monitor"] is not None:
                if previous["monitor"]["validation"] == validation_key:
                    monitor = tuple(previous["monitor"]["references"])
        # Weights count as copies of a row, relative to a typical (the median) row so
        # that only their ratios matter and one tiny weight cannot switch the
        # penalty off: the penalty's number of training samples.
        n_samples = float(sample_weight.sum() / np.median(sample_weight))
        spec = self._train_spec(n_features=X.shape[1], n_samples=n_samples)
        if previous is not None:
            _check_same_network(previous["spec"], spec)

        learning_rate = (
            default_learning_rate(self.optimizer) if self.learning_rate is None
            else float(self.learning_rate)
        )
        result = fit(
            spec, seed, X, y_encoded, sample_weight, validation,
            epochs=1 if incremental else self.epochs, batch_size=self.batch_size,
            shuffle=self.shuffle, learning_rate=learning_rate, early_stopping=early_stopping,
            verbose=self.verbose, monitor_gradients=self.monitor_gradients,
            pruning=pruning,
            **({} if previous is None else {
                "start": previous["params"], "optimizer_state": previous["optimizer_state"],
                "first_epoch": previous["n_epochs"], "start_epoch": previous["best_epoch"],
                "references": monitor}),
        )
        if result.diverged_epoch is not None:
            kept = (f"the weights of epoch {result.kept_epoch}" if result.kept_epoch
                    else "the initial weights")
            warnings.warn(
                f"Training diverged: the loss, weights or outputs became non-finite at "
                f"epoch {result.diverged_epoch + 1}; the fit kept {kept}. "
                f"Lower learning_rate (now {learning_rate:g}) or set clipnorm=1.0.",
                DivergenceWarning,
                stacklevel=stacklevel,
            )

        self.gradient_norms_ = self.raw_gradient_norms_ = None
        if self.monitor_gradients:
            first_epoch = 0 if previous is None else previous["n_epochs"]
            self.gradient_norms_, self.raw_gradient_norms_ = norm_tables(
                result.gradient_norms, result.kernel_names, first_epoch
            )
            message = diagnose(self.raw_gradient_norms_)
            if message is not None:
                warnings.warn(message, GradientWarning, stacklevel=stacklevel)

        history = result.history
        if previous is not None:  # one history across the calls, as n_epochs_ counts
            before, n_before = previous["history"], previous["n_epochs"]
            # A column one of the calls did not record (val_loss without early
            # stopping) is NaN there, so every column has n_epochs_ entries.
            history = {k: before.get(k, [np.nan] * n_before)
                       + history.get(k, [np.nan] * result.n_epochs)
                       for k in dict.fromkeys([*before, *history])}
        # The Keras model_ is built on first access (see model_): building one
        # costs more than training a small network from a compiled graph.
        self.__dict__.pop("_model", None)
        self._params = result.params
        self._dense = dense_layers(spec.network, result.params)
        self._optimizer_state = result.optimizer_state
        self._learning_rate = learning_rate
        self._seed = seed
        self.history_ = history
        self.n_epochs_ = (0 if previous is None else previous["n_epochs"]) + result.n_epochs
        self.best_epoch_ = result.best_epoch
        self.pruned_epoch_ = result.pruned_epoch
        self._monitor = (None if result.monitor is None else
                         {"validation": validation_key, "references": list(result.monitor)})
        self._spec = spec
        return self

    def _search_defaults(self) -> dict:
        """What the parameters that default to None mean, as values a search space holds.

        A search that starts from the estimator's own configuration (see
        ``ResumableBayesSearchCV(defaults_first=True)``) reads these instead of
        drawing the None ones at random: ``learning_rate=None`` is the
        optimizer's Keras default, and no clipping is an infinite threshold
        (the space's largest).
        """
        out: dict = {}
        if self.learning_rate is None and self.optimizer in OPTIMIZERS:
            out["learning_rate"] = default_learning_rate(self.optimizer)
        for name in ("clipnorm", "clipvalue"):
            if getattr(self, name) is None:
                out[name] = float("inf")
        return out

    def _fitted_state(self) -> dict:
        """What continued training starts from: the current weights and optimizer state."""
        model = self.__dict__.get("_model")
        params, optimizer_state = self._params, self._optimizer_state
        if model is not None:  # model_ may have been trained further
            params, model_state = read_state(model, self._spec)
            optimizer_state = optimizer_state if model_state is None else model_state
        return {"spec": self._spec, "params": params, "optimizer_state": optimizer_state,
                "seed": self._seed, "n_epochs": self.n_epochs_, "history": self.history_,
                # Early stopping's references, unless model_ trained on (as best_epoch).
                "monitor": self.__dict__.get("_monitor") if model is None else None,
                # Whose weights these are: the restored best epoch's, unless model_
                # trained on (then, as for a fit without early stopping, the last's).
                "best_epoch": self.best_epoch_ if model is None else None}

    # -- the Keras model, built on demand --------------------------------------
    @property
    def model_(self):
        """The trained network as a compiled Keras model, built on first access.

        It is built once and kept: training it further (``model_.fit``)
        changes what ``predict`` returns and what pickling saves.
        """
        if "_params" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__} has no model_ before fit.")
        model = self.__dict__.get("_model")
        if model is None:
            # setdefault: threads that race here all get the same model.
            model = self.__dict__.setdefault("_model", self._build_model())
        return model

    def _build_model(self):
        check_runtime()
        return build_model(self._spec, self._params, self._optimizer_state,
                           self._learning_rate, self._seed)

    def _current_params(self):
        """The weights to predict with: model_'s if it was built, else fit's."""
        model = self.__dict__.get("_model")
        if model is None:
            return self._params
        return read_params(model, self._spec.network)

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_dense", None)  # derived from _params: __setstate__ rebuilds it
        model = state.pop("_model", None)
        if model is not None:  # pickle what model_ knows now, not only what fit left
            params, optimizer_state = read_state(model, self._spec)
            state["_params"] = params
            # model_ may have trained on: early stopping's references no longer hold.
            state["_monitor"] = None
            # Unless model_ was recompiled with another optimizer, which the
            # rebuilt model_ (compiled as fit left it) could not take.
            if optimizer_state is not None:
                state["_optimizer_state"] = optimizer_state
        # Plain arrays and built-in values only, so that skops.io loads it safely.
        return to_plain(state)

    def __setstate__(self, state):
        # Estimators pickled with their model_ hold the model itself.
        state = from_plain(state)
        model = state.pop("model_", None)
        super().__setstate__(state)
        if model is not None:
            self.__dict__["_model"] = model
            self._params, optimizer_state = read_state(model, self._spec)
            if optimizer_state is not None:
                self._optimizer_state = optimizer_state
        if "_params" in self.__dict__:
            self._dense = dense_layers(self._spec.network, self._params)

    # -- the steps of fit -----------------------------------------------------
    def _validate_training_data(self, X, y, reset=True):
        X, y = validate_data(
            self, X, y, reset=reset, accept_sparse=("csr", "csc", "coo"),
            dtype=(np.float32, np.float64), multi_output=self._multi_output,
            y_numeric=not self._is_classifier,
        )
        return _as_float32(X), y

    def _sample_weight(self, X, y, sample_weight, incremental=False, classes=None):
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64, copy=True)
        if np.any(sample_weight < 0):
            raise ValueError("sample_weight must be non-negative.")
        if not sample_weight.any():
            # scikit-learn >= 1.8 says so itself; 1.6-1.7 let it through to a 0/0.
            raise ValueError("Sample weights must contain at least one non-zero number.")
        return sample_weight

    @staticmethod
    def _drop_zero_weights(X, y_encoded, y, sample_weight):
        # A zero weight means "not in the data": drop it so the mini-batches are
        # exactly those of the data without it.
        keep = sample_weight != 0
        if not keep.any():
            raise ValueError("sample_weight is zero for every sample: nothing to train on.")
        if keep.all():
            return X, y_encoded, y, sample_weight
        return X[keep], y_encoded[keep], y[keep], sample_weight[keep]

    def _hidden_layer_sizes(self) -> tuple[int, ...]:
        if self.hidden_layer_sizes is None:
            return (int(self.units),) * int(self.n_layers)
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if np.ndim(sizes) == 0 else list(sizes)
        if not all(isinstance(s, Integral) and s > 0 for s in sizes):
            raise ValueError(
                f"hidden_layer_sizes must be positive integers; got {self.hidden_layer_sizes!r}."
            )
        return tuple(int(s) for s in sizes)

    def _train_spec(self, n_features: int, n_samples: float) -> TrainSpec:
        if self.clipnorm is not None and self.clipvalue is not None:
            # Keras' optimizers refuse both; say so before training, not after.
            raise ValueError(
                f"clipnorm and clipvalue cannot both be set (got clipnorm={self.clipnorm}, "
                f"clipvalue={self.clipvalue}); set one of them to None."
            )
        n_outputs, output_activation, loss = self._output_layer()
        network = NetworkSpec(
            n_features=int(n_features),
            hidden_layer_sizes=self._hidden_layer_sizes(),
            activation=self.activation,
            batch_norm=bool(self.batch_norm),
            dropout=float(self.dropout),
            # Per sample: the penalty is counted once for the whole training set,
            # each batch's mean loss carrying 1/n_samples of it, so its pull
            # weakens as the data grows (a prior that more data outweighs).
            l1=float(self.l1) / n_samples,
            l2=float(self.l2) / n_samples,
            n_outputs=n_outputs,
            output_activation=output_activation,
            kernel_initializer=self.kernel_initializer,
        )
        return TrainSpec(
            network=network,
            loss=loss,
            metric=self._metric,
            optimizer=self.optimizer,
            clipnorm=None if self.clipnorm is None else float(self.clipnorm),
            clipvalue=None if self.clipvalue is None else float(self.clipvalue),
        )

    def _early_stopping(self) -> EarlyStopping | None:
        if not self.early_stopping:
            return None
        return EarlyStopping(self.monitor, int(self.patience), float(self.min_delta))

    def _split_validation(self, X, y_encoded, y, sample_weight, seed):
        stratify = self._stratify(y)
        if stratify is not None:
            labels, counts = np.unique(stratify, return_counts=True)
            if counts.min() < 2:
                rare = np.asarray(labels[counts.argmin()]).tolist()  # plain, for the message
                raise ValueError(
                    "early_stopping=True holds out a stratified validation set "
                    f"(validation_fraction={self.validation_fraction}), which needs at least "
                    f"2 samples of every class; class {rare!r} has "
                    f"{counts.min()} with non-zero weight. Provide more samples or set "
                    "early_stopping=False."
                )
        try:
            X_tr, X_val, y_tr, y_val, w_tr, w_val = train_test_split(
                X, y_encoded, sample_weight, test_size=self.validation_fraction,
                random_state=seed % (2**32), stratify=stratify,
            )
        except ValueError as exc:
            raise ValueError(
                f"early_stopping=True could not hold out validation_fraction="
                f"{self.validation_fraction} of {len(X)} samples: {exc} Provide more "
                "samples, change validation_fraction, or set early_stopping=False."
            ) from None
        return X_tr, y_tr, w_tr, (X_val, y_val, w_val)

    # -- predict --------------------------------------------------------------
    def _predict_raw(self, X, **kwargs):
        """Network outputs for ``X`` (probabilities for a classifier)."""
        check_is_fitted(self)
        X = validate_data(
            self, X, reset=False, accept_sparse=("csr", "csc", "coo"),
            dtype=(np.float32, np.float64),
        )
        network = self._spec.network
        if "_model" in self.__dict__:  # model_ may have been trained since: read it
            return predict(network, self._current_params(), _as_float32(X))
        # fit's weights, converted (and batch norm folded) once by _fit, not per call.
        return predict(network, self._params, _as_float32(X), dense=self._dense)

    def __sklearn_is_fitted__(self):
        return "_params" in self.__dict__


_LOSS_PARAMS = {"mean_squared_error": "mse", "mean_absolute_error": "mae"}
# What continued training cannot change: the arrays it starts from would not fit.
_NETWORK_FIELDS = ("n_features", "hidden_layer_sizes", "activation", "batch_norm",
                   "n_outputs", "output_activation")


def _check_same_network(old: TrainSpec, new: TrainSpec) -> None:
    pairs = [(name, getattr(old.network, name), getattr(new.network, name))
             for name in _NETWORK_FIELDS]
    pairs += [(name, getattr(old, name), getattr(new, name)) for name in ("loss", "optimizer")]
    for name, before, now in pairs:
        if before != now:
            if name == "loss":  # the parameter's value, not Keras' name for it
                before, now = _LOSS_PARAMS.get(before, before), _LOSS_PARAMS.get(now, now)
            raise ValueError(
                f"warm_start=True and partial_fit continue the fitted network, whose {name} "
                f"was {before!r}; this fit's is {now!r}. Keep it, or set warm_start=False "
                "(or refit with fit) to train a new network."
            )


def _as_float32(X) -> np.ndarray:
    """``X`` (validated, float32 or float64, maybe sparse) as the network's dense float32."""
    try:
        # The network computes in float32: a finite float64 beyond its range
        # would silently become inf there.
        with np.errstate(over="raise"):
            if sp.issparse(X):
                # Cast before densifying: a dense float64 copy would take twice the memory.
                return X.astype(np.float32).toarray()
            return np.asarray(X, dtype=np.float32)
    except FloatingPointError:
        raise ValueError(
            f"X has values too large for float32, the precision the network computes in "
            f"(largest magnitude {abs(X).max():.3g}, float32 holds up to "
            f"{_FLOAT32_MAX:.3g}). Rescale X, e.g. with StandardScaler."
        ) from None
