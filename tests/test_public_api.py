"""The public API: every name skoptnn exports resolves, from its one module."""

import subprocess
import sys

import skoptnn.plotting
import skoptnn.search


def test_every_exported_name_resolves():

    for name in skoptnn.__all__:
        assert getattr(skoptnn, name) is not None, name
    assert skoptnn.plot_history is skoptnn.plotting.plot_history
    assert skoptnn.trials_dataframe is skoptnn.search.trials_dataframe


def test_helpers_load_without_tensorflow():
    # Plots, spaces and the trials table read fitted results; importing them
    # must not start TensorFlow (seconds of start-up in a CLI or a notebook).
    code = (
        "import sys, skoptnn; skoptnn.plot_history; skoptnn.classifier_space; "
        "skoptnn.trials_dataframe; print('tensorflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "False"
