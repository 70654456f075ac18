"""Optimizer step time: pyengine's fused one-kernel steps vs PyTorch's CPU optimizers.

    PYTHONPATH=. python3 benchmarks/bench_optim.py [--threads 1 2] [--sizes 10000 1000000]

For each optimizer and parameter size, one float32 parameter with a fixed gradient is stepped
repeatedly; prints the median microseconds per step and the ratio pyengine/PyTorch (< 1: we are
faster). PyTorch runs its default CPU path (single-tensor, a chain of tensor ops) and, where it
has one, its fused CPU kernel (fused=True).
"""
import argparse

import numpy as np

from common import limit_threads, machine_line, median_time, torch_or_none

import pyengine as pe
from pyengine import optim

CONFIGS = [
    ("SGD", dict(lr=0.01, momentum=0.9), True),
    ("Adam", dict(lr=1e-3), True),
    ("AdamW", dict(lr=1e-3, amsgrad=True), True),
    ("RMSprop", dict(lr=1e-3, centered=True, momentum=0.9), False),
    ("Adagrad", dict(lr=0.01), True),
    ("Adadelta", dict(), False),
]


def stepper(lib, opt_module, name, kwargs, p0, g0, **extra):
    p = lib.tensor(p0.copy(), requires_grad=True)
    p.grad = lib.tensor(g0)
    opt = getattr(opt_module, name)([p], **kwargs, **extra)
    return opt.step


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    args = ap.parse_args()
    torch = torch_or_none()
    print(machine_line())
    print(f"{'optimizer':<10}{'size':>10}{'thr':>4}{'pyengine us':>13}{'torch us':>11}{'fused us':>10}"
          f"{'pe/torch':>10}{'pe/fused':>10}")
    rng = np.random.default_rng(0)
    for threads in args.threads:
        with limit_threads(threads) or _nullcontext():
            for n in args.sizes:
                p0 = rng.standard_normal(n).astype(np.float32)
                g0 = rng.standard_normal(n).astype(np.float32)
                for name, kwargs, has_fused in CONFIGS:
                    ours = median_time(stepper(pe, optim, name, kwargs, p0, g0)) * 1e6
                    theirs = fused = float("nan")
                    if torch is not None:
                        theirs = median_time(stepper(torch, torch.optim, name, kwargs, p0, g0, foreach=False)) * 1e6
                        if has_fused:
                            fused = median_time(stepper(torch, torch.optim, name, kwargs, p0, g0, fused=True)) * 1e6
                    print(f"{name:<10}{n:>10}{threads:>4}{ours:>13.1f}{theirs:>11.1f}{fused:>10.1f}"
                          f"{ours / theirs:>10.2f}{ours / fused:>10.2f}")


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    main()
