"""pyengine-charlm end to end at tiny settings: it learns a predictable text, samples, plots, and
says how to get the default word list when it is missing."""
import os
import sys

import numpy as np
import pytest

from pyengine.examples import charlm


@pytest.fixture
def text(tmp_path):
    # "words" from a tiny deterministic grammar: after a line's first letter every character is
    # determined, so a model that learned anything beats the unigram model by far
    rng = np.random.default_rng(0)
    stems = ["abcab", "bcabc", "cabca"]
    path = tmp_path / "words.txt"
    path.write_text("\n".join(stems[i] for i in rng.integers(0, 3, size=300)) + "\n", encoding="utf-8")
    return str(path)


def test_charlm_learns_a_predictable_text_samples_and_plots(text, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    plot = str(tmp_path / "ppl.png")
    r = charlm.main(["--text", text, "--epochs", "3", "--hidden", "32", "--embedding-dim", "8",
                     "--batch-size", "8", "--bptt", "16", "--lr", "2e-2", "--samples", "4", "--plot", plot])
    assert np.isfinite(r["val_ppl"]) and r["val_ppl"] < 0.6 * r["unigram_ppl"]
    assert r["history"]["val_ppl"][-1] < r["history"]["val_ppl"][0]
    assert len(r["samples"]) == 4 and all(set(w) <= set("abc") for w in r["samples"])
    assert os.path.getsize(plot) > 10_000
    out = capsys.readouterr().out
    assert "unigram baseline" in out and "validation perplexity" in out and "samples" in out


def test_vocabulary_stream_puts_a_boundary_before_and_after_every_line():
    vocab = charlm.Vocabulary(["ab", "ba"])
    assert vocab.chars == ["\n", "a", "b"]
    assert vocab.encode_stream(["ab", "ba"]).tolist() == [0, 1, 2, 0, 2, 1, 0]
    assert charlm.batchify(np.arange(7), 2).tolist() == [[0, 3], [1, 4], [2, 5]]


def test_missing_default_word_list_names_the_install_command(monkeypatch, tmp_path):
    missing = str(tmp_path / "no-words")
    monkeypatch.setattr(charlm, "DEFAULT_TEXT", missing)
    with pytest.raises(SystemExit, match="apt-get install -y wamerican"):
        charlm.main(["--text", missing, "--epochs", "1"])
    with pytest.raises(SystemExit, match="no such file"):
        charlm.main(["--text", str(tmp_path / "other.txt")])


def test_console_entry_point_returns_none(monkeypatch, text, tmp_path):
    monkeypatch.setattr(sys, "argv", ["pyengine-charlm", "--text", text, "--epochs", "1", "--hidden", "8",
                                      "--batch-size", "4", "--bptt", "8", "--samples", "1", "--plot", ""])
    assert charlm.cli() is None
