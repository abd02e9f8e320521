"""What the guide's example scripts share: their ``--out`` option, saving their
figure, and the breast-cancer split that three of them train on.

The scripts import this module by name (``import _guide``): running
``python examples/guide_x.py``, from the repository or from ``examples/``,
puts the script's own folder first on ``sys.path``.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def breast_cancer(seed: int) -> list:
    """scikit-learn's breast-cancer data with a stratified quarter held out.

    ``X_train, X_test, y_train, y_test``, split with ``random_state=seed``.
    """
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)


def parse_args(parser: argparse.ArgumentParser, script: str) -> argparse.Namespace:
    """Add ``--out`` (default: the PNG beside ``script``), last, and parse the command line."""
    parser.add_argument("--out", type=Path, default=Path(script).with_suffix(".png"),
                        help="PNG file or folder (default: next to this script)")
    return parser.parse_args()


def save(fig, out: Path, script: str) -> Path:
    """Lay out ``fig``, write it to ``out`` and close it; the path written.

    ``out`` may be a folder (or a name without suffix): the figure then goes
    inside it, under the name of ``script``'s PNG.
    """
    import matplotlib.pyplot as plt

    fig.tight_layout()
    if out.is_dir() or not out.suffix:
        out = out / Path(script).with_suffix(".png").name
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
