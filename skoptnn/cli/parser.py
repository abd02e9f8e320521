"""The ``skoptnn`` command's arguments: ``tune`` and ``predict``, with their help texts.

Imports nothing heavy, so that ``skoptnn --help`` answers instantly.
"""

from __future__ import annotations

import argparse
import ast
from typing import Any

from .data import MAX_CLASSES, MIN_DISTINCT_SHARE
from .resume import CHECKPOINT

__all__ = ["build_parser"]


# -- option types: argparse reports their errors as usage errors -------------------
def _assignment(text: str) -> tuple[str, Any]:
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"expected PARAM=VALUE, got {text!r}")
    try:
        parsed = ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        parsed = value.strip()
    return name, parsed


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _folds(text: str) -> int:
    value = int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"cross-validation needs at least 2 folds, got {value}")
    return value


def _n_jobs(text: str) -> int:
    value = int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be >= 1, or negative to count back from all "
                                          "cores (-1: every core), not 0")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), got {value}")
    return value


_DATA_HELP = "CSV file, with a header row unless --no-header"


def build_parser() -> argparse.ArgumentParser:
    """The ``skoptnn`` parser, with its ``tune`` and ``predict`` commands."""
    parser = argparse.ArgumentParser(
        prog="skoptnn",
        description="Tune a Keras MLP classifier or regressor with BayesSearchCV and predict "
                    "with it.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    tune = commands.add_parser(
        "tune",
        help="tune a classifier or regressor on a CSV file",
        description=(
            "Hold out a test set (stratified for classification), tune an "
            "imputing/scaling/one-hot pipeline ending in OptimizedMLPClassifier or "
            "OptimizedMLPRegressor with BayesSearchCV on the rest, and save the best "
            "pipeline (model.skops, and model.joblib), the trials (trials.csv) and a "
            "convergence plot (convergence.png). After every finished trial the search is "
            f"saved to {CHECKPOINT} in the output folder; if the run is killed, the same "
            "command with --resume continues it. Without DATA it runs a quick demo on "
            "scikit-learn's breast-cancer data."
        ),
    )
    tune.add_argument("data", nargs="?", metavar="DATA.csv", help=_DATA_HELP)
    tune.add_argument("--target", metavar="COLUMN", help="column to predict (required with DATA)")
    tune.add_argument("--no-header", action="store_true",
                      help="DATA.csv has no header row (like the Pima CSV): columns are named "
                           "by their 0-based position, so --target 8 is the ninth column")
    tune.add_argument(
        "--task", choices=["auto", "classification", "regression"], default="auto",
        help=f"auto (the default): regression if the target is numeric and has a non-integer "
             f"value, or more than {MAX_CLASSES} distinct values that are also more than "
             f"{MIN_DISTINCT_SHARE * 100:g}%% of the rows; classification otherwise",
    )
    tune.add_argument("--n-iter", type=_positive_int,
                      help="configurations to try (default: 30; 15 for the demo)")
    tune.add_argument("--cv", type=_folds,
                      help="cross-validation folds, >= 2 (default: 5)")
    tune.add_argument("--n-jobs", type=_n_jobs, default=1,
                      help="parallel fits; -1 for one per core (default: 1)")
    tune.add_argument(
        "--parallel", choices=["threads", "processes"], default="threads",
        help="with --n-jobs > 1: threads share each architecture's compiled graph and "
             "start at once; processes import TensorFlow and compile the graph in each "
             "worker (default: threads)",
    )
    tune.add_argument("--scoring",
                      help="scikit-learn scorer name (default: accuracy for classification, "
                           "r2 for regression)")
    tune.add_argument("--test-size", type=_fraction, default=0.2,
                      help="held-out test fraction (default: 0.2)")
    tune.add_argument("--output", default="skoptnn-output", metavar="DIR",
                      help="output directory (default: skoptnn-output)")
    tune.add_argument("--random-state", type=int, default=0, help="seed (default: 0)")
    tune.add_argument("--epochs", type=_positive_int,
                      help="maximum epochs per fit, with early stopping "
                           "(default: 100; 60 for the demo)")
    tune.add_argument("--time-budget", type=_seconds, metavar="SECONDS",
                      help="stop after the trial that takes the search past SECONDS, and "
                           "write every output as usual (--resume continues it later)")
    tune.add_argument("--resume", action="store_true",
                      help=f"continue the search saved in --output's {CHECKPOINT} (after a "
                           "kill, a time budget or to raise --n-iter) instead of starting over; "
                           "refused if the data file or a setting differs")
    tune.add_argument("--no-prune", action="store_true",
                      help="train every configuration to the end; by default a fit stops "
                           "when its best validation loss (the regressor's: MAE) is worse "
                           "than the median of earlier configurations' on the same fold at "
                           "the same epoch (checked after 8, 16, 32 and 64 epochs, those "
                           "below --epochs)")
    tune.add_argument("--no-defaults-first", action="store_true",
                      help="do not try the model's default configuration as the first one")
    tune.add_argument("--set", action="append", default=[], metavar="PARAM=VALUE",
                      type=_assignment, dest="fixed",
                      help="fix a parameter of the network for every configuration (repeat "
                           "for more), e.g. --set n_ensemble=5 --set numeric_embedding="
                           "periodic; a parameter the search would tune is left out of its "
                           "space. VALUE is read as a Python literal (5, 0.1, True, None), "
                           "else as text")

    predict = commands.add_parser(
        "predict",
        help="predict with a model saved by 'skoptnn tune'",
        description=(
            "Write the prediction for every row of DATA (for a classifier also one "
            "probability column per class). Columns the model was not trained on (such as "
            "the target) are ignored. model.skops loads without running code: anything in "
            "it beyond scikit-learn's and skoptnn's own types is refused. model.joblib runs "
            "code on load: only load joblib files you trust."
        ),
    )
    predict.add_argument("model", metavar="MODEL",
                         help="model.skops (or model.joblib) written by 'skoptnn tune'")
    predict.add_argument("data", metavar="DATA.csv", help=_DATA_HELP)
    predict.add_argument("--no-header", action="store_true",
                         help="DATA.csv has no header row, for a model tuned with --no-header: "
                              "either the training file's columns, or only the features, in "
                              "their training order")
    predict.add_argument("--output", default="predictions.csv",
                         help="output CSV (default: predictions.csv)")
    return parser
