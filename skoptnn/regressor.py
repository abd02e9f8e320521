"""OptimizedMLPRegressor: a regularised Keras MLP as a scikit-learn regressor."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import column_or_1d

from .base.mixin import _MLPMixin
from .base.scikeras import KerasRegressor, SklearnMixinsFirst

_LOSSES = {"mse": "mean_squared_error", "mae": "mean_absolute_error", "huber": "huber"}


class OptimizedMLPRegressor(_MLPMixin, KerasRegressor, metaclass=SklearnMixinsFirst):
    """Multi-layer perceptron regressor in Keras, tuned like any scikit-learn model.

    A linear output layer with one unit per target column, trained with the
    mean squared error (or ``mae``/``huber``). Targets are standardised
    internally (each column to zero mean and unit variance) and predictions
    mapped back, so the network never has to learn the targets' scale. The
    loss and ``mae`` in ``history_`` are in those standardised units (an
    ``mae`` of 0.1 is a tenth of a standard deviation of y; the mse loss is in
    squared standard deviations). The losses in ``history_`` (and the
    ``val_loss`` that early stopping watches) leave out the L1/L2 penalty,
    which is trained on but says nothing about the fit's error. A column of y
    that is constant is predicted as that constant.

    Parameters
    ----------
    n_layers : int, default=2
        Number of hidden layers (0 gives a linear model). Ignored when
        ``hidden_layer_sizes`` is given.
    units : int, default=64
        Units in each hidden layer. Ignored when ``hidden_layer_sizes`` is given.
    hidden_layer_sizes : tuple of int, default=None
        Explicit hidden layer sizes; overrides ``n_layers`` and ``units``.
    activation : str, default="relu"
        Hidden-layer activation: "relu", "leaky_relu", "elu", "gelu", "selu",
        "silu", "tanh" or "sigmoid".
    batch_norm : bool, default=False
        Batch normalization between each hidden Dense layer and its activation.
    kernel_initializer : str, default="auto"
        "auto" (He for the ReLU family, LeCun for selu, Glorot for tanh,
        sigmoid and the output layer) or a Keras initializer name, as for
        :class:`OptimizedMLPClassifier`.
    dropout : float in [0, 1), default=0.0
        Dropout rate after each hidden activation.
    l1 : float >= 0, default=0.0
        L1 penalty on every layer's weights, per training sample (as ``l2``).
    l2 : float >= 0, default=10.0
        L2 penalty on every layer's weights, per training sample: training
        minimises the mean loss plus ``l2 * sum(w**2) / n_samples``, so the
        penalty counts once for the whole training set and its pull weakens as
        the data grows. The default keeps small tables from overfitting and
        does not hold back a fit on 10,000 rows (``benchmarks/l2_defaults.py``).
        In ``partial_fit``, ``n_samples`` is the rows of the call.
    loss : {"mse", "mae", "huber"}, default="mse"
        Training loss. Huber's threshold (Keras' ``delta=1.0``) is one
        standard deviation of y, since targets are standardised.
    optimizer : str, default="adam"
        "adam", "adamw", "nadam", "rmsprop", "sgd", "adagrad" or "adadelta".
    learning_rate : float > 0, default=None
        Learning rate; None uses the Keras default of ``optimizer``.
    clipnorm : float > 0, default=None
        Clip each gradient to this L2 norm (None: no clipping).
    clipvalue : float > 0, default=None
        Clip each gradient element to [-clipvalue, clipvalue] (None: off).
    epochs : int, default=100
        Maximum number of passes over the training data.
    batch_size : int, default=32
        Mini-batch size (capped at the number of samples).
    shuffle : bool, default=True
        Reshuffle the training data before every epoch.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data, stop when
        ``monitor`` has not improved for ``patience`` epochs, and restore the
        best weights.
        An epoch improves when it beats the last improvement's value by more
        than ``min_delta`` plus half that value's standard error (the noise of
        a mean over the validation rows, large on a small split); the weights
        restored (``best_epoch_``) are the latest epoch's within one standard
        error of the best value: the most trained of the epochs the validation
        split measures as good as the best.
    validation_fraction : float in (0, 1), default=0.1
        Share of the training data held out for early stopping.
    patience : int, default=10
        Epochs without improvement before stopping.
    min_delta : float >= 0, default=0.0
        Margin an improvement of ``monitor`` needs on top of its noise.
    monitor : {"val_loss", "val_mae"}, default="val_loss"
        Validation quantity that early stopping watches.
    random_state : int, RandomState instance or None, default=None
        Seeds initialization, dropout, shuffling and the validation split.
    verbose : int, default=0
        0 is silent; 1 or more prints one line per epoch and, with early
        stopping, which epoch's weights were restored.
    monitor_gradients : bool, default=False
        Record each Dense layer's kernel gradient norm every epoch in
        ``gradient_norms_`` and warn (``GradientWarning``) when gradients vanish,
        explode or are exactly zero (as after ``kernel_initializer="zeros"``).
        Off by default: it runs a slower training step.
    warm_start : bool, default=False
        When True, ``fit`` continues from the fitted weights and optimizer state
        (history and ``n_epochs_`` count on) instead of starting afresh. The
        network must stay the same: a change of data width, layers,
        activation, batch norm, optimizer, loss or number of targets is refused.

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names, when X was a DataFrame with string column names.
    n_outputs_ : int
        Number of target columns.
    model_ : keras.Model
        The trained Keras network; it predicts standardised targets. Built
        from the fitted weights on first access, since fit and predict do not
        need it; training it further changes what ``predict`` returns.
    history_ : dict of str to list of float
        Per-epoch ``loss``, ``mae`` and, with early stopping, ``val_loss`` and
        ``val_mae``.
    n_epochs_ : int
        Epochs actually run.
    best_epoch_ : int or None
        With early stopping, the 0-based epoch whose weights were restored.
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

    See Also
    --------
    OptimizedMLPClassifier : The same network for classification.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skoptnn import OptimizedMLPRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = make_pipeline(StandardScaler(), OptimizedMLPRegressor(epochs=30, random_state=0))
    >>> reg.fit(X, y).score(X, y) > 0.4
    True
    """

    _parameter_constraints: dict = {
        **_MLPMixin._parameter_constraints,
        "loss": [StrOptions(set(_LOSSES))],
        "monitor": [StrOptions({"val_loss", "val_mae"})],
    }
    _metric = "mae"
    _multi_output = True
    _is_classifier = False
    score = RegressorMixin.score

    def __init__(
        self,
        n_layers=2,
        units=64,
        hidden_layer_sizes=None,
        activation="relu",
        batch_norm=False,
        kernel_initializer="auto",
        dropout=0.0,
        l1=0.0,
        l2=10.0,
        loss="mse",
        optimizer="adam",
        learning_rate=None,
        clipnorm=None,
        clipvalue=None,
        epochs=100,
        batch_size=32,
        shuffle=True,
        early_stopping=False,
        validation_fraction=0.1,
        patience=10,
        min_delta=0.0,
        monitor="val_loss",
        random_state=None,
        verbose=0,
        monitor_gradients=False,
        warm_start=False,
    ):
        self.n_layers = n_layers
        self.units = units
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.batch_norm = batch_norm
        self.kernel_initializer = kernel_initializer
        self.dropout = dropout
        self.l1 = l1
        self.l2 = l2
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.epochs = epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.min_delta = min_delta
        self.monitor = monitor
        self.random_state = random_state
        self.verbose = verbose
        self.monitor_gradients = monitor_gradients
        self.warm_start = warm_start

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _encode_target(self, y, sample_weight, continuing=False, classes=None,
                       incremental=False):
        y = np.asarray(y, dtype=np.float64)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)  # as scikit-learn's MLPRegressor: warn, predict 1-D
        y_all = y.reshape(len(y), -1)
        if continuing:
            if y_all.shape[1] != self.n_outputs_:
                raise ValueError(
                    "warm_start=True and partial_fit continue the fitted network, which "
                    f"predicts {self.n_outputs_} target(s); this y has {y_all.shape[1]}."
                )
            # The first fit's standardisation: the network's outputs mean what they meant.
            train_scale = np.where(self._y_scale > 0, self._y_scale, 1.0)
            # A column constant so far, that varies now, is learnt from here on, in
            # the unit it was trained in (1): no longer predicted as the constant.
            varies = (self._y_scale == 0) & (y_all != self._y_mean).any(axis=0)
            self._y_scale = np.where(varies, 1.0, self._y_scale)
            return ((y_all - self._y_mean) / train_scale).astype(np.float32)
        self._y_ndim = y.ndim
        self.n_outputs_ = y_all.shape[1]
        # The scale comes from the rows that are trained on, as they are weighted:
        # a weight of k counts as k copies, and a zero-weight row (an outlier,
        # say) is not in the data. (scikit-learn refuses all-zero weights first.)
        keep = sample_weight != 0
        y2d = y_all[keep]
        w = sample_weight[keep]  # scaled to at most 1 by fit: w * y cannot overflow
        with np.errstate(over="ignore", invalid="ignore"):
            mean = np.average(y2d, axis=0, weights=w)
            spread = np.abs(y2d - mean).max(axis=0)
        if not (np.isfinite(mean).all() and np.isfinite(spread).all()):
            raise ValueError("y has values too large to standardise in float64; rescale y.")
        # Divided by the largest deviation before squaring: y ~ 1e200 would
        # overflow.
        unit = np.where(spread > 0, spread, 1.0)
        scale = unit * np.sqrt(np.average(((y2d - mean) / unit) ** 2, axis=0, weights=w))
        # A constant column is predicted as exactly its value (scale 0 at
        # predict time), whatever the network outputs for it; it trains on
        # zeros (scale 1).
        constant = np.ptp(y2d, axis=0) == 0
        self._y_mean = np.where(constant, y2d[0], mean)
        self._y_scale = np.where(constant, 0.0, scale)
        train_scale = np.where(self._y_scale > 0, self._y_scale, 1.0)
        return ((y_all - self._y_mean) / train_scale).astype(np.float32)

    def _output_layer(self):
        return self.n_outputs_, "linear", _LOSSES[self.loss]

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train one epoch on ``(X, y)``, continuing from the current state.

        Each call runs one pass of mini-batches over the rows it is given,
        from the weights and optimizer state the previous call (or ``fit``)
        left; ``n_epochs_`` and ``history_`` count on. The target's
        standardisation is the first call's. Early stopping does not apply
        (nothing is held out). No training graph is traced again between calls.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, as in ``fit``.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._guarded(self._partial_fit, X, y, sample_weight)

    def predict(self, X):
        """Predict the target of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions, in the units of the training targets.
        """
        raw = self._predict_raw(X).astype(np.float64)
        y = raw * self._y_scale + self._y_mean
        return y.ravel() if self._y_ndim == 1 else y
