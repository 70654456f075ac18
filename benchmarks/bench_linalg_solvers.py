"""pyengine.linalg's factorizations against NumPy (LAPACK through OpenBLAS) in the same run:
solve, inv, cholesky, qr, eigh, svd, lstsq on one n x n matrix and on a batch of small ones.

    python benchmarks/bench_linalg_solvers.py [--threads 1] [--sizes 32 128 256]

ratio = pyengine time / NumPy time (<= 1.0: pyengine is at least as fast). pyengine's kernels
are unblocked textbook loops in double (csrc/cpu/linalg_solvers_kernels.cpp), LAPACK's are
blocked and vectorised, so the single-matrix ratios show how far the first version is from it.
"""
import argparse

import numpy as np

from common import clean_openblas_env, limit_threads, machine_line, median_time, openblas_kernel

clean_openblas_env()
import pyengine as pe  # noqa: E402


def cases(n, batch):
    rng = np.random.default_rng(0)
    shape = (batch, n, n) if batch else (n, n)
    a = rng.standard_normal(shape) + n ** 0.5 * np.eye(n)
    s = a @ np.swapaxes(a, -1, -2)
    b = rng.standard_normal(shape[:-1] + (4,))
    A, S, B = pe.tensor(a), pe.tensor(s), pe.tensor(b)
    return [
        ("solve", lambda: pe.linalg.solve(A, B), lambda: np.linalg.solve(a, b)),
        ("inv", lambda: pe.linalg.inv(A), lambda: np.linalg.inv(a)),
        ("cholesky", lambda: pe.linalg.cholesky(S), lambda: np.linalg.cholesky(s)),
        ("qr", lambda: pe.linalg.qr(A), lambda: np.linalg.qr(a)),
        ("eigh", lambda: pe.linalg.eigh(S), lambda: np.linalg.eigh(s)),
        ("svd", lambda: pe.linalg.svd(A, full_matrices=False), lambda: np.linalg.svd(a, full_matrices=False)),
        ("lstsq", lambda: pe.linalg.lstsq(A, B), lambda: np.linalg.lstsq(a, b, rcond=None) if not batch else
         np.linalg.pinv(a) @ b),
    ]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--sizes", type=int, nargs="+", default=[32, 128, 256])
    p.add_argument("--batch", type=int, default=64, help="batch of 16 x 16 matrices")
    args = p.parse_args()
    guard = limit_threads(args.threads)  # noqa: F841 (keeps the limit)
    print(machine_line())
    print(f"NumPy's LAPACK/BLAS: OpenBLAS, kernel {openblas_kernel()}")
    print(f"threads: {args.threads}; float64; ratio = pyengine / NumPy")
    print(f"{'op':>9s} {'shape':>14s} {'pyengine ms':>12s} {'numpy ms':>10s} {'ratio':>7s}")
    configs = [(n, 0) for n in args.sizes] + [(16, args.batch)]
    for n, batch in configs:
        for name, ours, theirs in cases(n, batch):
            t_pe, t_np = median_time(ours, repeats=3), median_time(theirs, repeats=3)
            shape = f"{batch}x{n}x{n}" if batch else f"{n}x{n}"
            print(f"{name:>9s} {shape:>14s} {1e3 * t_pe:12.3f} {1e3 * t_np:10.3f} {t_pe / t_np:7.2f}")


if __name__ == "__main__":
    main()
