"""The sort and scan families against PyTorch in the same run (CPU kernels): sort along the
inner and the outer dim, topk, median, mode, unique, searchsorted, cumsum, cummax,
logcumsumexp, and cumsum forward + backward.

    python benchmarks/bench_sort_scan.py [--threads 2 1] [--rounds 3]

Each case times pyengine and PyTorch alternately for several rounds (the machine is shared) and
reports the median over rounds of each round's median. ratio = pyengine time / torch time (<1:
pyengine is faster), as in the other benchmarks.
"""
import argparse

import numpy as np

import pyengine as pe
from common import fwd_bwd, interleaved, limit_threads, machine_line, torch_or_none

torch = torch_or_none()


def cases():
    """(name, input shape, pyengine fn(x), torch fn(x)); both libraries are the module `m`."""
    def both(f):
        return (lambda x: f(pe, x)), torch and (lambda x: f(torch, x))

    sorted_row = np.sort(np.random.default_rng(1).standard_normal(4096)).astype(np.float32)
    values = {}

    def search(m, x):
        key = m.__name__
        if key not in values:
            values[key] = m.tensor(sorted_row)
        return m.searchsorted(values[key], x)

    return [
        ("sort dim=-1", (512, 1024)) + both(lambda m, x: m.sort(x, dim=-1)),
        ("sort dim=0", (1024, 512)) + both(lambda m, x: m.sort(x, dim=0)),
        ("sort 1-D", (1 << 20,)) + both(lambda m, x: m.sort(x)),
        ("topk k=10", (512, 1024)) + both(lambda m, x: m.topk(x, 10)),
        ("median dim=-1", (512, 1024)) + both(lambda m, x: m.median(x, -1)),
        ("mode dim=-1 (ints)", (512, 1024)) + both(lambda m, x: m.mode((x * 4).round(), -1)),
        ("unique", (1 << 18,)) + both(lambda m, x: m.unique((x * 100).round(), return_counts=True)),
        ("searchsorted 4096", (1 << 18,)) + both(search),
        ("cumsum dim=-1", (1024, 1024)) + both(lambda m, x: m.cumsum(x, -1)),
        ("cumsum dim=0", (1024, 1024)) + both(lambda m, x: m.cumsum(x, 0)),
        ("cummax dim=-1", (1024, 1024)) + both(lambda m, x: m.cummax(x, -1)),
        ("logcumsumexp dim=-1", (1024, 1024)) + both(lambda m, x: m.logcumsumexp(x, -1)),
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
        print(f"{'case':22s} {'shape':12s} {'pass':8s} {'pe ms':>8s} {'torch ms':>9s} {'ratio':>7s}")
        for name, shape, f_pe, f_t in cases():
            xn = rng.standard_normal(shape).astype(np.float32)
            x, tx = pe.tensor(xn), torch.from_numpy(xn) if torch else None
            rows = [("fwd", lambda: f_pe(x), f_t and (lambda: f_t(tx)))]
            if name == "cumsum dim=-1":
                g = rng.standard_normal(shape).astype(np.float32)
                xg, txg = pe.tensor(xn, requires_grad=True), torch and torch.tensor(xn, requires_grad=True)
                rows.append(("fwd+bwd", fwd_bwd(f_pe, xg, pe.tensor(g)),
                             f_t and fwd_bwd(f_t, txg, torch.from_numpy(g))))
            for kind, run_pe, run_t in rows:
                t_pe, t_t = interleaved([run_pe, run_t], args.rounds)
                ratio = f"{t_pe / t_t:7.2f}" if t_t else "      -"
                t_t_ms = f"{1e3 * t_t:9.3f}" if t_t else "        -"
                print(f"{name:22s} {'x'.join(map(str, shape)):12s} {kind:8s} {1e3 * t_pe:8.3f} {t_t_ms} {ratio}")
        print()


if __name__ == "__main__":
    main()
