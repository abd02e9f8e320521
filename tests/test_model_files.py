"""skops model files: a fitted pipeline loads with skoptnn's documented trusted types only."""

import json
import sys
import zipfile

import numpy as np
import pytest
import skops.io as sio
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skoptnn import OptimizedMLPClassifier, OptimizedMLPRegressor, trusted_types


@pytest.mark.parametrize("make, target", [
    (lambda: OptimizedMLPClassifier(epochs=3, batch_norm=True, dropout=0.2,
                                    monitor_gradients=True, optimizer="nadam"), "labels"),
    (lambda: OptimizedMLPRegressor(epochs=3, early_stopping=True), "values"),
])
def test_skops_round_trip_needs_only_the_documented_types(binary_data, make, target):
    X, y = binary_data
    y = np.where(y == 1, "yes", "no") if target == "labels" else X[:, 0] * 3.0 + 1.0
    pipe = make_pipeline(StandardScaler(), make().set_params(random_state=0)).fit(X, y)
    data = sio.dumps(pipe)
    untrusted = sio.get_untrusted_types(data=data)
    assert untrusted and set(untrusted) <= set(trusted_types())
    loaded = sio.loads(data, trusted=trusted_types())
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))
    est, original = loaded[-1], pipe[-1]
    assert est.history_ == original.history_ and est.n_epochs_ == original.n_epochs_
    # Still a working estimator: it continues training and builds its Keras model.
    est.set_params(warm_start=True, epochs=1).fit(StandardScaler().fit_transform(X), y)
    assert est.n_epochs_ == original.n_epochs_ + 1
    assert est.model_.count_params() > 0


def test_a_tampered_file_is_refused_without_running_its_code(binary_data, tmp_path,
                                                             monkeypatch):
    X, y = binary_data
    path = tmp_path / "model.skops"
    sio.dump(OptimizedMLPClassifier(epochs=1, random_state=0).fit(X, y), path)
    marker = tmp_path / "ran"
    (tmp_path / "evil_module.py").write_text(
        "class Evil:\n"
        "    def __setstate__(self, state):\n"
        f"        open({str(marker)!r}, 'w').write('ran')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with zipfile.ZipFile(path) as z:
        files = {name: z.read(name) for name in z.namelist()}
    schema = json.loads(files["schema.json"])
    schema["__module__"], schema["__class__"] = "evil_module", "Evil"
    files["schema.json"] = json.dumps(schema).encode()
    tampered = tmp_path / "tampered.skops"
    with zipfile.ZipFile(tampered, "w") as z:
        for name, content in files.items():
            z.writestr(name, content)
    assert sio.get_untrusted_types(file=tampered) == ["evil_module.Evil"]
    with pytest.raises(Exception, match="evil_module.Evil"):
        sio.load(tampered, trusted=trusted_types())
    assert not marker.exists()
    assert "evil_module" not in sys.modules
