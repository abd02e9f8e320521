"""The output folder of ``skoptnn tune``: checked before the search, filled after it."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from .errors import CLIError, one_line
from .resume import CHECKPOINT, SETTINGS

__all__ = ["OUTPUTS", "prepare_output", "write_outputs"]

# What tune writes to --output, besides the checkpoint and its settings.
OUTPUTS = ("model.skops", "model.joblib", "trials.csv", "convergence.png")


def prepare_output(out: Path) -> None:
    """Create ``out`` and make sure tune can write its files there."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"cannot create output directory {out}: {one_line(exc)}") from None
    try:  # now, not after the search
        tempfile.TemporaryFile(dir=out).close()
    except OSError as exc:
        raise CLIError(f"cannot write to output directory {out}: {one_line(exc)}") from None
    for name in (*OUTPUTS, CHECKPOINT, SETTINGS):
        if (out / name).is_dir():
            raise CLIError(f"{out / name} is a directory; tune writes a file there")


def write_outputs(search: Any, out: Path) -> None:
    """Write the model files, the trials table and the plot, each atomically."""
    import joblib
    import skops.io

    from ..search import trials_dataframe
    from ..search.checkpoint import atomic_path

    writers = {
        "model.skops": lambda path: skops.io.dump(search.best_estimator_, path),
        "model.joblib": lambda path: joblib.dump(search.best_estimator_, path),
        "trials.csv": lambda path: trials_dataframe(search).to_csv(path),
        "convergence.png": lambda path: _save_convergence(search, path),
    }
    try:
        for name in OUTPUTS:
            with atomic_path(out / name) as tmp:
                writers[name](tmp)
    except OSError as exc:
        raise CLIError(f"cannot write the results to {out}: {one_line(exc)}") from None


def _save_convergence(search: Any, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    from ..plotting import plot_convergence

    ax = plot_convergence(search)
    ax.figure.savefig(path, dpi=100, bbox_inches="tight", format="png")
    plt.close(ax.figure)
