"""``tune --resume``: the settings a resumed search must share with the one it continues.

A fresh search writes them to the output folder's ``tune-settings.json``;
``--resume`` compares them with the command's own and refuses, naming what
differs, rather than mix trials of two searches in one checkpoint.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from .errors import CLIError

__all__ = ["CHECKPOINT", "SETTINGS", "settings", "start_or_resume"]

# The search's checkpoint (rewritten after every trial) and the settings, in --output.
CHECKPOINT = "checkpoint.json"
SETTINGS = "tune-settings.json"

# A settings file without these flags comes from a tune that had neither feature.
_ADDED_FLAGS = {"--no-prune": True, "--no-defaults-first": True, "--set": []}


def settings(
    args: argparse.Namespace, task: str, scoring: str, cv: int, epochs: int
) -> dict[str, Any]:
    """What a resumed search must share with the one it continues."""
    if args.data is None:
        data = "scikit-learn's breast-cancer data"
    else:
        data = "sha256:" + hashlib.sha256(Path(args.data).read_bytes()).hexdigest()
    return {
        "data": data, "--target": args.target or "target", "--no-header": args.no_header,
        "--task": task, "--scoring": scoring, "--cv": cv, "--test-size": args.test_size,
        "--random-state": args.random_state, "--epochs": epochs,
        "--no-prune": args.no_prune, "--no-defaults-first": args.no_defaults_first,
        "--set": sorted(f"{name}={value!r}" for name, value in getattr(args, "fixed", [])),
    }


def start_or_resume(
    out: Path, now: dict[str, Any], args: argparse.Namespace, n_iter: int
) -> int:
    """Check --resume against the saved settings; return the trials already done."""
    from ..search.checkpoint import Checkpoint, atomic_write_text

    try:
        checkpoint = Checkpoint.load(out / CHECKPOINT)
    except ValueError:
        checkpoint = None
    n_done = len(checkpoint.trials) if checkpoint is not None else 0
    if not args.resume:
        if 0 < n_done < n_iter:
            print(f"skoptnn: note: {out} holds an unfinished search ({n_done} trials); "
                  "starting a new one over it (--resume would continue it)", file=sys.stderr)
        atomic_write_text(out / SETTINGS, json.dumps(now, indent=1))
        return 0
    try:
        saved = json.loads((out / SETTINGS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise CLIError(f"--resume: there is no search to resume in {out} (no readable "
                       f"{SETTINGS}); run without --resume to start one") from None
    differ = _differences(saved, now, args.data)
    if differ:
        raise CLIError(f"cannot resume the search in {out}: " + "; ".join(differ)
                       + "; run without --resume to start over, or choose another --output")
    return n_done


def _differences(saved: dict[str, Any], now: dict[str, Any], data_path: str | None) -> list[str]:
    found = []
    for key, value in now.items():
        before = saved.get(key, _ADDED_FLAGS.get(key))
        if before == value:
            continue
        if key == "data":
            found.append(f"{data_path or 'the demo data'} is not the data it was started on "
                         "(the file's contents differ)")
        else:
            found.append(f"{key} was {before!r}, now {value!r}")
    return found
