"""flip/fliplr/flipud, roll, rot90, repeat_interleave, tile, meshgrid, diagonal/diag_embed/diag,
trace, einsum, tensordot, outer/ger, cross, kron: values against torch 2.13 (and NumPy) on edge
sizes and strided views, float64 gradcheck, forward-mode AD, device parity, and the errors
(type and what they name) against PyTorch's."""
import numpy as np
import pytest

import pyengine as pe
from pyengine.autograd import forward_ad as fwAD
from device_gradcheck import gradcheck_on

torch = pytest.importorskip("torch")


def _pair(shape, dtype=np.float64, seed=0, device="cpu", view=None):
    """The same random data as a pyengine tensor (on `device`) and a torch tensor; `view`
    ("T" or "step") makes both a non-contiguous view of a larger array."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape).astype(dtype)
    if view == "T":
        a = np.ascontiguousarray(a.T)
        return pe.tensor(a, device=device).T, torch.tensor(a).T
    if view == "step":
        big = np.repeat(a, 2, axis=-1) if a.ndim else a
        return pe.tensor(big, device=device)[..., ::2], torch.tensor(big)[..., ::2]
    return pe.tensor(a, device=device), torch.tensor(a)


def _same(p, t, atol=1e-6):
    p = p.detach().cpu().numpy()
    t = t.detach().numpy()
    assert p.shape == t.shape, (p.shape, t.shape)
    assert p.dtype == t.dtype, (p.dtype, t.dtype)
    np.testing.assert_allclose(p, t, atol=atol, rtol=1e-6)


def _both(fn, *pairs):
    return fn(pe, *(p for p, _ in pairs)), fn(torch, *(t for _, t in pairs))


SHAPES = [(0,), (1,), (7,), (3, 5), (2, 0, 3), (2, 3, 4)]


# ---------------------------------------------------------------- values against torch
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("view", [None, "T", "step"])
def test_flip_roll_tile_match_torch(shape, view, device):
    x = _pair(shape, device=device, view=view)
    nd = len(shape)
    dims = list(range(nd))
    _same(*_both(lambda m, a: m.flip(a, dims), x))
    _same(*_both(lambda m, a: a.flip(*dims[::-1]), x))
    _same(*_both(lambda m, a: m.flipud(a), x))
    _same(*_both(lambda m, a: m.flip(a, dims=dims[:1]), x))
    _same(*_both(lambda m, a: a.tile(dims=(2, 1)), x))
    _same(*_both(lambda m, a: m.roll(a, 3), x))
    _same(*_both(lambda m, a: m.roll(a, [-2] * nd, dims), x))
    _same(*_both(lambda m, a: a.roll(10, -1), x))
    _same(*_both(lambda m, a: m.tile(a, (2,)), x))
    _same(*_both(lambda m, a: a.tile(2, 1, 3), x))
    if nd >= 2:
        _same(*_both(lambda m, a: m.fliplr(a), x))
        for k in (-3, -1, 0, 1, 2, 5):
            _same(*_both(lambda m, a: m.rot90(a, k, (0, -1)), x))
            _same(*_both(lambda m, a: a.rot90(k, [1, 0]), x))


def test_flip_matches_numpy_in_every_dtype():
    for dtype in (np.float32, np.float64, np.int64, np.bool_):
        a = (np.arange(24).reshape(2, 3, 4) % 5).astype(dtype)
        np.testing.assert_array_equal(pe.flip(pe.tensor(a), (0, 2)).numpy(), np.flip(a, (0, 2)))
        np.testing.assert_array_equal(pe.roll(pe.tensor(a), (1, -1), (1, 2)).numpy(), np.roll(a, (1, -1), (1, 2)))


def test_flip_and_roll_return_new_memory():
    x = pe.arange(6.0).reshape(2, 3)
    for y in (x.flip(()), x.roll(0, 0), x.roll(3, 1), pe.rot90(x, 4), x.repeat_interleave(1, 0),
              x.tile(1), x.repeat(1, 1)):
        y.fill_(-1.0)
        assert x.min().item() == 0.0


@pytest.mark.parametrize("shape", [(0,), (1,), (5,), (3, 4), (2, 0, 3), (2, 3, 4)])
def test_repeat_interleave_matches_torch(shape, device):
    x = _pair(shape, device=device)
    nd = len(shape)
    _same(*_both(lambda m, a: m.repeat_interleave(a, 3), x))
    _same(*_both(lambda m, a: a.repeat_interleave(0), x))
    for d in range(-nd, nd):
        n = shape[d]
        reps = np.arange(n) % 3
        _same(*_both(lambda m, a: m.repeat_interleave(a, 2, dim=d), x))
        _same(*_both(lambda m, a: a.repeat_interleave(m.tensor(reps), dim=d, output_size=int(reps.sum())), x))
        _same(*_both(lambda m, a: a.repeat_interleave(m.tensor([2]), dim=d), x))
        _same(*_both(lambda m, a: a.repeat_interleave(m.tensor(4), dim=d), x))
    counts = np.array([3, 0, 1, 2])
    _same(pe.repeat_interleave(pe.tensor(counts, device=device)), torch.repeat_interleave(torch.tensor(counts)))
    _same(pe.repeat_interleave(pe.tensor(counts[:0], device=device)),
          torch.repeat_interleave(torch.tensor(counts[:0])))


@pytest.mark.parametrize("indexing", ["ij", "xy"])
@pytest.mark.parametrize("sizes", [[3], [3, 2], [2, 0, 4], [1, 3, 2, 2]])
def test_meshgrid_matches_torch(indexing, sizes, device):
    ps = [pe.arange(n, device=device) * 1.5 for n in sizes]
    ts = [torch.arange(n) * 1.5 for n in sizes]
    got, want = pe.meshgrid(*ps, indexing=indexing), torch.meshgrid(*ts, indexing=indexing)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        _same(g, w)
    for g, w in zip(pe.meshgrid(ps, indexing=indexing), torch.meshgrid(ts, indexing=indexing)):
        _same(g, w)
    # 0-d inputs count as one point, as in PyTorch
    _same(pe.meshgrid(pe.tensor(2.0, device=device), ps[0], indexing=indexing)[0],
          torch.meshgrid(torch.tensor(2.0), ts[0], indexing=indexing)[0])


def test_meshgrid_without_indexing_warns_and_means_ij():
    with pytest.warns(UserWarning, match="indexing"):
        got = pe.meshgrid(pe.arange(2), pe.arange(3))
    assert got[0].shape == (2, 3)


@pytest.mark.parametrize("view", [None, "T", "step"])
def test_diagonal_family_matches_torch(view, device):
    x = _pair((3, 5), device=device, view=view)
    b = _pair((2, 3, 4), device=device, view=view)
    v = _pair((4,), device=device)
    for off in (-4, -1, 0, 2, 6):
        _same(*_both(lambda m, a: m.diagonal(a, off), x))
        _same(*_both(lambda m, a: a.diagonal(off, 2, 0), b))
        _same(*_both(lambda m, a: m.diag(a, off), x))
        _same(*_both(lambda m, a: m.diag(a, off), v))
        _same(*_both(lambda m, a: m.diag_embed(a, off), b))
        _same(*_both(lambda m, a: a.diag_embed(off, 0, 2), x))
        _same(*_both(lambda m, a: m.diag_embed(a, off, -1, 0), v))
    _same(*_both(lambda m, a: m.trace(a), x))
    _same(pe.trace(pe.arange(12, device=device).reshape(3, 4)), torch.trace(torch.arange(12).reshape(3, 4)))


def test_diagonal_is_a_view_and_diag_is_a_copy():
    x = pe.zeros(3, 3)
    x.diagonal().fill_(1.0)
    np.testing.assert_array_equal(x.numpy(), np.eye(3, dtype=np.float32))
    pe.diag(x).fill_(5.0)
    assert x.sum().item() == 3.0


EINSUM_CASES = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("ij,jk", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 1)]),
    ("ii->i", [(4, 4)]),
    ("ii", [(4, 4)]),
    ("iji->j", [(3, 2, 3)]),
    ("ij->", [(3, 4)]),
    ("ij->ji", [(3, 4)]),
    ("i,i->", [(5,), (5,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("i,j,k", [(2,), (3,), (4,)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("b...,b...->...", [(2, 3, 4), (2, 3, 4)]),
    ("...ii->...i", [(2, 3, 3)]),
    ("...", [(2, 3)]),
    ("i...->...", [(3, 2, 2)]),
    ("Ba,aB", [(2, 3), (3, 2)]),
    ("ba,Ac", [(2, 3), (4, 5)]),
    ("ij,ij->ij", [(2, 1), (2, 3)]),
    ("ij,jk->ik", [(0, 3), (3, 2)]),
    ("ij,jk->ik", [(2, 0), (0, 3)]),
    ("i j , j k -> i k", [(2, 3), (3, 2)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
    ("ij,kl->", [(2, 3), (4, 1)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM_CASES, ids=[c[0] for c in EINSUM_CASES])
def test_einsum_matches_torch(eq, shapes, device):
    xs = [_pair(s, seed=i, device=device) for i, s in enumerate(shapes)]
    _same(*_both(lambda m, *a: m.einsum(eq, *a), *xs), atol=1e-10)
    _same(*_both(lambda m, *a: m.einsum(eq, list(a)), *xs), atol=1e-10)


def test_einsum_sublist_format_matches_torch():
    a, b = _pair((2, 3)), _pair((3, 4), seed=1)
    for subs in ([[0, 1], [1, 2], [0, 2]], [[0, 1], [1, 2]], [[Ellipsis, 1], [1, 2], [Ellipsis, 2]],
                 [[1, 0], [0, 2], []]):
        args = [a[0], subs[0], b[0], subs[1]] + subs[2:]
        targs = [a[1], subs[0], b[1], subs[1]] + subs[2:]
        _same(pe.einsum(*args), torch.einsum(*targs), atol=1e-12)
    with pytest.raises(RuntimeError, match="valid range"):
        pe.einsum(a[0], [0, 52])


def test_einsum_strided_int_and_float32():
    a, ta = _pair((4, 3), dtype=np.float32, view="T")
    b, tb = _pair((3, 6), dtype=np.float32, view="step")
    _same(pe.einsum("ij,jk->ki", a, b), torch.einsum("ij,jk->ki", ta, tb), atol=1e-5)
    ia, ib = np.arange(6).reshape(2, 3), np.arange(12).reshape(3, 4)
    _same(pe.einsum("ij,jk", pe.tensor(ia), pe.tensor(ib)), torch.einsum("ij,jk", torch.tensor(ia), torch.tensor(ib)))
    np.testing.assert_array_equal(pe.einsum("ij,jk", pe.tensor(ia), pe.tensor(ib)).numpy(), np.einsum("ij,jk", ia, ib))


@pytest.mark.parametrize("dims,sa,sb", [
    (2, (2, 3, 4), (3, 4, 5)), (1, (3, 4), (4, 2)), (0, (2, 3), (4,)), (([1, 0], [0, 1]), (3, 4, 2), (4, 3)),
    (([2], [0]), (2, 3, 4), (4,)), (([], []), (2,), (3,)), ((-1, 0), (2, 3), (3, 2)), (2, (2, 0), (2, 0)),
])
def test_tensordot_matches_torch(dims, sa, sb, device):
    a, b = _pair(sa, device=device), _pair(sb, seed=1, device=device)
    if isinstance(dims, tuple) and isinstance(dims[0], int):
        dims = ([dims[0]], [dims[1]])
    _same(*_both(lambda m, x, y: m.tensordot(x, y, dims), a, b), atol=1e-10)
    _same(pe.tensordot(a[0], b[0], pe.tensor(dims) if isinstance(dims, int) else dims),
          torch.tensordot(a[1], b[1], torch.tensor(dims) if isinstance(dims, int) else dims), atol=1e-10)


def test_outer_cross_kron_match_torch(device):
    u, v = _pair((4,), device=device), _pair((3,), seed=1, device=device)
    _same(*_both(lambda m, a, b: m.outer(a, b), u, v))
    _same(*_both(lambda m, a, b: a.ger(b), u, v))
    _same(pe.outer(pe.arange(3, device=device), v[0]), torch.outer(torch.arange(3), v[1]))  # promotes as mul
    a, b = _pair((4, 3, 2), device=device), _pair((1, 3, 2), seed=1, device=device)
    _same(*_both(lambda m, x, y: m.cross(x, y, dim=1), a, b))
    _same(*_both(lambda m, x, y: x.cross(y, dim=-2), a, b))
    c, d = _pair((2, 3), view="T", device=device), _pair((2, 3), seed=2, device=device)
    _same(*_both(lambda m, x, y: m.cross(x, y, dim=1), c, d))
    for sa, sb in [((2, 3), (4,)), ((2, 1, 3), (3, 2)), ((0, 2), (3, 1)), ((), (2, 2))]:
        x, y = _pair(sa, device=device), _pair(sb, seed=3, device=device)
        _same(*_both(lambda m, p, q: m.kron(p, q), x, y))
        _same(*_both(lambda m, p, q: p.kron(q), x, y))


def test_cross_without_dim_takes_the_first_size_3_dim():
    a, b = _pair((2, 3, 3)), _pair((2, 3, 3), seed=1)
    with pytest.warns(UserWarning, match="dim"):
        got = pe.cross(a[0], b[0])
    _same(got, torch.linalg.cross(a[1], b[1], dim=1))


# ---------------------------------------------------------------- gradients
GRAD_CASES = [
    ("flip", lambda x: pe.flip(x, (0, 2)), [(2, 3, 4)]),
    ("fliplr", lambda x: pe.fliplr(x) * x, [(3, 3)]),
    ("roll", lambda x: pe.roll(x, (1, -2), (0, 1)), [(3, 4)]),
    ("roll_flat", lambda x: x.roll(5), [(3, 4)]),
    ("rot90", lambda x: pe.rot90(x, 3, (1, 2)), [(2, 3, 4)]),
    ("repeat_interleave_int", lambda x: x.repeat_interleave(3, dim=1), [(2, 3)]),
    ("repeat_interleave_tensor", lambda x: pe.repeat_interleave(x, pe.tensor([2, 0, 1]), dim=0), [(3, 2)]),
    ("tile", lambda x: x.tile(2, 1, 2), [(2, 3)]),
    ("meshgrid", lambda x, y: pe.meshgrid(x, y, indexing="xy")[0] * pe.meshgrid(x, y, indexing="xy")[1],
     [(3,), (2,)]),
    ("diagonal", lambda x: x.diagonal(1, 0, 2), [(3, 2, 4)]),
    ("diag_embed", lambda x: pe.diag_embed(x, -1, 0, 2), [(2, 3)]),
    ("diag_vec", lambda x: pe.diag(x, 1), [(3,)]),
    ("diag_mat", lambda x: pe.diag(x, -1), [(4, 3)]),
    ("trace", lambda x: pe.trace(x * x), [(3, 4)]),
    ("einsum_bmm", lambda a, b: pe.einsum("bij,bjk->bik", a, b), [(2, 3, 4), (2, 4, 2)]),
    ("einsum_diag_ellipsis", lambda a, b: pe.einsum("...ii,...i->...", a, b), [(2, 3, 3), (1, 3)]),
    ("einsum_three", lambda a, b, c: pe.einsum("ij,jk,k->i", a, b, c), [(2, 3), (3, 4), (4,)]),
    ("tensordot", lambda a, b: pe.tensordot(a, b, ([0, 2], [1, 0])), [(3, 2, 4), (4, 3, 5)]),
    ("outer", lambda a, b: pe.outer(a, b), [(3,), (4,)]),
    ("cross", lambda a, b: pe.cross(a, b, dim=0), [(3, 2), (3, 1)]),
    ("kron", lambda a, b: pe.kron(a, b), [(2, 3), (2, 1)]),
]


@pytest.mark.parametrize("name,fn,shapes", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradcheck(name, fn, shapes, device):
    rng = np.random.default_rng(0)
    gradcheck_on(device, fn, *[rng.standard_normal(s) for s in shapes])


def test_double_backward_through_flip_and_diagonal():
    x = pe.tensor(np.random.default_rng(1).standard_normal((3, 3)), requires_grad=True)
    for fn in (lambda t: (pe.flip(t, (0,)) * t).sum() ** 2, lambda t: (t.diagonal() ** 3).sum(),
               lambda t: (pe.diag_embed(t.diagonal()) * t).sum() ** 2):
        g, = pe.autograd.grad(fn(x), x, create_graph=True)
        tx = torch.tensor(x.detach().numpy(), requires_grad=True)
        tg, = torch.autograd.grad(_torch_version(fn, tx), tx, create_graph=True)
        _same(g, tg, atol=1e-10)
        gg, = pe.autograd.grad(g.sum(), x)
        tgg, = torch.autograd.grad(tg.sum(), tx)
        _same(gg, tgg, atol=1e-10)


def _torch_version(fn, tx):
    """fn written with pe calls, run on torch (the functions above use names both libraries have)."""
    import types
    globs = dict(fn.__globals__, pe=torch)
    return types.FunctionType(fn.__code__, globs)(tx)


FWD_CASES = [c for c in GRAD_CASES if len(c[2]) == 1]


@pytest.mark.parametrize("name,fn,shapes", FWD_CASES, ids=[c[0] for c in FWD_CASES])
def test_forward_ad_matches_torch(name, fn, shapes):
    rng = np.random.default_rng(2)
    x, v = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[0])
    with fwAD.dual_level():
        out = fn(fwAD.make_dual(pe.tensor(x), pe.tensor(v)))
        tangent = fwAD.unpack_dual(out).tangent
    _, want = torch.func.jvp(lambda t: _torch_version(fn, t), (torch.tensor(x),), (torch.tensor(v),))
    _same(tangent, want, atol=1e-10)


# ---------------------------------------------------------------- errors, against PyTorch's
ERROR_CASES = [
    ("flip_dup", lambda m: m.flip(m.zeros(2, 3), (0, 0)), "appears multiple times"),
    ("flip_dim", lambda m: m.flip(m.zeros(2, 3), (2,)), "out of range"),
    ("fliplr_1d", lambda m: m.fliplr(m.zeros(3)), ">= 2-d"),
    ("flipud_0d", lambda m: m.flipud(m.zeros(())), ">= 1-d"),
    ("roll_align", lambda m: m.roll(m.zeros(2, 3), (1, 2), 0), "shifts: 2, dims:1"),
    ("roll_flat_tuple", lambda m: m.roll(m.zeros(2, 3), (1, 2)), "shifts: 2, dims:0"),
    ("roll_empty", lambda m: m.roll(m.zeros(2, 3), ()), "`shifts` required"),
    ("roll_0d_dim", lambda m: m.roll(m.zeros(()), 1, 0), "no dimensions"),
    ("rot90_dims", lambda m: m.rot90(m.zeros(2, 3), 1, (0, 1, 2)), "dims = 3"),
    ("rot90_1d", lambda m: m.rot90(m.zeros(3)), "total dims = 1"),
    ("rot90_same", lambda m: m.rot90(m.zeros(2, 3), 1, (0, -2)), "dim0 = 0 and dim1 = -2"),
    ("ri_negative", lambda m: m.repeat_interleave(m.zeros(2, 3), -1), "non-negative"),
    ("ri_tensor_negative", lambda m: m.repeat_interleave(m.zeros(2, 3), m.tensor([1, -1]), dim=0), "negative"),
    ("ri_length", lambda m: m.repeat_interleave(m.zeros(2, 3), m.tensor([1, 1, 1]), dim=0),
     r"repeats.size\(0\) = 3 and input.size\(0\) = 2"),
    ("ri_2d", lambda m: m.repeat_interleave(m.zeros(2, 3), m.tensor([[1]]), dim=0), "0-dim or 1-dim"),
    ("ri_float", lambda m: m.repeat_interleave(m.zeros(2, 3), m.tensor([1.0, 1.0]), dim=0), "Float|float"),
    ("ri_output_size", lambda m: m.repeat_interleave(m.zeros(2, 3), m.tensor([1, 2]), dim=0, output_size=5),
     "allocated size"),
    ("ri_output_size_int", lambda m: m.repeat_interleave(m.zeros(2, 3), 2, dim=0, output_size=5),
     "expected 4 but got 5"),
    ("ri_index_2d", lambda m: m.repeat_interleave(m.tensor([[1, 2]])), "1D"),
    ("tile_negative", lambda m: m.tile(m.zeros(2, 3), (-1,)), "negative"),
    ("meshgrid_2d", lambda m: m.meshgrid(m.zeros(2, 2), m.zeros(2), indexing="ij"), "0D or 1D"),
    ("meshgrid_dtype", lambda m: m.meshgrid(m.arange(2), m.zeros(3), indexing="ij"), "same dtype"),
    ("meshgrid_indexing", lambda m: m.meshgrid(m.zeros(2), indexing="foo"), "received: foo"),
    ("meshgrid_empty", lambda m: m.meshgrid(indexing="ij"), "non-empty"),
    ("outer_2d", lambda m: m.outer(m.zeros(2, 2), m.zeros(2)), "1-D argument self, but got 2-D"),
    ("cross_no3", lambda m: m.cross(m.zeros(2, 2), m.zeros(2, 2)), "no dimension of size 3"),
    ("cross_length", lambda m: m.cross(m.zeros(3, 2), m.zeros(3, 2), dim=1), "must have length 3. Got 2 and 2"),
    ("cross_broadcast", lambda m: m.cross(m.zeros(4, 3), m.zeros(2, 3), dim=1), "4.*2|2.*4"),
    ("cross_dtype", lambda m: m.cross(m.zeros(3), m.zeros(3, dtype=m.float64), dim=0), "Float|float"),
    ("trace_1d", lambda m: m.trace(m.zeros(3)), "expected a matrix, but got tensor with dim 1"),
    ("trace_bool", lambda m: m.trace(m.zeros(2, 2, dtype=m.bool)), "Bool"),
    ("diag_3d", lambda m: m.diag(m.zeros(2, 2, 2)), "Supports 1D or 2D tensors. Got 3D"),
    ("diagonal_same", lambda m: m.diagonal(m.zeros(2, 3), 0, 1, 1), "cannot be identical 1, 1"),
    ("diagonal_1d", lambda m: m.diagonal(m.zeros(3)), "out of range"),
    ("diag_embed_same", lambda m: m.diag_embed(m.zeros(2, 3), 0, 1, 1), "cannot be identical"),
    ("einsum_fewer", lambda m: m.einsum("ij,jk", m.zeros(2, 3)), "fewer operands"),
    ("einsum_more", lambda m: m.einsum("ij", m.zeros(2, 3), m.zeros(2, 3)), "more operands"),
    ("einsum_char", lambda m: m.einsum("i1", m.zeros(2, 3)), "invalid subscript given at index 1"),
    ("einsum_ndim", lambda m: m.einsum("ijk", m.zeros(2, 3)), r"\(3\) does not match the number of dimensions \(2\)"),
    ("einsum_size", lambda m: m.einsum("ij,ij->", m.zeros(2, 3), m.zeros(3, 2)), "subscript i has size 3"),
    ("einsum_out_twice", lambda m: m.einsum("ij->ii", m.zeros(2, 3)), "appears more than once"),
    ("einsum_out_unknown", lambda m: m.einsum("ij->k", m.zeros(2, 3)), "output subscript k does not appear"),
    ("einsum_two_ellipses", lambda m: m.einsum("...i...", m.zeros(2, 3)), "already found"),
    ("einsum_dtype", lambda m: m.einsum("i,i->", m.zeros(2), m.zeros(2, dtype=m.float64)), "Float|float"),
    ("tensordot_negative", lambda m: m.tensordot(m.zeros(2, 3), m.zeros(3, 2), -1), "dims >= 0"),
    ("tensordot_too_many", lambda m: m.tensordot(m.zeros(2, 3), m.zeros(3, 2), 3), "dims=3"),
    ("tensordot_sizes", lambda m: m.tensordot(m.zeros(2, 3), m.zeros(2, 3), ([1], [0])),
     "size 3 in dim 1 and second has size 2 in dim 0"),
    ("tensordot_lengths", lambda m: m.tensordot(m.zeros(2, 3), m.zeros(2, 3), ([1], [0, 1])), "same length"),
    ("tensordot_dtype", lambda m: m.tensordot(m.zeros(2, 3), m.zeros(3, 2, dtype=m.float64), 1), "same dtype"),
]


@pytest.mark.parametrize("name,call,match", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_errors_match_torch(name, call, match):
    with pytest.raises(Exception) as want:
        call(torch)
    with pytest.raises(type(want.value), match=match):
        call(pe)


def test_huge_sizes_are_errors_not_allocations():
    x = pe.ones(2, 3)
    with pytest.raises(RuntimeError, match="more elements than int64"):
        pe.repeat_interleave(pe.ones(2), pe.tensor([2 ** 62, 2 ** 62]))
    with pytest.raises(RuntimeError, match="overflows int64|more elements"):
        pe.repeat_interleave(x, 2 ** 62, 0)
    with pytest.raises(RuntimeError, match="overflows int64"):
        pe.tile(x, (2 ** 40, 2 ** 40))
    with pytest.raises(ValueError, match="offset"):
        pe.diagonal(x, 2 ** 70)
    with pytest.raises(ValueError, match="shifts"):
        pe.roll(x, 2 ** 70)
