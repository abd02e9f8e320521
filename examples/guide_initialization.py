"""Weight initialization: zeros vs random_normal vs glorot_uniform vs he_normal.

Usage::

    python examples/guide_initialization.py [--epochs 40] [--out PATH]

Trains the same ReLU network (3 hidden layers of 32 units, Adam, no L2 so the
loss measures the fit alone) on scikit-learn's breast-cancer data,
standardised, with each ``kernel_initializer``, and prints for each: the
training loss after epochs 1 and 5 and at the end, the accuracy on a held-out
quarter of the data, and how many of the first hidden layer's 32 units are
distinct after training.

What it shows:

* ``zeros`` never breaks the symmetry between units. With ReLU every hidden
  activation and every kernel gradient is exactly zero, so the hidden layers
  never move (max |w| = 0) and the network predicts one class. The extra row
  "zeros, sigmoid" shows that even when the weights do move (sigmoid(0) = 0.5
  is not zero), every unit of a layer gets the same gradient, so all 32 units
  stay copies of one: a layer of width 1.
* ``random_normal`` (Keras' default stddev 0.05) and ``glorot_uniform`` break
  the symmetry, but their first epoch ends near log(2) = 0.69 (a coin flip):
  signals start small in a ReLU net. ``he_normal``, scaled for ReLU, learns
  from the first epoch. On this easy data all three random schemes fit the
  training set in the end and score alike on held-out data: initialization
  decides whether, and how soon, training gets going.

Saves the loss curves next to this script (``guide_initialization.png``).
Runs in well under a minute on 2 CPU cores.
"""

from __future__ import annotations

import argparse

import _guide  # examples/_guide.py
import matplotlib

matplotlib.use("Agg")  # write files, no display needed

import matplotlib.pyplot as plt
import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skoptnn import OptimizedMLPClassifier

INITIALIZERS = ["zeros", "random_normal", "glorot_uniform", "he_normal"]


def distinct_units(kernel: np.ndarray) -> int:
    """Number of different columns (units) of a Dense kernel."""
    return len(np.unique(np.round(kernel, 6), axis=1).T)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=40, help="epochs per fit (default 40)")
    parser.add_argument("--random-state", type=int, default=0)
    args = _guide.parse_args(parser, __file__)

    X_train, X_test, y_train, y_test = _guide.breast_cancer(args.random_state)
    runs = [(init, "relu") for init in INITIALIZERS] + [("zeros", "sigmoid")]
    rows, histories = [], {}
    for init, activation in runs:
        name = init if activation == "relu" else f"{init}, {activation}"
        pipe = make_pipeline(
            StandardScaler(),
            OptimizedMLPClassifier(
                n_layers=3, units=32, activation=activation, kernel_initializer=init,
                # No L2: its penalty grows with the weights' scale, so it would
                # charge He's larger initial weights and blur the comparison.
                l2=0.0, epochs=args.epochs, random_state=args.random_state,
            ),
        ).fit(X_train, y_train)
        net = pipe[-1]
        kernel = np.asarray(net.model_.get_layer("hidden_1").kernel)
        loss = net.history_["loss"]
        rows.append({
            "initializer": name,
            "loss_1": loss[0],
            "loss_5": loss[min(4, len(loss) - 1)],
            "loss_end": loss[-1],
            "test_acc": pipe.score(X_test, y_test),
            "distinct_units": distinct_units(kernel),
            # 0 means every column of the first kernel is the same: one unit, copied.
            "max_spread": float(np.ptp(kernel, axis=1).max()),
            "max_abs": float(np.abs(kernel).max()),
        })
        histories[name] = net.history_["loss"]

    print(f"{len(X_train)} training rows, {len(X_test)} held-out rows; "
          f"majority class scores {max(y_test.mean(), 1 - y_test.mean()):.3f}.\n")
    print("Training loss after epoch 1, epoch 5 and the last epoch; first hidden kernel W:")
    print("units = distinct columns of W (of 32), spread = max over inputs of the range")
    print("across units (0: all units identical), max |w| = largest weight.\n")
    print(f"{'initializer':<16} {'loss@1':>7} {'loss@5':>7} {'loss@end':>8} {'test_acc':>8} "
          f"{'units':>5} {'spread':>7} {'max |w|':>7}")
    for r in rows:
        print(f"{r['initializer']:<16} {r['loss_1']:>7.3f} {r['loss_5']:>7.3f} "
              f"{r['loss_end']:>8.4f} {r['test_acc']:>8.3f} {r['distinct_units']:>5} "
              f"{r['max_spread']:>7.3g} {r['max_abs']:>7.3g}")

    fig, ax = plt.subplots(figsize=(8, 4))
    for name, loss in histories.items():
        style = ":" if "sigmoid" in name else "-"
        ax.plot(np.arange(1, len(loss) + 1), loss, style, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (log scale)")
    ax.set_title("3 x 32 ReLU units (dotted: sigmoid), no L2: training loss by kernel_initializer")
    ax.legend(fontsize="small")
    out = _guide.save(fig, args.out, __file__)
    print(f"\nWrote {out}")


if __name__ == "__main__":
    main()
