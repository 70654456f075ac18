"""The examples run end to end (tiny settings) and their commands exit cleanly."""
import importlib.util
import os
import sys

import numpy as np
import pytest

from pyengine.data.datasets import FASHION_MNIST_ROOT
from pyengine.examples import hitters, linreg, mlp


def test_linreg_matches_least_squares(capsys):
    gap = linreg.main(["--steps", "300", "--samples", "500"])
    assert gap < 1e-3
    assert "least squares" in capsys.readouterr().out


def test_console_entry_points_return_none_so_the_exit_code_is_zero(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["pyengine-linreg", "--steps", "20", "--samples", "100"])
    assert linreg.cli() is None


def test_hitters_network_and_linear_regression_report_finite_mae():
    if importlib.util.find_spec("ISLP") is None:  # only its data folder is used; no import
        pytest.skip("islp not installed (pip install --no-deps islp)")
    lin_mae, nn_mae = hitters.main(["--epochs", "5"])
    assert np.isfinite(lin_mae) and np.isfinite(nn_mae)
    assert 150 < lin_mae < 400  # salaries are in $1000s; the book reports about 260


@pytest.mark.skipif(not os.path.isdir(FASHION_MNIST_ROOT), reason="dataset-fashion-mnist not installed")
def test_mlp_example_trains_and_plots(tmp_path):
    pytest.importorskip("matplotlib")
    plot = str(tmp_path / "curves.png")
    results = mlp.main(["--epochs", "1", "--models", "logreg", "--plot", plot])
    assert set(results) == {"logreg"}
    assert results["logreg"] > 0.75  # one epoch of logistic regression on Fashion-MNIST
    assert os.path.getsize(plot) > 10_000


@pytest.mark.skipif(not os.path.isdir(FASHION_MNIST_ROOT), reason="dataset-fashion-mnist not installed")
def test_cnn_example_trains_with_augmentation_and_plots(tmp_path):
    pytest.importorskip("matplotlib")
    from pyengine.examples import cnn
    plot = str(tmp_path / "cnn.png")
    results = cnn.main(["--epochs", "1", "--width", "8", "--train-size", "3000", "--val-size", "1000",
                        "--plot", plot])
    assert results["test_acc"] > 0.6  # one short epoch of a small CNN already beats chance (0.1) by far
    assert os.path.getsize(plot) > 10_000


@pytest.mark.skipif(not os.path.isdir(FASHION_MNIST_ROOT), reason="dataset-fashion-mnist not installed")
def test_resnet_example_trains_plain_and_residual_and_plots(tmp_path):
    pytest.importorskip("matplotlib")
    from pyengine.examples import resnet
    plot = str(tmp_path / "resnet.png")
    results = resnet.main(["--depth", "8", "--widths", "4,4,8", "--epochs", "1", "--train-size", "512",
                           "--val-size", "256", "--plot", plot])
    assert set(results) == {"plain-8", "residual-8"}
    for figures in results.values():  # one short epoch: only sanity, the comparison needs the full run
        assert np.isfinite(figures["train_loss"]) and 0.0 <= figures["test_acc"] <= 1.0
    assert os.path.getsize(plot) > 10_000
