"""Softmax / log-softmax kernels (csrc/cpu/softmax_kernels.cpp) against NumPy: edge sizes, every
dim, strided/transposed/broadcast views, float32/float64, huge logits, and the fused backward."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from pyengine import _C

rng = np.random.default_rng(0)


def np_log_softmax(x, dim):
    x = x.astype(np.float64)
    m = np.max(x, axis=dim, keepdims=True, initial=-np.inf)
    with np.errstate(divide="ignore"):  # empty rows: log(0), never read
        return x - m - np.log(np.sum(np.exp(x - m), axis=dim, keepdims=True))


def np_softmax(x, dim):
    return np.exp(np_log_softmax(x, dim))


def tol(dtype):
    return dict(rtol=2e-6, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-13)


def impl(a):
    return _C.from_numpy(np.ascontiguousarray(a))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(1,), (7,), (0,), (3, 0), (0, 5), (1, 1), (4, 13), (2, 3, 17), (5, 1, 31, 2),
                                   (2, 5, 131)])  # 131 inner columns: two full blocks of 64 and a partial one
def test_forward_every_dim(shape, dtype):
    x = rng.standard_normal(shape).astype(dtype) * 3
    for dim in range(-len(shape), len(shape)):
        np.testing.assert_allclose(_C.softmax(impl(x), dim).numpy(), np_softmax(x, dim), **tol(dtype))
        np.testing.assert_allclose(_C.log_softmax(impl(x), dim).numpy(), np_log_softmax(x, dim), **tol(dtype))


@pytest.mark.parametrize("n", [1, 2, 3, 8, 15, 16, 17, 31, 64, 127, 1000, 4099])
def test_row_lengths_fast_path(n):
    x = rng.standard_normal((3, n)).astype(np.float32)
    np.testing.assert_allclose(_C.log_softmax(impl(x), 1).numpy(), np_log_softmax(x, 1), rtol=1e-5, atol=1e-5)
    s = _C.softmax(impl(x), -1).numpy()
    np.testing.assert_allclose(s.sum(-1), 1.0, rtol=1e-5)


def test_zero_dim_tensor():
    x = _C.from_numpy(np.array(2.5))
    assert _C.softmax(x, 0).numpy() == 1.0
    assert _C.log_softmax(x, -1).numpy() == 0.0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_strided_transposed_sliced_and_broadcast_inputs(dtype):
    base = rng.standard_normal((6, 10, 4)).astype(dtype)
    t = _C.from_numpy(base)
    views = {
        "transposed": (_C.transpose(t, 0, 2), base.transpose(2, 1, 0)),
        "sliced": (_C.slice(t, 1, 1, 9, 3), base[:, 1:9:3]),
        "permuted": (_C.permute(t, [1, 2, 0]), base.transpose(1, 2, 0)),
        "broadcast": (_C.expand(_C.slice(t, 0, 0, 1, 1), [5, 10, 4]), np.broadcast_to(base[:1], (5, 10, 4))),
    }
    for name, (v, ref) in views.items():
        for dim in range(3):
            np.testing.assert_allclose(_C.softmax(v, dim).numpy(), np_softmax(ref, dim), **tol(dtype), err_msg=name)
            np.testing.assert_allclose(_C.log_softmax(v, dim).numpy(), np_log_softmax(ref, dim), **tol(dtype),
                                       err_msg=name)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_huge_logits_are_stable(dtype):
    x = np.array([[1e30, 1e30 - 1e24, -1e30], [1000.0, 999.0, -1000.0], [-1e4, -1e4, -1e4]], dtype=dtype)
    s = _C.softmax(impl(x), 1).numpy()
    ls = _C.log_softmax(impl(x), 1).numpy()
    assert np.isfinite(s).all() and np.isfinite(ls).all()
    np.testing.assert_allclose(s[1], np_softmax(x[1:2], 1)[0], rtol=1e-5)
    np.testing.assert_allclose(s[2], [1 / 3] * 3, rtol=1e-6)
    assert ls[1, 0] == pytest.approx(np_log_softmax(x[1:2], 1)[0, 0], rel=1e-5)
    assert ls[0, 2] < -1e29  # -2e30 exactly in float64; still finite


def test_inf_and_nan_rows_follow_pytorch():
    x = np.array([[0.0, np.inf, 1.0], [-np.inf, -np.inf, -np.inf], [0.0, np.nan, 1.0], [-np.inf, 0.0, 0.0]])
    s = _C.softmax(impl(x), 1).numpy()
    assert np.isnan(s[0]).all()  # inf - inf = nan poisons the row, like PyTorch
    assert np.isnan(s[1]).all()
    assert np.isnan(s[2]).all()
    np.testing.assert_allclose(s[3], [0.0, 0.5, 0.5])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,dim", [((5, 7), 1), ((5, 7), 0), ((2, 3, 4), 1), ((3,), 0), ((4, 0), 1),
                                       ((3, 6, 70), 1), ((70, 3), 0)])
def test_backward_matches_formula(shape, dim, dtype):
    x = rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    y = np_softmax(x, dim)
    want = y * (g - np.sum(g * y, axis=dim, keepdims=True))
    got = _C.softmax_backward(impl(g), impl(y.astype(dtype)), dim).numpy()
    np.testing.assert_allclose(got, want, **tol(dtype))
    ly = np_log_softmax(x, dim)
    want = g - np.exp(ly) * np.sum(g, axis=dim, keepdims=True)
    got = _C.log_softmax_backward(impl(g), impl(ly.astype(dtype)), dim).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-5)


def test_backward_with_strided_and_broadcast_gradient():
    x = rng.standard_normal((4, 6))
    y = np_softmax(x, 0)
    g = np.broadcast_to(rng.standard_normal((1, 6)), (4, 6))
    g_impl = _C.expand(_C.from_numpy(g[:1].copy()), [4, 6])
    y_t = _C.transpose(_C.from_numpy(np.ascontiguousarray(y.T)), 0, 1)
    want = y * (g - np.sum(g * y, axis=0, keepdims=True))
    np.testing.assert_allclose(_C.softmax_backward(g_impl, y_t, 0).numpy(), want, rtol=1e-12, atol=1e-13)


def test_errors():
    f = _C.from_numpy(np.zeros((2, 3), np.float32))
    with pytest.raises(TypeError, match="floating"):
        _C.softmax(_C.from_numpy(np.zeros(3, np.int64)), 0)
    with pytest.raises(IndexError, match="range"):
        _C.log_softmax(f, 2)
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 3\)"):
        _C.softmax_backward(_C.from_numpy(np.zeros((3, 2), np.float32)), f, 0)
    with pytest.raises(TypeError, match="float64.*float32"):
        _C.log_softmax_backward(_C.from_numpy(np.zeros((2, 3))), f, 0)


def test_thread_count_does_not_change_results():
    x = rng.standard_normal((300, 257)).astype(np.float32)
    old = _C.get_num_threads()
    try:
        _C.set_num_threads(1)
        a = _C.log_softmax(impl(x), 1).numpy()
        _C.set_num_threads(max(2, old))
        b = _C.log_softmax(impl(x), 1).numpy()
    finally:
        _C.set_num_threads(old)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("isa", ["generic", "avx2", "avx512"])
def test_every_isa_build(isa):
    if isa != "generic" and _C.best_isa() not in (isa, "avx512"):
        pytest.skip(f"CPU cannot run {isa}")
    old = _C.active_isa()
    x = rng.standard_normal((3, 37))
    try:
        _C.set_isa(isa)
        np.testing.assert_allclose(_C.log_softmax(impl(x), 1).numpy(), np_log_softmax(x, 1), rtol=1e-12)
    finally:
        _C.set_isa(old)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=4), st.data())
def test_property_rows_sum_to_one(shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = rng.standard_normal(shape) * data.draw(st.sampled_from([1.0, 50.0]))
    s = _C.softmax(impl(x), dim).numpy()
    np.testing.assert_allclose(s.sum(axis=dim), 1.0, rtol=1e-12)
    assert (s >= 0).all()


def test_float32_exp_is_accurate_over_its_range():
    # the vectorized float32 exp: compare whole softmax rows spanning exponents 0 .. -87
    x = np.linspace(-87.0, 0.0, 4001).astype(np.float32)[None, :]
    got = _C.log_softmax(impl(x), 1).numpy()
    np.testing.assert_allclose(got, np_log_softmax(x, 1), rtol=1e-6, atol=1e-5)
    s = _C.softmax(impl(x), 1).numpy().astype(np.float64)
    ref = np_softmax(x, 1)
    big = ref > 1e-30
    np.testing.assert_allclose(s[big], ref[big], rtol=3e-6)
