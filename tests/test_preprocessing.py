"""SmoothClipScaler: RealMLP's robust scaling and smooth clipping, checked against NumPy."""

import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from skoptnn import SmoothClipScaler


@parametrize_with_checks([SmoothClipScaler(), SmoothClipScaler(clip=None),
                          SmoothClipScaler(clip=1.5, quantile_range=(10.0, 90.0))])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _expected(X, clip=3.0, q=(25, 75)):
    """The transform, written out: median, quantile range, x / sqrt(1 + (x / clip)^2)."""
    low, high = np.percentile(X, q, axis=0)
    z = (X - np.median(X, axis=0)) / (high - low)
    return z if clip is None else z / np.sqrt(1 + (z / clip) ** 2)


@pytest.mark.parametrize("clip", [3.0, 1.0, None])
@pytest.mark.parametrize("q", [(25.0, 75.0), (5.0, 95.0)])
def test_transform_matches_the_formula(clip, q):
    rng = np.random.default_rng(0)
    X = rng.standard_t(2, size=(200, 4)) * [1, 10, 0.01, 1e4] + [0, 5, -3, 1e5]
    scaler = SmoothClipScaler(clip=clip, quantile_range=q).fit(X)
    np.testing.assert_allclose(scaler.center_, np.median(X, axis=0))
    np.testing.assert_allclose(scaler.transform(X), _expected(X, clip, q), rtol=1e-12)


def test_small_example_by_hand():
    X = np.array([[1.0], [2.0], [3.0], [4.0], [100.0]])
    scaler = SmoothClipScaler().fit(X)
    # Median 3, quartiles 2 and 4: (x - 3) / 2, then the clip; 48.5 -> 48.5 / sqrt(1 + 48.5^2/9).
    assert scaler.center_.tolist() == [3.0] and scaler.scale_.tolist() == [0.5]
    np.testing.assert_allclose(scaler.transform(X).ravel(),
                               [-0.9486833, -0.4931970, 0.0, 0.4931970, 2.9942772], rtol=1e-6)


def test_outliers_are_squashed_below_clip_in_order():
    X = np.r_[np.linspace(-1, 1, 50), [10.0, 1e3, 1e9, -1e12]][:, None]
    out = SmoothClipScaler(clip=2.0).fit_transform(X).ravel()
    assert np.abs(out[:-2]).max() < 2.0
    assert out[49] < out[50] < out[51] <= out[52] and out[53] < out[:50].min()  # in order
    # Far out, the result rounds to the clip itself: never beyond it.
    assert out[52] == 2.0 and out[53] == -2.0
    # Near the center the clip is close to the identity: 1e-3 -> 1e-3 / sqrt(1 + 1e-6 / 4).
    inside = SmoothClipScaler(clip=2.0).fit(X)
    assert inside.transform(inside.center_[None] + 1e-3 / inside.scale_)[0, 0] == \
        pytest.approx(1e-3, rel=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("clip", [3.0, 0.7, 1e-3])
def test_outputs_never_round_beyond_the_clip(dtype, clip):
    # A million magnitudes from 1 to the dtype's largest: however each one rounds,
    # it stays within the clip, so inverse_transform takes all of them.
    top = 300 if dtype == np.float64 else 30
    X = np.r_[0.0, 1.0, np.logspace(0, top, 10**6) * np.tile([1, -1], 5 * 10**5)].astype(dtype)
    scaler = SmoothClipScaler(clip=clip).fit(X[:2, None])  # center 0.5, scale 2
    out = scaler.transform(X[:, None])
    assert float(np.abs(out).max()) <= clip  # as Python floats, whatever NumPy's casting
    assert np.isfinite(scaler.inverse_transform(out[:100])).all()
    scaler.inverse_transform(out)  # no value beyond the clip: no error


def test_float32_extremes_stay_at_the_clip():
    # (x / clip)**2 overflows float32 for x this large; the output must still be near clip.
    X = np.r_[np.arange(20.0), [1e30, -1e30]].astype(np.float32)[:, None]
    out = SmoothClipScaler().fit_transform(X)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[-2:, 0], [3.0, -3.0], rtol=1e-6)
    # Even x / clip overflowing float32 (3e38 / 1e-3) gives the clip, with no warning.
    X[-2:, 0] = [3e38, -3e38]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = SmoothClipScaler(clip=1e-3).fit_transform(X)
    # The largest float32 within the clip (float32(1e-3) itself is a hair above 1e-3).
    limit = np.nextafter(np.float32(1e-3), np.float32(0))
    assert float(limit) <= 1e-3 < float(np.float32(1e-3))
    assert out[-2:, 0].tolist() == [limit, -limit]


def test_zero_quantile_range_falls_back_to_half_the_range():
    # Over half the values are 0: both quartiles are 0, so the scale is 1 / (0.5 * (4 - 0)).
    X = np.array([[0.0], [0.0], [0.0], [0.0], [0.0], [0.0], [0.0], [4.0]])
    scaler = SmoothClipScaler(clip=None).fit(X)
    assert scaler.scale_.tolist() == [0.5] and scaler.center_.tolist() == [0.0]
    assert scaler.transform(X).ravel().tolist() == [0.0] * 7 + [2.0]


def test_constant_column_becomes_zero_and_inverts_to_its_value():
    X = np.c_[np.full(10, 7.5), np.arange(10.0)]
    scaler = SmoothClipScaler().fit(X)
    assert scaler.scale_[0] == 0.0 and scaler.center_[0] == 7.5
    out = scaler.transform(np.c_[[7.5, 100.0, -3.0], [1.0, 2.0, 3.0]])
    assert out[:, 0].tolist() == [0.0, 0.0, 0.0]
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(X)), X, atol=1e-12)


def test_nan_is_ignored_in_fit_and_passes_through():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 3))
    X[::7, 0] = np.nan
    X[:, 2] = np.nan  # no values at all
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "All-NaN slice" or division warnings
        scaler = SmoothClipScaler().fit(X)
        out = scaler.transform(X)
    kept = X[~np.isnan(X[:, 0]), :1]
    np.testing.assert_allclose(out[~np.isnan(X[:, 0]), 0], _expected(kept)[:, 0], rtol=1e-12)
    assert np.isnan(out[::7, 0]).all() and np.isnan(out[:, 2]).all()
    assert not np.isnan(out[:, 1]).any()
    assert scaler.center_[2] == 0.0 and scaler.scale_[2] == 0.0  # finite, for a column of NaN
    back = scaler.inverse_transform(out)
    np.testing.assert_allclose(back[:, :2], X[:, :2], atol=1e-9)  # NaN where X has NaN
    assert np.isnan(back[:, 2]).all()


def test_inverse_transform_undoes_the_clip():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(100, 2)) * [1.0, 50.0]
    scaler = SmoothClipScaler(clip=2.5).fit(X)
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(X)), X, rtol=1e-9)
    # +-clip is the limit of ever larger x: infinite; beyond it nothing maps there.
    at_clip = scaler.inverse_transform([[2.5, -2.5]])
    assert at_clip.tolist() == [[np.inf, -np.inf]]
    with pytest.raises(ValueError, match=r"1 value\(s\) beyond clip=2.5 .*e\.g\. 2\.6"):
        scaler.inverse_transform([[2.6, 0.0]])
    with pytest.raises(ValueError, match="has 3 features, but SmoothClipScaler is expecting 2"):
        scaler.inverse_transform(np.zeros((1, 3)))


def test_pandas_output_names_and_dtypes():
    frame = pd.DataFrame({"income": [10.0, 20.0, 30.0, 1e6], "age": [20, 30, 40, 50]})
    scaler = SmoothClipScaler().set_output(transform="pandas").fit(frame)
    out = scaler.transform(frame)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["income", "age"]
    assert list(scaler.get_feature_names_out()) == ["income", "age"]
    assert scaler.feature_names_in_.tolist() == ["income", "age"] and scaler.n_features_in_ == 2
    assert out["age"].dtype == np.float64  # integers become float64
    # float32 stays float32, and the statistics are float64 whatever the input.
    fitted = SmoothClipScaler().fit(frame.to_numpy(np.float32))
    assert fitted.transform(frame.to_numpy(np.float32)).dtype == np.float32
    assert fitted.center_.dtype == np.float64


def test_copy_false_transforms_in_place():
    X = np.arange(12.0).reshape(6, 2)
    expected = _expected(X)
    out = SmoothClipScaler(copy=False).fit(X).transform(X)
    assert out is X and np.allclose(X, expected)
    Y = np.arange(12.0).reshape(6, 2)
    SmoothClipScaler().fit(Y).transform(Y)
    assert Y.tolist() == np.arange(12.0).reshape(6, 2).tolist()  # the default copies


def test_bad_input_is_refused_by_name():
    X = np.arange(10.0).reshape(5, 2)
    with pytest.raises(TypeError, match="Sparse data was passed"):
        SmoothClipScaler().fit(sp.csr_matrix(X))
    with pytest.raises(ValueError, match=r"quantile_range must be two percentiles .*\(75, 25\)"):
        SmoothClipScaler(quantile_range=(75, 25)).fit(X)
    with pytest.raises(ValueError, match="quantile_range must be"):
        SmoothClipScaler(quantile_range=(0.0, 50.0, 100.0)).fit(X)
    with pytest.raises(ValueError, match="The 'clip' parameter"):
        SmoothClipScaler(clip=0.0).fit(X)
    with pytest.raises(ValueError, match="Input X contains infinity"):
        SmoothClipScaler().fit(np.array([[1.0], [np.inf]]))


def test_in_a_pipeline_with_the_classifier():
    from skoptnn import OptimizedMLPClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] > 0).astype(int)
    X[:3, 1] = 1e8  # outliers in a column that carries no signal
    pipe = make_pipeline(SmoothClipScaler(), OptimizedMLPClassifier(epochs=3, random_state=0))
    pipe.fit(X, y)
    assert pipe.predict(X).shape == (120,)
    assert list(pipe.classes_) == [0, 1]
    np.testing.assert_allclose(pipe.predict_proba(X).sum(axis=1), 1.0, rtol=1e-6)
    # What the network sees: every value within the clip.
    assert np.abs(pipe[0].transform(X)).max() < 3.0


def test_skops_file_holds_only_the_class_and_data():
    import skops.io as sio

    scaler = SmoothClipScaler(clip=2.0).fit(np.arange(12.0).reshape(6, 2))
    data = sio.dumps(scaler)
    assert sio.get_untrusted_types(data=data) == ["skoptnn.preprocessing.SmoothClipScaler"]
    loaded = sio.loads(data, trusted=["skoptnn.preprocessing.SmoothClipScaler"])
    assert loaded.clip == 2.0 and loaded.scale_.tolist() == scaler.scale_.tolist()


def test_import_skips_tensorflow():
    code = ("import sys; from skoptnn import SmoothClipScaler; SmoothClipScaler; "
            "print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "False"


def test_float32_column_of_tiny_spread_scales_as_in_float64():
    """A quartile range so small that its inverse overflows float32: computed in
    float64 and rounded at the end, float32 input gives float64's result."""
    X = (np.arange(5, dtype=np.float32) * np.float32(1e-39)).reshape(-1, 1)
    scaler = SmoothClipScaler().fit(X)
    out32 = scaler.transform(X)
    assert out32.dtype == np.float32 and np.isfinite(out32).all()
    np.testing.assert_allclose(out32, scaler.transform(X.astype(np.float64)), rtol=1e-6)
    assert out32[2, 0] == 0.0  # the median row
