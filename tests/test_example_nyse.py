"""pyengine-nyse: the lab's design, the closed-form figures, and the networks end to end (1 epoch)."""
import importlib.util
import os

import numpy as np
import pytest

from pyengine import nn
from pyengine.examples import nyse

needs_islp = pytest.mark.skipif(importlib.util.find_spec("ISLP") is None,  # only its data folder is used
                                reason="islp not installed (pip install --no-deps islp)")


@needs_islp
def test_lagged_design_is_the_labs():
    from pyengine.data.datasets import load_nyse
    values, train, dates, days = load_nyse()
    lags, y, tr, dummies = nyse.lagged_design(values, train, days)
    n = len(values) - nyse.LAG
    assert lags.shape == (n, nyse.LAG, 3) and y.shape == (n,) and dummies.shape == (n, 5)
    assert (tr.sum(), (~tr).sum()) == (4276, 1770)  # the book's split: days before / from 1980-01-02
    z = (values - values.mean(0)) / values.std(0)
    t = 100  # lags[t] holds days t .. t+4, oldest first, and the target is day t+5's log volume
    np.testing.assert_allclose(lags[t], z[t:t + nyse.LAG])
    assert y[t] == z[t + nyse.LAG, 1]
    assert dummies.sum(1).tolist() == [1.0] * n
    assert dummies[t, nyse.DAYS.index(days[t + nyse.LAG])] == 1.0


def test_lagged_design_rejects_unknown_days_and_short_series():
    values, train = np.zeros((7, 3)) + np.arange(7)[:, None], np.ones(7, bool)
    with pytest.raises(ValueError, match="sat"):
        nyse.lagged_design(values, train, ["mon"] * 6 + ["sat"])
    with pytest.raises(ValueError, match="more than lag=5"):
        nyse.lagged_design(values[:5], train[:5], ["mon"] * 5)


def test_r2_score_is_one_minus_relative_residual():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert nyse.r2_score(y, y) == 1.0
    assert nyse.r2_score(np.full(4, y.mean()), y) == 0.0
    assert nyse.r2_score(y + 1, y) == pytest.approx(1 - 4 / 5)


@needs_islp
def test_nar_networks_train_report_and_plot(tmp_path):
    plot = str(tmp_path / "nyse.png")
    results = nyse.main(["--models", "nar,nar+day", "--seeds", "2", "--nar-epochs", "1", "--plot", plot])
    # closed-form rows are deterministic: the lab's figures to three places
    assert results["straw man"][0] == pytest.approx(0.180, abs=5e-4)
    assert results["AR(5)"][0] == pytest.approx(0.413, abs=5e-4)
    assert results["AR(5) + day"][0] == pytest.approx(0.460, abs=5e-4)
    for name in ("NAR", "NAR + day"):  # one epoch already beats the straw man; two seeds differ
        mean, sd = results[name]
        assert 0.25 < mean < 0.5 and sd > 0
    assert os.path.getsize(plot) > 10_000


@needs_islp
@pytest.mark.skipif(not hasattr(nn, "RNN") or not hasattr(nn, "LSTM"), reason="nn.RNN/nn.LSTM not in this build yet")
def test_recurrent_networks_train_one_epoch():
    results = nyse.main(["--models", "rnn,rnn+day,lstm", "--seeds", "1", "--rnn-epochs", "1", "--plot", ""])
    for name in ("RNN", "RNN + day", "LSTM"):  # one epoch: about 0.31 ± 0.03 in PyTorch with these settings
        assert 0.15 < results[name][0] < 0.5, (name, results[name])


def test_unknown_model_is_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        nyse.main(["--models", "gru"])
    assert "unknown model(s) 'gru'; choose from rnn," in capsys.readouterr().err
