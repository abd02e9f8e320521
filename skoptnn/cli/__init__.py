"""Command line: ``skoptnn tune`` and ``skoptnn predict``.

TensorFlow is imported inside the commands, never at module level, so that
``skoptnn --help`` answers instantly. One module per job: ``parser`` (the
arguments), ``data`` (reading CSV files, the task, up-front checks), ``split``
(test rows, folds and their sizes), ``pipeline`` (what is searched),
``resume`` (``--resume``'s settings), ``outputs`` (the output folder), ``tune``
and ``predict`` (the two commands), ``errors`` (one-line errors).
"""

from __future__ import annotations

import sys
from typing import Any

from .errors import CLIError
from .parser import build_parser
from .predict import predict as _predict
from .tune import tune as _tune

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the ``skoptnn`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; None reads ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 2 on bad input (after a one-line ``skoptnn: error:``
        message on stderr).

    Examples
    --------
    >>> from skoptnn.cli import main
    >>> main(["tune", "--n-iter", "12", "--output", "demo-output"])  # doctest: +SKIP
    0
    >>> main(["predict", "demo-output/model.skops", "new.csv"])  # doctest: +SKIP
    0
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits; main() returns instead
        return int(exc.code or 0)
    try:
        return _tune(args) if args.command == "tune" else _predict(args)
    except CLIError as exc:
        print(f"skoptnn: error: {exc}", file=sys.stderr)
        return 2


def _as_object(X: Any) -> Any:
    # Not dead: model.joblib files written by skoptnn tune before bool columns got a
    # branch of their own (up to commit 6a4a31c) pickle a FunctionTransformer whose
    # func is skoptnn.cli._as_object, and still load and predict with this version
    # (tests/test_cli_legacy.py). New pipelines no longer use it.
    return X.astype(object)
