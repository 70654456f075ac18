"""GEMM throughput: pyengine vs NumPy (OpenBLAS) vs PyTorch, per shape and thread count.

    PYTHONPATH=. python3 benchmarks/bench_gemm.py [--threads 1 2] [--runs 7] [--only sq512 mlp] [--stat min]
                                                  [--settle 0.2] [--quiet [--budget 20]] [--large]

Prints GFLOP/s (median, or with --stat min the best, over --runs timed runs; the libraries
take turns within each run so background load hits them alike) and the ratios pyengine/NumPy and pyengine/PyTorch.
Worker threads keep spinning after a call (OpenBLAS's for about 0.1 s), so a library timed
right after another competes with the other's threads; --settle sleeps before every timed
block so each starts alike (its pool idle, the others' timed out). On a machine shared with other work, a 2-thread GEMM mostly measures the scheduler (one
descheduled thread stalls the other at the join). --quiet keeps only the timed blocks during
which other processes used (almost) no CPU, read from /proc/stat minus this process's own CPU
time, trying for up to --budget seconds per row; the 'kept' column says how many were kept.
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
    out = [(f"sq{n}", f32, dense(n, n, n, f32)) for n in (256, 512, 1024, 2048, 4096)]
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
        ("f64 mlp 128x784@784x256", f64, dense(128, 784, 256, f64, tb=True)),
        ("f64 rnn 64x128@128x512", f64, dense(64, 128, 512, f64)),
    ]
    return out


class QuietCheck:
    """Tells whether a timed block ran undisturbed by other processes: a block on `threads`
    threads is kept when the other processes used no more than the cores left over (plus one
    clock tick, the resolution of /proc/stat) and, on one thread, this process was not
    descheduled (its CPU time kept up with the clock). Linux only (/proc/stat)."""

    def __init__(self, threads):
        self.threads, self.cpus, self.tick = threads, os.cpu_count() or 1, 1.0 / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def available():
        return os.path.exists("/proc/stat")

    def _read(self):
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        return (sum(v) - v[3] - v[4]) * self.tick, time.process_time()  # busy (not idle/iowait), own

    def start(self):
        self.t0, (self.busy0, self.own0) = time.perf_counter(), self._read()

    def quiet(self):
        wall = time.perf_counter() - self.t0
        busy, own = self._read()
        others = (busy - self.busy0) - (own - self.own0)
        spare = max(self.cpus - self.threads, 0) * wall
        awake = self.threads > 1 or own - self.own0 >= 0.9 * wall
        return others <= spare + self.tick and awake


def measure(fns, runs, stat, min_time=0.15, quiet=None, budget=20.0, settle=0.0):
    """Seconds per call for each fn (median or min over runs) and the number of runs kept; within
    a run the fns take turns. quiet: a QuietCheck; keep only the blocks it passes, until `runs`
    are kept or `budget` seconds have passed. settle: seconds to sleep before each block."""
    block_time = 0.03 if quiet else min_time  # short blocks: more of them fall in quiet gaps
    reps = []
    for fn in fns:  # warm up, and pick a repetition count that lasts about block_time
        fn()
        t = time.perf_counter()
        fn()
        one = max(time.perf_counter() - t, 1e-7)
        reps.append(max(1, int(block_time / one)))
    samples = [[] for _ in fns]
    deadline = time.perf_counter() + budget
    while min(len(s) for s in samples) < runs:
        if quiet and time.perf_counter() > deadline:
            break
        for i, fn in enumerate(fns):
            if settle:
                time.sleep(settle)
            if quiet or settle:
                fn()  # wake this library's threads; operands in cache, as in back-to-back runs
            if quiet:
                quiet.start()
            t = time.perf_counter()
            for _ in range(reps[i]):
                fn()
            elapsed = (time.perf_counter() - t) / reps[i]
            if not quiet or quiet.quiet():
                samples[i].append(elapsed)
    kept = min(len(s) for s in samples)
    return [stat(s) if s else float("nan") for s in samples], kept


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--only", nargs="*", help="run shapes whose name contains any of these words")
    p.add_argument("--stat", choices=["median", "min"], default="median",
                   help="statistic over runs (min resists background load on a shared machine)")
    p.add_argument("--quiet", action="store_true",
                   help="keep only timed blocks during which other processes used no CPU")
    p.add_argument("--budget", type=float, default=20.0, help="seconds per row to collect --quiet runs")
    p.add_argument("--settle", type=float, default=0.2,
                   help="seconds to sleep before each timed block (0: back to back)")
    p.add_argument("--large", action="store_true", help="include sq4096 (slow)")
    args = p.parse_args()

    blas = [i for i in threadpool_info() if i.get("internal_api") == "openblas"]
    print("NumPy", np.__version__, "| OpenBLAS", ", ".join(f"{i['version']} kernel={i.get('architecture')}"
                                                         for i in blas) or "not found")
    print("PyTorch", torch.__version__ if torch else "not installed")
    print("pyengine ISA", _C.active_isa(), "| cache sizes L1/L2/L3 (bytes)", _C.gemm_cache_sizes())
    print("load average (1, 5, 15 min):", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    head = (f"{'shape':28} {'dtype':8} {'thr':>3} {'pyengine':>9} {'numpy':>9} {'torch':>9} {'pe/np':>6} "
            f"{'pe/torch':>8} {'kept':>4}")
    print(f"GFLOP/s, {args.stat} of {args.runs} runs{' (quiet blocks only)' if args.quiet else ''}, "
          f"settle {args.settle} s\n"
          + head + "\n" + "-" * len(head))
    stat = statistics.median if args.stat == "median" else min

    rng = np.random.default_rng(0)
    for name, dtype, make in shapes():
        if args.only and not any(w in name for w in args.only):
            continue
        if name == "sq4096" and not (args.large or args.only):
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
                check = QuietCheck(nt) if args.quiet and QuietCheck.available() else None
                times, kept = measure(fns, args.runs, stat, quiet=check, budget=args.budget, settle=args.settle)
            gf = [flops / t / 1e9 for t in times]
            tgf = gf[2] if torch is not None else float("nan")
            print(f"{name:28} {np.dtype(dtype).name:8} {nt:3d} {gf[0]:9.1f} {gf[1]:9.1f} {tgf:9.1f} "
                  f"{gf[0] / gf[1]:6.2f} {gf[0] / tgf:8.2f} {kept:4d}", flush=True)


if __name__ == "__main__":
    main()
