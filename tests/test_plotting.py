"""skoptnn.plotting on real (tiny) fits: lines, unwrapping, errors."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

plt = pytest.importorskip("matplotlib.pyplot")

from skoptnn import OptimizedMLPClassifier, OptimizedMLPRegressor  # noqa: E402
from skoptnn.plotting import plot_gradient_norms, plot_history  # noqa: E402

# Small and fast; one architecture throughout so the compiled loop is traced once.
SMALL = {"n_layers": 2, "units": 8, "epochs": 12, "batch_size": 32, "random_state": 0}
CLIPNORM = 0.05


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def es_clf(binary_data):
    X, y = binary_data
    # patience < epochs and a high learning rate, so it stops early.
    return OptimizedMLPClassifier(
        **SMALL, early_stopping=True, patience=3, learning_rate=0.05
    ).fit(X, y)


@pytest.fixture(scope="module")
def plain_clf(binary_data):
    X, y = binary_data
    return OptimizedMLPClassifier(**SMALL).fit(X, y)


@pytest.fixture(scope="module")
def grad_pipe(binary_data):
    X, y = binary_data
    # A tight clipnorm so the applied norms differ from the raw ones.
    net = OptimizedMLPClassifier(**SMALL, monitor_gradients=True, clipnorm=CLIPNORM)
    return make_pipeline(StandardScaler(), net).fit(X, y)


@pytest.fixture(scope="module")
def grad_clf(grad_pipe):
    return grad_pipe[-1]


def labels(ax):
    return [line.get_label() for line in ax.get_lines()]


def twin_of(ax):
    siblings = [a for a in ax.get_shared_x_axes().get_siblings(ax) if a is not ax]
    assert len(siblings) == 1
    return siblings[0]


# -- plot_history -------------------------------------------------------------

def test_history_lines_and_best_epoch(es_clf):
    assert es_clf.best_epoch_ is not None
    assert es_clf.n_epochs_ >= es_clf.best_epoch_ + 1
    ax = plot_history(es_clf)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"loss", "val_loss", "best epoch (restored)"}
    n = es_clf.n_epochs_
    np.testing.assert_array_equal(lines["loss"].get_xdata(), np.arange(1, n + 1))
    np.testing.assert_allclose(lines["loss"].get_ydata(), es_clf.history_["loss"])
    np.testing.assert_allclose(lines["val_loss"].get_ydata(), es_clf.history_["val_loss"])
    # 0-based best_epoch_, 1-based axis.
    np.testing.assert_array_equal(
        lines["best epoch (restored)"].get_xdata(), [es_clf.best_epoch_ + 1] * 2
    )
    # The metric sits on a twin axis sharing the epochs.
    twin = twin_of(ax)
    twin_lines = {line.get_label(): line for line in twin.get_lines()}
    assert set(twin_lines) == {"accuracy", "val_accuracy"}
    np.testing.assert_allclose(twin_lines["val_accuracy"].get_ydata(),
                               es_clf.history_["val_accuracy"])
    # One legend for both axes.
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["loss", "val_loss", "accuracy", "val_accuracy", "best epoch (restored)"]


def test_history_without_early_stopping(plain_clf):
    ax = plot_history(plain_clf)
    assert labels(ax) == ["loss"]  # no validation curve, no best-epoch line
    assert labels(twin_of(ax)) == ["accuracy"]
    assert len(ax.get_lines()[0].get_xdata()) == plain_clf.n_epochs_ == SMALL["epochs"]


def test_history_metric_choice(es_clf):
    ax = plot_history(es_clf, metric=False)
    assert labels(ax) == ["loss", "val_loss", "best epoch (restored)"]
    assert ax.get_shared_x_axes().get_siblings(ax) == [ax]
    with pytest.raises(ValueError, match=r"metric='auc'.*\['accuracy'\]"):
        plot_history(es_clf, metric="auc")
    with pytest.raises(ValueError, match=r"metric=\['accuracy'\] is not"):
        plot_history(es_clf, metric=["accuracy"])


def test_history_regressor_uses_mae():
    from sklearn.datasets import make_regression

    X, y = make_regression(n_samples=120, n_features=4, noise=5.0, random_state=0)
    reg = OptimizedMLPRegressor(**{**SMALL, "epochs": 5}, early_stopping=True).fit(X, y)
    ax = plot_history(reg)
    assert labels(ax)[:2] == ["loss", "val_loss"]
    assert labels(twin_of(ax)) == ["mae", "val_mae"]


def test_history_honours_ax(es_clf):
    fig, (left, right) = plt.subplots(1, 2)
    assert plot_history(es_clf, ax=right) is right
    assert labels(right)[:2] == ["loss", "val_loss"]
    assert labels(left) == []
    with pytest.raises(TypeError, match="ax must be one matplotlib Axes; got Figure"):
        plot_history(es_clf, ax=fig)


def test_history_through_pipeline_and_search(binary_data):
    X, y = binary_data
    pipe = make_pipeline(StandardScaler(), OptimizedMLPClassifier(**SMALL, early_stopping=True))
    search = GridSearchCV(pipe, {"optimizedmlpclassifier__learning_rate": [1e-3, 1e-2]}, cv=2)
    search.fit(X, y)
    net = search.best_estimator_[-1]
    for wrapped in (search, search.best_estimator_):
        ax = plot_history(wrapped)
        np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), net.history_["loss"])
        assert "val_loss" in labels(ax)


# -- plot_gradient_norms --------------------------------------------------------

@pytest.mark.parametrize("raw", [False, True])
def test_gradient_norms_lines(grad_clf, raw):
    ax = plot_gradient_norms(grad_clf, raw=raw)
    norms = grad_clf.raw_gradient_norms_ if raw else grad_clf.gradient_norms_
    assert labels(ax) == ["hidden_1", "hidden_2", "output"] == list(norms.columns)
    assert len(norms) == grad_clf.n_epochs_ == SMALL["epochs"]
    assert ax.get_yscale() == "log"
    for line in ax.get_lines():
        np.testing.assert_array_equal(line.get_xdata(), np.arange(1, len(norms) + 1))
        np.testing.assert_allclose(line.get_ydata(), norms[line.get_label()].to_numpy())
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(norms.columns)


def test_gradient_norms_raw_is_before_clipping(grad_clf):
    # Guards raw= picking the right table: only the applied norms obey clipnorm.
    applied = plot_gradient_norms(grad_clf).get_lines()
    raw = plot_gradient_norms(grad_clf, raw=True).get_lines()
    assert max(line.get_ydata().max() for line in applied) <= CLIPNORM * (1 + 1e-4)
    assert max(line.get_ydata().max() for line in raw) > 2 * CLIPNORM


def test_gradient_norms_honours_ax_and_pipeline(grad_pipe, grad_clf):
    fig, ax = plt.subplots()
    assert plot_gradient_norms(grad_pipe, ax=ax) is ax
    assert len(ax.get_lines()) == 3
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(),
                               grad_clf.gradient_norms_["hidden_1"].to_numpy())


def test_all_zero_gradient_norms_plot_on_a_linear_axis(binary_data):
    est = OptimizedMLPClassifier(n_layers=2, units=4, epochs=2, kernel_initializer="zeros",
                                 monitor_gradients=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fit's own GradientWarning
        est.fit(*binary_data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns on a log axis with no positive value
        ax = plot_gradient_norms(est, raw=True)
    assert ax.get_yscale() == "linear"
    assert all((line.get_ydata() == 0).all() for line in ax.get_lines())


def test_gradient_norms_need_monitoring(plain_clf):
    with pytest.raises(ValueError, match="monitor_gradients=True"):
        plot_gradient_norms(plain_clf)


# -- errors -----------------------------------------------------------------------

@pytest.mark.parametrize("plot", [plot_history, plot_gradient_norms])
def test_unfitted_is_not_fitted_error(plot):
    with pytest.raises(NotFittedError):
        plot(OptimizedMLPClassifier())
    with pytest.raises(NotFittedError):
        plot(make_pipeline(StandardScaler(), OptimizedMLPRegressor()))
    with pytest.raises(NotFittedError, match="GridSearchCV.*fit it first"):
        plot(GridSearchCV(OptimizedMLPClassifier(), {"units": [4, 8]}))


@pytest.mark.parametrize("plot", [plot_history, plot_gradient_norms])
def test_other_estimators_are_type_errors(plot, binary_data):
    X, y = binary_data
    with pytest.raises(TypeError, match="got a LogisticRegression"):
        plot(LogisticRegression())
    with pytest.raises(TypeError, match=r"got a Pipeline \(which contains a LogisticRegression"):
        plot(make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y))
    with pytest.raises(TypeError, match="got a dict"):
        plot({"loss": [1.0]})


# -- plot_convergence ---------------------------------------------------------------
def test_convergence_plots_each_trials_score_and_the_best_so_far():
    from skopt import BayesSearchCV
    from skopt.space import Real

    from skoptnn.plotting import plot_convergence

    X, y = _iris()
    search = BayesSearchCV(LogisticRegression(max_iter=300), {"C": Real(1e-4, 1e2, "log-uniform")},
                           n_iter=4, cv=3, scoring="balanced_accuracy", random_state=0).fit(X, y)
    ax = plot_convergence(search)
    points, best = ax.lines
    scores = search.cv_results_["mean_test_score"]  # in evaluation order
    np.testing.assert_array_equal(points.get_xdata(), np.arange(1, 5))
    np.testing.assert_array_equal(points.get_ydata(), scores)
    np.testing.assert_array_equal(best.get_ydata(), np.maximum.accumulate(scores))
    # The score's own sign, rising: not skopt's minimised -(score).
    assert (best.get_ydata() > 0).all() and best.get_ydata()[-1] == search.best_score_
    assert ax.get_ylabel() == "CV balanced_accuracy" and ax.get_xlabel() == "trial"
    assert [line.get_label() for line in ax.lines] == ["trial", "best so far"]


def test_convergence_skips_failed_trials_and_takes_a_metric():
    from skoptnn.plotting import plot_convergence

    X, y = _iris()
    # C=-1 fails: its NaN score is neither a point nor part of the best line.
    search = GridSearchCV(LogisticRegression(max_iter=300), {"C": [0.01, -1.0, 1.0]}, cv=3,
                          scoring=["accuracy", "f1_macro"], refit="f1_macro", error_score=np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X, y)
    ax = plot_convergence(search)
    points, best = ax.lines
    f1 = search.cv_results_["mean_test_f1_macro"]
    np.testing.assert_array_equal(points.get_xdata(), [1, 3])
    np.testing.assert_array_equal(points.get_ydata(), f1[[0, 2]])
    np.testing.assert_array_equal(best.get_ydata(), [f1[0], f1[0], max(f1[0], f1[2])])
    assert ax.get_ylabel() == "CV f1_macro"
    accuracy = plot_convergence(search, metric="accuracy")
    np.testing.assert_array_equal(accuracy.lines[0].get_ydata(),
                                  search.cv_results_["mean_test_accuracy"][[0, 2]])
    assert accuracy.get_ylabel() == "CV accuracy"
    with pytest.raises(ValueError, match="no cv_results_"):
        plot_convergence(GridSearchCV(LogisticRegression(), {"C": [1.0]}))


def _iris():
    from sklearn.datasets import load_iris

    return load_iris(return_X_y=True)
