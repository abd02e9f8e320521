"""Gradient clipping: a learning rate that diverges without ``clipnorm`` and trains with it.

Usage::

    python examples/guide_gradient_clipping.py [--epochs 50] [--out PATH]

Fits an ``OptimizedMLPRegressor`` (3 hidden layers of 64 ReLU units, plain
SGD, no L2 so the loss is the mean squared error alone) on Friedman's #1
regression problem (``make_friedman1``: 1,000 generated rows, 10 features, 5 of
them used non-linearly, noise 1.0), standardised, with
``monitor_gradients=True``, at three learning rates:

* 0.01 (Keras' default for SGD): stable, no clipping needed;
* 0.1 and 0.3 without clipping: the first mini-batches' gradients are large
  (kernel norms up to ~8), so the first steps overshoot, the loss becomes
  NaN within the first epoch, and skoptnn stops, warns (``DivergenceWarning``,
  plus a ``GradientWarning`` for the non-finite gradients) and keeps the
  initial weights, so the model is useless;
* 0.1 and 0.3 with ``clipnorm=1.0``: each layer's gradient is rescaled to norm
  1 at most before the step, so no step can be larger than the learning rate;
  both train, and better than the cautious 0.01 in the same number of epochs;
* 0.1 with ``clipvalue=0.5`` (each gradient element cut to [-0.5, 0.5]):
  trains as well.

The table gives the epochs run, the first and last epoch's training loss
(on standardised targets; skoptnn standardises regression targets), the
largest gradient norm before clipping (``raw_gradient_norms_``), the warnings,
and R^2 on a held-out quarter of the data (RidgeCV scores 0.74 there). The
figure shows the training loss of the fits that trained, and the norms before
clipping of the ``lr=0.1, clipnorm=1.0`` fit: their epoch means are above the
threshold only in the first ~5 epochs. Clipping tames the large early steps
that wreck the unclipped fit, then mostly stays out of the way. Runs in about
15 s on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import warnings

import _guide  # examples/_guide.py
import matplotlib

matplotlib.use("Agg")  # write files, no display needed

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_friedman1
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skoptnn import (
    DivergenceWarning,
    GradientWarning,
    OptimizedMLPRegressor,
    plot_gradient_norms,
)

# (learning_rate, clipping parameters)
RUNS = [
    (0.01, {}),
    (0.1, {}),
    (0.1, {"clipnorm": 1.0}),
    (0.3, {}),
    (0.3, {"clipnorm": 1.0}),
    (0.1, {"clipvalue": 0.5}),
]


def label(lr: float, clip: dict) -> str:
    return f"lr={lr:g}" + "".join(f", {k}={v:g}" for k, v in clip.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=50, help="epochs per fit (default 50)")
    parser.add_argument("--random-state", type=int, default=0)
    args = _guide.parse_args(parser, __file__)
    seed = args.random_state

    X, y = make_friedman1(n_samples=1000, noise=1.0, random_state=seed)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed)
    ridge = make_pipeline(StandardScaler(), RidgeCV()).fit(X_train, y_train).score(X_test, y_test)

    rows, fits, first_message = [], {}, None
    for lr, clip in RUNS:
        net = OptimizedMLPRegressor(
            n_layers=3, units=64, l2=0.0, optimizer="sgd", learning_rate=lr, **clip,
            epochs=args.epochs, monitor_gradients=True, random_state=seed,
        )
        pipe = make_pipeline(StandardScaler(), net)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pipe.fit(X_train, y_train)
        names = sorted({w.category.__name__ for w in caught
                        if issubclass(w.category, (DivergenceWarning, GradientWarning))})
        if first_message is None and names:
            first_message = next(str(w.message) for w in caught
                                 if issubclass(w.category, DivergenceWarning))
        loss = net.history_["loss"]
        raw = net.raw_gradient_norms_.to_numpy()
        rows.append((label(lr, clip), net.n_epochs_, loss[0], loss[-1],
                     np.nanmax(raw) if np.isfinite(raw).any() else np.nan,
                     ", ".join(names) or "-", pipe.score(X_test, y_test)))
        fits[label(lr, clip)] = pipe

    print(f"{len(X_train)} training rows, {len(X_test)} held-out rows; RidgeCV R^2 = {ridge:.3f}."
          "\nSGD, 3 x 64 ReLU units, no L2. loss = training MSE on standardised targets.\n")
    print(f"{'run':<24} {'epochs':>6} {'loss@1':>8} {'loss@end':>8} {'max raw norm':>12} "
          f"{'test R^2':>8}  warnings")
    for name, epochs, first, last, peak, warned, r2 in rows:
        print(f"{name:<24} {epochs:>6} {first:>8.3f} {last:>8.4f} {peak:>12.3g} {r2:>8.3f}  "
              f"{warned}")
    print(f"\nThe DivergenceWarning said: {first_message}")

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    diverged = []
    for name, pipe in fits.items():
        loss = np.asarray(pipe[-1].history_["loss"])
        if not np.isfinite(loss).all():
            diverged.append(name)
            continue
        left.plot(np.arange(1, len(loss) + 1), loss, label=name)
    left.set_yscale("log")
    left.set_xlabel("epoch")
    left.set_ylabel("training loss (MSE, log scale)")
    left.set_title("SGD: training loss")
    left.legend(fontsize="small", loc="upper right")
    # The diverged fits have a single NaN loss: nothing to draw, so say so.
    left.text(0.03, 0.04, "without clipping, " + " and ".join(diverged) +
              ":\nloss NaN in epoch 1 (DivergenceWarning)",
              transform=left.transAxes, fontsize="small", color="C3")
    plot_gradient_norms(fits["lr=0.1, clipnorm=1"], raw=True, ax=right)
    right.axhline(1.0, color="k", linestyle=":", label="clipnorm=1.0")
    right.legend(title="layer", fontsize="x-small", ncols=2)
    right.set_title("lr=0.1, clipnorm=1.0: norms before clipping")
    out = _guide.save(fig, args.out, __file__)
    print(f"\nWrote {out}")


if __name__ == "__main__":
    main()
