import subprocess
import sys

import pytest
from skopt.space import Categorical, Dimension, Integer, Real

from skoptnn.spaces import PRESETS, classifier_space, preset_space, regressor_space

CLASSIFIER_KEYS = {
    "n_layers", "units", "activation", "dropout", "optimizer", "learning_rate", "l2",
    "batch_size",
}


def _values(dim):
    if isinstance(dim, Categorical):
        return list(dim.categories)
    return [dim.low, dim.high]


def test_classifier_space_keys_and_ranges():
    space = classifier_space()
    assert set(space) == CLASSIFIER_KEYS
    assert all(isinstance(d, Dimension) for d in space.values())
    assert isinstance(space["n_layers"], Integer)
    assert (space["n_layers"].low, space["n_layers"].high) == (1, 6)
    assert (space["units"].low, space["units"].high) == (8, 128)
    assert space["learning_rate"].prior == "log-uniform"
    assert (space["learning_rate"].low, space["learning_rate"].high) == (3e-4, 3e-2)
    assert space["l2"].prior == "log-uniform"
    assert "clipnorm" not in space  # unclipped: these learning rates do not diverge
    # Only the regions that can win: adaptive optimizers, no batches of 16.
    assert set(space["optimizer"].categories) == {"rmsprop", "adam"}
    assert set(space["activation"].categories) == {"relu", "tanh"}
    assert "sigmoid" in preset_space("activation")["activation"].categories
    # An integer range: one dimension for scikit-optimize, where a list is one per value.
    assert isinstance(space["batch_size"], Integer)
    assert (space["batch_size"].low, space["batch_size"].high) == (32, 128)


def test_regressor_space_adds_loss():
    space = regressor_space()
    assert set(space) == CLASSIFIER_KEYS | {"loss"}
    assert set(space["loss"].categories) == {"mse", "mae", "huber"}


@pytest.mark.parametrize("make", [classifier_space, regressor_space])
def test_every_dimension_is_scalar_valued(make):
    for name, dim in make().items():
        for value in _values(dim):
            assert isinstance(value, (int, float, str, bool)), (name, value)


def test_prefix_is_prepended_and_names_dimensions():
    space = classifier_space(prefix="optimizedmlpclassifier__")
    assert all(k.startswith("optimizedmlpclassifier__") for k in space)
    assert space["optimizedmlpclassifier__units"].name == "units"  # short plot labels
    # A bare step name gets its "__".
    assert set(classifier_space(prefix="clf")) == {f"clf__{k}" for k in CLASSIFIER_KEYS}


def test_include_and_exclude_use_unprefixed_names():
    space = classifier_space(prefix="clf__", include=["units", "optimizer", "dropout"],
                             exclude=["dropout"])
    assert set(space) == {"clf__units", "clf__optimizer"}
    assert "dropout" not in classifier_space(exclude=["dropout"])


@pytest.mark.parametrize("make", [classifier_space, regressor_space])
def test_kernel_initializer_is_still_a_known_name(make):
    # Earlier default spaces searched it: code naming it must keep working.
    default = make()
    assert "kernel_initializer" not in default
    assert make(exclude=["kernel_initializer"]).keys() == default.keys()
    assert make(include=["units", "kernel_initializer"], exclude=["kernel_initializer"]).keys() \
        == {"units"}
    # Included by name, it is the presets' wide dimension, after the table's.
    space = make(prefix="clf", include=["units", "kernel_initializer"])
    assert list(space) == ["clf__units", "clf__kernel_initializer"]
    assert space["clf__kernel_initializer"].categories == \
        preset_space("initializer")["kernel_initializer"].categories
    assert space["clf__kernel_initializer"].name == "kernel_initializer"
    # Unless overridden; other preset names keep the table's dimension.
    assert make(include=["kernel_initializer"], kernel_initializer=["he_normal"])[
        "kernel_initializer"].categories == ("he_normal",)
    assert make(include=["optimizer"])["optimizer"].categories == default["optimizer"].categories


@pytest.mark.parametrize("kwargs", [{"include": ["units", "nope"]}, {"exclude": ["bogus"]}])
def test_unknown_names_raise_and_are_named(kwargs):
    with pytest.raises(ValueError, match="nope|bogus"):
        classifier_space(**kwargs)


def test_overrides_replace_and_add():
    space = classifier_space(
        units=[16, 32, 64],  # a list of 3 ints: Categorical, as in skopt
        learning_rate=(1e-3, 1e-1, "log-uniform"),
        epochs=Integer(5, 50),
        batch_norm=[True, False],
    )
    assert isinstance(space["units"], Categorical)
    assert list(space["units"].categories) == [16, 32, 64]
    assert isinstance(space["learning_rate"], Real)
    assert space["learning_rate"].low == 1e-3
    assert isinstance(space["epochs"], Integer)
    assert isinstance(space["batch_norm"], Categorical)
    assert classifier_space(include=["epochs"], epochs=(5, 50)).keys() == {"epochs"}


def test_overrides_do_not_mutate_or_share_objects():
    dim = Integer(5, 50)
    classifier_space(prefix="clf", epochs=dim)
    assert dim.name is None
    assert classifier_space()["units"] is not classifier_space()["units"]


def test_bad_overrides_raise():
    with pytest.raises(ValueError, match="tuple"):
        classifier_space(hidden_layer_sizes=Categorical([(64,), (64, 64)]))
    with pytest.raises(TypeError):
        classifier_space(units=64)
    with pytest.raises(TypeError):
        classifier_space(include="units")


def test_presets():
    assert set(PRESETS) >= {"optimizer", "units", "layers", "activation", "dropout", "all"}
    assert set(preset_space("optimizer")) == {"optimizer"}
    # The presets search the guide's full choices, wider than the default space.
    assert "sgd" in preset_space("optimizer")["optimizer"].categories
    assert preset_space("learning_rate")["learning_rate"].low == 1e-4
    assert len(preset_space("initializer")["kernel_initializer"].categories) == 7
    assert 16 in preset_space("batch_size")["batch_size"].categories
    assert preset_space("clipping")["clipnorm"].prior == "log-uniform"
    assert "clipnorm" in classifier_space(include=["units", "clipnorm"])
    assert preset_space("layers")["n_layers"].high == 10
    # An override still wins over the preset's wide dimension.
    assert preset_space("optimizer", optimizer=["adam"])["optimizer"].categories == ("adam",)
    assert set(preset_space("units", prefix="clf")) == {"clf__units"}
    assert set(preset_space("layers")) == {"n_layers"}
    assert set(preset_space("all")) == CLASSIFIER_KEYS
    assert set(preset_space("units", epochs=(5, 20))) == {"units", "epochs"}
    assert "loss" in preset_space("all", space=regressor_space)
    with pytest.raises(ValueError, match="Unknown preset"):
        preset_space("nope")


def test_spaces_module_does_not_import_tensorflow():
    code = ("import sys, skoptnn.spaces; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_include_and_exclude_accept_any_iterable():
    assert list(classifier_space(include=(n for n in ["units", "dropout"]))) == ["units",
                                                                                 "dropout"]
    assert "units" not in classifier_space(exclude=(n for n in ["units"]))


@pytest.mark.parametrize("prefix", [None, 123])
def test_prefix_must_be_a_string(prefix):
    with pytest.raises(TypeError, match="prefix must be a str"):
        classifier_space(prefix=prefix)


def test_preset_space_exclude_and_bad_arguments():
    assert list(preset_space("dropout", exclude=["l2"])) == ["dropout"]
    assert "dropout" not in preset_space("all", exclude=["dropout"])
    with pytest.raises(ValueError, match="Unknown preset"):
        preset_space(["units"])
    with pytest.raises(TypeError, match="space must be classifier_space or regressor_space"):
        preset_space("units", space="regressor")
    with pytest.raises(TypeError, match="takes no include"):
        preset_space("units", include=["units"])


def test_techniques_preset_searches_the_techniques_beyond_the_guide():
    space = preset_space("techniques")
    assert set(space) == {"lr_schedule", "label_smoothing", "numeric_embedding",
                          "embedding_scale"}
    assert space["numeric_embedding"].categories == ("none", "periodic")
    # The regressor takes no label_smoothing: its preset and space leave it out.
    regression = preset_space("techniques", space=regressor_space)
    assert "label_smoothing" not in regression and "numeric_embedding" in regression
    with pytest.raises(ValueError, match="label_smoothing"):
        regressor_space(include=["units", "label_smoothing"])
    # Known to the classifier's space, added by name.
    assert set(classifier_space(include=["units", "numeric_embedding"])) == {
        "units", "numeric_embedding"}
    # The default spaces stay without them.
    assert not set(space) & set(classifier_space())


def test_a_techniques_candidate_fits():
    """Every value of the preset's dimensions is a valid parameter value."""
    from sklearn.datasets import make_classification
    from skopt import BayesSearchCV

    from skoptnn import OptimizedMLPClassifier

    X, y = make_classification(n_samples=80, n_features=4, random_state=0)
    search = BayesSearchCV(OptimizedMLPClassifier(epochs=2, units=4, random_state=0),
                           preset_space("techniques"), n_iter=3, cv=2, random_state=0,
                           error_score="raise")
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 3
