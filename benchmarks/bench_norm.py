"""Normalization layers against PyTorch CPU in the same run: batch norm (train mode) forward
and forward+backward on 32x64x32x32 and the ResNet example's shapes, and layer / group norm.

    python benchmarks/bench_norm.py [--threads 1 2] [--rounds 5]

Each case times pyengine and PyTorch alternately for several rounds (the machine is shared)
and reports the median. GB/s counts the minimum traffic: forward reads x and writes y (2
tensors), forward+backward adds reading dy and x and writing dx (5 tensors in all). The module
rows go through autograd (gradients reset to None before each step); the "kernels" rows call
the fused forward and backward kernels directly (PyTorch: its native_* ops). ratio =
pyengine time / PyTorch time (<= 1.0 means pyengine is at least as fast).
"""
import argparse
import statistics

import numpy as np

import pyengine as pe
from pyengine import _C
from common import limit_threads, machine_line, median_time, torch_or_none

torch = torch_or_none()


def module_pair(kind, shape):
    C = shape[1]
    if kind == "batch_norm":
        return pe.nn.BatchNorm2d(C), torch.nn.BatchNorm2d(C)
    if kind == "group_norm":
        return pe.nn.GroupNorm(8, C), torch.nn.GroupNorm(8, C)
    return pe.nn.LayerNorm(shape[-1]), torch.nn.LayerNorm(shape[-1])


def cases():
    """(name, bytes moved, pyengine fn, torch fn)."""
    rng = np.random.default_rng(0)
    out = []
    specs = [("batch_norm", (32, 64, 32, 32)), ("batch_norm", (128, 16, 28, 28)), ("batch_norm", (128, 32, 14, 14)),
             ("batch_norm", (128, 64, 7, 7)), ("group_norm", (32, 64, 32, 32)), ("group_norm", (128, 32, 14, 14)),
             ("layer_norm", (4096, 1024)), ("layer_norm", (32, 128, 256))]
    for kind, shape in specs:
        x = rng.standard_normal(shape, dtype=np.float32)
        g = rng.standard_normal(shape, dtype=np.float32)
        m_pe, m_t = module_pair(kind, shape)
        px, tx = pe.from_numpy(x), torch.from_numpy(x)
        pg, tg = pe.from_numpy(g), torch.from_numpy(g)
        pxg, txg = pe.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        nbytes = x.nbytes
        label = f"{kind} {'x'.join(map(str, shape))}"

        def fwd_pe(m=m_pe, a=px):
            with pe.no_grad():
                m(a)

        def fwd_t(m=m_t, a=tx):
            with torch.no_grad():
                m(a)

        # Gradients are reset (to None) first, so each step measures the layer's forward and
        # backward, not the accumulation into .grad of the previous steps' gradients.
        def both_pe(m=m_pe, a=pxg, d=pg):
            a.grad = None
            m.zero_grad()
            m(a).backward(d)

        def both_t(m=m_t, a=txg, d=tg):
            a.grad = None
            m.zero_grad()
            m(a).backward(d)

        out.append((label + " fwd", 2 * nbytes, fwd_pe, fwd_t))
        out.append((label + " fwd+bwd", 5 * nbytes, both_pe, both_t))
    return out


def kernel_cases():
    """The fused kernels alone (forward then backward, no autograd engine): pyengine's _C calls
    against PyTorch's native_* ops, so .grad bookkeeping does not blur the comparison."""
    rng = np.random.default_rng(1)
    return [kernel_case(kind, shape, rng.standard_normal(shape, dtype=np.float32))
            for kind, shape in [("batch_norm", (32, 64, 32, 32)), ("batch_norm", (128, 16, 28, 28)),
                                ("batch_norm", (128, 32, 14, 14)), ("batch_norm", (128, 64, 7, 7)),
                                ("group_norm", (32, 64, 32, 32)), ("layer_norm", (4096, 1024))]]


def kernel_case(kind, shape, x):
    """(name, bytes, pyengine fn, torch fn): forward then backward kernel on x."""
    C, K = shape[1], shape[-1]
    px, tx = pe.from_numpy(x)._impl, torch.from_numpy(x)
    n = C if kind != "layer_norm" else K
    w, b, tw, tb = pe.ones(n)._impl, pe.zeros(n)._impl, torch.ones(n), torch.zeros(n)
    if kind == "batch_norm":
        rm, rv, trm, trv = pe.zeros(C)._impl, pe.ones(C)._impl, torch.zeros(C), torch.ones(C)

        def f_pe():
            y, m, s = _C.batch_norm_forward(px, w, b, rm, rv, None, True, 0.1, 1e-5)
            _C.batch_norm_backward(y, px, w, m, s, True)

        def f_t():
            y, m, s = torch.native_batch_norm(tx, tw, tb, trm, trv, True, 0.1, 1e-5)
            torch.ops.aten.native_batch_norm_backward(y, tx, tw, trm, trv, m, s, True, 1e-5, [True] * 3)
    elif kind == "group_norm":
        N, S = shape[0], x[0, 0].size

        def f_pe():
            y, m, r = _C.group_norm_forward(px, 8, w, b, 1e-5)
            _C.group_norm_backward(y, px, m, r, 8, w)

        def f_t():
            y, m, r = torch.native_group_norm(tx, tw, tb, N, C, S, 8, 1e-5)
            torch.ops.aten.native_group_norm_backward(y, tx, m, r, tw, N, C, S, 8, [True] * 3)
    else:
        def f_pe():
            y, m, r = _C.layer_norm_forward(px, [K], w, b, 1e-5)
            _C.layer_norm_backward(y, px, [K], m, r, w)

        def f_t():
            y, m, r = torch.native_layer_norm(tx, [K], tw, tb, 1e-5)
            torch.ops.aten.native_layer_norm_backward(y, tx, [K], m, r, tw, tb, [True] * 3)
    return f"{kind} {'x'.join(map(str, shape))} kernels", 5 * x.nbytes, f_pe, f_t


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, nargs="+", default=[2])
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    if torch is None:
        raise SystemExit("bench_norm needs PyTorch for the comparison")
    print(f"machine: {machine_line()}")
    print(f"PyTorch {torch.__version__}; pyengine ISA: {pe._C.active_isa()}; float32, train mode")
    print(f"median over {args.rounds} interleaved rounds (each the median of 7 runs); ratio = pyengine time / "
          "torch time\n")
    all_cases = cases() + kernel_cases()
    for threads in args.threads:
        limit_threads(threads)
        print(f"threads = {threads}")
        print(f"{'case':36s} {'pyengine ms':>11s} {'torch ms':>9s} {'pe GB/s':>8s} {'torch GB/s':>10s} {'ratio':>6s}")
        for name, nbytes, f_pe, f_t in all_cases:
            t_pe, t_t = [], []
            for _ in range(args.rounds):
                t_pe.append(median_time(f_pe, repeats=3, min_time=0.02))
                t_t.append(median_time(f_t, repeats=3, min_time=0.02))
            a, b = statistics.median(t_pe), statistics.median(t_t)
            print(f"{name:36s} {1e3 * a:11.3f} {1e3 * b:9.3f} {nbytes / a / 1e9:8.2f} {nbytes / b / 1e9:10.2f} "
                  f"{a / b:6.2f}")
        print()


if __name__ == "__main__":
    main()
