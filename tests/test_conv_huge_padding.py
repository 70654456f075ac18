"""Convolutions whose padding and dilation are huge but whose outputs are small, against PyTorch.

`F.conv1d(x (1,1,9), w (1,1,3), dilation=2**30, padding=2**30)` has 9 outputs, but the CPU
kernels used to copy the image into a zero-padded buffer 2**31 pixels long (and compute on grids
as wide): gigabytes, or the OOM killer. The scratch of a convolution is now bounded by the
problem (image, column matrix, output), never by padding or dilation alone (cpu/conv.cpp,
padding_dominates). Every case runs forward and both gradients in a child process under an
address-space limit, so a regression fails as a MemoryError or a kill rather than as a slow or
swapping machine; PyTorch computes the reference in this process (float64, exact comparison up
to rounding)."""
import json
import os
import textwrap
import zlib

import numpy as np
import pytest

import pyengine as pe
from pyengine.nn import functional as F
from _child_python import UNDER_SANITIZER, python_env, run_python

torch = pytest.importorskip("torch")

# Far below the 16 GiB the padded copy of the first case took, well above what the problems need.
LIMIT_BYTES = 1536 << 20

# name: (op, input shape, weight shape, bias, keyword arguments)
CASES = {
    "conv1d dilation=padding=2**30": ("conv1d", (1, 1, 9), (1, 1, 3), False, dict(dilation=2**30, padding=2**30)),
    "conv1d groups": ("conv1d", (2, 4, 7), (6, 2, 3), True, dict(dilation=2**28 + 1, padding=2**28 + 1, groups=2)),
    "conv1d batched chunks": ("conv1d", (8, 2, 5), (3, 2, 3), True, dict(dilation=2**28, padding=2**28)),
    "conv1d strided": ("conv1d", (2, 2, 11), (3, 2, 2), True, dict(stride=3, dilation=2**30, padding=2**29)),
    "conv1d 1-tap, padding=2**31": ("conv1d", (1, 2, 5), (3, 2, 1), False, dict(stride=2**30, padding=2**31)),
    "conv1d strided input view": ("conv1d", (1, 3, 9), (2, 3, 3), False,
                                  dict(dilation=2**30, padding=2**30, transpose_input=True)),
    "conv2d": ("conv2d", (1, 2, 5, 6), (4, 2, 3, 3), True, dict(dilation=(2**20, 2**15), padding=(2**20, 2**15))),
    "conv2d groups strided": ("conv2d", (2, 4, 6, 5), (4, 2, 3, 2), False,
                              dict(stride=(2, 1), dilation=(2**25, 2**24), padding=(2**25, 2**23), groups=2)),
    # padded to (2**32 + 3)**2 pixels: not even countable in int64
    "conv2d padded size past int64": ("conv2d", (1, 1, 3, 3), (2, 1, 2, 2), True, dict(dilation=2**32, padding=2**31)),
    "conv2d 1x1 stride=2**40": ("conv2d", (1, 1, 1, 1), (1, 1, 1, 1), False, dict(stride=2**40, padding=2**31)),
    "conv_transpose1d": ("conv_transpose1d", (1, 2, 9), (2, 3, 3), True, dict(dilation=2**30, padding=2**30)),
    "conv_transpose1d groups strided": ("conv_transpose1d", (2, 2, 5), (2, 1, 3), False,
                                        dict(stride=2, dilation=2**29, padding=2**29, output_padding=1, groups=2)),
    "conv_transpose1d batched chunks": ("conv_transpose1d", (8, 3, 4), (3, 2, 2), True,
                                        dict(dilation=2**30, padding=2**29)),
    "conv_transpose2d": ("conv_transpose2d", (1, 2, 3, 4), (2, 2, 3, 2), True,
                         dict(dilation=(2**20, 2**21), padding=(2**20, 2**20))),
}

# The child: pyengine only (no torch), under the limit; inputs and results through .npy files.
CHILD = textwrap.dedent("""
    import json, os, resource, sys
    case = json.loads(sys.argv[1])
    if case["limit"]:
        resource.setrlimit(resource.RLIMIT_AS, (case["limit"], case["limit"]))
    import numpy as np
    import pyengine as pe
    from pyengine.nn import functional as F
    folder, kw = case["folder"], case["kwargs"]
    load = lambda name: pe.tensor(np.load(os.path.join(folder, name + ".npy")), requires_grad=True)
    x, w = load("x"), load("w")
    b = load("b") if case["bias"] else None
    x_in = x
    if kw.pop("transpose_input", False):  # the same values, read through a non-contiguous view
        x_in = (x.transpose(1, 2) + 0).transpose(1, 2)
    for k, v in kw.items():
        if isinstance(v, list):
            kw[k] = tuple(v)
    y = getattr(F, case["op"])(x_in, w, b, **kw)
    y.backward(pe.tensor(np.load(os.path.join(folder, "g.npy"))))
    out = {"y": y, "gx": x.grad, "gw": w.grad}
    if b is not None:
        out["gb"] = b.grad
    for name, t in out.items():
        np.save(os.path.join(folder, name + ".npy"), t.detach().numpy())
    print("DONE")
""")


def _torch_reference(op, x, w, b, kw, g=None):
    """PyTorch's output and gradients for upstream gradient g (random when None): (g, results)."""
    kw = {k: v for k, v in kw.items() if k != "transpose_input"}
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True) if b is not None else None
    y = getattr(torch.nn.functional, op)(xt, wt, bt, **kw)
    if g is None:
        g = np.random.default_rng(1).standard_normal(tuple(y.shape))
    y.backward(torch.tensor(g))
    want = {"y": y.detach().numpy(), "gx": xt.grad.numpy(), "gw": wt.grad.numpy()}
    if bt is not None:
        want["gb"] = bt.grad.numpy()
    return g, want


def _run_child(tmp_path, op, x, w, b, g, kw):
    for name, a in (("x", x), ("w", w), ("b", b), ("g", g)):
        if a is not None:
            np.save(tmp_path / f"{name}.npy", a)
    case = dict(op=op, kwargs=kw, bias=b is not None, folder=str(tmp_path),
                limit=0 if UNDER_SANITIZER else LIMIT_BYTES)
    # Few malloc arenas and threads: the limit is on address space, which each of them reserves.
    env = python_env(MALLOC_ARENA_MAX="2", OMP_NUM_THREADS="2")
    r = run_python(["-c", CHILD, json.dumps(case)], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "DONE" in r.stdout, f"rc={r.returncode}\n{r.stdout}\n{r.stderr[-3000:]}"
    return {name: np.load(tmp_path / f"{name}.npy") for name in ("y", "gx", "gw", "gb") if (tmp_path / f"{name}.npy").exists()}


@pytest.mark.parametrize("name", list(CASES))
def test_huge_padding_and_dilation_match_torch_in_bounded_memory(name, tmp_path):
    op, xs, ws, bias, kw = CASES[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    out_channels = ws[0] if op.startswith("conv") and "transpose" not in op else ws[1] * kw.get("groups", 1)
    b = rng.standard_normal(out_channels) if bias else None
    g, want = _torch_reference(op, x, w, b, kw)
    assert want["y"].size <= 512  # the point: small outputs
    got = _run_child(tmp_path, op, x, w, b, g, dict(kw))
    assert sorted(got) == sorted(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-12, atol=1e-12, err_msg=f"{name}: {key}")


def test_huge_dilation_keeps_the_nonfinite_rules(tmp_path):
    # The bounded path keeps the rule of tests/test_conv_nonfinite.py: a padded zero times an
    # infinite weight is NaN in the forward, but a tap that reaches no pixel forms no product in
    # the input gradient. Small integers, so every sum is exact.
    x = np.arange(1.0, 10.0).reshape(1, 1, 9)
    w = np.array([[[np.inf, 1.0, 2.0]]])  # the infinite tap reads only padding
    kw = dict(dilation=2**30, padding=2**30)
    g = 1.0 + np.arange(9.0).reshape(1, 1, 9) % 3  # integers, so the products are exact
    _, want = _torch_reference("conv1d", x, w, None, kw, g)
    assert np.isnan(want["y"]).all() and np.isfinite(want["gx"]).all()  # both rules at work
    got = _run_child(tmp_path, "conv1d", x, w, None, g, dict(kw))
    for key in want:
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)


@pytest.mark.skipif(not pe.cuda.is_available(), reason="no CUDA device (real or emulated)")
@pytest.mark.parametrize("name", list(CASES))
def test_huge_padding_on_cuda_matches_torch_or_names_the_limit(name):
    # The CUDA kernels are implicit GEMMs with no padded buffer; they narrow coordinates to int
    # and refuse, naming the argument, what exceeds 2**29. (The CPU runs in the child above.)
    device = "cuda"
    op, xs, ws, bias, kw = CASES[name]
    kw = {k: v for k, v in kw.items() if k != "transpose_input"}
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    g, want = _torch_reference(op, x, w, None, kw)
    px, pw = pe.tensor(x, device=device, requires_grad=True), pe.tensor(w, device=device, requires_grad=True)
    try:
        y = getattr(F, op)(px, pw, **kw)
    except RuntimeError as e:
        assert "too large for the CUDA kernels" in str(e), e
        return
    y.backward(pe.tensor(g, device=device))
    for key, t in (("y", y), ("gx", px.grad), ("gw", pw.grad)):
        np.testing.assert_allclose(t.detach().numpy(force=True), want[key], rtol=1e-12, atol=1e-12, err_msg=key)
