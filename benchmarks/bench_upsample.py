"""Upsampling (F.interpolate) throughput against PyTorch in the same run: forward (no grad) and
forward + backward.

    python benchmarks/bench_upsample.py [--threads 2 1] [--rounds 3]

Each case times pyengine and PyTorch alternately for several rounds (the machine is shared) and
reports the median over rounds of each round's median. GB/s counts the compulsory traffic:
input + output for the forward; input + output + dL/dy + dL/dx for forward + backward. ratio = pyengine time / torch time (<1: pyengine is faster), as in bench_conv/bench_norm.
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

    def both(**kw):
        return (lambda x: F.interpolate(x, **kw)), tF and (lambda x: tF.interpolate(x, **kw))

    return [
        ("nearest x2", (16, 64, 32, 32)) + both(scale_factor=2, mode="nearest"),
        ("nearest 32->45", (16, 64, 32, 32)) + both(size=(45, 45), mode="nearest"),
        ("bilinear x2", (16, 64, 32, 32)) + both(scale_factor=2, mode="bilinear"),
        ("bilinear x2 align", (16, 64, 32, 32)) + both(scale_factor=2, mode="bilinear", align_corners=True),
        ("bilinear 64->24", (16, 64, 64, 64)) + both(size=(24, 24), mode="bilinear"),
        ("bilinear x4 (decoder)", (64, 16, 7, 7)) + both(scale_factor=4, mode="bilinear"),
        ("linear x2 (1-D)", (32, 64, 1024)) + both(scale_factor=2, mode="linear"),
    ]


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
