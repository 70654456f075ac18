"""pyengine-rbm end to end at small settings: both RBMs' validation reconstruction error goes down
(on generated blobs always; on a Fashion-MNIST subset where the data set is installed, the
pseudo-log-likelihood rises too), the deep belief network's fine-tuning learns, the three PNGs
are written after the figures are printed, and bad arguments are usage errors."""
import os
import sys

import numpy as np
import pytest

from pyengine.data.datasets.mnist import FASHION_MNIST_ROOT
from pyengine.examples import rbm

SMALL = ["--val-size", "200", "--test-size", "300", "--epochs", "3", "--hidden", "32", "--dbn-hidden", "32,16",
         "--pretrain-epochs", "1", "--finetune-epochs", "6", "--batch-size", "32"]


def _check(r, epochs=3):
    assert list(r["rbms"]) == ["cd-1", "pcd"]
    for name, h in r["histories"].items():
        assert len(h["recon_mse"]) == epochs and h["recon_mse"][-1] < h["recon_mse"][0], name
        assert h["recon_bce"][-1] < h["recon_bce"][0], name
        assert r["rbms"][name]["weight"].shape == (32, 784)
    for name, h in r["dbn"].items():
        assert h["train_loss"][-1] < h["train_loss"][0], name
        assert h["test_acc"] > 0.3, name  # ten classes: chance is 0.1


def test_learns_on_generated_blobs_and_writes_the_pngs(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    paths = {option: str(tmp_path / f"{option[2:]}.png") for option in ("--plot", "--filters", "--dbn-plot")}
    r = rbm.main(SMALL + ["--data", "blobs", "--train-size", "1200"] + [a for kv in paths.items() for a in kv])
    _check(r)
    assert all(os.path.getsize(path) > 10_000 for path in paths.values())
    out = capsys.readouterr().out
    assert out.index("test accuracy") < out.index("curves saved to") < out.index("filters saved to") \
        < out.index("fine-tuning curves saved to")


@pytest.mark.skipif(not os.path.isdir(FASHION_MNIST_ROOT), reason="dataset-fashion-mnist not installed")
def test_learns_on_a_fashion_mnist_subset_with_sampled_pixels_and_cd_2(tmp_path):
    r = rbm.main(SMALL + ["--train-size", "1800", "--k", "2", "--binarize", "sample", "--plot", "", "--filters", "",
                          "--dbn-plot", ""])
    assert list(r["rbms"]) == ["cd-2", "pcd"]
    for name, h in r["histories"].items():
        assert h["recon_mse"][-1] < h["recon_mse"][0] and h["pll"][-1] > h["pll"][0], name
    for name, h in r["dbn"].items():
        assert h["train_loss"][-1] < h["train_loss"][0] and h["test_acc"] > 0.3, name  # chance is 0.1
    assert not list(tmp_path.iterdir())


def test_one_model_without_a_dbn_or_matplotlib_prints_the_table_and_warns(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setattr(sys, "stderr", sys.stdout)
    plot = str(tmp_path / "curves.png")
    r = rbm.main(["--data", "blobs", "--models", "pcd", "--dbn-hidden", "", "--train-size", "300", "--val-size", "50",
                  "--test-size", "50", "--epochs", "1", "--hidden", "8", "--chains", "5", "--constant-lr", "--plot", plot,
                  "--filters", "", "--dbn-plot", str(tmp_path / "dbn.png")])
    assert list(r["rbms"]) == ["pcd"] and r["dbn"] is None
    assert np.isfinite(r["rbms"]["pcd"]["pll"]) and r["rbms"]["pcd"]["pll"] < 0
    out = capsys.readouterr().out
    assert f"warning: no plot, {plot} not written" in out and out.index("pseudo-LL") < out.index("warning")
    assert "deep belief network" not in out and not list(tmp_path.iterdir())


@pytest.mark.parametrize("argv,message", [
    (["--dbn-hidden", "64,x"], "argument --dbn-hidden: expected an integer, got 'x'"),
    (["--dbn-hidden", "64,0"], "argument --dbn-hidden: must be >= 1, got 0"),
    (["--lr", "0"], "argument --lr: must be > 0, got 0.0"),
    (["--finetune-lr", "-1"], "argument --finetune-lr: must be > 0, got -1.0"),
    (["--momentum", "1"], "argument --momentum: must be in [0, 1), got 1.0"),
    (["--train-size", "100", "--val-size", "100"], "argument --val-size: must be below --train-size (100), got 100"),
    (["--k", "0"], "argument --k: must be >= 1, got 0"),
    (["--binarize", "round"], "argument --binarize: invalid choice: 'round'"),
])
def test_bad_arguments_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        rbm.main(argv)
    assert info.value.code == 2 and message in capsys.readouterr().err


def test_filter_grid_tiles_each_unit_scaled_by_its_own_largest_weight():
    w = np.zeros((5, 4))
    w[0, 0], w[1, 3], w[4, 1] = 2.0, -0.5, 1e-3
    grid = rbm.filter_grid(w, count=5, side=2)
    assert grid.shape == (2 * 3 + 1, 3 * 3 + 1)  # 5 units -> 2 x 3 cells of 2 + 1 gap pixels
    assert grid[1, 1] == 1.0 and grid[2, 5] == 0.0 and grid[4, 5] == 1.0
    assert (grid[4:, 7:] == 0.5).all() and (grid[:, 0] == 0.5).all()  # the empty cell and the gaps are grey
