"""Data: datasets, loaders, samplers, k-fold splits, IDX reading, transforms, real data loaders."""
import gzip
import importlib.util
import os

import numpy as np
import pytest

import pyengine as pe
from pyengine.data import DataLoader, KFold, Subset, TensorDataset, random_split
from pyengine.data import transforms as T
from pyengine.data.datasets import FASHION_MNIST_ROOT, MNIST, FashionMNIST, read_idx


def test_tensor_dataset_rows_and_length():
    x = pe.arange(12).reshape(6, 2)
    y = pe.arange(6)
    ds = TensorDataset(x, y)
    assert len(ds) == 6
    xi, yi = ds[4]
    assert xi.tolist() == [8, 9] and yi.item() == 4


def test_tensor_dataset_rejects_mismatched_rows():
    with pytest.raises(ValueError, match="6 rows but tensor 1 has 5"):
        TensorDataset(pe.zeros(6, 2), pe.zeros(5))


@pytest.mark.parametrize("drop_last", [False, True])
def test_dataloader_covers_everything_in_order(drop_last):
    n, bs = 23, 5
    ds = TensorDataset(pe.arange(n), pe.arange(n) * 10)
    batches = list(DataLoader(ds, batch_size=bs, drop_last=drop_last))
    sizes = [len(b[0]) for b in batches]
    assert sizes == ([5, 5, 5, 5] if drop_last else [5, 5, 5, 5, 3])
    assert len(DataLoader(ds, batch_size=bs, drop_last=drop_last)) == len(sizes)
    seen = np.concatenate([b[0].numpy() for b in batches])
    assert seen.tolist() == list(range(len(seen)))
    assert all((b[1].numpy() == 10 * b[0].numpy()).all() for b in batches)


def test_dataloader_shuffle_is_a_seeded_permutation():
    ds = TensorDataset(pe.arange(50))
    order1 = np.concatenate([b[0].numpy() for b in DataLoader(ds, batch_size=8, shuffle=True, generator=3)])
    order2 = np.concatenate([b[0].numpy() for b in DataLoader(ds, batch_size=8, shuffle=True, generator=3)])
    order3 = np.concatenate([b[0].numpy() for b in DataLoader(ds, batch_size=8, shuffle=True, generator=4)])
    assert sorted(order1.tolist()) == list(range(50))
    assert order1.tolist() == order2.tolist()
    assert order1.tolist() != order3.tolist()
    assert order1.tolist() != list(range(50))


def test_dataloader_custom_collate_and_sampler():
    class Squares:
        def __len__(self):
            return 6

        def __getitem__(self, i):
            return i * i

    loader = DataLoader(Squares(), batch_size=4, sampler=[5, 4, 3, 2, 1, 0], collate_fn=list)
    assert list(loader) == [[25, 16, 9, 4], [1, 0]]
    default = list(DataLoader(Squares(), batch_size=4))
    assert default[0].tolist() == [0, 1, 4, 9]


def test_dataloader_rejects_bad_arguments():
    ds = TensorDataset(pe.arange(4))
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds, sampler=[0, 1], shuffle=True)


def test_random_split_partitions():
    ds = TensorDataset(pe.arange(10))
    a, b = random_split(ds, [7, 3], generator=0)
    got = sorted([int(a[i][0].item()) for i in range(7)] + [int(b[i][0].item()) for i in range(3)])
    assert got == list(range(10))
    c, d = random_split(ds, [0.8, 0.2], generator=0)
    assert (len(c), len(d)) == (8, 2)
    with pytest.raises(ValueError, match="sum to 9"):
        random_split(ds, [4, 5])


def test_subset_batches_through_loader():
    ds = TensorDataset(pe.arange(10) * 2)
    sub = Subset(ds, [9, 1, 4])
    (batch,) = next(iter(DataLoader(sub, batch_size=3)))
    assert batch.tolist() == [18, 2, 8]


def test_kfold_folds_partition_and_balance():
    folds = list(KFold(n_splits=4).split(10))
    assert len(folds) == 4
    vals = [v for _, v in folds]
    assert [len(v) for v in vals] == [3, 3, 2, 2]
    assert sorted(np.concatenate(vals).tolist()) == list(range(10))
    for train, val in folds:
        assert set(train).isdisjoint(val) and len(train) + len(val) == 10
    shuffled = list(KFold(4, shuffle=True, random_state=0).split(10))
    assert [v.tolist() for _, v in shuffled] != [v.tolist() for v in vals]
    with pytest.raises(ValueError, match="at least 2"):
        KFold(1)
    with pytest.raises(ValueError, match="cannot split 3 samples into 4"):
        list(KFold(4).split(3))


def _write_idx(path, array, compress=False):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    with (gzip.open if compress else open)(path, "wb") as f:
        f.write(data)


def _fake_mnist(root, n_train=7, n_test=3):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        _write_idx(os.path.join(root, f"{prefix}-images-idx3-ubyte.gz"), rng.integers(0, 256, (n, 28, 28)), True)
        _write_idx(os.path.join(root, f"{prefix}-labels-idx1-ubyte"), rng.integers(0, 10, n))


def test_idx_roundtrip_and_corruption(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    p = str(tmp_path / "a-idx3-ubyte")
    _write_idx(p, a)
    assert (read_idx(p) == a).all()
    with pytest.raises(ValueError, match="expected a 1-dimensional"):
        read_idx(p, expected_ndim=1)
    raw = open(p, "rb").read()
    open(p, "wb").write(raw[:-5])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        read_idx(p)
    open(p, "wb").write(b"\x12\x34" + raw[2:])
    with pytest.raises(ValueError, match="bad magic"):
        read_idx(p)


def test_mnist_from_user_path(tmp_path):
    _fake_mnist(str(tmp_path))
    train, test = MNIST(str(tmp_path), train=True), MNIST(str(tmp_path), train=False)
    assert (len(train), len(test)) == (7, 3)
    x, y = train[2]
    assert x.shape == (1, 28, 28) and x.dtype == pe.float32 and 0 <= y <= 9
    assert float(x.max().item()) <= 1.0
    xb, yb = next(iter(DataLoader(train, batch_size=4)))
    assert xb.shape == (4, 1, 28, 28) and yb.shape == (4,) and yb.dtype == pe.int64
    np.testing.assert_allclose(xb.numpy()[2], x.numpy())


def test_mnist_missing_files_say_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="pass their folder as root"):
        MNIST(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="apt-get install -y dataset-fashion-mnist"):
        FashionMNIST(root=str(tmp_path))
    with pytest.raises(ValueError, match="root is required"):
        MNIST(None)


def test_mnist_label_image_count_mismatch(tmp_path):
    _fake_mnist(str(tmp_path))
    _write_idx(str(tmp_path / "train-labels-idx1-ubyte"), np.zeros(5))
    with pytest.raises(ValueError, match="holds 7 images but"):
        MNIST(str(tmp_path))


@pytest.mark.skipif(not os.path.isdir(FASHION_MNIST_ROOT), reason="dataset-fashion-mnist not installed")
def test_real_fashion_mnist():
    test = FashionMNIST(train=False)
    assert len(test) == 10000
    counts = np.bincount(test.targets, minlength=10)
    assert (counts == 1000).all()  # the test set is balanced


def test_islp_hitters_and_nyse():
    if importlib.util.find_spec("ISLP") is None:  # only its data folder is used; no import
        pytest.skip("islp not installed (pip install --no-deps islp)")
    from pyengine.data.datasets import load_hitters, load_nyse
    x, y, names = load_hitters()
    assert x.shape == (263, 19) and y.shape == (263,) and len(names) == 19
    values, train, dates, _ = load_nyse()
    assert values.shape == (6051, 3) and train.sum() == 4281 and dates[0] == "1962-12-03"


def test_transforms_shapes_and_determinism():
    x = np.random.default_rng(0).random((6, 1, 28, 28), dtype=np.float32)
    for make in (lambda: T.RandomCrop(28, padding=2, generator=1), lambda: T.RandomHorizontalFlip(generator=1),
                 lambda: T.RandomAffine(10, (0.1, 0.1), (0.9, 1.1), generator=1), lambda: T.GaussianNoise(0.1, 1)):
        a, b = make()(x), make()(x)
        assert a.shape == x.shape and a.dtype == np.float32
        np.testing.assert_array_equal(a, b)
        assert make()(x[0]).shape == x[0].shape


def test_transforms_do_what_they_say():
    x = np.arange(2 * 1 * 4 * 4, dtype=np.float32).reshape(2, 1, 4, 4)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(x), x[..., ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(x), x)
    np.testing.assert_array_equal(T.RandomCrop(4, padding=0)(x), x)
    np.testing.assert_allclose(T.RandomAffine(0)(x), x, atol=1e-6)
    # A crop of a padded image is the image shifted: every output is either a pixel or a zero.
    shifted = T.RandomCrop(4, padding=1, generator=0)(x)
    assert set(np.unique(shifted)).issubset(set(np.unique(x)) | {0.0})
    # A 180-degree rotation about the centre reverses both axes; a 2x zoom spreads the centre.
    np.testing.assert_allclose(T.RandomAffine((180, 180))(x), x[..., ::-1, ::-1], atol=1e-4)
    shifted_right = T.RandomAffine(0, translate=(0.25, 0.0), generator=0)(x)
    assert not np.allclose(shifted_right, x)
    np.testing.assert_allclose(T.Normalize([1.0], [2.0])(x), (x - 1) / 2)
    with pytest.raises(ValueError, match="std must be positive"):
        T.Normalize([0.0], [0.0])
    with pytest.raises(ValueError, match="larger than the padded image"):
        T.RandomCrop(9, padding=1)(x)
