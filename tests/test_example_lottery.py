"""pyengine-lottery at small settings: each round leaves the expected fraction of weights, the
rewound weights are the initial (or early-iteration) ones wherever unpruned, the tickets learn,
the PNG is drawn, and bad arguments are usage errors."""
import os
import sys

import numpy as np
import pytest

import pyengine as pe
from pyengine import nn
from pyengine.data import DataLoader, TensorDataset
from pyengine.data.datasets import FASHION_MNIST_ROOT
from pyengine.examples import lottery


def blobs(n, rng, centers):
    y = rng.integers(0, len(centers), n)
    x = centers[y] + 0.6 * rng.normal(size=(n, centers.shape[1]))
    return TensorDataset(pe.tensor(x.astype(np.float32)), pe.tensor(y))


@pytest.fixture
def loaders():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(4, 12))
    sets = [blobs(n, rng, centers) for n in (400, 100, 200)]
    return tuple(DataLoader(d, batch_size=20, shuffle=i == 0, generator=0) for i, d in enumerate(sets))


def make():
    return nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 4))


@pytest.mark.parametrize("scope", lottery.SCOPES)
@pytest.mark.parametrize("rewind_iter", [0, 5])
def test_masks_shrink_by_the_rate_and_survivors_are_rewound(loaders, scope, rewind_iter):
    pe.manual_seed(7)
    reference = make()  # the weights lottery() draws after the same seed
    seen = []

    def on_round(r, model, state):
        masks = lottery.masks_of(model)
        pairs = lottery.prunable(model)
        seen.append((r, [m.numpy().copy() for m in masks]))
        with pe.no_grad():
            model(pe.zeros(1, 12))  # refresh module.weight = weight_orig * weight_mask
        for (module, _), mask, key in zip(pairs, masks, [k for k in state if k.endswith("weight_orig")]):
            mask = mask.numpy()
            assert set(np.unique(mask)) <= {0.0, 1.0}
            np.testing.assert_array_equal(module.weight_orig.detach().numpy(), state[key].numpy())
            np.testing.assert_array_equal(module.weight.detach().numpy(), state[key].numpy() * mask)
        if rewind_iter == 0:  # the state is the initialisation itself
            for (module, _), ref in zip(pairs, lottery.prunable(reference)):
                np.testing.assert_array_equal(module.weight_orig.detach().numpy(), ref[0].weight.detach().numpy())
                np.testing.assert_array_equal(module.bias.detach().numpy(), ref[0].bias.detach().numpy())

    results = lottery.lottery(make, loaders, rounds=3, rate=0.2, scope=scope, rewind_iter=rewind_iter, epochs=3,
                              lr=1e-2, compare_every=2, seed=7, on_round=on_round)
    assert [r for r, _ in seen] == [1, 2, 3]
    total = sum(m.size for m in seen[0][1])
    previous = [np.ones_like(m) for m in seen[0][1]]
    for r, masks in seen:
        kept = sum(m.sum() for m in masks)
        assert abs(kept / total - 0.8 ** r) < 0.02
        if scope == "layer":  # each layer keeps its own 80%
            for m, prev in zip(masks, previous):
                assert m.sum() == prev.sum() - round(0.2 * prev.sum())
        for m, prev in zip(masks, previous):
            assert np.all(m <= prev)  # pruned weights stay pruned
        previous = masks
    assert [row["round"] for row in results] == [0, 1, 2, 3]
    assert [("random" in row) for row in results] == [False, False, True, True]
    for row in results:
        assert row["ticket"] > 0.5  # four classes: chance is 0.25
        assert row["density"] == pytest.approx(0.8 ** row["round"], abs=0.02)


def test_a_rewind_point_past_the_first_training_is_an_error(loaders):
    with pytest.raises(ValueError, match="rewind_iter=1000 is beyond the 20 steps"):
        lottery.lottery(make, loaders, rounds=1, rate=0.2, rewind_iter=1000, epochs=1)


@pytest.mark.skipif(not os.path.isdir(FASHION_MNIST_ROOT), reason="dataset-fashion-mnist not installed")
def test_fashion_mnist_two_rounds_learn_and_the_plot_is_written(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    plot = str(tmp_path / "lottery.png")
    results = lottery.main(["--rounds", "2", "--epochs", "1", "--train-size", "1000", "--val-size", "500",
                            "--compare-every", "2", "--scope", "global", "--plot", plot])
    assert [row["round"] for row in results] == [0, 1, 2] and "random" in results[2]
    assert results[2]["density"] == pytest.approx(0.64, abs=0.005)
    for row in results:
        assert row["ticket"] > 0.5  # ten classes: chance is 0.1
    assert results[2]["random"] > 0.3
    assert os.path.getsize(plot) > 10_000
    out = capsys.readouterr().out
    assert out.index("ticket   random") < out.index("plot saved to")


def test_without_matplotlib_the_table_is_printed_and_the_plot_skipped(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setattr(sys, "stderr", sys.stdout)
    plot = str(tmp_path / "lottery.png")
    assert not lottery.plot([{"round": 0, "density": 1.0, "ticket": 0.8}], plot, "t")
    assert f"warning: no plot, {plot} not written" in capsys.readouterr().out and not os.path.exists(plot)


@pytest.mark.parametrize("argv, message", [
    (["--rounds", "-1"], "argument --rounds: must be >= 0, got -1"),
    (["--prune-rate", "0"], "argument --prune-rate: must be in (0, 1), got 0.0"),
    (["--prune-rate", "1"], "argument --prune-rate: must be in (0, 1), got 1.0"),
    (["--prune-rate", "x"], "argument --prune-rate: expected a number, got 'x'"),
    (["--scope", "row"], "argument --scope: invalid choice: 'row'"),
    (["--epochs", "0"], "argument --epochs: must be >= 1, got 0"),
    (["--compare-every", "0"], "argument --compare-every: must be >= 1, got 0"),
    (["--lr", "0"], "argument --lr: must be > 0, got 0.0"),
])
def test_bad_arguments_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        lottery.main(argv)
    assert info.value.code == 2 and message in capsys.readouterr().err


def test_help_and_version(capsys):
    with pytest.raises(SystemExit) as info:
        lottery.main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out == f"pyengine-lottery (pyengine {pe.__version__})\n"
    with pytest.raises(SystemExit):
        lottery.main(["--help"])
    text = capsys.readouterr().out
    out = " ".join(text.split())
    assert "usage: pyengine-lottery" in out and "(default: 15)" in out and "(default: 0.2)" in out
    assert " ".join(lottery.__doc__.strip().split("\n\n")[0].split()) in out  # the whole first paragraph
    options = [line.split()[0] for line in text.splitlines() if line.startswith("  --")]
    assert len(options) >= 10 and out.count("(default") >= len(options) - 3  # not --help, --version, --mnist-root
