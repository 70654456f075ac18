"""One training epoch of the seeds' MLP (784-256-128-10, ReLU, cross-entropy, SGD with momentum,
batch 128) on random data of MNIST's shape, in pyengine and PyTorch in the same run; plus the
framework overhead per tiny op with autograd.

    python benchmarks/bench_training.py [--samples 60000] [--threads 2] [--repeats 3]
"""
import argparse
import statistics
import time

import numpy as np

import pyengine as pe
from common import limit_threads, machine_line, median_time, torch_or_none

torch = torch_or_none()


def make_epoch(lib, x, y, batch):
    """One epoch of the MLP in `lib` (pyengine or torch: the same API, so the same code)."""
    nn = lib.nn
    lib.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    X, Y = lib.from_numpy(x), lib.from_numpy(y)

    def epoch():
        for i in range(0, len(x), batch):
            xb, yb = X[i:i + batch], Y[i:i + batch]
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
        return float(loss.item())
    return epoch


def timed_pair(fn_a, fn_b, repeats):
    """Median seconds of fn_a and fn_b, and the median of their per-round ratio. The two run
    alternately, so load from other processes on a shared machine hits both alike."""
    fn_a()  # warm up (allocations, first-touch)
    if fn_b:
        fn_b()
    ta, tb, ratios = [], [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn_a()
        ta.append(time.perf_counter() - t0)
        if fn_b:
            t0 = time.perf_counter()
            fn_b()
            tb.append(time.perf_counter() - t0)
            ratios.append(ta[-1] / tb[-1])
    med = statistics.median
    return med(ta), (med(tb) if tb else None), (med(ratios) if ratios else None)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--samples", type=int, default=60000)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    limit_threads(args.threads)
    rng = np.random.default_rng(0)
    x = rng.random((args.samples, 784), dtype=np.float32)
    y = rng.integers(0, 10, args.samples)
    print(f"machine: {machine_line()}; threads: {args.threads}; PyTorch: {torch.__version__ if torch else 'absent'}")
    t_pe, t_t, ratio = timed_pair(make_epoch(pe, x, y, args.batch),
                                  make_epoch(torch, x, y, args.batch) if torch else None, args.repeats)
    print(f"MLP epoch ({args.samples} samples, batch {args.batch}, SGD momentum), median of {args.repeats}, "
          f"frameworks alternating:")
    print(f"  pyengine {t_pe:.3f} s")
    if torch:
        print(f"  PyTorch  {t_t:.3f} s   -> pyengine takes {ratio:.2f}x PyTorch's time (median of per-round ratios)")

    a, b = pe.ones(4, requires_grad=True), pe.ones(4, requires_grad=True)
    us = 1e6 * median_time(lambda: a + b)
    ai, bi = a._impl, b._impl
    kernel_us = 1e6 * median_time(lambda: pe._C.add(ai, bi))
    line = f"tiny add with autograd: pyengine {us:.2f} µs (_C.add alone {kernel_us:.2f} µs)"
    if torch:
        ta, tb = torch.ones(4, requires_grad=True), torch.ones(4, requires_grad=True)
        line += f", PyTorch {1e6 * median_time(lambda: ta + tb):.2f} µs"
    print(line)


if __name__ == "__main__":
    main()
