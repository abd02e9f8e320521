"""OptimizedMLPRegressor: a regularised Keras MLP as a scikit-learn regressor."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import column_or_1d

from .base.mixin import _MLPMixin
from .base.params import Param, choices, estimator_params, mlp_params, samples_doc
from .base.scikeras import KerasRegressor, SklearnMixinsFirst

_LOSSES = {"mse": "mean_squared_error", "mae": "mean_absolute_error", "huber": "huber"}
_MONITORS = ("val_loss", "val_mae")  # the first is the default
_PARAMS = mlp_params(l2=10.0, monitor=_MONITORS, insert={
    "l2": Param("loss", "mse", choices(*_LOSSES), """
        Training loss. Huber's threshold (Keras' ``delta=1.0``) is one
        standard deviation of y, since targets are standardised.
    """),
})


@estimator_params(_PARAMS)
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

    {parameters}

    Attributes
    ----------
    n_outputs_ : int
        Number of target columns.
    model_ : keras.Model
        The trained Keras network; it predicts standardised targets. Built
        from the fitted weights on first access, since fit and predict do not
        need it; training it further changes what ``predict`` returns. For an
        ensemble, one branch per member (layers ``m1_hidden_1``, ...) and their
        mean (``keras.layers.Average``), compiled with the loss of that mean:
        ``model_.fit`` trains the averaged prediction's loss, not each
        member's own.
    history_ : dict of str to list of float
        Per-epoch ``loss``, ``mae`` and, with early stopping, ``val_loss`` and
        ``val_mae``. For an ensemble, each value is the mean over the members
        that ran that epoch (one stopped early no longer counts), not the
        averaged prediction's.
    {attributes}

    See Also
    --------
    OptimizedMLPClassifier : The same network for classification.

    Examples
    --------
    Two targets in the hundreds, from features that are already standard
    normal (other features want a ``StandardScaler`` in front, as in
    :class:`OptimizedMLPClassifier`'s example):

    >>> from sklearn.datasets import make_regression
    >>> from skoptnn import OptimizedMLPRegressor
    >>> X, y = make_regression(n_samples=300, n_features=5, n_targets=2, noise=1.0,
    ...                        random_state=0)
    >>> reg = OptimizedMLPRegressor(epochs=50, random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape  # one column per target, in the units of y
    (3, 2)
    >>> reg.score(X, y) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **_MLPMixin._parameter_constraints,
        "loss": [StrOptions(set(_LOSSES))],
        "monitor": [StrOptions(set(_MONITORS))],
    }
    # __init__ stores the parameters of _PARAMS (made by @estimator_params).
    _metric = "mae"
    _multi_output = True
    _is_classifier = False
    score = RegressorMixin.score

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

    @samples_doc
    def predict(self, X):
        """Predict the target of each sample.

        The network predicts standardised targets; they are mapped back with
        the training targets' mean and standard deviation, and a target
        column that was constant in training is predicted as that constant.

        {parameters}

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions, in the units of the training targets.
        """
        raw = self._predict_raw(X).astype(np.float64)
        y = raw * self._y_scale + self._y_mean
        return y.ravel() if self._y_ndim == 1 else y
