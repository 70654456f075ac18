"""Pooling throughput against PyTorch in the same run: forward (no grad) and forward + backward.

    python benchmarks/bench_pool.py [--threads 2 1] [--rounds 3]

Each case times pyengine and PyTorch alternately for several rounds (the machine is shared) and
reports the median over rounds of each round's median. GB/s counts the compulsory traffic:
input + output for the forward; input + output + dL/dy + dL/dx for forward + backward (max
pooling's indices not counted). ratio = pyengine time / torch time (<1: pyengine is faster), as in bench_conv/bench_norm.
"""
import argparse

import numpy as np

import pyengine as pe
import pyengine.nn.functional as F
from common import fwd_bwd, interleaved, limit_threads, machine_line, torch_or_none

torch = torch_or_none()


def cases():
    """(name, input shape, pyengine fn(x), torch fn(x))."""
    tF = torch.nn.functional if torch else None
    c = [
        ("max_pool2d 2x2", (32, 64, 32, 32), lambda x: F.max_pool2d(x, 2), tF and (lambda x: tF.max_pool2d(x, 2))),
        ("avg_pool2d 2x2", (32, 64, 32, 32), lambda x: F.avg_pool2d(x, 2), tF and (lambda x: tF.avg_pool2d(x, 2))),
        ("max_pool2d 3x3 s2 p1", (16, 64, 56, 56), lambda x: F.max_pool2d(x, 3, 2, 1),
         tF and (lambda x: tF.max_pool2d(x, 3, 2, 1))),
        ("avg_pool2d 3x3 s1 p1", (16, 64, 28, 28), lambda x: F.avg_pool2d(x, 3, 1, 1),
         tF and (lambda x: tF.avg_pool2d(x, 3, 1, 1))),
        ("global avg (7x7)", (32, 512, 7, 7), lambda x: F.adaptive_avg_pool2d(x, 1),
         tF and (lambda x: tF.adaptive_avg_pool2d(x, 1))),
        ("global avg (32x32)", (32, 64, 32, 32), lambda x: F.adaptive_avg_pool2d(x, 1),
         tF and (lambda x: tF.adaptive_avg_pool2d(x, 1))),
        ("adaptive_avg 32->7", (32, 64, 32, 32), lambda x: F.adaptive_avg_pool2d(x, 7),
         tF and (lambda x: tF.adaptive_avg_pool2d(x, 7))),
        ("max_pool1d 2", (64, 64, 1024), lambda x: F.max_pool1d(x, 2), tF and (lambda x: tF.max_pool1d(x, 2))),
    ]
    return c


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, nargs="+", default=[2, 1])
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    print(f"machine: {machine_line()}")
    print(f"PyTorch: {torch.__version__ if torch else 'not installed'}; pyengine ISA: {pe._C.active_isa()}")
    print("float32; time in ms (median); ratio = pyengine time / torch time (<1: pyengine faster)\n")
    rng = np.random.default_rng(0)
    for threads in args.threads:
        limit_threads(threads)
        print(f"threads = {threads}")
        print(f"{'case':22s} {'shape':18s} {'pass':8s} {'pe ms':>8s} {'torch ms':>9s} {'pe GB/s':>8s} "
              f"{'torch GB/s':>10s} {'ratio':>7s}")
        for name, shape, f_pe, f_t in cases():
            xn = rng.standard_normal(shape).astype(np.float32)
            x = pe.tensor(xn)
            tx = torch.from_numpy(xn) if torch else None
            y = f_pe(x)
            in_bytes, out_bytes = xn.nbytes, int(np.prod(y.shape)) * 4
            g = pe.tensor(rng.standard_normal(y.shape).astype(np.float32))
            xg = pe.tensor(xn, requires_grad=True)
            txg = torch.tensor(xn, requires_grad=True) if torch else None
            tg = torch.from_numpy(g.numpy()) if torch else None
            rows = [("fwd", lambda: f_pe(x), f_t and (lambda: f_t(tx)), in_bytes + out_bytes),
                    ("fwd+bwd", fwd_bwd(f_pe, xg, g), f_t and fwd_bwd(f_t, txg, tg), 2 * (in_bytes + out_bytes))]
            for kind, run_pe, run_t, traffic in rows:
                t_pe, t_t = interleaved([run_pe, run_t], args.rounds)
                print(f"{name:22s} {'x'.join(map(str, shape)):18s} {kind:8s} {1e3 * t_pe:8.3f} {1e3 * t_t:9.3f} "
                      f"{traffic / t_pe / 1e9:8.2f} {traffic / t_t / 1e9:10.2f} {t_pe / t_t:7.2f}")
        print()


if __name__ == "__main__":
    main()
