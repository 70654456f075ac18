"""The native parametrised activations (csrc/math/activation_math.h: hardswish, mish, celu, selu,
logsigmoid, hardtanh, softshrink, ...) against PyTorch in the same run: forward (no grad) and
forward + backward (the fused backward kernel).

    python benchmarks/bench_activation.py [--threads 2 1] [--rounds 3] [--numel 4000000]

Each case times pyengine and PyTorch alternately for several rounds (the machine is shared) and
reports the median over rounds of each round's median. GB/s counts the compulsory traffic: x + y
for the forward; x + y + dL/dy + dL/dx for forward + backward. ratio = pyengine time / torch time
(<1: pyengine is faster), as in bench_upsample/bench_norm.
"""
import argparse

import numpy as np

import pyengine as pe
import pyengine.nn.functional as F
from common import fwd_bwd, interleaved, limit_threads, machine_line, torch_or_none

torch = torch_or_none()

CASES = [("hardswish", {}), ("hardsigmoid", {}), ("mish", {}), ("softsign", {}), ("tanhshrink", {}),
         ("celu", {"alpha": 0.5}), ("selu", {}), ("logsigmoid", {}), ("hardtanh", {}), ("softshrink", {}),
         ("hardshrink", {})]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, nargs="+", default=[2, 1])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--numel", type=int, default=4_000_000)
    args = p.parse_args()
    print(f"machine: {machine_line()}")
    print(f"PyTorch: {torch.__version__ if torch else 'not installed'}; pyengine ISA: {pe._C.active_isa()}")
    print(f"float32, {args.numel} elements; time in ms (median); ratio = pyengine time / torch time\n")
    rng = np.random.default_rng(0)
    xn = (3 * rng.standard_normal(args.numel)).astype(np.float32)
    gn = rng.standard_normal(args.numel).astype(np.float32)
    x, g = pe.tensor(xn), pe.tensor(gn)
    xg = pe.tensor(xn, requires_grad=True)
    tx = torch.from_numpy(xn) if torch else None
    txg = torch.tensor(xn, requires_grad=True) if torch else None
    tg = torch.from_numpy(gn) if torch else None
    for threads in args.threads:
        limit_threads(threads)
        print(f"threads = {threads}")
        print(f"{'op':12s} {'pass':8s} {'pe ms':>8s} {'torch ms':>9s} {'pe GB/s':>8s} {'torch GB/s':>10s} {'ratio':>7s}")
        for name, kw in CASES:
            f_pe = lambda t, name=name, kw=kw: getattr(F, name)(t, **kw)  # noqa: E731
            f_t = torch and (lambda t, name=name, kw=kw: getattr(torch.nn.functional, name)(t, **kw))
            rows = [("fwd", lambda: f_pe(x), f_t and (lambda: f_t(tx)), 2 * xn.nbytes),
                    ("fwd+bwd", fwd_bwd(f_pe, xg, g), f_t and fwd_bwd(f_t, txg, tg), 4 * xn.nbytes)]
            for kind, run_pe, run_t, traffic in rows:
                t_pe, t_t = interleaved([run_pe, run_t], args.rounds)
                print(f"{name:12s} {kind:8s} {1e3 * t_pe:8.3f} {1e3 * t_t:9.3f} {traffic / t_pe / 1e9:8.2f} "
                      f"{traffic / t_t / 1e9:10.2f} {t_pe / t_t:7.2f}")
        print()


if __name__ == "__main__":
    main()
