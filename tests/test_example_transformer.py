"""pyengine-transformer end to end at tiny settings: the ViT's patches are the image's 4x4 blocks
and it learns an easy Fashion-MNIST subset (skipped when Fashion-MNIST is absent) or stand-in
images; the causal character LM learns a predictable text next to an LSTM of the same size; the
curves are drawn; bad arguments are usage errors."""
import os
import sys

import numpy as np
import pytest

import pyengine as pe
from pyengine.data import DataLoader, Subset, TensorDataset
from pyengine.data.datasets import FASHION_MNIST_ROOT
from pyengine.examples import charlm, transformer


def test_patch_embedding_flattens_each_4x4_block_row_by_row():
    embed = transformer.PatchEmbedding(4, 16)
    with pe.no_grad():
        embed.proj.weight.copy_(pe.eye(16))
        embed.proj.bias.zero_()
    image = np.arange(2 * 28 * 28, dtype=np.float32).reshape(2, 1, 28, 28)
    tokens = embed(pe.tensor(image)).detach().numpy()
    assert tokens.shape == (2, 49, 16)
    for b, row, col in [(0, 0, 0), (1, 3, 5), (1, 6, 6)]:
        np.testing.assert_array_equal(tokens[b, row * 7 + col], image[b, 0, 4 * row:4 * row + 4, 4 * col:4 * col + 4].ravel())
    with pytest.raises(ValueError, match="patch size 5 does not divide the image size 28"):
        transformer.PatchEmbedding(5, 16)


def test_warmup_then_cosine_to_zero():
    f = transformer.warmup_cosine(4, 12)
    assert [f(s) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert f(8) == pytest.approx(0.5) and f(12) == pytest.approx(0.0) and f(20) == pytest.approx(0.0)
    assert all(f(s) >= f(s + 1) for s in range(4, 12))


@pytest.mark.parametrize("vocab, embedding_dim, target", [(30, 32, 100_000), (3, 8, 500), (80, 16, 1_000_000)])
def test_lstm_hidden_for_matches_the_parameter_count(vocab, embedding_dim, target):
    hidden = transformer.lstm_hidden_for(target, vocab, embedding_dim)
    count = lambda h: transformer.count_parameters(charlm.CharLSTM(vocab, embedding_dim, h, 1, 0.0))  # noqa: E731
    assert abs(count(hidden) - target) <= min(abs(count(hidden - 1) - target), abs(count(hidden + 1) - target))


def test_char_transformer_is_causal():
    pe.manual_seed(0)
    model = transformer.CharTransformer(5, 16, 2, 4, 32, 0.0, context=8).eval()
    x = np.random.default_rng(0).integers(0, 5, size=(8, 3))
    changed = x.copy()
    changed[5:] = (changed[5:] + 1) % 5  # later characters must not change earlier predictions
    with pe.no_grad():
        a, state = model(pe.tensor(x))
        b, _ = model(pe.tensor(changed))
    assert state is None and a.shape == (8, 3, 5)
    np.testing.assert_allclose(a.numpy()[:5], b.numpy()[:5], rtol=1e-5, atol=1e-6)
    assert not np.allclose(a.numpy()[5:], b.numpy()[5:])


def _easy_images(n, seed):
    """Two classes a ViT tells apart at once: bright left half or bright right half, plus noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    x = rng.normal(0, 0.3, size=(n, 1, 28, 28)).astype(np.float32)
    for i, label in enumerate(y):
        x[i, 0, :, 14 * label:14 * label + 14] += 1.5
    return TensorDataset(pe.tensor(x), pe.tensor(y))


def _easy_loaders(mnist_root, val_size, batch_size, seed, shift=2, flip=True, train_size=None):
    return (DataLoader(_easy_images(256, 0), batch_size=32, shuffle=True, generator=0),
            DataLoader(_easy_images(64, 1), 64), DataLoader(_easy_images(64, 2), 64), "stand-in images")


VIT_TINY = ["--width", "16", "--heads", "2", "--ff", "32", "--layers", "1", "--dropout", "0.0", "--lr", "3e-3"]


def test_vit_learns_stand_in_images_and_draws_its_curves(monkeypatch, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    monkeypatch.setattr(transformer, "image_loaders", _easy_loaders)
    plot = str(tmp_path / "vit.png")
    r = transformer.main(VIT_TINY + ["--epochs", "3", "--plot", plot])
    h = r["history"]
    assert h["train_loss"][-1] < h["train_loss"][0] and r["test_acc"] >= 0.9
    assert len(h["epoch_seconds"]) == 3 and r["seconds_per_epoch"] > 0
    assert os.path.getsize(plot) > 10_000
    out = capsys.readouterr().out
    assert "parameters" in out and out.index("test accuracy") < out.index("saved to")


EASY = (1, 8)  # trousers and bags: an easy pair of Fashion-MNIST classes


def _easy_pair(loader, n, shuffle):
    """The first n images of classes EASY from a loader over (a Subset of) Fashion-MNIST."""
    data = loader.dataset
    base, indices = (data.dataset, data.indices) if isinstance(data, Subset) else (data, range(len(data)))
    keep = [i for i in indices if base.targets[i] in EASY][:n]
    return DataLoader(Subset(base, keep), batch_size=32, shuffle=shuffle, generator=0)


@pytest.mark.skipif(not os.path.isdir(FASHION_MNIST_ROOT), reason=f"Fashion-MNIST not installed at {FASHION_MNIST_ROOT}")
def test_vit_on_an_easy_fashion_mnist_subset_beats_chance(monkeypatch):
    real = transformer.image_loaders

    def easy_loaders(*args, **kwargs):  # the real data (augmented training images), two classes, few images
        train, val, test, name = real(*args, **kwargs)
        return _easy_pair(train, 256, True), _easy_pair(val, 128, False), _easy_pair(test, 128, False), name
    monkeypatch.setattr(transformer, "image_loaders", easy_loaders)
    r = transformer.main(VIT_TINY + ["--lr", "1e-2", "--epochs", "3", "--plot", ""])
    h = r["history"]
    assert h["train_loss"][-1] < h["train_loss"][0]
    assert h["val_acc"][-1] > 0.8 and r["test_acc"] > 0.8  # two classes: chance is 0.5


@pytest.fixture
def text(tmp_path):
    rng = np.random.default_rng(0)  # after a line's first letter every character is determined
    stems = ["abcab", "bcabc", "cabca"]
    path = tmp_path / "words.txt"
    path.write_text("\n".join(stems[i] for i in rng.integers(0, 3, size=300)) + "\n", encoding="utf-8")
    return str(path)


def test_charlm_compares_equal_sized_models_and_both_learn(text, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    plot = str(tmp_path / "lm.png")
    r = transformer.main(["--task", "charlm", "--text", text, "--epochs", "2", "--width", "32", "--ff", "64",
                          "--layers", "1", "--bptt", "16", "--batch-size", "8", "--lr", "1e-2", "--embedding-dim", "8",
                          "--plot", plot])
    sizes = r["parameters"]
    assert abs(sizes["lstm"] - sizes["transformer"]) < 0.05 * sizes["transformer"]
    for name in ("transformer", "lstm"):
        assert r["val_ppl"][name] < 0.7 * r["unigram_ppl"]
        assert r["histories"][name]["val_ppl"][-1] < r["histories"][name]["val_ppl"][0]
    assert os.path.getsize(plot) > 10_000
    out = capsys.readouterr().out
    assert f"{sizes['transformer']} parameters" in out and f"{sizes['lstm']} parameters" in out
    assert out.index("val perplexity") < out.index("saved to")


def test_without_matplotlib_the_results_are_printed_and_the_plot_skipped(text, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setattr(sys, "stderr", sys.stdout)
    plot = str(tmp_path / "lm.png")
    transformer.main(["--task", "charlm", "--text", text, "--epochs", "1", "--width", "8", "--heads", "2", "--ff", "8",
                      "--layers", "1", "--bptt", "8", "--batch-size", "4", "--plot", plot])
    out = capsys.readouterr().out
    assert out.index("val perplexity") < out.index(f"warning: no plot, {plot} not written") and not os.path.exists(plot)


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "0"], "argument --epochs: must be >= 1, got 0"),
    (["--task", "lstm"], "argument --task: invalid choice: 'lstm'"),
    (["--heads", "3"], "argument --heads: must divide --width 64, got 3"),
    (["--task", "charlm", "--heads", "3"], "argument --heads: must divide --width 128, got 3"),
    (["--patch", "5"], "argument --patch: must divide 28, got 5"),
    (["--dropout", "1"], "argument --dropout: must be in [0, 1), got 1.0"),
    (["--label-smoothing", "-0.1"], "argument --label-smoothing: must be in [0, 1], got -0.1"),
    (["--task", "charlm", "--val-fraction", "1"], "argument --val-fraction: must be in (0, 1), got 1.0"),
])
def test_bad_arguments_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        transformer.main(argv)
    assert info.value.code == 2 and message in capsys.readouterr().err


def test_missing_word_list_names_the_install_command(monkeypatch, tmp_path):
    missing = str(tmp_path / "no-words")
    monkeypatch.setattr(charlm, "DEFAULT_TEXT", missing)
    with pytest.raises(SystemExit, match="apt-get install -y wamerican"):
        transformer.main(["--task", "charlm", "--text", missing])


def test_help_shows_per_task_defaults_and_version(monkeypatch, text, capsys):
    with pytest.raises(SystemExit) as info:
        transformer.main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert info.value.code == 0 and "usage: pyengine-transformer" in out
    assert " ".join(transformer.__doc__.strip().split("\n\n")[0].split()) in out
    assert "(default: 10 for vit, 6 for charlm)" in out and "(default: 64 for vit, 128 for charlm)" in out
    with pytest.raises(SystemExit):
        transformer.main(["--version"])
    assert capsys.readouterr().out == f"pyengine-transformer (pyengine {pe.__version__})\n"
    monkeypatch.setattr(sys, "argv", ["pyengine-transformer", "--task", "charlm", "--text", text, "--epochs", "1",
                                      "--width", "8", "--heads", "2", "--ff", "8", "--layers", "1", "--bptt", "8",
                                      "--plot", ""])
    assert transformer.cli() is None
