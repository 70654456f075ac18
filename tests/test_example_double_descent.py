"""pyengine-double-descent at small settings on synthetic data: the test error peaks at the
interpolation threshold p = n and falls on both sides, the minimum-norm fit interpolates the
training set once p >= n (and is the smallest-norm interpolant), the command line runs end to
end with a PNG, and bad ratios are usage errors."""
import os

import numpy as np
import pytest

import pyengine as pe
from pyengine.examples import double_descent as dd


def synthetic(n_pool=200, n_test=300, d=20, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(classes, d))
    def make(n):
        y = rng.integers(0, classes, n)
        return centers[y] + rng.normal(size=(n, d)), y
    x_pool, y_pool = make(n_pool)
    x_test, y_test = make(n_test)
    return x_pool, y_pool, x_test, y_test


def test_peak_at_the_interpolation_threshold_and_interpolation_beyond():
    x_pool, y_pool, x_test, y_test = synthetic()
    n = 30
    rows = dd.sweep(x_pool, y_pool, x_test, y_test, n, [0.25, 0.5, 1.0, 2.0, 4.0], seeds=2, classes=3,
                    progress=False)
    by_p = {r["p"]: r for r in rows}
    peak = max(rows, key=lambda r: r["test_mse"])
    assert peak["p"] == n
    assert by_p[n]["test_mse"] > 3 * by_p[8]["test_mse"] and by_p[n]["test_mse"] > 3 * by_p[120]["test_mse"]
    assert by_p[n]["norm"] == max(r["norm"] for r in rows)  # ||beta|| peaks there too
    for r in rows:
        if r["p"] >= n:
            assert r["train_mse"] < 1e-12  # interpolates the training set
        else:
            assert r["train_mse"] > 1e-3


def test_the_fit_is_the_minimum_norm_interpolant():
    x_pool, y_pool, _, _ = synthetic()
    pe.manual_seed(0)
    x = pe.tensor(x_pool[:20])
    phi = dd.random_features(x, pe.randn(50, x.shape[1], dtype=pe.float64))
    y = pe.one_hot(pe.tensor(y_pool[:20]), 3).to(pe.float64)
    beta = pe.linalg.lstsq(phi, y, driver="gelsd").solution.numpy()
    a = phi.numpy()
    np.testing.assert_allclose(a @ beta, y.numpy(), atol=1e-10)
    # the minimum-norm solution lies in the row space of Phi: it has no null-space component
    _, s, vh = np.linalg.svd(a)
    null = vh[(s > 1e-10).sum():]
    np.testing.assert_allclose(null @ beta, 0, atol=1e-10)


def test_command_line_runs_and_draws(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    pool = synthetic(classes=10)
    monkeypatch.setattr(dd, "load_fashion", lambda test_size: pool)
    path = str(tmp_path / "dd.png")
    rows = dd.main(["--samples", "20", "--ratios", "0.5,1,2", "--seeds", "1", "--no-progress", "--plot", path])
    out = capsys.readouterr().out
    assert [r["p"] for r in rows] == [10, 20, 40]
    assert "interpolation threshold p = n" in out and "peak: p/n = 1.00" in out
    assert os.path.getsize(path) > 0


@pytest.mark.parametrize("bad", ["", "0.5,x", "-1", "0"])
def test_bad_ratios_are_usage_errors(bad, capsys):
    with pytest.raises(SystemExit) as info:
        dd.main(["--ratios", bad])
    assert info.value.code == 2
    assert "argument --ratios" in capsys.readouterr().err
