"""pyengine-seq2seq end to end at tiny settings: the encoder-decoder learns to reverse short digit
strings, the accuracies are counted right, and the curves are written."""
import os
import sys

import numpy as np
import pytest

from pyengine.examples import seq2seq


def test_encode_batch_lays_out_source_and_teacher_forcing_targets():
    src, lengths, dec_in, dec_out = seq2seq.encode_batch([np.array([1, 2, 3]), np.array([4])],
                                                         [np.array([3, 2, 1]), np.array([4])])
    d = seq2seq.DIGIT0
    assert lengths.tolist() == [3, 1]
    assert src.T.tolist() == [[1 + d, 2 + d, 3 + d], [4 + d, 0, 0]]
    assert dec_in.T.tolist() == [[seq2seq.BOS, 3 + d, 2 + d, 1 + d], [seq2seq.BOS, 4 + d, 0, 0]]
    assert dec_out.T.tolist() == [[3 + d, 2 + d, 1 + d, seq2seq.EOS], [4 + d, seq2seq.EOS, 0, 0]]


def test_generated_targets_are_reversed_or_sorted():
    rng = np.random.default_rng(0)
    for task, f in (("reverse", lambda s: s[::-1]), ("sort", sorted)):
        sources, targets = seq2seq.generate(20, 3, 6, task, rng)
        assert all(3 <= len(s) <= 6 and list(t) == list(f(s)) for s, t in zip(sources, targets))


def test_evaluate_counts_a_perfect_decoder_as_fully_right_and_an_early_eos_as_wrong():
    class Oracle:
        """Stands in for the model: greedy returns the true output, with one <eos> put early."""
        def __init__(self, early):
            self.early = early

        def eval(self):
            pass

        def __call__(self, src, lengths, dec_in):
            return seq2seq.pe.zeros(dec_in.shape[0], dec_in.shape[1], seq2seq.VOCAB)

        def greedy(self, src, lengths, steps):
            out = self.dec_out.copy()
            if self.early:
                out[0, 0] = seq2seq.EOS
            return seq2seq.pe.from_numpy(out)

    test = seq2seq.generate(10, 3, 5, "reverse", np.random.default_rng(1))
    for early, seq_acc in ((False, 1.0), (True, 0.9)):
        oracle = Oracle(early)
        oracle.dec_out = seq2seq.encode_batch(*test)[3]
        _, s, t = seq2seq.evaluate(oracle, test, "cpu")
        n_tokens = sum(len(x) + 1 for x in test[1])
        assert s == pytest.approx(seq_acc) and t == pytest.approx(1.0 - early / n_tokens)


def test_seq2seq_learns_to_reverse_short_strings_and_plots(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    plot = str(tmp_path / "curves.png")
    r = seq2seq.main(["--max-len", "4", "--epochs", "2", "--steps", "60", "--batch-size", "32", "--hidden", "32",
                      "--embedding-dim", "8", "--lr", "1e-2", "--test-size", "200", "--plot", plot])
    assert r["tok_acc"] > 0.8 and r["seq_acc"] > 0.5  # chance is 0.1 per token
    assert r["history"]["test_loss"][-1] < r["history"]["test_loss"][0]
    assert os.path.getsize(plot) > 10_000
    assert "sequence accuracy" in capsys.readouterr().out


def test_bad_lengths_exit_with_a_message(monkeypatch):
    with pytest.raises(SystemExit, match="min-len"):
        seq2seq.main(["--min-len", "5", "--max-len", "3"])
    monkeypatch.setattr(sys, "argv", ["pyengine-seq2seq", "--max-len", "3", "--epochs", "1", "--steps", "2",
                                      "--hidden", "8", "--test-size", "10", "--plot", ""])
    assert seq2seq.cli() is None
