"""EmbeddingBag against PyTorch CPU in the same run: sum / mean / max, forward and
forward+backward, V=10000, D=64, 256 bags of ~100 entries (1-D input cut at offsets).

    python benchmarks/bench_embedding.py [--threads 1] [--rounds 5]

Each case times pyengine and PyTorch alternately for several rounds (the machine is shared) and
reports the median. forward+backward resets the weight's gradient to None first and backs up a
fixed output gradient. ratio = pyengine time / PyTorch time (<= 1.0: pyengine at least as fast).
"""
import argparse

import numpy as np

import pyengine as pe
from common import interleaved, limit_threads, machine_line, torch_or_none

torch = torch_or_none()
V, D, BAGS, PER_BAG = 10000, 64, 256, 100


def cases():
    rng = np.random.default_rng(0)
    lengths = rng.integers(PER_BAG // 2, PER_BAG * 3 // 2 + 1, BAGS)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    idx = rng.integers(0, V, int(lengths.sum())).astype(np.int64)
    w = rng.standard_normal((V, D)).astype(np.float32)
    g = rng.standard_normal((BAGS, D)).astype(np.float32)
    out = []
    for mode in ("sum", "mean", "max"):
        m_pe = pe.nn.EmbeddingBag(V, D, mode=mode)
        m_t = torch.nn.EmbeddingBag(V, D, mode=mode)
        m_pe.weight = pe.nn.Parameter(pe.tensor(w))
        with torch.no_grad():
            m_t.weight.copy_(torch.from_numpy(w))
        pi, po, pg = pe.tensor(idx), pe.tensor(offsets), pe.tensor(g)
        ti, to, tg = torch.from_numpy(idx), torch.from_numpy(offsets), torch.from_numpy(g)

        def fwd_pe(m=m_pe):
            with pe.no_grad():
                m(pi, po)

        def fwd_t(m=m_t):
            with torch.no_grad():
                m(ti, to)

        def both_pe(m=m_pe):
            m.weight.grad = None
            m(pi, po).backward(pg)

        def both_t(m=m_t):
            m.weight.grad = None
            m(ti, to).backward(tg)

        out.append((f"{mode} fwd", fwd_pe, fwd_t))
        out.append((f"{mode} fwd+bwd", both_pe, both_t))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    if torch is None:
        raise SystemExit("bench_embedding.py compares with PyTorch: pip install torch")
    limit_threads(args.threads)
    print(machine_line())
    print(f"EmbeddingBag V={V} D={D} bags={BAGS} ~{PER_BAG} entries/bag, float32, {args.threads} thread(s)")
    print(f"{'case':<16}{'pyengine ms':>13}{'torch ms':>11}{'ratio':>8}")
    for name, f_pe, f_t in cases():
        a, b = interleaved([f_pe, f_t], args.rounds, repeats=3)
        print(f"{name:<16}{a * 1e3:>13.3f}{b * 1e3:>11.3f}{a / b:>8.2f}")


if __name__ == "__main__":
    main()
