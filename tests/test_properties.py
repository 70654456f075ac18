"""Property tests (hypothesis): broadcasting of random shapes for binary ops and their gradients'
shapes; reductions over random dims against NumPy."""
import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import pyengine as pe

FAST = settings(max_examples=25, deadline=None)


@st.composite
def broadcastable_pair(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4))
    return shapes.input_shapes


@FAST
@given(shapes=broadcastable_pair(), op=st.sampled_from(["add", "sub", "mul", "div", "maximum", "minimum"]),
       seed=st.integers(0, 2**16))
def test_binary_broadcast_forward_and_grad_shapes(shapes, op, seed):
    sa, sb = shapes
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 2.0, size=sa)
    b = rng.uniform(0.5, 2.0, size=sb)
    x = pe.tensor(a, requires_grad=True)
    y = pe.tensor(b, requires_grad=True)
    out = getattr(pe, op)(x, y)
    want = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "maximum": np.maximum,
            "minimum": np.minimum}[op](a, b)
    assert out.shape == want.shape
    np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-12)
    out.sum().backward()
    assert x.grad.shape == tuple(sa) and y.grad.shape == tuple(sb)
    if op == "add":  # each element of a contributes once per broadcast copy
        assert x.grad.numpy().sum() == want.size and y.grad.numpy().sum() == want.size


@st.composite
def array_and_dims(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=5))
    # |x| <= 1.5 keeps a product of up to 625 elements finite (no order-dependent inf * 0)
    a = draw(hnp.arrays(np.float64, shape, elements=st.floats(-1.5, 1.5, allow_nan=False)))
    dims = draw(st.lists(st.integers(0, len(shape) - 1), unique=True, max_size=len(shape)))
    neg = draw(st.booleans())
    dims = [d - len(shape) if neg else d for d in dims]
    return a, dims, draw(st.booleans())


REDUCTIONS = {"sum": np.sum, "mean": np.mean, "amax": np.amax, "amin": np.amin, "prod": np.prod,
              "var": lambda a, axis, keepdims: np.var(a, axis=axis, keepdims=keepdims, ddof=1),
              "std": lambda a, axis, keepdims: np.std(a, axis=axis, keepdims=keepdims, ddof=1)}


@FAST
@given(case=array_and_dims(), op=st.sampled_from(sorted(REDUCTIONS)))
def test_reductions_over_random_dims_match_numpy(case, op):
    a, dims, keepdim = case
    axis = tuple(dims) if dims else None
    if op in ("var", "std"):
        n = a.size if axis is None else int(np.prod([a.shape[d] for d in axis]))
        if n < 2:
            return  # NumPy warns/returns NaN; correction=1 needs 2 elements
    want = REDUCTIONS[op](a, axis=axis, keepdims=keepdim)
    x = pe.tensor(a, requires_grad=True)
    got = getattr(x, op)(dim=dims if dims else None, keepdim=keepdim) if op not in ("amax", "amin") else \
        getattr(x, op)(dim=dims if dims else tuple(range(a.ndim)), keepdim=keepdim)
    assert got.shape == np.shape(want)
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-9, atol=1e-9)
    got.sum().backward()
    assert x.grad.shape == a.shape


@FAST
@given(case=array_and_dims())
def test_sum_gradient_is_ones(case):
    a, dims, keepdim = case
    x = pe.tensor(a, requires_grad=True)
    x.sum(dim=dims if dims else None, keepdim=keepdim).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones_like(a))


@FAST
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, max_side=4), data=st.data())
def test_permute_roundtrip_and_reshape(shape, data):
    perm = data.draw(st.permutations(range(len(shape))))
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    x = pe.tensor(a)
    np.testing.assert_array_equal(x.permute(*perm).numpy(), a.transpose(perm))
    np.testing.assert_array_equal(x.permute(*perm).reshape(-1).numpy(), a.transpose(perm).reshape(-1))
