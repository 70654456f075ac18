"""Tensor API: creation, dtype inference, properties, conversions, repr, operators, indexing."""
import numpy as np
import pytest

import pyengine as pe


# ---------------------------------------------------------------- dtypes and devices
def test_dtype_objects():
    assert repr(pe.float32) == "pyengine.float32"
    assert pe.float is pe.float32 and pe.double is pe.float64 and pe.long is pe.int64
    assert pe.float32.is_floating_point and not pe.int64.is_floating_point and not pe.bool.is_floating_point
    assert [d.itemsize for d in (pe.float32, pe.float64, pe.int64, pe.bool)] == [4, 8, 8, 1]
    assert pe.get_default_dtype() is pe.float32


def test_device_objects():
    t = pe.zeros(2)
    assert t.device == pe.device("cpu") and str(t.device) == "cpu" and t.device.type == "cpu"
    assert pe.device("cuda:1").index == 1 and str(pe.device("cuda")) == "cuda:0"
    with pytest.raises(ValueError, match="tpu"):
        pe.device("tpu")
    assert isinstance(pe.cuda.is_available(), bool)
    assert pe.cuda.device_count() >= 0


# ---------------------------------------------------------------- creation
@pytest.mark.parametrize("data,dtype", [(1.5, pe.float32), (3, pe.int64), (True, pe.bool),
                                        ([1, 2.5], pe.float32), ([[1, 2], [3, 4]], pe.int64),
                                        ([True, False], pe.bool), ([], pe.float32),
                                        (np.array([1.0, 2.0]), pe.float64),
                                        (np.array([1.0], dtype=np.float32), pe.float32),
                                        (np.array([1, 2], dtype=np.int32), pe.int32),
                                        (np.array([1, 2], dtype=np.uint16), pe.int64),
                                        (np.float64(2.0), pe.float64)])
def test_tensor_dtype_inference(data, dtype):
    t = pe.tensor(data)
    assert t.dtype is dtype
    np.testing.assert_array_equal(t.numpy(), np.asarray(data))


def test_tensor_copies_and_from_numpy_shares():
    a = np.arange(6.0).reshape(2, 3)
    t = pe.tensor(a)
    s = pe.from_numpy(a)
    a[0, 0] = 100
    assert t[0, 0].item() == 0.0 and s[0, 0].item() == 100.0
    n = s.numpy()
    n[1, 1] = -1
    assert a[1, 1] == -1  # numpy() of a CPU tensor is zero-copy too


def test_as_tensor_shares_when_possible():
    a = np.ones(3)
    assert pe.as_tensor(a).data_ptr() == a.ctypes.data
    t = pe.ones(2)
    assert pe.as_tensor(t) is t
    assert pe.as_tensor([1, 2], dtype=pe.float64).dtype is pe.float64


def test_tensor_dtype_and_requires_grad_arguments():
    t = pe.tensor([1, 2], dtype=pe.float64, requires_grad=True)
    assert t.dtype is pe.float64 and t.requires_grad and t.is_leaf
    assert pe.tensor([1.7, -2.2], dtype=pe.int64).tolist() == [1, -2]
    assert pe.tensor([0, 2], dtype="bool").tolist() == [False, True]


@pytest.mark.parametrize("fn,value", [(pe.zeros, 0.0), (pe.ones, 1.0)])
def test_zeros_ones_sizes(fn, value):
    for args in [(2, 3), ((2, 3),), ([2, 3],)]:
        t = fn(*args)
        assert t.shape == (2, 3) and t.dtype is pe.float32
        assert np.all(t.numpy() == value)
    assert fn(0, 4).numel() == 0
    assert fn(()).shape == ()
    assert fn(3, dtype=pe.int64).dtype is pe.int64


def test_full_empty_and_likes():
    assert pe.full((2, 2), 7).dtype is pe.int64
    assert pe.full((2, 2), 7.5).tolist() == [[7.5, 7.5], [7.5, 7.5]]
    assert pe.full((1,), True).dtype is pe.bool
    assert pe.empty(3, 4).shape == (3, 4)
    x = pe.ones(2, 3, dtype=pe.float64)
    assert pe.zeros_like(x).dtype is pe.float64 and pe.zeros_like(x).shape == (2, 3)
    assert pe.ones_like(x, dtype=pe.int64).dtype is pe.int64
    assert pe.full_like(x, 3).tolist() == [[3.0] * 3] * 2
    assert pe.empty_like(x).shape == (2, 3)
    assert pe.rand_like(x).dtype is pe.float64 and pe.randn_like(x).shape == (2, 3)


def test_arange_linspace_eye():
    np.testing.assert_array_equal(pe.arange(5).numpy(), np.arange(5))
    assert pe.arange(5).dtype is pe.int64 and pe.arange(0, 1, 0.25).dtype is pe.float32
    np.testing.assert_allclose(pe.arange(1, 2, 0.25).numpy(), [1, 1.25, 1.5, 1.75])
    np.testing.assert_allclose(pe.linspace(0, 1, 5).numpy(), np.linspace(0, 1, 5))
    np.testing.assert_array_equal(pe.eye(3).numpy(), np.eye(3))
    np.testing.assert_array_equal(pe.eye(2, 3).numpy(), np.eye(2, 3))


def test_random_creation_and_seed():
    pe.manual_seed(0)
    a = pe.rand(3, 4)
    pe.manual_seed(0)
    b = pe.rand(3, 4)
    assert a.tolist() == b.tolist()
    assert 0 <= a.numpy().min() and a.numpy().max() < 1
    assert pe.randn(2, 5, dtype=pe.float64).dtype is pe.float64
    r = pe.randint(3, 7, (100,))
    assert r.dtype is pe.int64 and r.numpy().min() >= 3 and r.numpy().max() < 7
    assert pe.randint(5, (2, 2)).shape == (2, 2)
    assert pe.rand(2, requires_grad=True).requires_grad


# ---------------------------------------------------------------- properties and conversions
def test_shape_properties():
    t = pe.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4) and t.size() == (2, 3, 4) and t.size(1) == 3 and t.size(-1) == 4
    assert t.dim() == 3 and t.ndim == 3 and t.numel() == 24 and len(t) == 2
    assert t.is_contiguous() and not t.transpose(0, 1).is_contiguous()
    assert t.T.shape == (4, 3, 2) and t.mT.shape == (2, 4, 3)
    assert t.element_size() == 4


def test_item_tolist_and_python_scalars():
    t = pe.tensor([[1.5, 2.0]])
    assert t.tolist() == [[1.5, 2.0]]
    assert pe.tensor(2.5).item() == 2.5 and isinstance(pe.tensor(3).item(), int)
    assert float(pe.tensor([4.0])) == 4.0 and int(pe.tensor(7)) == 7
    assert bool(pe.tensor([True])) and not bool(pe.tensor(0.0))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(pe.tensor([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="2 elements"):
        pe.tensor([1.0, 2.0]).item()
    assert [v.item() for v in pe.tensor([1, 2, 3])] == [1, 2, 3]
    assert list(range(10))[pe.tensor(3)] == 3


def test_numpy_and_array_protocol():
    t = pe.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Use tensor.detach\(\).numpy\(\) instead"):
        t.numpy()
    np.testing.assert_array_equal(np.asarray(t.detach()), [1.0, 2.0])
    np.testing.assert_array_equal(np.asarray(pe.tensor([1, 2]), dtype=np.float32), [1.0, 2.0])
    v = pe.zeros(3, 4)[:, 1]
    assert v.numpy().shape == (3,)


def test_to_and_type_conversions():
    t = pe.tensor([1.7, -2.2])
    assert t.to(pe.float64).dtype is pe.float64
    assert t.long().tolist() == [1, -2] and t.long().dtype is pe.int64
    assert t.double().dtype is pe.float64 and t.float() is t
    assert t.bool().tolist() == [True, True]
    assert t.to("cpu") is t and t.cpu() is t
    assert t.to(pe.zeros(1, dtype=pe.float64)).dtype is pe.float64
    assert t.to("cpu", pe.int64).dtype is pe.int64
    c = t.clone()
    assert c.data_ptr() != t.data_ptr() and c.tolist() == t.tolist()
    tt = pe.zeros(3, 4).T
    assert tt.contiguous().is_contiguous() and pe.zeros(2).contiguous().is_contiguous()


def test_detach_requires_grad_and_hash():
    x = pe.ones(2, requires_grad=True)
    assert x.requires_grad_(False) is x and not x.requires_grad
    d = {x: 1}
    assert d[x] == 1 and hash(x) == id(x)


def test_repr():
    assert repr(pe.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(pe.tensor([0.5, 1.25])) == "tensor([0.5000, 1.2500])"
    assert repr(pe.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(pe.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert repr(pe.tensor([1.0], dtype=pe.float64)) == "tensor([1.], dtype=pyengine.float64)"
    assert repr(pe.tensor([[1.0, 2.0], [3.0, 4.0]])) == "tensor([[1., 2.],\n        [3., 4.]])"
    assert repr(pe.tensor(True)) == "tensor(True)"
    assert "grad_fn=<MulBackward>" in repr(pe.ones(1, requires_grad=True) * 2)


def test_dlpack_round_trip():
    t = pe.arange(6).reshape(2, 3)
    assert t.__dlpack_device__() == (1, 0)
    u = pe.from_dlpack(t)
    assert u.tolist() == t.tolist()
    n = np.from_dlpack(pe.tensor([1.0, 2.0]))
    np.testing.assert_array_equal(n, [1.0, 2.0])


# ---------------------------------------------------------------- operators
def test_arithmetic_operators_match_numpy():
    a = np.array([[1.0, -2.0, 3.0]], dtype=np.float32)
    b = np.array([[0.5], [2.0]], dtype=np.float32)
    x, y = pe.tensor(a), pe.tensor(b)
    for got, want in [(x + y, a + b), (x - y, a - b), (x * y, a * b), (x / y, a / b), (y ** 2, b ** 2),
                      (-x, -a), (abs(x), np.abs(a)), (2 + x, 2 + a), (2 - x, 2 - a), (3 * x, 3 * a),
                      (1 / y, 1 / b), (2 ** y, 2 ** b), (x @ pe.tensor(a.T), a @ a.T)]:
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)


def test_comparison_and_logical_operators():
    x = pe.tensor([1, 2, 3])
    assert (x < 2).tolist() == [True, False, False] and (x <= 2).tolist() == [True, True, False]
    assert (x > 2).tolist() == [False, False, True] and (x >= 2).tolist() == [False, True, True]
    assert (x == 2).tolist() == [False, True, False] and (x != 2).tolist() == [True, False, True]
    a, b = pe.tensor([True, True, False]), pe.tensor([True, False, False])
    assert (a & b).tolist() == [True, False, False] and (a | b).tolist() == [True, True, False]
    assert (a ^ b).tolist() == [False, True, False] and (~a).tolist() == [False, False, True]


def test_inplace_operators_keep_identity_and_bump_version():
    x = pe.zeros(3)
    ident, v = id(x), x._version
    x += 1
    x *= 3
    x -= 1
    x /= 2
    assert id(x) == ident and x.tolist() == [1.0, 1.0, 1.0] and x._version > v
    x.zero_()
    assert x.tolist() == [0.0] * 3
    x.fill_(2).clamp_(max=1.5)
    assert x.tolist() == [1.5] * 3


def test_type_promotion_with_scalars():
    i = pe.tensor([1, 2])
    assert (i + 1).dtype is pe.int64 and (i + 1.5).dtype is pe.float32 and (i / 2).dtype is pe.float32
    f = pe.tensor([1.0], dtype=pe.float64)
    assert (f + 1.5).dtype is pe.float64 and (pe.tensor([1.0]) + f).dtype is pe.float64
    assert (pe.tensor([True]) + 1).dtype is pe.int64


# ---------------------------------------------------------------- shape ops and indexing
def test_view_and_reshape():
    x = pe.arange(12)
    assert x.view(3, 4).shape == (3, 4) and x.reshape((2, -1)).shape == (2, 6)
    t = x.view(3, 4).T
    with pytest.raises(RuntimeError):
        t.view(12)
    assert t.reshape(12).tolist() == np.arange(12).reshape(3, 4).T.ravel().tolist()
    assert x.view(3, 4).flatten().shape == (12,) and x.view(2, 3, 2).flatten(1).shape == (2, 6)
    assert x.view(1, 12, 1).squeeze().shape == (12,) and x.unsqueeze(-1).shape == (12, 1)
    assert x.view(3, 4).permute(1, 0).shape == (4, 3)
    assert pe.zeros(3, 1).expand(3, 4).shape == (3, 4) and pe.zeros(1).expand_as(x).shape == (12,)


def test_basic_indexing_matches_numpy():
    a = np.arange(60).reshape(3, 4, 5)
    x = pe.tensor(a)
    for key in [1, -1, (1, 2), slice(1, None), (slice(None), 2), (Ellipsis, 1), (None, 1), (1, None, 2),
                (slice(None, None, 2), slice(1, 4, 2)), (Ellipsis,), (slice(10, 20),)]:
        np.testing.assert_array_equal(x[key].numpy(), a[key], err_msg=str(key))
    assert x[1].data_ptr() == x.data_ptr() + 20 * 8  # a view


def test_advanced_indexing_matches_numpy():
    a = np.arange(60).reshape(3, 4, 5)
    x = pe.tensor(a)
    for key in [[0, 2], ([0, 2], [1, 1]), (slice(None), [3, 0, 3]), (slice(None), [1, 2], [0, 4]),
                ([0, 1], slice(None), [0, 4]), ([[0], [2]], [1, 3]), (Ellipsis, [-1, 0]),
                (slice(1, None), [0, 0], slice(None, 2))]:
        np.testing.assert_array_equal(x[key].numpy(), a[key], err_msg=str(key))
    idx = pe.tensor([2, 0])
    np.testing.assert_array_equal(x[idx].numpy(), a[[2, 0]])
    np.testing.assert_array_equal(x[np.array([1, 1])].numpy(), a[[1, 1]])


def test_int_with_advanced_index_follows_pytorch():
    x = pe.zeros(3, 4, 5)
    assert x[0, :, [1, 2]].shape == (4, 2)  # PyTorch (not NumPy): the int is a plain select


def test_bool_mask_indexing():
    a = np.arange(12.0).reshape(3, 4)
    x = pe.tensor(a)
    m = a > 5
    np.testing.assert_array_equal(x[pe.tensor(m)].numpy(), a[m])
    np.testing.assert_array_equal(x[x > 5].numpy(), a[m])
    np.testing.assert_array_equal(x[pe.tensor([True, False, True])].numpy(), a[[True, False, True]])
    np.testing.assert_array_equal(x[:, pe.tensor([False, True, True, False])].numpy(), a[:, [1, 2]])


def test_setitem_matches_numpy():
    a = np.zeros((4, 5))
    x = pe.zeros(4, 5, dtype=pe.float64)
    steps = [(1, 3.0), ((slice(None), 0), 1.0), ((2, slice(1, 3)), np.array([7.0, 8.0])),
             (([0, 3], [4, 4]), np.array([5.0, 6.0])), ((slice(None), [1, 2]), 9.0)]
    for key, value in steps:
        a[key] = value
        x[key] = pe.tensor(value) if isinstance(value, np.ndarray) else value
        np.testing.assert_array_equal(x.numpy(), a)
    x[x > 6] = -1.0
    a[a > 6] = -1.0
    np.testing.assert_array_equal(x.numpy(), a)


def test_cat_stack_split_chunk():
    a, b = pe.ones(2, 3), pe.zeros(1, 3)
    assert pe.cat([a, b]).shape == (3, 3) and pe.cat([a, a], dim=1).shape == (2, 6)
    assert pe.stack([a, a]).shape == (2, 2, 3) and pe.stack([a, a], dim=-1).shape == (2, 3, 2)
    x = pe.arange(10)
    assert [p.tolist() for p in pe.split(x, 4)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [len(p) for p in x.split([3, 7])] == [3, 7]
    assert [len(p) for p in x.chunk(3)] == [4, 4, 2]


def test_gather_scatter_index_select_where_masked_fill():
    x = pe.tensor([[1, 2], [3, 4]])
    assert x.gather(1, pe.tensor([[1, 0], [0, 0]])).tolist() == [[2, 1], [3, 3]]
    z = pe.zeros(2, 3).scatter_add(1, pe.tensor([[0, 0, 2]]), pe.ones(1, 3))
    assert z.tolist() == [[2.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
    assert x.index_select(0, pe.tensor([1, 1])).tolist() == [[3, 4], [3, 4]]
    assert pe.where(x > 2, x, 0).tolist() == [[0, 0], [3, 4]]
    assert x.masked_fill(x == 2, 9).tolist() == [[1, 9], [3, 4]]
    assert pe.one_hot(pe.tensor([0, 2]), 3).tolist() == [[1, 0, 0], [0, 0, 1]]
    assert pe.one_hot(pe.tensor([1, 3])).shape == (2, 4)
    assert pe.tril(pe.ones(2, 2)).tolist() == [[1, 0], [1, 1]] and pe.ones(2, 2).triu(1).tolist() == [[0, 1], [0, 0]]


def test_reductions_and_namedtuple():
    a = np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], dtype=np.float32)
    x = pe.tensor(a)
    assert x.sum().item() == a.sum() and x.mean(dim=1).tolist() == pytest.approx(a.mean(1).tolist())
    r = x.max(dim=1)
    assert r.values.tolist() == [5.0, 7.0] and r.indices.tolist() == [1, 0]
    values, indices = x.min(0, keepdim=True)
    assert values.shape == (1, 3) and indices.tolist() == [[0, 1, 0]]
    assert x.max().item() == 7.0 and x.argmax().item() == 3 and x.argmin(dim=1).tolist() == [0, 1]
    assert x.var().item() == pytest.approx(a.var(ddof=1)) and x.std(unbiased=False).item() == pytest.approx(a.std())
    assert x.norm().item() == pytest.approx(np.linalg.norm(a))
    assert (x > 0).all().item() is False and (x > 0).any(dim=0).tolist() == [True, True, True]
    assert x.amax(dim=(0, 1)).item() == 7.0
    assert x.logsumexp(dim=1).tolist() == pytest.approx(np.log(np.exp(a).sum(1)).tolist(), rel=1e-6)
    assert x.prod(dim=0).tolist() == [7.0, 0.0, 6.0]
    assert pe.tensor([1, 2, 3]).sum().dtype is pe.int64


def test_matmul_variants():
    a, b = np.ones((2, 3)), np.ones((3, 4))
    assert pe.mm(pe.tensor(a), pe.tensor(b)).shape == (2, 4)
    assert pe.bmm(pe.ones(5, 2, 3), pe.ones(5, 3, 4)).shape == (5, 2, 4)
    assert pe.dot(pe.tensor([1.0, 2.0]), pe.tensor([3.0, 4.0])).item() == 11.0
    assert (pe.ones(7, 1, 2, 3) @ pe.ones(5, 3, 4)).shape == (7, 5, 2, 4)


def test_functional_namespace_has_the_api():
    for name in ["tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "zeros_like", "ones_like",
                 "full_like", "empty_like", "rand_like", "randn_like", "arange", "linspace", "eye", "rand", "randn",
                 "randint", "manual_seed", "from_dlpack", "cat", "stack", "split", "chunk", "gather", "scatter_add",
                 "index_select", "where", "masked_fill", "clamp", "clip", "tril", "triu", "one_hot", "matmul", "mm",
                 "bmm", "dot", "no_grad", "enable_grad", "set_grad_enabled", "exp", "logsumexp", "norm"]:
        assert callable(getattr(pe, name)), name


def test_set_default_dtype_and_tensor_from_tensors():
    pe.set_default_dtype(pe.float64)
    try:
        assert pe.tensor([1.0]).dtype is pe.float64 and pe.zeros(2).dtype is pe.float64
    finally:
        pe.set_default_dtype(pe.float32)
    with pytest.raises(TypeError, match="floating-point"):
        pe.set_default_dtype(pe.int64)
    parts = [pe.tensor(1.0), pe.tensor(2.5)]
    assert pe.tensor(parts).tolist() == [1.0, 2.5]


def test_numpy_operands_defer_to_tensor():
    out = np.array([1.0, 2.0], dtype=np.float32) + pe.tensor([1.0, 1.0])
    assert isinstance(out, pe.Tensor) and out.tolist() == [2.0, 3.0]


def test_deepcopy_and_pickle():
    import copy
    import pickle

    class Param(pe.Tensor):
        pass

    x = pe.tensor([1.0, 2.0], requires_grad=True)
    x.grad = pe.ones(2)
    y = copy.deepcopy(x)
    assert y.tolist() == [1.0, 2.0] and y.requires_grad and y.grad.tolist() == [1.0, 1.0]
    assert y.data_ptr() != x.data_ptr()
    p = Param(pe.tensor([3.0])._impl)
    p.tag = "w"
    q = copy.deepcopy(p)
    assert type(q) is Param and q.tag == "w" and q.tolist() == [3.0]
    with pytest.raises(RuntimeError, match="deepcopy"):
        copy.deepcopy(x * 2)
    z = pickle.loads(pickle.dumps(pe.tensor([[1, 2]])))
    assert z.tolist() == [[1, 2]] and z.dtype is pe.int64
