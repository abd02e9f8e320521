"""`skoptnn tune` survives SIGKILL: --resume continues the search without rerunning trials."""

import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from skoptnn.cli import main

N_ITER = 6
TINY = ["--n-iter", str(N_ITER), "--cv", "2", "--epochs", "3"]


def _data(path, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(160, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(y=(X[:, 0] + X[:, 1] > 0).astype(int))
    frame.to_csv(path, index=False)
    return path


def _trials(out):
    from skoptnn.search.checkpoint import Checkpoint

    try:
        checkpoint = Checkpoint.load(out / "checkpoint.json")
    except ValueError:  # not a checkpoint (its header is written atomically: never half)
        return []
    return [] if checkpoint is None else checkpoint.trials


def _kill_after_two_trials(data, out):
    proc = subprocess.Popen(
        [sys.executable, "-m", "skoptnn.cli", "tune", str(data), "--target", "y", *TINY,
         "--output", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    try:
        while len(_trials(out)) < 2:
            assert proc.poll() is None, "tune ended before it could be killed"
            assert time.monotonic() < deadline, "no 2 trials in the checkpoint in time"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_killed_tune_resumes_without_rerunning_trials(tmp_path, monkeypatch, capsys):
    from skoptnn import OptimizedMLPClassifier

    data, out = _data(tmp_path / "d.csv"), tmp_path / "out"
    _kill_after_two_trials(data, out)
    done = _trials(out)
    assert 2 <= len(done) < N_ITER
    assert not (out / "trials.csv").exists()  # killed mid-search: no results yet

    fits = []
    real_fit = OptimizedMLPClassifier.fit
    monkeypatch.setattr(OptimizedMLPClassifier, "fit",
                        lambda self, *a, **k: fits.append(1) or real_fit(self, *a, **k))
    args = ["tune", str(data), "--target", "y", *TINY, "--output", str(out)]
    assert main([*args, "--resume"]) == 0
    report = capsys.readouterr().out
    assert f"Resuming: {len(done)} of {N_ITER} configurations done" in report
    assert f"Resumed {len(done)} finished configurations; ran {N_ITER - len(done)} more." in report
    # The new trials' 2 folds each and the refit: the killed run's trials were not rerun.
    assert len(fits) == 2 * (N_ITER - len(done)) + 1
    final = _trials(out)
    assert final[:len(done)] == done  # their records (fit times too) are the killed run's
    assert len(final) == N_ITER
    trials = pd.read_csv(out / "trials.csv")
    assert sorted(trials["trial"]) == list(range(N_ITER))
    assert (out / "model.skops").is_file() and (out / "convergence.png").is_file()

    # The same outputs as an uninterrupted search: the same points (here the random
    # draws of the optimizer's initial phase) and, training being seeded, the same scores.
    fresh = tmp_path / "fresh"
    assert main(["tune", str(data), "--target", "y", *TINY, "--output", str(fresh)]) == 0
    assert [t["x"] for t in _trials(fresh)] == [t["x"] for t in final]
    assert [t["y"] for t in _trials(fresh)] == [t["y"] for t in final]
    pd.testing.assert_frame_equal(pd.read_csv(fresh / "trials.csv").drop(columns="mean_fit_time"),
                                  trials.drop(columns="mean_fit_time"))

    # Another data file, or another setting: refused, saying what differs.
    other = _data(tmp_path / "other.csv", seed=1)
    capsys.readouterr()
    assert main(["tune", str(other), "--target", "y", *TINY, "--output", str(out),
                 "--resume"]) == 2
    err = capsys.readouterr().err
    assert f"cannot resume the search in {out}: {other} is not the data it was started on" in err
    assert main([*args, "--resume", "--cv", "3"]) == 2
    assert "--cv was 2, now 3" in capsys.readouterr().err
    assert _trials(out) == final  # untouched


def test_resume_needs_a_search_to_resume(tmp_path, capsys):
    data = _data(tmp_path / "d.csv")
    assert main(["tune", str(data), "--target", "y", *TINY, "--output", str(tmp_path / "o"),
                 "--resume"]) == 2
    assert "there is no search to resume in" in capsys.readouterr().err
