"""What every benchmark shares: a clean OpenBLAS environment, the kernel NumPy ran, timing.

The machine sets OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, which make NumPy's OpenBLAS pick a slower
kernel. A benchmark that compares with NumPy calls `clean_openblas_env()` first: it re-executes
the script once without those variables (before NumPy is imported), so the peer runs at its best.
"""
import os
import statistics
import sys
import time

_OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def clean_openblas_env():
    if any(v in os.environ for v in _OPENBLAS_VARS):
        env = {k: v for k, v in os.environ.items() if k not in _OPENBLAS_VARS}
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


def openblas_kernel():
    """Which OpenBLAS build/kernel NumPy uses, e.g. 'SkylakeX' (from threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    import numpy  # noqa: F401  (load the library so threadpoolctl sees it)
    infos = [i for i in threadpool_info() if i.get("internal_api") == "openblas"]
    if not infos:
        return "no OpenBLAS found"
    return ", ".join(f"{i.get('architecture')} ({i.get('version')}, {os.path.basename(i.get('filepath', ''))})"
                     for i in infos)


def limit_threads(n):
    """Run NumPy (OpenBLAS), PyTorch and pyengine on `n` threads; returns the threadpoolctl guard."""
    import pyengine
    pyengine.set_num_threads(n)
    try:
        import torch
        torch.set_num_threads(n)
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_limits
        return threadpool_limits(limits=n)
    except ImportError:
        return None


def median_time(fn, repeats=7, min_time=0.05):
    """Median seconds per call of fn(), each sample looping long enough to be measurable."""
    fn()  # warm up
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    loops = max(1, int(min_time / once))
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(loops):
            fn()
        samples.append((time.perf_counter() - t0) / loops)
    return statistics.median(samples)


def fwd_bwd(fn, x, g):
    """A timed call of fn(x) and its backward with gradient g (x's gradient dropped after)."""
    def run():
        y = fn(x)
        y.backward(g)
        x.grad = None
    return run


def interleaved(fns, rounds, repeats=5):
    """Median over rounds of each function's per-round median, the functions taking turns (so a
    busy neighbour slows them all alike). A None entry gives NaN."""
    samples = [[] for _ in fns]
    for _ in range(rounds):
        for i, f in enumerate(fns):
            samples[i].append(median_time(f, repeats=repeats) if f else float("nan"))
    return [statistics.median(s) for s in samples]


def torch_or_none():
    try:
        import torch
        return torch
    except ImportError:
        return None


def machine_line():
    import platform
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"
