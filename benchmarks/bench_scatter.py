"""Graph message passing against PyTorch CPU in the same run: index_add_ and scatter_reduce
(sum / mean / amax, include_self=False) of E=200000 edge messages of F=64 float32 features into
N=10000 nodes, through dst (index_add) and dst.unsqueeze(1).expand(E, F) (scatter_reduce), forward
and forward+backward.

    python benchmarks/bench_scatter.py [--threads 1] [--rounds 5]

Each case times pyengine and PyTorch alternately for several rounds (the machine is shared) and
reports the median. ratio = pyengine time / PyTorch time (<= 1.0: pyengine at least as fast).
"""
import argparse

import numpy as np

import pyengine as pe
from common import interleaved, limit_threads, machine_line, torch_or_none

torch = torch_or_none()
N, E, F = 10000, 200000, 64


def cases():
    rng = np.random.default_rng(0)
    dst = rng.integers(0, N, E).astype(np.int64)
    msg = rng.standard_normal((E, F)).astype(np.float32)
    g = rng.standard_normal((N, F)).astype(np.float32)
    libs = {}
    for name, lib in (("pe", pe), ("torch", torch)):
        d = lib.tensor(dst)
        libs[name] = dict(lib=lib, dst=d, idx=d.unsqueeze(1).expand(E, F), msg=lib.tensor(msg),
                          msg_g=lib.tensor(msg).requires_grad_(), g=lib.tensor(g))

    def make(name, op, backward):
        v = libs[name]
        lib = v["lib"]
        m = v["msg_g"] if backward else v["msg"]

        def run():
            x = lib.zeros(N, F)
            if op == "index_add":
                out = x.index_add(0, v["dst"], m)
            else:
                out = x.scatter_reduce(0, v["idx"], m, op, include_self=False)
            if backward:
                m.grad = None
                out.backward(v["g"])
        return run

    out = []
    for op in ("index_add", "sum", "mean", "amax"):
        for backward in (False, True):
            label = f"{op} {'fwd+bwd' if backward else 'fwd'}"
            out.append((label, make("pe", op, backward), make("torch", op, backward)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    if torch is None:
        raise SystemExit("bench_scatter.py compares with PyTorch: pip install torch")
    limit_threads(args.threads)
    print(machine_line())
    print(f"message passing N={N} E={E} F={F}, float32, {args.threads} thread(s)")
    print(f"{'case':<18}{'pyengine ms':>13}{'torch ms':>11}{'ratio':>8}")
    for name, f_pe, f_t in cases():
        a, b = interleaved([f_pe, f_t], args.rounds, repeats=3)
        print(f"{name:<18}{a * 1e3:>13.3f}{b * 1e3:>11.3f}{a / b:>8.2f}")


if __name__ == "__main__":
    main()
