"""pyengine-attention end to end at small settings: the attention weights are a Gaussian kernel
normalised over the keys, the learned bandwidth lowers the leave-one-out error and the test error,
both PNGs are drawn, and bad arguments are usage errors."""
import os
import sys

import numpy as np
import pytest

import pyengine as pe
from pyengine.examples import attention


def test_weights_are_the_normalised_gaussian_kernel_and_leave_one_out_masks_the_own_key():
    rng = np.random.default_rng(0)
    q, k = rng.uniform(0, 5, size=7), np.sort(rng.uniform(0, 5, size=5))
    w = 1.7
    kernel = np.exp(-((q[:, None] - k[None, :]) * w) ** 2 / 2)
    got = attention.attention_weights(pe.tensor(q), pe.tensor(k), w).numpy()
    np.testing.assert_allclose(got, kernel / kernel.sum(1, keepdims=True), rtol=1e-10)
    loo = attention.attention_weights(pe.tensor(k), pe.tensor(k), w, leave_one_out=True).numpy()
    kernel = np.exp(-((k[:, None] - k[None, :]) * w) ** 2 / 2) * (1 - np.eye(5))
    np.testing.assert_allclose(loo, kernel / kernel.sum(1, keepdims=True), rtol=1e-10)
    assert np.all(np.diag(loo) == 0)


def test_the_bandwidth_gradient_matches_finite_differences():
    x = pe.tensor(np.linspace(0, 5, 9))
    y = pe.tensor(attention.true_function(np.linspace(0, 5, 9)))
    model = attention.NadarayaWatson(0.8)
    model.w.data = model.w.data.double()

    def loss():
        return pe.nn.functional.mse_loss(model(x, x, y, leave_one_out=True)[0], y)
    loss().backward()
    eps, w0 = 1e-6, float(model.w.item())
    with pe.no_grad():
        model.w.fill_(w0 + eps)
        up = float(loss().item())
        model.w.fill_(w0 - eps)
        down = float(loss().item())
    assert float(model.w.grad.item()) == pytest.approx((up - down) / (2 * eps), rel=1e-5)


def test_learned_bandwidth_beats_the_fixed_one_and_both_pngs_are_written(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    plot, heatmap = str(tmp_path / "fit.png"), str(tmp_path / "weights.png")
    r = attention.main(["--n-train", "40", "--n-test", "30", "--steps", "60", "--bandwidth", "1.5",
                        "--plot", plot, "--heatmap", heatmap])
    fixed, learned = r["fixed bandwidth"], r["learned bandwidth"]
    assert fixed["bandwidth"] == pytest.approx(1.5)
    assert learned["bandwidth"] < fixed["bandwidth"]  # too wide a start: training narrows it
    assert learned["train_mse"] < fixed["train_mse"] and learned["test_mse"] < 0.5 * fixed["test_mse"]
    for fit in (fixed, learned):
        assert fit["weights"].shape == (30, 40)
        np.testing.assert_allclose(fit["weights"].sum(1), 1, rtol=1e-5)
    assert os.path.getsize(plot) > 10_000 and os.path.getsize(heatmap) > 10_000
    out = capsys.readouterr().out
    assert out.index("test MSE") < out.index("saved to")  # the table first, then the figures


def test_without_matplotlib_the_table_is_printed_and_the_plots_skipped(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setattr(sys, "stderr", sys.stdout)
    plot = str(tmp_path / "fit.png")
    attention.main(["--steps", "2", "--plot", plot, "--heatmap", ""])
    out = capsys.readouterr().out
    assert "learned bandwidth" in out and f"warning: no plot, {plot} not written" in out
    assert out.index("test MSE") < out.index("warning") and not os.path.exists(plot)


@pytest.mark.parametrize("argv, message", [
    (["--steps", "0"], "argument --steps: must be >= 1, got 0"),
    (["--n-train", "1"], "argument --n-train: must be >= 2"),
    (["--n-test", "1"], "argument --n-test: must be >= 2"),
    (["--bandwidth", "0"], "argument --bandwidth: must be > 0, got 0.0"),
    (["--bandwidth", "nan"], "argument --bandwidth: must be > 0, got nan"),
    (["--noise", "-1"], "argument --noise: must be >= 0, got -1.0"),
])
def test_bad_arguments_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        attention.main(argv)
    assert info.value.code == 2 and message in capsys.readouterr().err


def test_help_version_and_console_entry_point(monkeypatch, capsys, tmp_path):
    with pytest.raises(SystemExit) as info:
        attention.main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out == f"pyengine-attention (pyengine {pe.__version__})\n"
    with pytest.raises(SystemExit):
        attention.main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "usage: pyengine-attention" in out and "(default: 200)" in out
    assert " ".join(attention.__doc__.strip().split("\n\n")[0].split()) in out
    monkeypatch.setattr(sys, "argv", ["pyengine-attention", "--steps", "1", "--plot", "", "--heatmap", ""])
    assert attention.cli() is None
