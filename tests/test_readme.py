"""The README's Python examples run as written (the search with a smaller budget).

Also the docs/ pages the README links to: their top-level ```python blocks run, and
every relative link and #anchor in README.md and docs/*.md points at something that
exists. A block meant only to be read (it needs a cluster, say) is indented under a
list item, as the Dask example in docs/scaling.md is: the block patterns below match
fences at the start of a line only.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]


def _python_blocks(page: Path = README) -> list[str]:
    # Top-level blocks only: indented ones are illustrative (the Dask one needs a cluster).
    return re.findall(r"^```python\n(.*?)^```", page.read_text(), flags=re.S | re.M)


def test_readme_examples_run(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    blocks = _python_blocks()
    tuning = next(b for b in blocks if "BayesSearchCV(" in b)
    # Same code, a budget a test can afford: 2 trials of 2 folds, not 30 of 5.
    small = {"n_iter=30": "n_iter=2", "cv=5": "cv=2", "ProgressCallback(30)": "ProgressCallback(2)"}
    for old, new in small.items():
        assert old in tuning, f"README's search no longer says {old}"
        tuning = tuning.replace(old, new)
    monkeypatch.chdir(tmp_path)  # curves.png and model.skops land here
    namespace: dict = {}
    for block in blocks:  # in order, in one namespace, as a reader would paste them
        block = tuning if "BayesSearchCV(" in block else block
        exec(compile(block, str(README), "exec"), namespace)
    assert namespace["clf"].score(namespace["X_test"], namespace["y_test"]) > 0.9
    assert len(namespace["search"].cv_results_["params"]) == 2
    assert (tmp_path / "curves.png").stat().st_size > 0
    assert (namespace["loaded"].predict(namespace["X_iris"])
            == namespace["iris_clf"].predict(namespace["X_iris"])).all()


@pytest.mark.parametrize("page", DOCS, ids=[p.name for p in DOCS])
def test_docs_examples_run(page, tmp_path, monkeypatch):
    # Each page is self-contained: its blocks run in order, in one fresh namespace.
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in _python_blocks(page):
        exec(compile(block, str(page), "exec"), namespace)


def _slug(heading: str) -> str:
    # GitHub's anchors: lower case, punctuation dropped, spaces to hyphens.
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _prose(page: Path) -> str:
    return re.sub(r"^\s*```.*?^\s*```", "", page.read_text(), flags=re.S | re.M)


def _anchors(page: Path) -> set[str]:
    return {_slug(h) for h in re.findall(r"^#+ (.+)$", _prose(page), flags=re.M)}


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_links_resolve(page):
    for target in re.findall(r"\]\(([^)\s]+)\)", _prose(page)):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not checked offline
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name} links to missing {target}"
        if anchor:
            assert anchor in _anchors(linked), f"{page.name} links to missing anchor {target}"


def test_readme_links_every_docs_page():
    assert DOCS, "docs/ holds no pages"
    linked = set(re.findall(r"\]\(docs/([^)#\s]+)", README.read_text()))
    assert linked == {p.name for p in DOCS}
