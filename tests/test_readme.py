"""The README's Python examples run as written (the search with a smaller budget)."""

import re
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")
README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    # Top-level blocks only: the indented Dask one needs a cluster.
    return re.findall(r"^```python\n(.*?)^```", README.read_text(), flags=re.S | re.M)


def test_readme_examples_run(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    quickstart, tuning, curves = _python_blocks()
    # Same code, a budget a test can afford: 2 trials of 2 folds, not 30 of 5.
    small = {"n_iter=30": "n_iter=2", "cv=5": "cv=2", "ProgressCallback(30)": "ProgressCallback(2)"}
    for old, new in small.items():
        assert old in tuning, f"README's search no longer says {old}"
        tuning = tuning.replace(old, new)
    monkeypatch.chdir(tmp_path)  # curves.png lands here
    namespace: dict = {}
    for block in (quickstart, tuning, curves):
        exec(compile(block, str(README), "exec"), namespace)
    assert namespace["clf"].score(namespace["X_test"], namespace["y_test"]) > 0.9
    assert len(namespace["search"].cv_results_["params"]) == 2
    assert (tmp_path / "curves.png").stat().st_size > 0
