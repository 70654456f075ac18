"""IMDB loaders on small generated copies of both forms (Keras's imdb.npz, the aclImdb folder), the
sequence helpers, and the example's smoke tests."""
import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

from pyengine.data.datasets import (bag_of_words, decode_review, find_imdb, get_word_index, load_imdb, load_npz,
                                    pad_sequences, tokenize)
from pyengine.data.datasets.imdb import ACLIMDB_URL, IMDB_ENV, KERAS_NPZ_URL

# --- Keras's form: word ranks (1 = most frequent), labels 1 = positive -------------------------------
NPZ_WORDS = {"the": 1, "movie": 2, "great": 3, "bad": 4, "plot": 5, "boring": 6, "loved": 7}
NPZ_TRAIN = ([[1, 2, 3], [1, 6, 5, 4], [7, 2], [1, 5]], [1, 0, 1, 0])
NPZ_TEST = ([[3, 2], [4, 4, 6, 1, 2]], [1, 0])


def _object_array(lists):
    """What Keras stores: a 1-D object array whose elements are Python lists of ints."""
    a = np.empty(len(lists), dtype=object)
    a[:] = [list(s) for s in lists]
    return a


def write_npz(folder, train=NPZ_TRAIN, test=NPZ_TEST, word_index=True):
    path = os.path.join(folder, "imdb.npz")
    np.savez(path, x_train=_object_array(train[0]), y_train=np.array(train[1], dtype=np.int64),
             x_test=_object_array(test[0]), y_test=np.array(test[1], dtype=np.int64))
    if word_index:
        with open(os.path.join(folder, "imdb_word_index.json"), "w") as f:
            json.dump(NPZ_WORDS, f)
    return path


# --- the release's form: one review per file, HTML line breaks, mixed case and punctuation ----------
ACL_REVIEWS = {
    ("train", "pos", "0_9.txt"): "Great movie! Great acting.<br /><br />I loved it.",
    ("train", "pos", "1_8.txt"): "A great, great film.",
    ("train", "neg", "0_2.txt"): "Boring movie. I didn't like it.",
    ("train", "neg", "1_1.txt"): "Bad, bad, BAD acting and a boring plot.",
    ("test", "pos", "0_10.txt"): "Loved it: a great film (10/10).",
    ("test", "neg", "0_3.txt"): "Terrible plot; boring.",
}
# Ranked by frequency in the training reviews, ties alphabetically.
ACL_WORDS = {"great": 1, "bad": 2, "a": 3, "acting": 4, "boring": 5, "i": 6, "it": 7, "movie": 8, "and": 9,
             "didn't": 10, "film": 11, "like": 12, "loved": 13, "plot": 14}
ACL_VOCAB_FILE = ["the", "great", "movie", "bad", "boring", "loved", "film"]


def write_aclimdb(folder, reviews=ACL_REVIEWS):
    root = os.path.join(folder, "aclImdb")
    for (split, sentiment, name), text in reviews.items():
        os.makedirs(os.path.join(root, split, sentiment), exist_ok=True)
        with open(os.path.join(root, split, sentiment, name), "w", encoding="utf-8") as f:
            f.write(text)
    with open(os.path.join(root, "imdb.vocab"), "w", encoding="utf-8") as f:
        f.write("\n".join(ACL_VOCAB_FILE) + "\n")
    return root


def keras_expected(raw, labels, num_words=None, start_char=1, oov_char=2, index_from=3):
    """Keras's indices for raw rank lists, written out plainly (skip_top = 0, no maxlen)."""
    out = []
    for r in raw:
        words = [w + index_from for w in r]
        words = [w if (w >= index_from + 1 and (num_words is None or w < num_words)) else oov_char for w in words]
        out.append(([start_char] if start_char is not None else []) + words)
    return out, list(labels)


def check_shuffled(x, y, expected_x, expected_y, seed, rng=None):
    """x, y are expected_x, expected_y permuted as np.random.RandomState(seed).shuffle permutes."""
    order = np.arange(len(expected_x))
    (rng or np.random.RandomState(seed)).shuffle(order)
    assert [list(s) for s in x] == [expected_x[i] for i in order]
    assert y.tolist() == [expected_y[i] for i in order]


@pytest.fixture
def npz_path(tmp_path):
    return write_npz(str(tmp_path))


@pytest.fixture
def acl_root(tmp_path):
    return write_aclimdb(str(tmp_path))


def test_npz_loads_as_keras_does(npz_path):
    (x_train, y_train), (x_test, y_test) = load_imdb(npz_path)
    assert x_train.dtype == object and x_train.shape == (4,) and x_test.shape == (2,)
    assert y_train.dtype == np.int64 and all(isinstance(s, list) for s in x_train)
    # one generator shuffles the training split, then the test split
    rng = np.random.RandomState(113)
    check_shuffled(x_train, y_train, *keras_expected(*NPZ_TRAIN), seed=None, rng=rng)
    check_shuffled(x_test, y_test, *keras_expected(*NPZ_TEST), seed=None, rng=rng)
    assert x_train[0][0] == 1  # the start marker opens every review


def test_npz_num_words_maps_rare_words_to_oov(npz_path):
    (x_train, y_train), (x_test, y_test) = load_imdb(npz_path, num_words=7)
    # index = rank + 3, kept when < 7: ranks 1..3 stay, 4..7 become 2
    check_shuffled(x_train, y_train, *keras_expected(*NPZ_TRAIN, num_words=7), seed=113)
    assert max(max(s) for s in x_train) < 7 and 2 in x_test[0] + x_test[1]
    assert sorted(map(tuple, x_train)) == sorted([(1, 4, 5, 6), (1, 4, 2, 2, 2), (1, 2, 5), (1, 4, 2)])


def test_npz_marker_options_and_skip_top(npz_path):
    (x_train, _), _ = load_imdb(npz_path, start_char=None, oov_char=None, num_words=6, seed=0)
    assert sorted(map(tuple, x_train)) == sorted([(4, 5), (4,), (5,), (4,)])
    (x_train, _), _ = load_imdb(npz_path, skip_top=5, seed=0)
    # index 4 ("the") is cut to oov; the start marker (1 < skip_top) is kept, unlike Keras
    assert sorted(map(tuple, x_train)) == sorted([(1, 2, 5, 6), (1, 2, 9, 8, 7), (1, 10, 5), (1, 2, 8)])
    (a, _), _ = load_imdb(npz_path, seed=1)
    (b, _), _ = load_imdb(npz_path, seed=2)
    assert sorted(map(tuple, a)) == sorted(map(tuple, b)) and list(map(tuple, a)) != list(map(tuple, b))


def test_npz_maxlen_drops_long_reviews_as_keras(npz_path):
    (x_train, y_train), (x_test, y_test) = load_imdb(npz_path, maxlen=4)
    # kept when the sequence with its start marker has fewer than maxlen entries
    assert sorted(zip(map(tuple, x_train), y_train.tolist())) == [((1, 4, 8), 0), ((1, 10, 5), 1)]
    assert [tuple(s) for s in x_test] == [(1, 6, 5)] and y_test.tolist() == [1]
    with pytest.raises(ValueError, match="maxlen=2"):
        load_imdb(npz_path, maxlen=2)


def test_npz_as_numpy_1_wrote_it_with_pickle_protocol_2(tmp_path):
    """Older Keras files name numpy.core.multiarray (NumPy 1) in a protocol-2 pickle."""
    path = str(tmp_path / "imdb.npz")
    arrays = {"x_train": _object_array(NPZ_TRAIN[0]), "y_train": np.array(NPZ_TRAIN[1]),
              "x_test": _object_array(NPZ_TEST[0]), "y_test": np.array(NPZ_TEST[1])}
    with zipfile.ZipFile(path, "w") as z:
        for name, a in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array_header_1_0(buf, np.lib.format.header_data_from_array_1_0(a))
            if a.dtype.hasobject:
                pickle.dump(a, buf, protocol=2)
            else:
                buf.write(a.tobytes())
            # protocol 2 writes globals as text lines, so the module name can be swapped in place
            z.writestr(name + ".npy", buf.getvalue().replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
    assert b"numpy.core.multiarray" in zipfile.ZipFile(path).read("x_train.npy")
    (x_train, y_train), _ = load_imdb(path, seed=5)
    check_shuffled(x_train, y_train, *keras_expected(*NPZ_TRAIN), seed=5)


def test_npz_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (os.makedirs, (str(marker),))

    bad = np.empty(1, dtype=object)
    bad[0] = Payload()
    path = str(tmp_path / "imdb.npz")
    np.savez(path, x_train=bad, y_train=np.array([1]), x_test=_object_array([[1]]), y_test=np.array([0]))
    with pytest.raises(ValueError, match="refusing to load posix.makedirs|refusing to load os.makedirs"):
        load_imdb(path)
    assert not marker.exists()


def test_npz_bad_contents_raise_clear_errors(tmp_path):
    path = str(tmp_path / "imdb.npz")
    np.savez(path, x_train=_object_array([[1]]), y_train=np.array([1]), x_test=_object_array([[1]]))
    with pytest.raises(ValueError, match="no array named y_test"):
        load_imdb(path)
    write_npz(str(tmp_path), train=([[1], [2]], [0, 2]))
    with pytest.raises(ValueError, match=r"labels must be a 1-D array of 0/1.*\[0, 2\]"):
        load_imdb(path)
    write_npz(str(tmp_path), train=([[1], [2]], [0]))
    with pytest.raises(ValueError, match="x_train has shape \\(2,\\) but y_train has 1 labels"):
        load_imdb(path)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="is not an .npz archive"):
        load_imdb(str(tmp_path / "junk.npz"))
    with pytest.raises(ValueError, match="load_npz|no array named nope"):
        load_npz(write_npz(str(tmp_path)), ["nope"])


def test_npz_word_index_and_decoding(tmp_path):
    path = write_npz(str(tmp_path))
    assert get_word_index(str(tmp_path)) == NPZ_WORDS
    (x_train, _), _ = load_imdb(path, num_words=7)
    texts = sorted(decode_review(s, NPZ_WORDS) for s in x_train)
    assert "<START> the movie great" in texts and "<START> the <UNK> <UNK> <UNK>" in texts
    assert decode_review([0, 0, 1, 4, 5], NPZ_WORDS) == "<START> the movie"   # padding left out
    os.remove(os.path.join(str(tmp_path), "imdb_word_index.json"))
    with pytest.raises(FileNotFoundError, match="imdb_word_index.json"):
        get_word_index(path)


# --- aclImdb -------------------------------------------------------------------------------------------
def test_tokenize_rule():
    assert tokenize("I didn't LIKE it.<br /><br />'Great' 10/10 -- O'Brien's café,ok") == \
        ["i", "didn't", "like", "it", "great", "o'brien's", "café", "ok"]
    assert tokenize("a<br/>b<BR>c") == ["a", "b", "c"]


def _acl_expected(split, word_index, num_words=None):
    """(index lists, labels) of a split's fixture reviews: negatives then positives, by id."""
    xs, ys = [], []
    for label, sentiment in ((0, "neg"), (1, "pos")):
        names = sorted((n for (s, t, n) in ACL_REVIEWS if s == split and t == sentiment),
                       key=lambda n: int(n.split("_")[0]))
        for n in names:
            idx = [word_index[w] + 3 if w in word_index else 2 for w in tokenize(ACL_REVIEWS[(split, sentiment, n)])]
            xs.append([1] + [i if num_words is None or i < num_words else 2 for i in idx])
            ys.append(label)
    return xs, ys


@pytest.mark.parametrize("given", ["root", "parent"])
def test_aclimdb_loads_with_a_training_vocabulary(acl_root, given):
    path = acl_root if given == "root" else os.path.dirname(acl_root)
    assert find_imdb(path) == ("aclImdb", acl_root)
    (x_train, y_train), (x_test, y_test) = load_imdb(path)
    rng = np.random.RandomState(113)
    check_shuffled(x_train, y_train, *_acl_expected("train", ACL_WORDS), seed=None, rng=rng)
    check_shuffled(x_test, y_test, *_acl_expected("test", ACL_WORDS), seed=None, rng=rng)
    assert sorted(y_train.tolist()) == [0, 0, 1, 1] and y_test.dtype == np.int64
    # "terrible" never occurs in training: out of vocabulary
    neg = x_test[y_test.tolist().index(0)]
    assert neg == [1, 2, ACL_WORDS["plot"] + 3, ACL_WORDS["boring"] + 3]
    assert get_word_index(path) == ACL_WORDS


def test_aclimdb_num_words_and_maxlen(acl_root):
    (x_train, y_train), (x_test, y_test) = load_imdb(acl_root, num_words=8, seed=0)
    check_shuffled(x_train, y_train, *_acl_expected("train", ACL_WORDS, num_words=8), seed=0)
    assert all(max(s) < 8 for s in list(x_train) + list(x_test))
    # "boring movie. i didn't like it.": every word rarer than the 4 kept (great, bad, a, acting)
    assert sorted(map(tuple, x_train))[0] == (1, 2, 2, 2, 2, 2, 2)
    (x_train, y_train), (x_test, _) = load_imdb(acl_root, maxlen=8)
    assert sorted(zip(map(len, x_train), y_train.tolist())) == [(5, 1), (7, 0)]  # 8 and 9 entries dropped
    assert sorted(len(s) for s in x_test) == [4, 6]


def test_aclimdb_release_vocabulary(acl_root):
    ranks = {w: i + 1 for i, w in enumerate(ACL_VOCAB_FILE)}
    (x_train, y_train), (x_test, y_test) = load_imdb(acl_root, vocabulary="imdb.vocab", seed=3)
    check_shuffled(x_train, y_train, *_acl_expected("train", ranks), seed=3)
    assert get_word_index(acl_root, vocabulary="imdb.vocab") == ranks
    with pytest.raises(ValueError, match="vocabulary must be 'train' or 'imdb.vocab'"):
        load_imdb(acl_root, vocabulary="test")
    os.remove(os.path.join(acl_root, "imdb.vocab"))
    with pytest.raises(FileNotFoundError, match="imdb.vocab not found"):
        load_imdb(acl_root, vocabulary="imdb.vocab")
    load_imdb(acl_root)  # the training vocabulary does not need the file


def test_aclimdb_missing_folder_names_the_layout(acl_root):
    import shutil
    shutil.rmtree(os.path.join(acl_root, "test", "neg"))
    with pytest.raises(FileNotFoundError, match=r"test/neg not found.*train/pos, train/neg, test/pos"):
        load_imdb(acl_root)


# --- where the data is, and what happens without it ----------------------------------------------------
def test_missing_data_says_where_to_get_it(tmp_path, monkeypatch):
    monkeypatch.delenv(IMDB_ENV, raising=False)
    for path, said in ((None, "no IMDB path given"), (str(tmp_path / "nowhere"), "nowhere does not exist"),
                       (str(tmp_path), "holds neither imdb.npz nor an aclImdb folder")):
        with pytest.raises(FileNotFoundError) as e:
            load_imdb(path)
        msg = str(e.value)
        assert said in msg and KERAS_NPZ_URL in msg and ACLIMDB_URL in msg and IMDB_ENV in msg
        assert "train/{pos,neg}" in msg
    archive = tmp_path / "aclImdb_v1.tar.gz"
    archive.write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="extract it first"):
        load_imdb(str(archive))


def test_environment_variable_gives_the_default_path(tmp_path, monkeypatch):
    write_npz(str(tmp_path))
    monkeypatch.setenv(IMDB_ENV, str(tmp_path))
    (x_train, _), _ = load_imdb()
    assert len(x_train) == 4


def test_bad_arguments(npz_path):
    for kwargs, said in (({"num_words": 0}, "num_words must be a positive integer"),
                         ({"maxlen": 2.5}, "maxlen must be a positive integer"),
                         ({"skip_top": -1}, "skip_top must be a non-negative integer"),
                         ({"vocabulary": "imdb.vocab"}, "only for an aclImdb folder")):
        with pytest.raises(ValueError, match=said):
            load_imdb(npz_path, **kwargs)


# --- sequence helpers ----------------------------------------------------------------------------------
def test_pad_sequences_pre_and_post():
    seqs = [[1, 2, 3, 4], [5], []]
    np.testing.assert_array_equal(pad_sequences(seqs), [[1, 2, 3, 4], [0, 0, 0, 5], [0, 0, 0, 0]])
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=2), [[3, 4], [0, 5], [0, 0]])  # last words kept
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=3, padding="post", truncating="post", value=9),
                                  [[1, 2, 3], [5, 9, 9], [9, 9, 9]])
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=3, padding="post"), [[2, 3, 4], [5, 0, 0], [0, 0, 0]])
    assert pad_sequences(seqs).dtype == np.int64 and pad_sequences(seqs, dtype="int32").dtype == np.int32
    assert pad_sequences([]).shape == (0, 0) and pad_sequences(seqs, maxlen=0).shape == (3, 0)
    np.testing.assert_array_equal(pad_sequences(np.array([[1, 2], [3, 4]]), maxlen=3), [[0, 1, 2], [0, 3, 4]])
    np.testing.assert_array_equal(pad_sequences(_object_array([[7, 8], [9]])), [[7, 8], [0, 9]])


def test_pad_sequences_errors():
    with pytest.raises(ValueError, match="padding must be 'pre' or 'post', got 'left'"):
        pad_sequences([[1]], padding="left")
    with pytest.raises(ValueError, match="truncating must be"):
        pad_sequences([[1]], truncating="middle")
    with pytest.raises(ValueError, match="maxlen must be a non-negative integer"):
        pad_sequences([[1]], maxlen=-1)
    with pytest.raises(ValueError, match="sequence 1 must be a 1-D sequence of integers, got dtype float64"):
        pad_sequences([[1], [0.5]])


def test_bag_of_words_binary_and_counts():
    seqs = [[1, 4, 4, 2], [0, 0, 3], []]
    np.testing.assert_array_equal(bag_of_words(seqs, 5), [[0, 1, 1, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 0, 0]])
    np.testing.assert_array_equal(bag_of_words(seqs, 5, binary=False), [[0, 1, 1, 0, 2], [0, 0, 0, 1, 0], [0] * 5])
    assert bag_of_words(seqs, 5).dtype == np.float32
    np.testing.assert_array_equal(bag_of_words(pad_sequences(seqs), 5), bag_of_words(seqs, 5))  # padding ignored
    with pytest.raises(ValueError, match=r"sequence 0 holds word index 4, outside \[0, 4\).*num_words=4"):
        bag_of_words(seqs, 4)
    with pytest.raises(ValueError, match="num_words must be a positive integer"):
        bag_of_words(seqs, 0)


# --- the example, end to end on generated copies --------------------------------------------------------
def _synthetic_reviews(n, rng):
    """Rank lists whose label shows: positive reviews use "great" (rank 5), negative ones "bad" (6)."""
    xs, ys = [], []
    for i in range(n):
        label = i % 2
        words = rng.integers(7, 40, size=rng.integers(4, 14)).tolist()
        words[rng.integers(len(words))] = 5 if label else 6
        xs.append(words)
        ys.append(label)
    return xs, ys


EXAMPLE_TINY = ["--num-words", "50", "--maxlen", "12", "--epochs", "2", "--batch-size", "8", "--val-size", "8",
                "--hidden", "4", "--embedding-dim", "4", "--units", "4"]


def _run_example(path, tmp_path, capsys, extra=()):
    pytest.importorskip("matplotlib")
    from pyengine.examples import imdb
    plot = str(tmp_path / "curves.png")
    results = imdb.main(["--data", path, "--plot", plot, *EXAMPLE_TINY, *extra])
    out = capsys.readouterr().out
    assert set(results) == {"bow", "rnn", "lstm"} and all(0.0 <= a <= 1.0 for a in results.values())
    for kind, published in (("bow", "0.88"), ("rnn", "0.76"), ("lstm", "0.87")):
        row = next(line for line in out.splitlines() if line.startswith(kind + " "))
        assert published in row and f"{results[kind]:.4f}" in row
    assert os.path.getsize(plot) > 10_000
    return results, out


def test_example_learns_on_an_npz_copy(tmp_path, capsys):
    rng = np.random.default_rng(0)
    write_npz(str(tmp_path), train=_synthetic_reviews(48, rng), test=_synthetic_reviews(16, rng))
    results, _ = _run_example(str(tmp_path / "imdb.npz"), tmp_path, capsys,
                              ["--epochs", "12", "--lr", "0.02", "--hidden", "8", "--units", "8",
                               "--embedding-dim", "8"])
    # one word tells the label: chance is 0.5 on these 16 test reviews
    assert results["bow"] >= 0.8 and results["lstm"] >= 0.7, results


def test_example_runs_on_an_aclimdb_copy(tmp_path, capsys):
    rng = np.random.default_rng(1)
    words = ["w" + chr(ord("a") + i) + chr(ord("a") + j) for i in range(7) for j in range(6)]  # 42 > any rank
    reviews = {}
    for split, n in (("train", 40), ("test", 12)):
        for i, (ranks, label) in enumerate(zip(*_synthetic_reviews(n, rng))):
            text = " ".join("great" if r == 5 else "bad" if r == 6 else words[r] for r in ranks)
            reviews[(split, "pos" if label else "neg", f"{i}_{8 if label else 2}.txt")] = text + ".<br /><br />"
    _, out = _run_example(write_aclimdb(str(tmp_path), reviews), tmp_path, capsys, ["--limit", "30"])
    assert "IMDB: 22 training, 8 validation, 12 test reviews, 50-word vocabulary" in out


def test_example_without_data_says_where_to_get_it(tmp_path, capsys, monkeypatch):
    from pyengine.examples import imdb
    monkeypatch.delenv(IMDB_ENV, raising=False)
    with pytest.raises(SystemExit) as e:
        imdb.main([])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("pyengine-imdb: no IMDB path given") and KERAS_NPZ_URL in err and ACLIMDB_URL in err
    with pytest.raises(SystemExit) as e:
        imdb.main(["--data", str(tmp_path / "nowhere")])
    assert e.value.code == 2 and "nowhere does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        imdb.main(["--models", "bow,cnn"])
    assert e.value.code == 2 and "--models: unknown model(s) 'cnn'" in capsys.readouterr().err
