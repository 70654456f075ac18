"""Elementwise, reduction and matmul throughput, and per-op framework overhead, against NumPy
and PyTorch in the same run.

    python benchmarks/bench_ops.py [--threads 1 2]
"""
import argparse

from common import clean_openblas_env

clean_openblas_env()

import numpy as np  # noqa: E402

import pyengine as pe  # noqa: E402
from common import limit_threads, machine_line, median_time, openblas_kernel, torch_or_none  # noqa: E402

torch = torch_or_none()


def throughput_cases():
    """(name, work units, unit, numpy fn, pyengine fn, torch fn) for each kernel family."""
    rng = np.random.default_rng(0)
    cases = []
    n = 1 << 22  # 4M float32: bigger than L2, so this measures memory-bound streaming
    a, b = rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32)
    pa, pb = pe.from_numpy(a), pe.from_numpy(b)
    ta, tb = (torch.from_numpy(a), torch.from_numpy(b)) if torch else (None, None)
    cases.append(("add 4M f32", n, "Gelem/s", lambda: np.add(a, b), lambda: pa + pb, ta is not None and (lambda: ta + tb)))
    cases.append(("exp 4M f32", n, "Gelem/s", lambda: np.exp(a), lambda: pa.exp(), ta is not None and (lambda: ta.exp())))
    cases.append(("sum 4M f32", n, "Gelem/s", lambda: a.sum(), lambda: pa.sum(), ta is not None and (lambda: ta.sum())))
    m = rng.random((2048, 2048), dtype=np.float32)
    pm = pe.from_numpy(m)
    tm = torch.from_numpy(m) if torch else None
    cases.append(("sum dim=0 2048² f32", m.size, "Gelem/s", lambda: m.sum(0), lambda: pm.sum(0), tm is not None and (lambda: tm.sum(0))))
    cases.append(("sum dim=1 2048² f32", m.size, "Gelem/s", lambda: m.sum(1), lambda: pm.sum(1), tm is not None and (lambda: tm.sum(1))))
    for size in (256, 1024):
        x = rng.random((size, size), dtype=np.float32)
        y = rng.random((size, size), dtype=np.float32)
        px, py = pe.from_numpy(x), pe.from_numpy(y)
        tx, ty = (torch.from_numpy(x), torch.from_numpy(y)) if torch else (None, None)
        cases.append((f"matmul {size}³ f32", 2 * size ** 3, "GFLOP/s", lambda x=x, y=y: x @ y,
                      lambda px=px, py=py: px @ py, tx is not None and (lambda tx=tx, ty=ty: tx @ ty)))
    return cases


def overhead_cases():
    """Microseconds per tiny op: framework cost, not arithmetic."""
    a, b = pe.ones(4), pe.ones(4)
    ga, gb = pe.ones(4, requires_grad=True), pe.ones(4, requires_grad=True)
    rows = [("tiny add, no grad", lambda: a + b, None), ("tiny add, with grad", lambda: ga + gb, None)]
    if torch:
        ta, tb = torch.ones(4), torch.ones(4)
        tga, tgb = torch.ones(4, requires_grad=True), torch.ones(4, requires_grad=True)
        rows = [(rows[0][0], rows[0][1], lambda: ta + tb), (rows[1][0], rows[1][1], lambda: tga + tgb)]
    na, nb = np.ones(4, np.float32), np.ones(4, np.float32)
    return rows, (lambda: na + nb)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = p.parse_args()
    print(f"machine: {machine_line()}")
    print(f"NumPy {np.__version__}, OpenBLAS kernel: {openblas_kernel()}; "
          f"PyTorch: {torch.__version__ if torch else 'not installed'}; pyengine ISA: {pe._C.active_isa()}")
    print("median of 7 runs; ratio = pyengine speed / peer speed (>1 means pyengine is faster)\n")
    cases = throughput_cases()
    for threads in args.threads:
        guard = limit_threads(threads)
        print(f"threads = {threads}")
        print(f"{'case':22s} {'unit':8s} {'pyengine':>9s} {'numpy':>9s} {'torch':>9s} {'vs numpy':>9s} {'vs torch':>9s}")
        for name, work, unit, f_np, f_pe, f_t in cases:
            t_pe, t_np = median_time(f_pe), median_time(f_np)
            t_t = median_time(f_t) if f_t else float("nan")
            rate = lambda t: work / t / 1e9  # noqa: E731
            print(f"{name:22s} {unit:8s} {rate(t_pe):9.2f} {rate(t_np):9.2f} {rate(t_t):9.2f} "
                  f"{t_np / t_pe:8.2f}x {t_t / t_pe:8.2f}x")
        if guard is not None:
            guard.unregister() if hasattr(guard, "unregister") else None
        print()
    limit_threads(1)
    rows, np_add = overhead_cases()
    print("per-op overhead (µs per call, 4-element tensors, 1 thread)")
    print(f"{'case':22s} {'pyengine':>9s} {'torch':>9s}   numpy add: {1e6 * median_time(np_add):.2f} µs")
    for name, f_pe, f_t in rows:
        t_t = 1e6 * median_time(f_t) if f_t else float("nan")
        print(f"{name:22s} {1e6 * median_time(f_pe):9.2f} {t_t:9.2f}")


if __name__ == "__main__":
    main()
