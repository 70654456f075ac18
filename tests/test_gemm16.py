"""Products of float16/bfloat16 tensors on the CPU (issue 15): float32 accumulation, one rounding.

The operands reach cpu::gemm16 as they are: bfloat16 runs on the AVX512_BF16 dot-product
instruction where the CPU has it (and the AVX-512 kernels are active), else - and float16 always -
the 16-bit values are widened to float32 while packing. Both paths run here on every ISA the CPU
can run, on shapes around the micro-tile (12 x 32 and its variants), odd k (a half-filled last
pair), k split into blocks (tiny cache sizes), strided and transposed views and broadcast batches,
against float64 products of the very same 16-bit values and against torch 2.13.
"""
import numpy as np
import pytest

import pyengine as pe
from pyengine import _C
from test_gemm_kernels import ISAS, isa, tiny_caches  # the ISAs this CPU runs, the switch, the blocking hook

HALF = [pe.bfloat16, pe.float16]
SIZES = [(1, 1, 1), (1, 70, 33), (33, 70, 1), (5, 7, 9), (12, 3, 32), (13, 17, 33), (24, 64, 16),
         (25, 65, 47), (40, 129, 70), (64, 300, 96)]


def rounded(rng, shape, dtype):
    """Random values already representable in `dtype`, as a pyengine tensor and float64 array."""
    t = pe.tensor(rng.standard_normal(shape).astype(np.float32)).to(dtype)
    return t, t.float().numpy().astype(np.float64)


def check_rounded_sum(got, ref, scale, k, dtype):
    """got == round(ref) for ref a sum of k exact products (float64) whose absolute values sum to
    `scale`: float32 accumulation (a few float32 eps of scale per term), then one 16-bit rounding
    (one unit of the result's last place, relative)."""
    unit = 2.0 ** -8 if dtype == pe.bfloat16 else 2.0 ** -11  # the final rounding, relative
    bound = unit * np.abs(ref) + 4 * np.finfo(np.float32).eps * (k + 2) * scale * (1 + unit) + 1e-30
    assert got.dtype == dtype
    err = np.abs(got.detach().float().cpu().numpy().astype(np.float64) - ref)
    assert tuple(got.shape) == ref.shape
    assert np.all(err <= bound), f"max error {err.max()} at bound {bound.flat[np.argmax(err - bound)]}"


def check_product(got, a64, b64, dtype):
    """got == round(a @ b): the float32 sum of k exact products, then one 16-bit rounding."""
    check_rounded_sum(got, np.matmul(a64, b64), np.matmul(np.abs(a64), np.abs(b64)), a64.shape[-1], dtype)


def test_bf16_path_follows_the_isa_choice():
    with isa("avx512" if "avx512" in ISAS else ISAS[-1]):
        has_dot = _C.bf16_gemm_path() == "avx512_bf16"
    if not has_dot:
        pytest.skip("this CPU or build has no AVX512_BF16 dot-product kernel")
    for name in ISAS:
        with isa(name):
            assert _C.bf16_gemm_path() == ("avx512_bf16" if name == "avx512" else "float32")


@pytest.mark.parametrize("name", ISAS)
@pytest.mark.parametrize("dtype", HALF, ids=str)
@pytest.mark.parametrize("mkn", SIZES, ids=str)
def test_matmul_edge_sizes(name, dtype, mkn):
    m, k, n = mkn
    rng = np.random.default_rng(m * 10007 + k * 101 + n)
    a, a64 = rounded(rng, (m, k), dtype)
    b, b64 = rounded(rng, (k, n), dtype)
    with isa(name):
        check_product(a @ b, a64, b64, dtype)
        with tiny_caches():
            check_product(a @ b, a64, b64, dtype)


@pytest.mark.parametrize("name", ISAS)
@pytest.mark.parametrize("dtype", HALF, ids=str)
@pytest.mark.parametrize("kinds", ["tc", "ct", "tt", "sc", "cs"])
def test_strided_and_transposed_operands(name, dtype, kinds):
    rng = np.random.default_rng(7)
    m, k, n = 37, 71, 45

    def operand(rows, cols, kind):
        if kind == "c":
            return rounded(rng, (rows, cols), dtype)
        if kind == "t":
            t, x = rounded(rng, (cols, rows), dtype)
            return t.T, x.T
        t, x = rounded(rng, (2 * rows + 1, 3 * cols + 2), dtype)  # sliced: neither stride is 1
        return t[1::2, 2::3], x[1::2, 2::3]

    (a, a64), (b, b64) = operand(m, k, kinds[0]), operand(k, n, kinds[1])
    with isa(name):
        check_product(a @ b, a64, b64, dtype)


@pytest.mark.parametrize("name", ISAS)
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_batched_and_broadcast_products(name, dtype):
    rng = np.random.default_rng(3)
    a, a64 = rounded(rng, (3, 1, 20, 35), dtype)
    b, b64 = rounded(rng, (4, 35, 40), dtype)
    with isa(name):
        check_product(a @ b, a64, b64, dtype)  # batch (3, 4): a broadcast over b's batch
        w, w64 = rounded(rng, (35, 50), dtype)
        check_product(a @ w, a64, w64, dtype)  # one shared matrix: one tall product
        check_product(pe.bmm(b.mT, b[:, :, :30]), np.swapaxes(b64, 1, 2), b64[:, :, :30], dtype)


@pytest.mark.parametrize("name", ISAS)
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_small_integers_multiply_exactly(name, dtype):
    """Integers below 2**8 are exact in both 16-bit types and their products and sums of these
    sizes are exact in float32, so every path must give the integer product exactly (a packing
    slip - a wrong pair, a lost k, an edge row - shows as a wrong integer)."""
    rng = np.random.default_rng(11)
    m, k, n = 29, 67, 53
    a = rng.integers(-8, 9, (m, k))
    b = rng.integers(-8, 9, (k, n))
    ref = a @ b  # |ref| <= 64 * 67 < 2**13: exact in float32, and exact in bfloat16 only if small
    pa, pb = pe.tensor(a.astype(np.float32)).to(dtype), pe.tensor(b.astype(np.float32)).to(dtype)
    with isa(name):
        got = (pa @ pb).float().numpy()
        with tiny_caches():
            got_blocked = (pa @ pb).float().numpy()
    want = pe.tensor(ref.astype(np.float32)).to(dtype).float().numpy()  # the one rounding
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got_blocked, want)


@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_dot_product_and_widened_paths_agree(dtype):
    rng = np.random.default_rng(5)
    a, _ = rounded(rng, (50, 200), dtype)
    b, _ = rounded(rng, (200, 70), dtype)
    results = []
    for name in ISAS:
        with isa(name):
            results.append((a @ b).float().numpy())
    for r in results[1:]:  # same float32 sums in another order: within one 16-bit rounding
        np.testing.assert_allclose(r, results[0], rtol=2 ** -7, atol=1e-3)


@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_nan_and_inf_propagate(dtype):
    a = pe.ones(16, 40, dtype=dtype)
    b = pe.ones(40, 40, dtype=dtype)
    a[3, 5] = float("nan")
    b[7, 9] = float("inf")
    for name in ISAS:
        with isa(name):
            out = (a @ b).float().numpy()
        assert np.isnan(out[3]).all()  # row 3 met a NaN in every column
        assert np.isinf(out[np.arange(16) != 3, 9]).all() and (out[np.arange(16) != 3, 9] > 0).all()
        rest = np.ones((16, 40), bool)
        rest[3] = False
        rest[:, 9] = False
        assert (out[rest] == 40).all()


@pytest.mark.parametrize("name", ISAS)
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_gemm_inplace_with_alpha_beta(name, dtype):
    rng = np.random.default_rng(2)
    a, a64 = rounded(rng, (30, 45), dtype)
    b, b64 = rounded(rng, (45, 50), dtype)
    c, c64 = rounded(rng, (30, 50), dtype)
    with isa(name):
        _C.gemm_(c._impl, a._impl, b._impl, 0.5, 2.0)
    ref = 0.5 * a64 @ b64 + 2.0 * c64
    unit = 2.0 ** -8 if dtype == pe.bfloat16 else 2.0 ** -11
    scale = 0.5 * np.abs(a64) @ np.abs(b64) + 2 * np.abs(c64)
    np.testing.assert_array_less(np.abs(c.float().numpy() - ref), unit * np.abs(ref) + 1e-4 * scale + 1e-30)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_linear_forward_and_backward_match_torch(dtype):
    """nn.Linear on a 16-bit module, forward and both gradients, against torch's CPU kernels."""
    torch = pytest.importorskip("torch")
    pe.manual_seed(0)
    lin = pe.nn.Linear(96, 80).to(getattr(pe, dtype))
    tlin = torch.nn.Linear(96, 80).to(getattr(torch, dtype))
    with torch.no_grad():
        tlin.weight.copy_(torch.from_numpy(lin.weight.float().detach().numpy()))
        tlin.bias.copy_(torch.from_numpy(lin.bias.float().detach().numpy()))
    x = np.random.default_rng(0).standard_normal((64, 96)).astype(np.float32)
    px = pe.tensor(x).to(getattr(pe, dtype)).requires_grad_()
    tx = torch.from_numpy(x).to(getattr(torch, dtype)).requires_grad_()
    out, tout = lin(px), tlin(tx)
    tol = dict(rtol=2 ** -6, atol=2e-2) if dtype == "bfloat16" else dict(rtol=2 ** -9, atol=2e-3)
    np.testing.assert_allclose(out.float().detach().numpy(), tout.float().detach().numpy(), **tol)
    g = np.random.default_rng(1).standard_normal((64, 80)).astype(np.float32)
    out.backward(pe.tensor(g).to(getattr(pe, dtype)))
    tout.backward(torch.from_numpy(g).to(getattr(torch, dtype)))
    assert px.grad.dtype == getattr(pe, dtype) and lin.weight.grad.dtype == getattr(pe, dtype)
    np.testing.assert_allclose(px.grad.float().numpy(), tx.grad.float().numpy(), **tol)
    w_tol = dict(tol, atol=tol["atol"] * 8)  # sums over 64 rows
    np.testing.assert_allclose(lin.weight.grad.float().numpy(), tlin.weight.grad.float().numpy(), **w_tol)
    np.testing.assert_allclose(lin.bias.grad.float().numpy(), tlin.bias.grad.float().numpy(), **w_tol)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_matmul_matches_torch(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    a = rng.standard_normal((2, 70, 130)).astype(np.float32)
    b = rng.standard_normal((130, 90)).astype(np.float32)
    got = (pe.tensor(a).to(getattr(pe, dtype)) @ pe.tensor(b).to(getattr(pe, dtype))).float().numpy()
    want = (torch.from_numpy(a).to(getattr(torch, dtype)) @ torch.from_numpy(b).to(getattr(torch, dtype))).float()
    # Both round float32 sums once; the sums' order differs, so a result may sit one 16-bit
    # step away where the float32 sum lies near a rounding boundary.
    step = 2.0 ** -7 if dtype == "bfloat16" else 2.0 ** -10
    np.testing.assert_allclose(got, want.numpy(), rtol=step, atol=step)
