"""GEMM throughput: pyengine vs NumPy (OpenBLAS) vs PyTorch, per shape and thread count.

    PYTHONPATH=. python3 benchmarks/bench_gemm.py [--threads 1 2] [--runs 7] [--only sq512 mlp] [--stat min]

Prints GFLOP/s (median, or with --stat min the best, over --runs timed runs; the libraries
take turns within each run so background load hits them alike) and the ratios pyengine/NumPy and pyengine/PyTorch.
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE would pin OpenBLAS to another kernel than the one it
picks for this CPU, so the script re-executes itself without them before importing NumPy,
and prints the OpenBLAS kernel that ran (threadpoolctl's 'architecture').
"""
import os
import sys

_PINNING = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
if any(v in os.environ for v in _PINNING):
    env = {k: v for k, v in os.environ.items() if k not in _PINNING}
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

from pyengine import _C  # noqa: E402

try:
    import torch
except ImportError:  # optional
    torch = None


def shapes():
    """(name, dtype, make) where make(rng) returns the operands (a, b) as NumPy views."""
    def dense(m, k, n, dtype, ta=False, tb=False):
        def make(rng):
            a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
            b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
            return (a.T if ta else a), (b.T if tb else b)
        return make

    f32, f64 = np.float32, np.float64
    out = [(f"sq{n}", f32, dense(n, n, n, f32)) for n in (256, 512, 1024, 2048)]
    out += [
        # MLP layer y = x @ W.T (x: 128x784, W: 256x784), its two gradients, and a narrower layer
        ("mlp 128x784@784x256", f32, dense(128, 784, 256, f32, tb=True)),
        ("mlp dW 784x128@128x256", f32, dense(784, 128, 256, f32, ta=True)),
        ("mlp dX 128x256@256x784", f32, dense(128, 256, 784, f32)),
        ("mlp 128x256@256x128", f32, dense(128, 256, 128, f32, tb=True)),
        ("mlp dW 256x128@128x128", f32, dense(256, 128, 128, f32, ta=True)),
        ("rnn 64x128@128x512", f32, dense(64, 128, 512, f32)),
        ("gemv m=1 1x2048@2048x2048", f32, dense(1, 2048, 2048, f32)),
        ("gemv n=1 2048x2048@2048x1", f32, dense(2048, 2048, 1, f32)),
        ("f64 sq512", f64, dense(512, 512, 512, f64)),
        ("f64 sq1024", f64, dense(1024, 1024, 1024, f64)),
    ]
    return out


def measure(fns, runs, stat, min_time=0.15):
    """Seconds per call for each fn (median or min over runs); within a run the fns take turns."""
    reps = []
    for fn in fns:  # warm up, and pick a repetition count that lasts about min_time
        fn()
        t = time.perf_counter()
        fn()
        one = max(time.perf_counter() - t, 1e-7)
        reps.append(max(1, int(min_time / one)))
    samples = [[] for _ in fns]
    for _ in range(runs):
        for i, fn in enumerate(fns):
            t = time.perf_counter()
            for _ in range(reps[i]):
                fn()
            samples[i].append((time.perf_counter() - t) / reps[i])
    return [stat(s) for s in samples]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--only", nargs="*", help="run shapes whose name contains any of these words")
    p.add_argument("--stat", choices=["median", "min"], default="median",
                   help="statistic over runs (min resists background load on a shared machine)")
    args = p.parse_args()

    blas = [i for i in threadpool_info() if i.get("internal_api") == "openblas"]
    print("NumPy", np.__version__, "| OpenBLAS", ", ".join(f"{i['version']} kernel={i.get('architecture')}"
                                                         for i in blas) or "not found")
    print("PyTorch", torch.__version__ if torch else "not installed")
    print("pyengine ISA", _C.active_isa(), "| cache sizes L1/L2/L3 (bytes)", _C.gemm_cache_sizes())
    head = f"{'shape':28} {'dtype':8} {'thr':>3} {'pyengine':>9} {'numpy':>9} {'torch':>9} {'pe/np':>6} {'pe/torch':>8}"
    print(f"GFLOP/s, {args.stat} of {args.runs} runs\n" + head + "\n" + "-" * len(head))
    stat = statistics.median if args.stat == "median" else min

    rng = np.random.default_rng(0)
    for name, dtype, make in shapes():
        if args.only and not any(w in name for w in args.only):
            continue
        a, b = make(rng)
        flops = 2.0 * a.shape[0] * a.shape[1] * b.shape[1]
        ta, tb = _C.from_numpy(a), _C.from_numpy(b)
        fns = [lambda: _C.matmul(ta, tb), lambda: a @ b]
        if torch is not None:
            xa, xb = torch.from_numpy(a), torch.from_numpy(b)
            fns.append(lambda: torch.matmul(xa, xb))
        for nt in args.threads:
            _C.set_num_threads(nt)
            if torch is not None:
                torch.set_num_threads(nt)
            with threadpool_limits(limits=nt):
                times = measure(fns, args.runs, stat)
            gf = [flops / t / 1e9 for t in times]
            tgf = gf[2] if torch is not None else float("nan")
            print(f"{name:28} {np.dtype(dtype).name:8} {nt:3d} {gf[0]:9.1f} {gf[1]:9.1f} {tgf:9.1f} "
                  f"{gf[0] / gf[1]:6.2f} {gf[0] / tgf:8.2f}", flush=True)


if __name__ == "__main__":
    main()
