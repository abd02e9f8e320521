"""OptimizedMLPClassifier: a regularised Keras MLP as a scikit-learn classifier."""

from __future__ import annotations

from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d

from .base.mixin import _FLOAT32_MAX, _MLPMixin
from .base.params import Param, estimator_params, mlp_params, samples_doc
from .base.scikeras import KerasClassifier, SklearnMixinsFirst

_MONITORS = ("val_loss", "val_accuracy")  # the first is the default
_PARAMS = mlp_params(l2=3.0, monitor=_MONITORS, insert={
    "shuffle": Param("class_weight", None, 'dict, "balanced" or None', """
        Weights of the classes in the loss; "balanced" weighs them inversely to
        their frequency. Multiplied with ``sample_weight``; like it, only the
        ratios matter (the loss is the weighted mean).
    """),
    "l2": Param("label_smoothing", 0.1, "float in [0, 1)", """
        Train on softened targets, as Keras' cross-entropies'
        ``label_smoothing``: a multiclass target's one-hot rows become
        ``onehot * (1 - label_smoothing) + label_smoothing / n_classes``, a
        binary or multilabel target's 0/1 values ``y * (1 - label_smoothing)
        + label_smoothing / 2``. It keeps the network from pushing its
        probabilities to 0 and 1 (Szegedy et al., 2016). The reported and
        monitored losses are the smoothed ones. The default was 0.0 before
        skoptnn 0.2 (``benchmarks/accuracy.md`` shows why it changed); pass
        ``label_smoothing=0.0`` for the old training.
    """),
})


@estimator_params(_PARAMS)
class OptimizedMLPClassifier(_MLPMixin, KerasClassifier, metaclass=SklearnMixinsFirst):
    """Multi-layer perceptron classifier in Keras, tuned like any scikit-learn model.

    The output layer and loss follow the target: a binary target gets one
    sigmoid unit and binary cross-entropy, a multiclass target a softmax layer
    and sparse categorical cross-entropy, a multilabel target (a 2-D 0/1
    indicator matrix) one sigmoid unit per label. Every technique of the usual
    "improve your neural network" checklist is a flat parameter, so
    ``BayesSearchCV`` or ``GridSearchCV`` can tune it directly.

    Training runs every epoch inside one compiled TensorFlow graph that is
    reused across fits of the same architecture, so cross-validation and
    searches cost what the network costs, not what the framework costs (the
    measurements are in ``docs/performance.md``).

    {parameters}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels; for a multilabel target, ``arange(n_labels)``.
    model_ : keras.Model
        The trained Keras network (compiled, so ``model_.evaluate`` works),
        with its optimizer's state. Built from the fitted weights on first
        access, since fit and predict do not need it; training it further
        changes what ``predict`` returns. For an ensemble, one branch per
        member (layers ``m1_hidden_1``, ...) and their mean
        (``keras.layers.Average``), compiled with the loss of that mean:
        ``model_.fit`` trains the averaged probabilities' loss, not each
        member's own.
    history_ : dict of str to list of float
        Per-epoch ``loss``, ``accuracy`` and, with early stopping, ``val_loss``
        and ``val_accuracy`` (for a multilabel target, the share of correct
        labels, where ``score`` is subset accuracy). The losses are the
        (weighted) cross-entropy alone:
        the L1/L2 penalty is trained on but not reported, so training and
        validation losses compare, and early stopping watches how well the
        network predicts, not how small its weights have become. For an
        ensemble, each value is the mean over the members that ran that epoch
        (one stopped early no longer counts), not the averaged prediction's.
    {attributes}

    See Also
    --------
    OptimizedMLPRegressor : The same network for regression.
    sklearn.neural_network.MLPClassifier : scikit-learn's own MLP.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skoptnn import OptimizedMLPClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = make_pipeline(
    ...     StandardScaler(),
    ...     OptimizedMLPClassifier(n_layers=2, units=32, dropout=0.2, l2=1e-4,
    ...                            epochs=30, random_state=0),
    ... )
    >>> clf.fit(X, y).score(X, y) > 0.95
    True
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints: dict = {
        **_MLPMixin._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "monitor": [StrOptions(set(_MONITORS))],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
    }
    # __init__ stores the parameters of _PARAMS (made by @estimator_params).
    _metric = "accuracy"
    _multilabel = False  # set by fit; the default also serves estimators pickled before it
    _multi_output = True  # a multilabel indicator matrix; 1-D targets otherwise
    _is_classifier = True
    score = ClassifierMixin.score

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True  # a binary indicator matrix: one sigmoid each
        return tags

    def _validate_training_data(self, X, y, reset=True):
        X, y = super()._validate_training_data(X, y, reset=reset)
        if sp.issparse(y):
            y = y.toarray()
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)  # a column vector is a 1-D target, as in scikit-learn
        return X, y

    def _encode_target(self, y, sample_weight, continuing=False, classes=None,
                       incremental=False):
        # classes_ come from all of y, zero-weight rows included, as in scikit-learn.
        check_classification_targets(y)
        multilabel = type_of_target(y) == "multilabel-indicator"
        if y.ndim == 2 and not multilabel:
            raise ValueError(
                f"{type(self).__name__} takes a 1-D target or a 2-D binary indicator matrix "
                f"(multilabel); got a 2-D target of type {type_of_target(y)!r}."
            )
        if continuing:
            if multilabel != self._multilabel:
                raise ValueError(
                    "warm_start=True and partial_fit continue the fitted network, which was "
                    f"trained on a {'multilabel' if self._multilabel else '1-D'} target; this "
                    f"y is {'multilabel' if multilabel else '1-D'}."
                )
            classes = self.classes_
        if multilabel:
            found = np.arange(y.shape[1])
        else:
            found = np.unique(y)
        if classes is not None and not multilabel:
            known = np.unique(classes)
            unseen = np.setdiff1d(found, known)
            if unseen.size:
                fixed_by = "the fitted network" if continuing else "classes="
                raise ValueError(
                    f"y has classes {unseen.tolist()!r} that are not in classes "
                    f"{known.tolist()!r}, which {fixed_by} fixed."
                )
            if continuing and not incremental and not np.array_equal(found, known):
                raise ValueError(
                    f"warm_start=True continues the fitted network, trained on the classes "
                    f"{known.tolist()!r}; this y has {found.tolist()!r}. Set warm_start=False "
                    "to train a new network."
                )
            found = known
        elif classes is not None and len(classes) != y.shape[1]:
            if continuing:
                raise ValueError(
                    "warm_start=True and partial_fit continue the fitted network, trained on "
                    f"{len(classes)} labels; this y has {y.shape[1]}."
                )
            raise ValueError(
                f"A multilabel y has {y.shape[1]} labels, but classes has {len(classes)} "
                "entries."
            )
        if len(found) < 2 and not multilabel:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in y; "
                f"got 1 class ({np.asarray(found[0]).tolist()!r})."
            )
        self.classes_ = found
        self._multilabel = multilabel
        if multilabel:
            return y.astype(np.float32)
        codes = np.searchsorted(self.classes_, y)
        if len(self.classes_) == 2:
            return (codes == 1).astype(np.float32).reshape(-1, 1)
        return codes.astype(np.float32).reshape(-1, 1)

    def _output_layer(self):
        if self._multilabel:
            return len(self.classes_), "sigmoid", "binary_crossentropy"
        if len(self.classes_) == 2:
            return 1, "sigmoid", "binary_crossentropy"
        return len(self.classes_), "softmax", "sparse_categorical_crossentropy"

    def _sample_weight(self, X, y, sample_weight, incremental=False, classes=None):
        sample_weight = super()._sample_weight(X, y, sample_weight)
        if self.class_weight is not None:
            check_classification_targets(y)  # before class_weight reads y's labels
            if type_of_target(y) == "multilabel-indicator":
                raise ValueError(
                    "class_weight is not supported for a multilabel target; pass "
                    "sample_weight instead."
                )
            if incremental and isinstance(self.class_weight, str):
                raise ValueError(
                    "class_weight='balanced' is not supported by partial_fit: one chunk's "
                    "class frequencies are not the data's. Pass a dict of weights."
                )
            if isinstance(self.class_weight, dict):
                # Bounded so that the product with sample_weight stays finite.
                bad = {k: v for k, v in self.class_weight.items()
                       if not (isinstance(v, Real) and 0 <= v <= _FLOAT32_MAX)}
                if bad:
                    raise ValueError(
                        f"class_weight must map classes to finite non-negative weights; got {bad}."
                    )
            # Over every class the network knows (a partial_fit chunk may lack some).
            known = (self.classes_ if self.__sklearn_is_fitted__() and incremental
                     else np.unique(y) if classes is None else np.unique(classes))
            if not np.isin(y, known).all():  # refused, by name, when the target is encoded
                known = np.unique(y)
            weights = compute_class_weight(self.class_weight, classes=known, y=y)
            sample_weight *= weights[np.searchsorted(known, y)]
            # (An all-zero sample_weight was already refused, by name, above.)
            if not sample_weight.any():
                raise ValueError("class_weight gives every sample a zero weight: nothing to "
                                 "train on.")
        return sample_weight

    def _stratify(self, y):
        return None if self._multilabel else y

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train one epoch on ``(X, y)``, continuing from the current state.

        Each call runs one pass of mini-batches over the rows it is given,
        from the weights and optimizer state the previous call (or ``fit``)
        left; ``n_epochs_`` and ``history_`` count on. Early stopping does not
        apply (nothing is held out). No training graph is traced again
        between calls.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Targets: class labels, or a binary indicator matrix (multilabel).
        classes : array-like of shape (n_classes,), default=None
            Every class the network will ever see. Required on the first call
            (for a multilabel target: one entry per label), as in scikit-learn;
            ignored, if equal, afterwards.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, as in ``fit``; multiplied with those of
            ``class_weight``, which must be a dict here ("balanced" needs the
            class frequencies of all the data, not of one call's rows).

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._guarded(self._partial_fit, X, y, sample_weight, classes)

    @samples_doc
    def predict_proba(self, X):
        """Probability of each class for each sample.

        The network's softmax output or, for a binary target, its one sigmoid
        unit, the probability of ``classes_[1]`` (the first column is one
        minus it). Rows sum to 1, except for a multilabel target: there each
        label has its own probability.

        {parameters}

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities, columns in the order of ``classes_``.
        """
        raw = self._predict_raw(X)
        if self._multilabel:
            return raw  # one independent probability per label, as MLPClassifier's
        if raw.shape[1] == 1:
            raw = np.hstack([1.0 - raw, raw])
        # Rows sum to 1 to float64 precision, which log_loss and other scorers check.
        raw /= raw.sum(axis=1, keepdims=True)
        return raw

    @samples_doc
    def predict_log_proba(self, X):
        """Log of the probability of each class for each sample.

        The natural log of :meth:`predict_proba`, taken in place: ``-inf``
        where a probability rounded to 0 in float32.

        {parameters}

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities, columns in the order of ``classes_``.
        """
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(proba, out=proba)

    @samples_doc
    def predict(self, X):
        """Predict the class of each sample.

        The most probable class: for a binary target, ``classes_[1]`` where
        its probability is above 0.5. For a multilabel target, every label
        whose probability is above 0.5.

        {parameters}

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Predicted labels, of the same type as the training labels; for a
            multilabel target, the 0/1 indicator matrix.
        """
        raw = self._predict_raw(X)
        if self._multilabel:
            return (raw > 0.5).astype(int)
        if raw.shape[1] == 1:  # the positive class where its probability is above 0.5
            return self.classes_[(raw[:, 0] > 0.5).astype(int)]
        return self.classes_[raw.argmax(axis=1)]
