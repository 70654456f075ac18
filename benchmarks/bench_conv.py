"""conv2d speed: pyengine vs PyTorch (oneDNN) on the issue-5 shapes and the example networks'.

    PYTHONPATH=. python3 benchmarks/bench_conv.py [--threads 2] [--runs 7] [--only resnet] [--clock process]

For every shape: forward (no grad) and forward+backward (grads of weight, bias and, except for
a network's first layer, the input). pyengine and PyTorch take turns within each run so
background load hits both alike; the median per library is printed with GFLOP/s (of the
forward, 2*N*K*C/g*kH*kW*OH*OW; forward+backward counts 3x that, 2x for a first layer) and
the time ratio pyengine / PyTorch (< 1 means pyengine is faster).
--clock process times with the process's CPU time instead of the wall clock: with --threads 1
it is much less disturbed by other jobs on a shared machine (with more threads it adds up the
threads' times, so it is only meaningful for one).
--dtype bfloat16 / float16 runs every library on 16-bit tensors, and adds the float32 detour the
16-bit convolutions took before their own kernels (convert to float32, convolve, round back;
column "f32copy ms", ratio "vs copy" = pyengine 16-bit time / that time).
"""
import argparse
import statistics
import time

import numpy as np

import pyengine as pe
from pyengine.nn import functional as F

from common import limit_threads, machine_line, torch_or_none

# name, (N, C, H, W), out channels, kernel, padding, stride, input needs grad
SHAPES = [
    ("issue5 32x64x32x32 64 3x3", (32, 64, 32, 32), 64, 3, 1, 1, True),
    ("cnn conv1 128x1x28x28 32 3x3", (128, 1, 28, 28), 32, 3, 1, 1, False),
    ("cnn conv2 128x32x14x14 64 3x3", (128, 32, 14, 14), 64, 3, 1, 1, True),
    ("resnet 128x16x28x28 16 3x3", (128, 16, 28, 28), 16, 3, 1, 1, True),
    ("resnet 128x32x14x14 32 3x3", (128, 32, 14, 14), 32, 3, 1, 1, True),
    ("resnet 128x64x7x7 64 3x3", (128, 64, 7, 7), 64, 3, 1, 1, True),
    ("resnet down 128x16x28x28 32 3x3 s2", (128, 16, 28, 28), 32, 3, 1, 2, True),
    ("resnet 1x1 128x32x14x14 64 s1", (128, 32, 14, 14), 64, 1, 0, 1, True),
]


def flops(xs, k, ks, pad, stride):
    n, c, h, w = xs
    oh, ow = (h + 2 * pad - ks) // stride + 1, (w + 2 * pad - ks) // stride + 1
    return 2.0 * n * k * c * ks * ks * oh * ow


def make_cases(torch, xs, k, ks, pad, stride, grad_x, dtype="float32"):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs).astype(np.float32)
    w = (rng.standard_normal((k, xs[1], ks, ks)) * 0.1).astype(np.float32)
    b = rng.standard_normal(k).astype(np.float32)
    dt = getattr(pe, dtype)
    px, pw, pb = (pe.tensor(a).to(dt).requires_grad_(g) for a, g in ((x, grad_x), (w, True), (b, True)))
    gy_shape = tuple(F.conv2d(pe.tensor(x), pe.tensor(w), None, stride, pad).shape)
    pg = pe.tensor(rng.standard_normal(gy_shape).astype(np.float32)).to(dt)

    def pe_fwd():
        with pe.no_grad():
            F.conv2d(px, pw, pb, stride, pad)

    def pe_fwd_bwd():
        F.conv2d(px, pw, pb, stride, pad).backward(pg)
        px.grad = pw.grad = pb.grad = None

    cases = {"pe": (pe_fwd, pe_fwd_bwd)}
    if dtype != "float32":
        def copy_conv():  # the float32 detour: convert, convolve in float32, round back
            return F.conv2d(px.float(), pw.float(), pb.float(), stride, pad).to(dt)

        def copy_fwd():
            with pe.no_grad():
                copy_conv()

        def copy_fwd_bwd():
            copy_conv().backward(pg)
            px.grad = pw.grad = pb.grad = None

        cases["copy"] = (copy_fwd, copy_fwd_bwd)
    if torch is not None:
        tdt = getattr(torch, dtype)
        tx, tw, tb = (torch.tensor(a).to(tdt).requires_grad_(g) for a, g in ((x, grad_x), (w, True), (b, True)))
        tg = torch.tensor(pg.float().numpy()).to(tdt)

        def t_fwd():
            with torch.no_grad():
                torch.nn.functional.conv2d(tx, tw, tb, stride, pad)

        def t_fwd_bwd():
            torch.nn.functional.conv2d(tx, tw, tb, stride, pad).backward(tg)
            tx.grad = tw.grad = tb.grad = None

        cases["torch"] = (t_fwd, t_fwd_bwd)
    return cases


_clock = time.perf_counter


def timed(fn, loops):
    t0 = _clock()
    for _ in range(loops):
        fn()
    return (_clock() - t0) / loops


def measure(cases, which, runs):
    """Median seconds per call for each library; libraries alternate within every run."""
    fns = {lib: c[which] for lib, c in cases.items()}
    loops = {}
    for lib, fn in fns.items():
        fn()  # warm up (and size the loop to ~0.05 s)
        loops[lib] = max(1, int(0.05 / max(timed(fn, 1), 1e-7)))
    samples = {lib: [] for lib in fns}
    for _ in range(runs):
        for lib, fn in fns.items():
            samples[lib].append(timed(fn, loops[lib]))
    return {lib: statistics.median(s) for lib, s in samples.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, nargs="+", default=[2])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--only", nargs="*", default=None, help="substrings of shape names to run")
    ap.add_argument("--clock", choices=["wall", "process"], default="wall")
    ap.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="float32")
    args = ap.parse_args()
    global _clock
    _clock = time.process_time if args.clock == "process" else time.perf_counter
    torch = torch_or_none()
    print(f"machine: {machine_line()}")
    print(f"pyengine ISA {pe._C.active_isa()}; PyTorch {torch.__version__ if torch else 'not installed'}")
    if args.dtype == "bfloat16":
        print(f"bfloat16 products: {pe._C.bf16_gemm_path()}")
    print(f"{args.dtype}, {args.clock} clock, median of {args.runs} runs; "
          "ratio = pyengine time / PyTorch time (< 1: pyengine faster)")
    for threads in args.threads:
        limit_threads(threads)
        print(f"\nthreads = {threads}")
        copy_head = f" {'f32copy ms':>10} {'vs copy':>7}" if args.dtype != "float32" else ""
        print(f"{'shape':38} {'pass':8} {'pe ms':>8} {'torch ms':>9} {'pe GF/s':>8} {'th GF/s':>8} {'ratio':>6}"
              + copy_head)
        for name, xs, k, ks, pad, stride, grad_x in SHAPES:
            if args.only and not any(s in name for s in args.only):
                continue
            cases = make_cases(torch, xs, k, ks, pad, stride, grad_x, args.dtype)
            fl = flops(xs, k, ks, pad, stride)
            for which, label, mult in ((0, "fwd", 1), (1, "fwd+bwd", 3 if grad_x else 2)):
                t = measure(cases, which, args.runs)
                pe_t, th_t = t["pe"], t.get("torch")
                th_ms = f"{th_t * 1e3:9.2f}" if th_t else f"{'-':>9}"
                th_gf = f"{fl * mult / th_t / 1e9:8.1f}" if th_t else f"{'-':>8}"
                ratio = f"{pe_t / th_t:6.2f}" if th_t else f"{'-':>6}"
                copy = f" {t['copy'] * 1e3:10.2f} {pe_t / t['copy']:7.2f}" if "copy" in t else ""
                print(f"{name:38} {label:8} {pe_t * 1e3:8.2f} {th_ms} {fl * mult / pe_t / 1e9:8.1f} {th_gf} {ratio}"
                      + copy, flush=True)


if __name__ == "__main__":
    main()
