"""The examples' command lines as a new user meets them: --help shows whole sentences and every
default, --version prints pyengine's, bad counts and unknown models are usage errors (exit 2)
caught before any data is read, and a missing matplotlib costs only the figure - the results are
printed first (each example runs on tiny stand-in data here)."""
import importlib
import os
import subprocess
import sys

import numpy as np
import pytest

import pyengine as pe
from pyengine.data import DataLoader, TensorDataset
from pyengine.examples import _cli, _training

EXAMPLES = ["mlp", "cnn", "resnet", "linreg", "hitters", "nyse", "imdb", "charlm", "seq2seq", "attention", "transformer",
            "gnn", "lottery", "autoencoder", "double_descent", "gan", "rbm"]
# the option that counts training passes in each, and the examples that take --models
EPOCHS = {"linreg": "--steps", "nyse": "--rnn-epochs", "attention": "--steps", "gnn": "--node-epochs",
          "double_descent": "--seeds"}  # double descent trains no epochs: its repetitions count instead
# console commands whose name is not the module's (a module name cannot hold a dash)
COMMANDS = {"double_descent": "double-descent"}
MODELS = {"mlp": "logreg,mlp,mlp-l2,mlp-dropout", "resnet": "plain,residual", "imdb": "bow,rnn,lstm",
          "nyse": "rnn,rnn+day,nar,nar+day,lstm", "gnn": "gcn,sage", "autoencoder": "undercomplete,sparse,denoising",
          "gan": "dcgan,wgan-gp", "rbm": "cd,pcd"}


def example(name):
    return importlib.import_module(f"pyengine.examples.{name}")


def _exit(main, argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    out, err = capsys.readouterr()
    return info.value.code, out, err


@pytest.mark.parametrize("name", EXAMPLES)
def test_help_shows_the_whole_first_paragraph_and_every_default(name, capsys):
    module = example(name)
    code, out, _ = _exit(module.main, ["--help"], capsys)
    assert code == 0
    flat = " ".join(out.split())
    first_paragraph = " ".join(module.__doc__.strip().split("\n\n")[0].split())
    assert first_paragraph.endswith(".") and first_paragraph in flat  # whole sentences, not the first line
    assert f"usage: pyengine-{COMMANDS.get(name, name)} " in out and "--version" in out
    options = [line.split()[0] for line in out.splitlines() if line.startswith("  --")]
    assert len(options) >= 5
    parser_defaults = flat.count("(default")
    assert parser_defaults >= len(options) - 3  # all but --help, --version and flags say their default


@pytest.mark.parametrize("name", EXAMPLES)
def test_version_prints_pyengines_version(name, capsys):
    code, out, _ = _exit(example(name).main, ["--version"], capsys)
    assert code == 0 and out == f"pyengine-{COMMANDS.get(name, name)} (pyengine {pe.__version__})\n"


def test_help_and_version_as_commands(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(pe.__file__))))
    run = subprocess.run([sys.executable, "-m", "pyengine.examples.seq2seq", "--version"], cwd=str(tmp_path),
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.strip() == f"pyengine-seq2seq (pyengine {pe.__version__})"


@pytest.mark.parametrize("name", EXAMPLES)
@pytest.mark.parametrize("value", ["0", "-3", "two"])
def test_a_count_below_one_is_a_usage_error(name, value, capsys):
    option = EPOCHS.get(name, "--epochs")
    code, _, err = _exit(example(name).main, [option, value], capsys)
    assert code == 2
    expected = f"must be >= 1, got {value}" if value != "two" else "expected an integer, got 'two'"
    assert f"argument {option}: {expected}" in err


@pytest.mark.parametrize("name", sorted(MODELS))
def test_an_unknown_model_is_a_usage_error_listing_the_choices(name, capsys):
    choices = MODELS[name].split(",")
    code, _, err = _exit(example(name).main, ["--models", f"{choices[0]},nope"], capsys)
    assert code == 2
    assert f"argument --models: unknown model(s) 'nope'; choose from {', '.join(choices)}" in err
    code, _, err = _exit(example(name).main, ["--models", f"{choices[0]},{choices[0]}"], capsys)
    assert code == 2 and f"'{choices[0]}' given more than once" in err


def test_model_list_and_counts():
    parse = _cli.model_list(("a", "b"))
    assert parse(" b, a ") == ["b", "a"]
    with pytest.raises(Exception, match="no model given"):
        parse(",")
    assert _cli.model_list(("a",), allow_empty=True)("") == []
    assert _cli.positive("7") == 7 and _cli.non_negative("0") == 0
    assert _cli.description("One sentence\nover two lines.\n\n    usage ...") == "One sentence over two lines."


# ---------------------------------------------------------------------------------------------
# Without matplotlib: the results first, then a warning instead of the figure
# ---------------------------------------------------------------------------------------------

def _images(n, seed):
    rng = np.random.default_rng(seed)
    return TensorDataset(pe.tensor(rng.normal(size=(n, 1, 28, 28)).astype(np.float32)),
                         pe.tensor(rng.integers(0, 10, size=n)))


def _fake_image_loaders(mnist_root, val_size, batch_size, seed, shift=2, flip=True, train_size=None):
    return (DataLoader(_images(32, 0), batch_size=16, shuffle=True, generator=0), DataLoader(_images(16, 1), 16),
            DataLoader(_images(16, 2), 16), "stand-in images")


def _fake_mlp_data(mnist_root, val_size, seed):
    rng = np.random.default_rng(seed)
    make = lambda n: TensorDataset(pe.tensor(rng.normal(size=(n, 784)).astype(np.float32)),  # noqa: E731
                                   pe.tensor(rng.integers(0, 10, size=n)))
    return make(64), make(32), make(32)


def _fake_reviews(args):
    rng = np.random.default_rng(0)
    make = lambda n: ([rng.integers(1, args.num_words, size=rng.integers(3, 12)) for _ in range(n)],  # noqa: E731
                      rng.integers(0, 2, size=n))
    return make(48), make(16), make(16)


def _fake_nyse():
    n = 120
    rng = np.random.default_rng(0)
    days = [("mon", "tues", "wed", "thur", "fri")[i % 5] for i in range(n)]
    dates = [str(np.datetime64("1979-01-01") + i) for i in range(n)]
    return rng.normal(size=(n, 3)), np.arange(n) < 90, dates, days


def _text(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("\n".join(["abcab", "bcabc", "cabca"] * 40) + "\n", encoding="utf-8")
    return str(path)


STAND_INS = {"mlp": {"load": _fake_mlp_data}, "cnn": {"image_loaders": _fake_image_loaders},
             "resnet": {"image_loaders": _fake_image_loaders}, "imdb": {"load": _fake_reviews},
             "nyse": {"load_nyse": _fake_nyse}}
TINY = {
    "mlp": (["--models", "logreg,mlp", "--batch-size", "16"], "results (test accuracy"),
    "cnn": (["--width", "2", "--convs", "1"], "CNN: best validation accuracy"),
    "resnet": (["--depth", "8", "--widths", "2,2,2"], "params train loss"),
    "imdb": (["--data", "unused", "--models", "bow,rnn", "--num-words", "30", "--maxlen", "8", "--batch-size", "16",
              "--units", "4", "--embedding-dim", "4", "--hidden", "4"], "IMDB sentiment, test accuracy"),
    "nyse": (["--models", "nar", "--seeds", "1", "--nar-epochs", "1"], "Test R²"),
    "charlm": (["--hidden", "8", "--embedding-dim", "4", "--batch-size", "4", "--bptt", "8", "--samples", "1"],
               "charlm: validation perplexity"),
    "seq2seq": (["--max-len", "4", "--steps", "3", "--batch-size", "8", "--hidden", "8", "--test-size", "16"],
                "seq2seq reverse: test sequence accuracy"),
    "rbm": (["--data", "blobs", "--train-size", "120", "--val-size", "20", "--test-size", "20", "--hidden", "8",
             "--dbn-hidden", "8", "--pretrain-epochs", "1", "--finetune-epochs", "1"],
            "fine-tuning epochs: test accuracy"),
}


@pytest.mark.parametrize("name", sorted(TINY))
def test_without_matplotlib_the_results_are_printed_and_the_plot_skipped_with_a_warning(name, tmp_path, monkeypatch,
                                                                                       capsys):
    module = example(name)
    for attribute, fake in STAND_INS.get(name, {}).items():
        monkeypatch.setattr(module, attribute, fake)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises ImportError
    monkeypatch.setattr(sys, "stderr", sys.stdout)  # one stream: the order of results and warning shows
    plot = str(tmp_path / "figure.png")
    argv, results_line = TINY[name]
    argv = argv + (["--text", _text(tmp_path)] if name == "charlm" else []) + ["--plot", plot]
    if name != "nyse":
        argv += ["--epochs", "1"]
    module.main(argv)
    out = capsys.readouterr().out
    warning = f"warning: no plot, {plot} not written: matplotlib is not available"
    assert results_line in out and warning in out, out
    assert out.index(results_line) < out.index(warning)
    assert not os.path.exists(plot) and "saved to" not in out and "written to" not in out


def test_one_epoch_curves_are_drawn_as_points(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    drawn = {}

    def keep(fig, axes, path, suptitle=None):
        drawn["lines"] = [line for ax in axes for line in ax.get_lines()]
        return True
    monkeypatch.setattr(_training, "finish_figure", keep)
    history = {"train_loss": [0.7], "train_acc": [0.6], "val_loss": [0.8], "val_acc": [0.5]}
    assert _training.plot_curves({"m": history}, str(tmp_path / "c.png"), "one epoch")
    assert len(drawn["lines"]) == 4
    assert all(line.get_marker() not in (None, "None", "", " ") for line in drawn["lines"])  # a lone point shows
