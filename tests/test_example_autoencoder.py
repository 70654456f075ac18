"""pyengine-autoencoder end to end at small settings: each model's training loss goes down (on
generated blobs always; on Fashion-MNIST, where the data set is installed, it also beats the
mean image on the test set), both PNGs are written after the table, the corruption and the code
projection do what they say, and bad arguments are usage errors."""
import os
import sys

import numpy as np
import pytest

import pyengine as pe
from pyengine.data.datasets.mnist import FASHION_MNIST_ROOT
from pyengine.examples import autoencoder

SMALL = ["--test-size", "200", "--epochs", "2", "--batch-size", "16", "--width", "8", "--lr", "5e-3"]


def _check_learned(r, models=autoencoder.MODELS):
    assert list(r["models"]) == list(models)
    for name, m in r["models"].items():
        assert len(m["train_loss"]) == 2 and m["train_loss"][1] < m["train_loss"][0], name
        assert m["codes"].shape == (200, 16)
        assert m["reconstructions"].shape == (10, 1, 28, 28)


def test_learns_on_generated_blobs_and_writes_both_pngs(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    plot, scatter = str(tmp_path / "rec.png"), str(tmp_path / "codes.png")
    r = autoencoder.main(SMALL + ["--data", "blobs", "--train-size", "320", "--plot", plot, "--scatter", scatter])
    _check_learned(r)
    models = r["models"]
    assert models["sparse"]["mean_abs_code"] < models["undercomplete"]["mean_abs_code"]  # the L1 penalty bites
    assert os.path.getsize(plot) > 10_000 and os.path.getsize(scatter) > 10_000
    out = capsys.readouterr().out
    assert out.index("clean input") < out.index("reconstructions saved to") < out.index("code scatter saved to")


@pytest.mark.skipif(not os.path.isdir(FASHION_MNIST_ROOT), reason="dataset-fashion-mnist not installed")
def test_learns_on_a_fashion_mnist_subset_with_masking_noise(tmp_path):
    models = ("undercomplete", "denoising")
    r = autoencoder.main(SMALL + ["--train-size", "640", "--models", ",".join(models), "--noise", "mask",
                                  "--plot", "", "--scatter", ""])
    _check_learned(r, models)
    for name, m in r["models"].items():  # 80 steps already beat predicting the mean image
        assert m["test_mse"] < 0.8 * r["mean_image_mse"], name
    assert not list(tmp_path.iterdir())


def test_one_model_with_a_2d_code_and_no_matplotlib_prints_the_table_and_warns(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setattr(sys, "stderr", sys.stdout)
    plot = str(tmp_path / "rec.png")
    r = autoencoder.main(["--data", "blobs", "--models", "denoising", "--code-dim", "2", "--train-size", "64",
                          "--test-size", "20", "--epochs", "1", "--plot", plot, "--scatter", ""])
    assert list(r["models"]) == ["denoising"] and r["models"]["denoising"]["codes"].shape == (20, 2)
    out = capsys.readouterr().out
    assert f"warning: no plot, {plot} not written" in out and out.index("mean image") < out.index("warning")
    assert not os.path.exists(plot)


def test_model_shapes_and_range():
    pe.manual_seed(0)
    model = autoencoder.ConvAutoencoder(code_dim=5, width=4)
    out, code = model(pe.rand(3, 1, 28, 28))
    assert tuple(out.shape) == (3, 1, 28, 28) and tuple(code.shape) == (3, 5)
    assert 0 <= float(out.min().item()) and float(out.max().item()) <= 1


def test_corruption_gaussian_stays_in_range_and_masking_zeroes_the_asked_fraction():
    pe.manual_seed(0)
    x = pe.full((200, 1, 28, 28), 0.5)
    g = autoencoder.corrupt(x, "gaussian", 0.3).numpy()
    assert g.min() >= 0 and g.max() <= 1 and abs(float(np.std(g)) - 0.3) < 0.03  # few values clipped at 0.5 +- 5 sd
    m = autoencoder.corrupt(x, "mask", 0.3).numpy()
    assert set(np.unique(m)) == {0.0, 0.5} and abs(float((m == 0).mean()) - 0.3) < 0.01


def test_code_projection_is_the_code_in_2d_and_the_top_principal_components_otherwise():
    rng = np.random.default_rng(0)
    two = rng.normal(size=(50, 2))
    points, how = autoencoder.code_2d(two)
    assert points is two and how == "code (2-D)"
    wide = rng.normal(size=(300, 6)) * np.array([5.0, 1, 3, 0.5, 0.1, 0.2])
    points, how = autoencoder.code_2d(wide)
    assert how == "PCA of the 6-D code" and points.shape == (300, 2)
    eigenvalues = np.linalg.eigvalsh(np.cov(wide.T, bias=True))[::-1]
    np.testing.assert_allclose(points.var(0), eigenvalues[:2], rtol=1e-8)


@pytest.mark.parametrize("argv, message", [
    (["--models", "vae"], "unknown model(s) 'vae'; choose from undercomplete, sparse, denoising"),
    (["--models", "sparse,sparse"], "'sparse' given more than once"),
    (["--epochs", "0"], "argument --epochs: must be >= 1, got 0"),
    (["--train-size", "0"], "argument --train-size: must be >= 1, got 0"),
    (["--noise-level", "1"], "argument --noise-level: must be in [0, 1), got 1.0"),
    (["--noise", "salt"], "argument --noise: invalid choice: 'salt'"),
    (["--data", "mnist"], "argument --data: invalid choice: 'mnist'"),
])
def test_bad_arguments_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        autoencoder.main(argv)
    assert info.value.code == 2 and message in capsys.readouterr().err


def test_help_version_and_console_entry_point(monkeypatch, capsys):
    with pytest.raises(SystemExit) as info:
        autoencoder.main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out == f"pyengine-autoencoder (pyengine {pe.__version__})\n"
    with pytest.raises(SystemExit):
        autoencoder.main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "usage: pyengine-autoencoder" in out and "(default: 10000)" in out
    assert " ".join(autoencoder.__doc__.strip().split("\n\n")[0].split()) in out
    monkeypatch.setattr(sys, "argv", ["pyengine-autoencoder", "--data", "blobs", "--train-size", "16",
                                      "--test-size", "8", "--epochs", "1", "--plot", "", "--scatter", ""])
    assert autoencoder.cli() is None
