"""Plots of a fitted skoptnn network's training (learning curves, gradient norms)
and of a search's progress (convergence).

matplotlib is imported only when a plot is drawn, so ``import skoptnn.plotting``
is cheap.

The network plots accept a fitted :class:`~skoptnn.OptimizedMLPClassifier` or
:class:`~skoptnn.OptimizedMLPRegressor`, a fitted
:class:`~sklearn.pipeline.Pipeline` ending in one, or a fitted search
(``GridSearchCV``, ``BayesSearchCV``, ...) whose ``best_estimator_`` is either.
The convergence plot accepts any fitted search.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

if TYPE_CHECKING:  # only for annotations: importing matplotlib is the caller's choice
    from matplotlib.axes import Axes

__all__ = ["plot_convergence", "plot_gradient_norms", "plot_history"]

# Training curves solid, validation curves dashed; loss and metric in their own colour.
_LOSS_COLOR = "C0"
_METRIC_COLOR = "C1"
_BEST_COLOR = "0.35"


def _pyplot():
    # On first use: pyplot is slow to import and settles on a backend when it is.
    import matplotlib.pyplot as plt

    return plt


def _fitted_network(obj: Any):
    """Return the fitted skoptnn estimator inside ``obj``.

    Unwraps a search's ``best_estimator_`` and a Pipeline's last step (in any
    nesting), so the plots work on whatever the user fitted.
    """
    from sklearn.pipeline import Pipeline

    # Imported here: skoptnn.base.mixin loads TensorFlow, which a user holding a
    # fitted estimator has already paid for, and nobody else should.
    from .base.mixin import _MLPMixin

    given = obj
    for _ in range(10):  # more nesting than anyone writes; guards against cycles
        if isinstance(obj, _MLPMixin):
            break
        if hasattr(obj, "best_estimator_"):
            obj = obj.best_estimator_
        elif isinstance(obj, Pipeline):
            obj = obj.steps[-1][1]
        elif _is_search(obj):
            # A search exposes best_estimator_ only once fitted with refit=True.
            raise NotFittedError(
                f"This {type(obj).__name__} has no best_estimator_: fit it first (with "
                "refit=True, the default) before plotting its best network."
            )
        else:
            break
    if not isinstance(obj, _MLPMixin):
        inner = "" if obj is given else f" (which contains a {type(obj).__name__})"
        raise TypeError(
            "Expected a fitted OptimizedMLPClassifier or OptimizedMLPRegressor, a Pipeline "
            f"ending in one, or a search whose best_estimator_ is one; got a "
            f"{type(given).__name__}{inner}."
        )
    check_is_fitted(obj)
    return obj


def _is_search(obj: Any) -> bool:
    # Duck-typed so BayesSearchCV and third-party searches count, not only BaseSearchCV.
    return hasattr(obj, "estimator") and any(
        hasattr(obj, name)
        for name in ("param_grid", "param_distributions", "search_spaces", "refit")
    )


def _new_axes(ax: Axes | None) -> Axes:
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4))
    elif not isinstance(ax, plt.Axes):
        raise TypeError(f"ax must be one matplotlib Axes; got {type(ax).__name__}.")
    return ax


def _finish(ax: Axes, xlabel: str, ylabel: str, *legend_args, **legend_kwargs) -> Axes:
    """Label both axes, tick x at integers (epochs and trials count), add the legend."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.xaxis.set_major_locator(_pyplot().MaxNLocator(integer=True))
    ax.legend(*legend_args, loc="best", fontsize="small", **legend_kwargs)
    return ax


def plot_history(
    estimator: Any,
    *,
    metric: str | None | Literal[False] = None,
    ax: Axes | None = None,
) -> Axes:
    """Plot the loss and a metric per epoch of a fitted network.

    The training loss (solid) and, when the network was fitted with
    ``early_stopping=True``, the validation loss (dashed) are drawn on ``ax``.
    The metric (training solid, validation dashed) is drawn on a second y axis
    that shares the epoch axis (``ax.twinx()``), because loss and metric have
    different scales. With early stopping, a vertical dotted line marks the
    best epoch, whose weights the estimator restored. One legend lists every
    line of both axes.

    Parameters
    ----------
    estimator : estimator, Pipeline or search
        A fitted :class:`~skoptnn.OptimizedMLPClassifier` or
        :class:`~skoptnn.OptimizedMLPRegressor`, a fitted
        :class:`~sklearn.pipeline.Pipeline` whose last step is one, or a fitted
        search (anything with ``best_estimator_``, such as ``GridSearchCV`` or
        skopt's ``BayesSearchCV``) whose best estimator is either.
    metric : str, None or False, default=None
        Key of ``history_`` to draw on the twin axis, such as ``"accuracy"``
        (classifier) or ``"mae"`` (regressor); its ``val_`` counterpart is drawn
        too when recorded. None picks the first metric in ``history_`` other
        than the loss; False draws the loss only (no twin axis).
    ax : matplotlib Axes, default=None
        Axes to draw the loss on; a new figure is made when None.

    Returns
    -------
    ax : matplotlib Axes
        The Axes holding the loss lines and the legend. The metric's twin Axes
        shares its x axis: ``ax.get_shared_x_axes().get_siblings(ax)``.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator (or the search) is not fitted.
    TypeError
        If ``estimator`` is not (and does not contain) a skoptnn network.
    ValueError
        If ``metric`` is not a key of ``history_``.

    See Also
    --------
    plot_gradient_norms : Per-layer gradient norms per epoch.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skoptnn import OptimizedMLPClassifier
    >>> from skoptnn.plotting import plot_history
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> pipe = make_pipeline(
    ...     StandardScaler(),
    ...     OptimizedMLPClassifier(epochs=20, early_stopping=True, random_state=0),
    ... ).fit(X, y)
    >>> ax = plot_history(pipe)
    >>> sorted(line.get_label() for line in ax.get_lines())
    ['best epoch (restored)', 'loss', 'val_loss']
    >>> ax.figure.savefig("history.png")  # doctest: +SKIP
    """
    net = _fitted_network(estimator)
    history = net.history_
    metric_name = _metric_name(history, metric)
    ax = _new_axes(ax)

    epochs = np.arange(1, len(history["loss"]) + 1)
    ax.plot(epochs, history["loss"], color=_LOSS_COLOR, label="loss")
    if "val_loss" in history:
        ax.plot(epochs, history["val_loss"], color=_LOSS_COLOR, linestyle="--", label="val_loss")

    handles, labels = ax.get_legend_handles_labels()
    if metric_name is not None:
        twin = ax.twinx()
        twin.plot(epochs, history[metric_name], color=_METRIC_COLOR, label=metric_name)
        if "val_" + metric_name in history:
            twin.plot(epochs, history["val_" + metric_name], color=_METRIC_COLOR,
                      linestyle="--", label="val_" + metric_name)
        twin.set_ylabel(metric_name)
        more_handles, more_labels = twin.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
        # The twin is drawn over ax by default and would hide ax's legend:
        # raise ax above it and make ax's background transparent instead.
        ax.set_zorder(twin.get_zorder() + 1)
        ax.patch.set_visible(False)

    if net.best_epoch_ is not None:
        # best_epoch_ is 0-based; the x axis counts epochs from 1.
        best = ax.axvline(net.best_epoch_ + 1, color=_BEST_COLOR, linestyle=":",
                          label="best epoch (restored)")
        handles, labels = handles + [best], labels + [best.get_label()]
    return _finish(ax, "epoch", "loss", handles, labels)


def _metric_name(history: dict, metric: str | None | Literal[False]) -> str | None:
    if metric is False:
        return None
    candidates = [k for k in history if k != "loss" and not k.startswith("val_")]
    if metric is None:
        return candidates[0] if candidates else None
    if not isinstance(metric, str) or metric not in history:
        raise ValueError(
            f"metric={metric!r} is not in the estimator's history_; choose one of "
            f"{candidates} (or False for the loss only)."
        )
    return metric


def plot_gradient_norms(
    estimator: Any, *, raw: bool = False, ax: Axes | None = None
) -> Axes:
    """Plot each layer's mean kernel-gradient norm per epoch, on a log scale.

    One line per Dense layer (``hidden_1``, ..., ``output``) from the
    estimator's ``gradient_norms_``: the mean over an epoch's mini-batches of
    the L2 norm of that layer's kernel gradient as the optimizer applied it
    (after ``clipnorm``/``clipvalue``), or with ``raw=True`` from
    ``raw_gradient_norms_``, the norms before clipping. Vanishing gradients
    show as the first layers' lines lying orders of magnitude below the output
    layer's; exploding ones as lines shooting up. The y axis is logarithmic
    because those gaps span orders of magnitude; zero norms cannot be drawn
    on it, so when every norm is zero (``kernel_initializer="zeros"`` and
    ReLU, say) the axis stays linear and shows the flat lines at 0.

    Parameters
    ----------
    estimator : estimator, Pipeline or search
        A fitted network, or a Pipeline or search holding one, as for
        :func:`plot_history`; fitted with ``monitor_gradients=True``.
    raw : bool, default=False
        Plot the norms before clipping (``raw_gradient_norms_``) instead of
        those applied (``gradient_norms_``). The two differ only when
        ``clipnorm`` or ``clipvalue`` is set.
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure is made when None.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on.

    Raises
    ------
    ValueError
        If the network was fitted without ``monitor_gradients=True``.
    sklearn.exceptions.NotFittedError
        If the estimator (or the search) is not fitted.
    TypeError
        If ``estimator`` is not (and does not contain) a skoptnn network.

    See Also
    --------
    plot_history : Loss and metric per epoch.

    Examples
    --------
    A regressor, fitted on its own (a Pipeline or a search would do, as for
    :func:`plot_history`):

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import scale
    >>> from skoptnn import OptimizedMLPRegressor
    >>> from skoptnn.plotting import plot_gradient_norms
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = OptimizedMLPRegressor(n_layers=3, epochs=10, monitor_gradients=True,
    ...                             random_state=0).fit(scale(X), y)
    >>> ax = plot_gradient_norms(reg)
    >>> [line.get_label() for line in ax.get_lines()]
    ['hidden_1', 'hidden_2', 'hidden_3', 'output']
    >>> ax.get_yscale()
    'log'
    """
    net = _fitted_network(estimator)
    norms = getattr(net, "raw_gradient_norms_" if raw else "gradient_norms_", None)
    if norms is None:
        raise ValueError(
            f"This {type(net).__name__} recorded no gradient norms: fit it with "
            "monitor_gradients=True to plot them."
        )
    ax = _new_axes(ax)
    # The index is 0-based like history_; the x axis counts epochs from 1.
    epochs = np.asarray(norms.index, dtype=int) + 1
    for layer in norms.columns:
        ax.plot(epochs, norms[layer].to_numpy(dtype=float), label=str(layer))
    if (norms.to_numpy(dtype=float) > 0).any():
        ax.set_yscale("log")
    return _finish(ax, "epoch", "kernel gradient norm" + (" (before clipping)" if raw else ""),
                   title="layer")


def plot_convergence(search: Any, *, metric: str | None = None, ax: Axes | None = None) -> Axes:
    """Plot every trial's cross-validated score and the best score so far.

    One point per trial, in the order the search evaluated them, at the mean
    CV score the search recorded (``cv_results_``), and a line through the
    best score up to each trial. The scores are the scorer's own, as
    scikit-learn reports them (higher is better, so the line rises), not the
    negated values that scikit-optimize minimises and that
    ``skopt.plots.plot_convergence`` draws. A failed trial (NaN score) gets no
    point; the best-so-far line runs on through it.

    Parameters
    ----------
    search : fitted search
        ``BayesSearchCV``, :class:`~skoptnn.search.ResumableBayesSearchCV`,
        ``GridSearchCV``, ``RandomizedSearchCV``: anything with ``cv_results_``.
    metric : str, default=None
        With multi-metric scoring, the scorer to plot; None takes the
        search's ``refit`` metric, as :func:`~skoptnn.search.trials_dataframe`.
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure is made when None.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on: the points are ``ax.lines[0]`` (label ``"trial"``),
        the best so far ``ax.lines[1]`` (label ``"best so far"``). The y axis
        is labelled with the metric's name (``"CV accuracy"``).

    Raises
    ------
    ValueError
        If ``search`` is not fitted, or ``metric`` names no scorer of it.

    See Also
    --------
    skoptnn.search.trials_dataframe : The same scores as a table.

    Examples
    --------
    Any fitted search, scikit-learn's own too:

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skoptnn.plotting import plot_convergence
    >>> X, y = load_iris(return_X_y=True)
    >>> search = GridSearchCV(LogisticRegression(max_iter=500), {"C": [0.001, 1.0, 0.01]},
    ...                       cv=3, scoring="accuracy").fit(X, y)
    >>> ax = plot_convergence(search)
    >>> ax.get_ylabel()
    'CV accuracy'
    >>> points, best = ax.lines[0].get_ydata(), ax.lines[1].get_ydata()
    >>> list(points) == list(search.cv_results_["mean_test_score"])
    True
    >>> bool(best[0] < best[1] == best[2])  # the second trial stays the best
    True
    """
    from .search import trials_dataframe

    trials = trials_dataframe(search, metric=metric).sort_index()  # evaluation order
    scores = trials["mean_test_score"].to_numpy(dtype=float)
    trial = np.arange(1, len(scores) + 1)
    finite = np.isfinite(scores)
    best = np.maximum.accumulate(np.where(finite, scores, -np.inf))
    ax = _new_axes(ax)
    ax.plot(trial[finite], scores[finite], linestyle="none", marker="o", color=_METRIC_COLOR,
            alpha=0.7, label="trial")
    shown = np.isfinite(best)  # none before the first trial that scored
    ax.plot(trial[shown], best[shown], drawstyle="steps-post", color=_LOSS_COLOR,
            label="best so far")
    return _finish(ax, "trial", f"CV {_metric_label(search, metric)}")


def _metric_label(search: Any, metric: str | None) -> str:
    """The scorer's name as the user gave it (``"accuracy"``), else ``"score"``."""
    if metric is not None:
        return metric
    scoring, refit = getattr(search, "scoring", None), getattr(search, "refit", True)
    if isinstance(scoring, str):
        return scoring
    return refit if isinstance(refit, str) else "score"
