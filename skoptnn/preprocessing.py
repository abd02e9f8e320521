"""Robust scaling with smooth clipping: RealMLP's preprocessing of numeric columns."""

from __future__ import annotations

import warnings
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import FLOAT_DTYPES, check_array, check_is_fitted, validate_data

__all__ = ["SmoothClipScaler"]


class SmoothClipScaler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Center at the median, scale by a quantile range, then clip outliers smoothly.

    The numeric preprocessing of RealMLP (Holzmueller et al., 2024), usable
    wherever a ``StandardScaler`` is. Each column is centered at its median and
    multiplied by ``scale_``, then squashed into ``(-clip, clip)`` by

    .. math:: x \\mapsto \\frac{x}{\\sqrt{1 + (x / \\mathrm{clip})^2}},

    which is close to the identity for ``|x|`` well below ``clip``. Unlike a
    hard clip it keeps outliers ordered, and unlike a standard scaler it keeps
    a few extreme values from squeezing every other row of the column towards 0.

    Parameters
    ----------
    clip : float > 0 or None, default=3.0
        The bound the outputs approach in magnitude (RealMLP's default). None
        skips the clipping: robust scaling alone.
    quantile_range : tuple of float (q_low, q_high), default=(25.0, 75.0)
        Percentiles, ``0 <= q_low < q_high <= 100``, whose distance sets the
        scale; the default is the interquartile range.
    copy : bool, default=True
        False transforms a float NumPy array in place where it can (as
        ``StandardScaler(copy=False)``); any other input is copied anyway.

    Attributes
    ----------
    center_ : ndarray of shape (n_features,), dtype float64
        The median of each column (0 for a column with no values).
    scale_ : ndarray of shape (n_features,), dtype float64
        The factor each centered column is multiplied by: ``1 / (q_high - q_low)``
        of its values; where that range is 0, ``1 / (0.5 * (max - min))``; where
        that is 0 too (a constant column, or one with no values), 0, so the
        column becomes 0.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit. Defined only when ``X`` has feature
        names that are all strings.

    See Also
    --------
    sklearn.preprocessing.RobustScaler : Median and quantile-range scaling
        without the clipping (it divides by the range).
    sklearn.preprocessing.StandardScaler : Mean and standard deviation scaling.

    Notes
    -----
    Missing values (NaN) are left out of the statistics, as scikit-learn's
    scalers do, and come out of ``transform`` as NaN: put an imputer before or
    after the scaler. Infinite values are refused. Sparse input is refused
    (with a TypeError): centering would make every zero nonzero.

    The float dtype of ``X`` is kept (float32 stays float32); integers become
    float64. The statistics are computed in float64.

    ``inverse_transform`` undoes the clip with ``x = y / sqrt(1 - (y / clip)^2)``,
    exact for ``|y| < clip``. In floating point the clip is many-to-one for
    values far beyond ``clip`` (they round to ``clip`` itself), and so those
    come back as inf; ``|y| == clip`` gives inf, and ``|y| > clip``, which
    ``transform`` never outputs, is refused. A constant column comes back as
    its value.

    References
    ----------
    D. Holzmueller, L. Grinsztajn and I. Steinwart, "Better by default: Strong
    pre-tuned MLPs and boosted trees on tabular data", NeurIPS 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from skoptnn import SmoothClipScaler
    >>> X = np.array([[1.0], [2.0], [3.0], [4.0], [100.0]])
    >>> scaler = SmoothClipScaler().fit(X)
    >>> scaler.center_, scaler.scale_  # the median 3; the quartiles 2 and 4
    (array([3.]), array([0.5]))
    >>> scaler.transform(X).ravel().round(3)  # 100 lands just below clip=3
    array([-0.949, -0.493,  0.   ,  0.493,  2.994])
    >>> scaler.inverse_transform(scaler.transform(X)).ravel().round(6)
    array([  1.,   2.,   3.,   4., 100.])
    """

    _parameter_constraints: dict = {
        "clip": [Interval(Real, 0, None, closed="neither"), None],
        "quantile_range": [tuple],
        "copy": ["boolean"],
    }

    def __init__(
        self,
        clip: float | None = 3.0,
        quantile_range: tuple[float, float] = (25.0, 75.0),
        copy: bool = True,
    ) -> None:
        self.clip = clip
        self.quantile_range = quantile_range
        self.copy = copy

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None) -> SmoothClipScaler:
        """Compute each column's median and scale.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data; NaN is ignored.
        y : None
            Ignored.

        Returns
        -------
        self : SmoothClipScaler
            The fitted scaler.
        """
        q_low, q_high = self._quantiles()
        X = validate_data(self, X, dtype=FLOAT_DTYPES, ensure_all_finite="allow-nan")
        X = X.astype(np.float64, copy=False)
        with warnings.catch_warnings():
            # A column with no values at all: NaN statistics, made 0 below.
            warnings.simplefilter("ignore", RuntimeWarning)
            low, median, high = np.nanpercentile(X, [q_low, 50.0, q_high], axis=0)
            half_range = 0.5 * (np.nanmax(X, axis=0) - np.nanmin(X, axis=0))
        spread = np.where(high - low > 0, high - low, half_range)
        scale = np.zeros_like(spread)
        np.divide(1.0, spread, out=scale, where=spread > 0)  # NaN > 0 is False too
        self.center_ = np.nan_to_num(median, nan=0.0)
        self.scale_ = scale
        return self

    def transform(self, X):
        """Center, scale and clip ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data; NaN passes through.

        Returns
        -------
        X_tr : ndarray of shape (n_samples, n_features)
            The scaled data, in the float dtype of ``X``: in ``[-clip, clip]``
            (values so far out that the result rounds to ``clip`` give ``clip``), or NaN.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, copy=self.copy, dtype=FLOAT_DTYPES,
                          ensure_all_finite="allow-nan")
        # In float64 whatever X's dtype: a float32 scale of a column with a tiny
        # spread would overflow (and its median row become 0 * inf = NaN).
        Z = X if X.dtype == np.float64 else X.astype(np.float64)
        Z -= self.center_
        with np.errstate(over="ignore"):
            Z *= self.scale_
        if self.clip is not None:
            # x / sqrt(1 + (x / clip)**2) as clip * u / hypot(1, u), u = x / clip:
            # u**2 would overflow for large x (the result dropping to 0), and
            # |u| <= hypot(1, u) keeps every rounded result within the clip.
            with np.errstate(over="ignore"):
                Z /= self.clip
            infinite = np.isinf(Z)  # u beyond the dtype's range: its limit, +-1
            np.divide(Z, np.hypot(1.0, Z), out=Z, where=~infinite)
            Z[infinite] = np.sign(Z[infinite])
            Z *= self.clip
        if Z is not X:
            X[...] = Z
            if self.clip is not None:
                # Rounding to X's dtype can land a hair beyond the clip (float32(0.001)
                # > 0.001): the dtype's largest value within it stands in.
                limit = X.dtype.type(self.clip)
                if float(limit) > self.clip:
                    limit = np.nextafter(limit, X.dtype.type(0))
                np.clip(X, -limit, limit, out=X)
        return X

    def inverse_transform(self, X):
        """Map transformed data back to the original units.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Transformed data, every value in ``[-clip, clip]`` (or NaN).

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            The data before ``transform``; values at ``+-clip`` come back as
            ``+-inf`` (see Notes).
        """
        check_is_fitted(self)
        # check_array, as StandardScaler's: the names of transformed data are
        # the caller's to keep or drop.
        X = check_array(X, copy=self.copy, dtype=FLOAT_DTYPES, ensure_all_finite="allow-nan")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but SmoothClipScaler is expecting "
                             f"{self.n_features_in_} features as input.")
        if self.clip is not None:
            beyond = np.abs(np.nan_to_num(X)) > self.clip
            if beyond.any():
                raise ValueError(
                    f"X has {int(beyond.sum())} value(s) beyond clip={self.clip} in magnitude "
                    f"(e.g. {X[beyond][0]}), which transform never outputs; they have no "
                    "inverse."
                )
            ratio = X / self.clip
            with np.errstate(divide="ignore"):
                # (1 - r)(1 + r) rather than 1 - r**2: exact for r near 1.
                X /= np.sqrt((1.0 - ratio) * (1.0 + ratio))
        varies = self.scale_ != 0
        X[:, varies] /= self.scale_[varies].astype(X.dtype)
        # A constant column was mapped to 0 whatever its value: back to that value.
        constant = X[:, ~varies]
        X[:, ~varies] = np.where(np.isnan(constant), np.nan, 0.0)
        X += self.center_.astype(X.dtype)
        return X

    def _quantiles(self) -> tuple[float, float]:
        q = self.quantile_range
        if (len(q) != 2 or not all(isinstance(v, Real) for v in q)
                or not 0 <= q[0] < q[1] <= 100):
            raise ValueError(
                "quantile_range must be two percentiles (q_low, q_high) with "
                f"0 <= q_low < q_high <= 100, got {q!r}."
            )
        return float(q[0]), float(q[1])
