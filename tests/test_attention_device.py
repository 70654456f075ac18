"""F.scaled_dot_product_attention's fused kernel on every device (cuda/attention.cu on "cuda", the
emulated GPU in a PYENGINE_CUDA=EMU build; the CPU kernel on "cpu"): outputs and q/k/v gradients
against torch 2.13 (CPU), the CUDA kernel against the CPU kernel, and float64 gradcheck on the
device. Cases cross the CUDA tile sizes (64 rows/columns in float32, 32 in float64) and chunked
head dims, and cover 3-D/4-D inputs, E != Ev, L != S, broadcast batch dims, bool and additive masks
(broadcast, fully masked rows), causal with L < S and L > S, custom scale, strided/transposed views.
Shapes stay small: on the emulated GPU every CUDA thread is a fiber on a CPU thread."""
import sys
import textwrap

import numpy as np
import pytest

import pyengine as pe
import pyengine.nn.functional as F
from pyengine import _C
from pyengine.tensor import _wrap

from _child_python import UNDER_SANITIZER, run_python
from device_gradcheck import gradcheck_on

torch = pytest.importorskip("torch")

rng = np.random.default_rng(13)
HAS_CUDA = pe.cuda.is_available()


def npy(t):
    return t.detach().cpu().numpy()


def tol(dtype):
    return dict(rtol=2e-4, atol=2e-5) if dtype == "float32" else dict(rtol=1e-9, atol=1e-11)


# A case: (q shape, k shape, v shape, mask spec, is_causal, scale). Mask spec: None,
# ("bool"|"add", shape) or ("bool_blind", shape) (a bool mask with fully masked query rows).
CASES = {
    "3d": ((2, 7, 5), (2, 9, 5), (2, 9, 3), None, False, None),
    "4d_E_ne_Ev": ((2, 3, 6, 4), (2, 3, 11, 4), (2, 3, 11, 7), None, False, None),
    "tiles_L_gt_S": ((1, 70, 6), (1, 37, 6), (1, 37, 5), None, False, None),
    "tiles_S_gt_L": ((2, 33, 3), (2, 67, 3), (2, 67, 4), None, False, None),
    "head_chunks": ((1, 5, 67), (1, 4, 67), (1, 4, 70), None, False, 0.05),
    "broadcast_batch": ((2, 3, 5, 4), (1, 3, 6, 4), (3, 6, 2), None, False, None),
    "unbatched": ((5, 4), (6, 4), (6, 3), None, False, None),
    "bool_mask_2d": ((2, 2, 9, 4), (2, 2, 10, 4), (2, 2, 10, 3), ("bool", (9, 10)), False, None),
    "bool_key_padding": ((2, 3, 8, 4), (2, 3, 7, 4), (2, 3, 7, 4), ("bool", (2, 1, 1, 7)), False, None),
    "bool_blind_rows": ((2, 36, 4), (2, 35, 4), (2, 35, 3), ("bool_blind", (2, 36, 35)), False, None),
    "additive_mask": ((2, 3, 8, 4), (2, 3, 70, 4), (2, 3, 70, 2), ("add", (3, 8, 70)), False, None),
    "additive_neg_inf_rows": ((2, 6, 4), (2, 5, 4), (2, 5, 3), ("add_blind", (6, 5)), False, None),
    "causal_L_lt_S": ((2, 2, 5, 4), (2, 2, 9, 4), (2, 2, 9, 3), None, True, None),
    "causal_L_gt_S": ((2, 70, 4), (2, 40, 4), (2, 40, 3), None, True, None),
    "causal_square_tiles": ((1, 66, 3), (1, 66, 3), (1, 66, 3), None, True, 0.7),
    "custom_scale": ((2, 6, 5), (2, 7, 5), (2, 7, 5), ("add", (6, 7)), False, 1.7),
    "size_one": ((1, 1), (1, 1), (1, 1), None, True, None),
    "one_key": ((3, 5, 2), (3, 1, 2), (3, 1, 4), ("bool", (5, 1)), False, None),
}


def make_mask(spec, dtype):
    if spec is None:
        return None
    kind, shape = spec
    if kind.startswith("bool"):
        m = rng.random(shape) < 0.7
        if kind == "bool_blind":
            m[..., 1, :] = False  # query row 1 sees no key
            m[..., -1, :] = False
        return m
    m = rng.standard_normal(shape).astype(dtype)
    if kind == "add_blind":
        m[2, :] = -np.inf
    return m


def case_arrays(name, dtype):
    qs, ks, vs, mspec, causal, scale = CASES[name]
    arrays = [rng.standard_normal(s).astype(dtype) for s in (qs, ks, vs)]
    return arrays, make_mask(mspec, dtype), causal, scale


def run_pe(device, arrays, mask, causal, scale, grad_out):
    xs = [pe.tensor(a, device=device, requires_grad=True) for a in arrays]
    m = None if mask is None else pe.tensor(mask, device=device)
    out = F.scaled_dot_product_attention(*xs, attn_mask=m, is_causal=causal, scale=scale)
    assert out.device.type == pe.device(device).type
    assert_fused(out)
    (out * pe.tensor(grad_out, device=device)).sum().backward()
    return npy(out), [npy(x.grad) for x in xs]


def assert_fused(out):
    """F.scaled_dot_product_attention took the fused kernels (not the composed plain path)."""
    assert type(out.grad_fn).__name__ == "FusedAttentionBackward", out.grad_fn


def run_torch(arrays, mask, causal, scale, grad_out):
    xs = [torch.tensor(a, requires_grad=True) for a in arrays]
    m = None if mask is None else torch.tensor(mask)
    out = torch.nn.functional.scaled_dot_product_attention(*xs, attn_mask=m, is_causal=causal, scale=scale)
    (out * torch.tensor(grad_out)).sum().backward()
    return out.detach().numpy(), [x.grad.numpy() for x in xs]


def grad_out_for(arrays, mask, causal, scale):
    out, _ = run_torch(arrays, mask, causal, scale, np.zeros(1, arrays[0].dtype))
    return rng.standard_normal(out.shape).astype(arrays[0].dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(device, name, dtype):
    arrays, mask, causal, scale = case_arrays(name, dtype)
    g = grad_out_for(arrays, mask, causal, scale)
    out, grads = run_pe(device, arrays, mask, causal, scale, g)
    ref, ref_grads = run_torch(arrays, mask, causal, scale, g)
    np.testing.assert_allclose(out, ref, **tol(dtype))
    for got, want, what in zip(grads, ref_grads, "qkv"):
        assert got.shape == want.shape, what
        np.testing.assert_allclose(got, want, err_msg=f"d{what}", **tol(dtype))


def sum_to(g, shape):
    """A gradient over the broadcast batch shape summed back to an input's shape."""
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    return g.sum(axis=tuple(d for d, n in enumerate(shape) if n == 1 and g.shape[d] != 1), keepdims=True)


def run_kernels(device, arrays, mask, causal, scale, grad_out):
    """The fused kernels through the bindings (no routing by the Python layer in between)."""
    t = lambda a: pe.tensor(a, device=device)._impl
    scale = 1.0 / np.sqrt(arrays[0].shape[-1]) if scale is None else scale
    m = None if mask is None else t(mask)
    out, lse = _C.scaled_dot_product_attention(*map(t, arrays), m, causal, scale)
    grads = _C.scaled_dot_product_attention_backward(t(grad_out), *map(t, arrays), m, causal, scale, out, lse)
    return npy(_wrap(out)), [sum_to(npy(_wrap(g)), a.shape) for g, a in zip(grads, arrays)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_kernels_match_torch(device, name, dtype):
    arrays, mask, causal, scale = case_arrays(name, dtype)
    g = grad_out_for(arrays, mask, causal, scale)
    out, grads = run_kernels(device, arrays, mask, causal, scale, g)
    ref, ref_grads = run_torch(arrays, mask, causal, scale, g)
    np.testing.assert_allclose(out, ref, **tol(dtype))
    for got, want, what in zip(grads, ref_grads, "qkv"):
        np.testing.assert_allclose(got, want, err_msg=f"d{what}", **tol(dtype))


def views(arrays):
    """The same values as strided views: q sliced with a step, k transposed, v a column slice."""
    q, k, v = arrays
    qb = np.zeros(q.shape[:-2] + (2 * q.shape[-2], q.shape[-1]), q.dtype)
    qb[..., ::2, :] = q
    kb = np.ascontiguousarray(np.swapaxes(k, -1, -2))
    vb = np.zeros(v.shape[:-1] + (v.shape[-1] + 3,), v.dtype)
    vb[..., 1:-2] = v
    return (lambda t: t[..., ::2, :], qb), (lambda t: t.transpose(-2, -1), kb), (lambda t: t[..., 1:-2], vb)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["tiles_S_gt_L", "bool_mask_2d", "causal_L_gt_S"])
def test_strided_and_transposed_views(device, name, dtype):
    arrays, mask, causal, scale = case_arrays(name, dtype)
    g = grad_out_for(arrays, mask, causal, scale)
    ref, ref_grads = run_torch(arrays, mask, causal, scale, g)
    bases = [pe.tensor(b, device=device, requires_grad=True) for _, b in views(arrays)]
    xs = [f(b) for (f, _), b in zip(views(arrays), bases)]
    assert not any(x.is_contiguous() for x in xs)
    m = None if mask is None else pe.tensor(mask, device=device)
    out = F.scaled_dot_product_attention(*xs, attn_mask=m, is_causal=causal, scale=scale)
    assert_fused(out)
    (out * pe.tensor(g, device=device)).sum().backward()
    np.testing.assert_allclose(npy(out), ref, **tol(dtype))
    for (f, _), b, want in zip(views(arrays), bases, ref_grads):
        np.testing.assert_allclose(npy(f(b.grad)), want, **tol(dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mask_kind", [None, "bool", "add"])
def test_kernels_read_strided_views_in_place(device, mask_kind, dtype):
    # q sliced with a step, k transposed, v a column slice, the mask a transposed view: read in
    # place by the kernels (the op layer passes their strides), sizes crossing the CUDA tiles.
    arrays, _, _, scale = case_arrays("tiles_S_gt_L", dtype)
    L, S = arrays[0].shape[-2], arrays[1].shape[-2]
    mask = None if mask_kind is None else make_mask((mask_kind, (L, S)), dtype)
    g = grad_out_for(arrays, mask, False, scale)
    ref, ref_grads = run_torch(arrays, mask, False, scale, g)
    xs = [f(pe.tensor(b, device=device))._impl for f, b in views(arrays)]
    m = None if mask is None else pe.tensor(np.ascontiguousarray(mask.T), device=device).transpose(0, 1)._impl
    sc = 1.0 / np.sqrt(arrays[0].shape[-1])
    out, lse = _C.scaled_dot_product_attention(*xs, m, False, sc)
    grads = _C.scaled_dot_product_attention_backward(pe.tensor(g, device=device)._impl, *xs, m, False, sc, out, lse)
    np.testing.assert_allclose(npy(_wrap(out)), ref, **tol(dtype))
    for got, want in zip(grads, ref_grads):
        np.testing.assert_allclose(npy(_wrap(got)), want, **tol(dtype))


@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device (or the emulated one)")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_cuda_matches_cpu(name, dtype):
    arrays, mask, causal, scale = case_arrays(name, dtype)
    g = grad_out_for(arrays, mask, causal, scale)
    out_cu, grads_cu = run_kernels("cuda", arrays, mask, causal, scale, g)
    out_cp, grads_cp = run_kernels("cpu", arrays, mask, causal, scale, g)
    np.testing.assert_allclose(out_cu, out_cp, **tol(dtype))
    for a, b in zip(grads_cu, grads_cp):
        np.testing.assert_allclose(a, b, **tol(dtype))


@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device (or the emulated one)")
def test_cuda_is_deterministic():
    arrays, mask, causal, scale = case_arrays("tiles_S_gt_L", "float32")
    g = grad_out_for(arrays, mask, causal, scale)
    first = run_kernels("cuda", arrays, mask, causal, scale, g)
    second = run_kernels("cuda", arrays, mask, causal, scale, g)
    np.testing.assert_array_equal(first[0], second[0])
    for a, b in zip(first[1], second[1]):
        np.testing.assert_array_equal(a, b)


def test_nan_input_makes_only_its_row_nan(device):
    q, k, v = (rng.standard_normal(s) for s in ((1, 40, 3), (1, 35, 3), (1, 35, 2)))
    q[0, 5, 1] = np.nan
    out = npy(F.scaled_dot_product_attention(*(pe.tensor(a, device=device) for a in (q, k, v))))
    assert np.isnan(out[0, 5]).all()
    assert np.isfinite(np.delete(out, 5, axis=1)).all()


# ---------------------------------------------------------------- float64 gradcheck on the device

GRADCHECK = {
    "plain": ((2, 3, 4), (2, 5, 4), (2, 5, 3), None, False, None),
    "bool_blind_rows": ((2, 4, 3), (2, 5, 3), (2, 5, 2), ("bool_blind", (2, 4, 5)), False, None),
    "additive_broadcast": ((2, 2, 3, 3), (2, 2, 4, 3), (2, 2, 4, 2), ("add", (2, 1, 3, 4)), False, None),
    "additive_neg_inf_row": ((2, 4, 3), (2, 5, 3), (2, 5, 2), ("add_blind", (4, 5)), False, None),
    "causal_L_gt_S": ((1, 6, 3), (1, 4, 3), (1, 4, 2), None, True, None),
    "causal_L_lt_S_scale": ((2, 3, 2), (2, 5, 2), (2, 5, 3), None, True, 0.4),
    "broadcast_batch": ((2, 2, 3, 2), (1, 2, 4, 2), (2, 4, 2), None, False, None),
    "tile_crossing": ((1, 33, 2), (1, 34, 2), (1, 34, 2), ("bool", (33, 34)), False, None),
}


@pytest.mark.parametrize("name", sorted(GRADCHECK))
def test_gradcheck_float64(device, name):
    qs, ks, vs, mspec, causal, scale = GRADCHECK[name]
    arrays = [rng.standard_normal(s) for s in (qs, ks, vs)]
    mask = make_mask(mspec, "float64")
    m = None if mask is None else pe.tensor(mask, device=device)
    fn = lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=causal, scale=scale)
    assert_fused(fn(*(pe.tensor(a, device=device, requires_grad=True) for a in arrays)))
    assert gradcheck_on(device, fn, *arrays)


# ---------------------------------------------------------------- memory

MEMORY_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import pyengine as pe
    from pyengine import _C

    def status(key):  # bytes
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key))

    def reset_peak():  # the peak resident set size (VmHWM) back to the current one
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return status("VmHWM")

    causal, L, S = bool(int(sys.argv[1])), int(sys.argv[2]), int(sys.argv[3])
    H, E = 4, 16
    rng = np.random.default_rng(0)
    def warm_up(*shape):  # the emulator's thread pool and fiber stacks, allocator caches
        q, k, v, g = (pe.tensor(rng.standard_normal(shape), device="cuda")._impl for _ in range(4))
        out, lse = _C.scaled_dot_product_attention(q, k, v, None, causal, 0.25)
        _C.scaled_dot_product_attention_backward(g, q, k, v, None, causal, 0.25, out, lse)
    warm_up(8, 256, E)
    q, g = (pe.tensor(rng.standard_normal((H, L, E)), device="cuda")._impl for _ in range(2))
    k, v = (pe.tensor(rng.standard_normal((H, S, E)), device="cuda")._impl for _ in range(2))
    try:
        before = reset_peak()
    except OSError:
        print("skip")
        sys.exit()
    out, lse = _C.scaled_dot_product_attention(q, k, v, None, causal, 0.25)
    forward = status("VmHWM") - before
    before = reset_peak()
    grads = _C.scaled_dot_product_attention_backward(g, q, k, v, None, causal, 0.25, out, lse)
    backward = status("VmHWM") - before
    print(forward, backward, H * L * S * 8)
""")


@pytest.mark.skipif(not HAS_CUDA or not pe.cuda.is_emulated() or not sys.platform.startswith("linux"),
                    reason="device memory is host memory only on the emulated GPU; peak RSS from Linux's /proc")
@pytest.mark.skipif(UNDER_SANITIZER, reason="sanitizer shadow memory swamps the resident-set measurement")
@pytest.mark.parametrize("L, S, causal", [(1024, 1024, 0), (1024, 1024, 1), (256, 4096, 0)])
def test_cuda_kernels_memory_does_not_grow_with_L_times_S(L, S, causal):
    # pyengine exposes no device-memory statistics; on the emulated GPU device memory is the
    # process's memory, so the peak resident set of a fresh process bounds what the kernels and
    # their outputs took: O(H * L * E) here (out, lse, the gradients, the O(L) scratch), where
    # the (L, S) scores alone would be H * L * S * 8 bytes (32 MiB).
    res = run_python(["-c", MEMORY_SCRIPT, str(causal), str(L), str(S)], capture_output=True, text=True,
                     timeout=300)
    assert res.returncode == 0, res.stderr
    if res.stdout.strip() == "skip":
        pytest.skip("/proc/self/clear_refs is not writable here")
    forward, backward, scores_bytes = map(int, res.stdout.split())
    assert forward < scores_bytes // 8, (forward, scores_bytes)
    assert backward < scores_bytes // 8, (backward, scores_bytes)
