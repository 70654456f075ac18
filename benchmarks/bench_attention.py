"""Attention against PyTorch CPU in the same run: F.scaled_dot_product_attention forward and
forward+backward for (batch 8, heads 8, seq 512, head_dim 64), causal and not, and for
(batch 1, heads 8, seq 4096, head_dim 64); a TransformerEncoderLayer training step (d_model 256,
8 heads, ff 1024, seq 128, batch 32, Adam), with its default dropout 0.1 and with dropout 0.

    python benchmarks/bench_attention.py [--threads 1 2] [--rounds 5] [--quick] [--no-memory]

Each case times pyengine and PyTorch alternately for several rounds (the machine is shared) and
reports the median. GFLOP/s counts the two attention products of the forward (2 flops per
multiply-add; a causal mask halves them) and twice that for the backward's four products (the
backward's recomputation of the scores is not counted), so both frameworks are measured against
the same count. ratio = pyengine time / PyTorch time (target: <= 1.0 on every row).

Peak memory of the long row: each framework runs the forward and the forward+backward once in a
fresh process, which reports how far its resident set grew beyond what it held before the call
(the peak resident size, VmHWM, reset just before the call, minus the resident size then). q, k and v themselves are 8 MiB
each; the full (8, 4096, 4096) float32 score matrix would be 512 MiB.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

import numpy as np

import pyengine as pe
from common import limit_threads, machine_line, median_time, torch_or_none

torch = torch_or_none()


def attention_flops(B, H, L, S, E, causal):
    flops = 2 * 2 * B * H * L * S * E  # q k^T and P v
    return flops / 2 if causal else flops


def inputs(B, H, L, E, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((B, H, L, E), dtype=np.float32) for _ in range(3)]


def sdpa_case(B, H, L, E, causal):
    arrays = inputs(B, H, L, E)
    p_in = [pe.from_numpy(a) for a in arrays]
    t_in = [torch.from_numpy(a) for a in arrays]
    p_req = [pe.tensor(a, requires_grad=True) for a in arrays]
    t_req = [torch.tensor(a, requires_grad=True) for a in arrays]
    p_sdpa, t_sdpa = pe.nn.functional.scaled_dot_product_attention, torch.nn.functional.scaled_dot_product_attention
    grad = np.ones((B, H, L, E), dtype=np.float32)
    p_grad, t_grad = pe.from_numpy(grad), torch.from_numpy(grad)

    def fwd_pe():
        with pe.no_grad():
            p_sdpa(*p_in, is_causal=causal)

    def fwd_t():
        with torch.no_grad():
            t_sdpa(*t_in, is_causal=causal)

    def both_pe():
        for t in p_req:
            t.grad = None
        p_sdpa(*p_req, is_causal=causal).backward(p_grad)

    def both_t():
        for t in t_req:
            t.grad = None
        t_sdpa(*t_req, is_causal=causal).backward(t_grad)

    label = f"sdpa B{B} H{H} L{L} E{E}" + (" causal" if causal else "")
    flops = attention_flops(B, H, L, L, E, causal)
    return [(label + " fwd", flops, fwd_pe, fwd_t), (label + " fwd+bwd", 3 * flops, both_pe, both_t)]


def encoder_layer_case(dropout, d_model=256, nhead=8, ff=1024, L=128, B=32):
    if not hasattr(pe.nn, "TransformerEncoderLayer"):
        return []
    m_t = torch.nn.TransformerEncoderLayer(d_model, nhead, ff, dropout=dropout, batch_first=True)
    m_pe = pe.nn.TransformerEncoderLayer(d_model, nhead, ff, dropout=dropout, batch_first=True)
    m_pe.load_state_dict({k: pe.tensor(v.detach().numpy()) for k, v in m_t.state_dict().items()})
    m_t.train()
    m_pe.train()
    opt_t = torch.optim.Adam(m_t.parameters(), lr=1e-4)
    opt_pe = pe.optim.Adam(m_pe.parameters(), lr=1e-4)
    x = np.random.default_rng(2).standard_normal((B, L, d_model), dtype=np.float32)
    px, tx = pe.from_numpy(x), torch.from_numpy(x)

    def step_pe():
        opt_pe.zero_grad()
        m_pe(px).square().mean().backward()
        opt_pe.step()

    def step_t():
        opt_t.zero_grad()
        m_t(tx).square().mean().backward()
        opt_t.step()

    # Linear layers (4 d^2 for q, k, v, out + 2 d ff) per token, the attention products, x3 for training.
    flops = 3 * (2 * B * L * (4 * d_model * d_model + 2 * d_model * ff) + attention_flops(B, 1, L, L, d_model, False))
    label = f"TransformerEncoderLayer d{d_model} h{nhead} ff{ff} L{L} B{B} step, dropout {dropout}"
    return [(label, flops, step_pe, step_t)]


# ---------------------------------------------------------------- peak memory (own processes)
def _status_bytes(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024  # "VmHWM:  1234 kB"
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak_rss():
    """Resets VmHWM to the current resident size (ru_maxrss cannot be reset, and a child starts
    with its parent's)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def memory_child(framework, B, H, L, E, backward):
    """Runs in a fresh process: one call of the long row; prints the growth of the peak RSS."""
    arrays = inputs(B, H, L, E)
    if framework == "torch":
        import torch as lib
        ts = [lib.tensor(a, requires_grad=backward) for a in arrays]
        sdpa = lib.nn.functional.scaled_dot_product_attention
    else:
        lib = pe
        ts = [pe.tensor(a, requires_grad=backward) for a in arrays]
        sdpa = pe.nn.functional.scaled_dot_product_attention
    _reset_peak_rss()
    before = _status_bytes("VmRSS")
    if backward:
        sdpa(*ts).sum().backward()
    else:
        with lib.no_grad():
            sdpa(*ts)
    peak = _status_bytes("VmHWM")
    print(json.dumps({"grown": peak - before}))


def peak_memory(framework, B, H, L, E, backward, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, __file__, "--memory-child", framework, str(B), str(H), str(L), str(E),
                          str(int(backward))], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["grown"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="one round of 3 runs (a smoke run)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory runs")
    p.add_argument("--memory-child", nargs=6, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.memory_child:
        framework, *dims, backward = args.memory_child
        memory_child(framework, *map(int, dims), bool(int(backward)))
        return
    if torch is None:
        raise SystemExit("bench_attention needs PyTorch for the comparison")
    rounds, repeats = (1, 3) if args.quick else (args.rounds, 5)
    print(f"machine: {machine_line()}")
    print(f"PyTorch {torch.__version__}; pyengine ISA: {pe._C.active_isa()}; float32")
    print(f"median over {rounds} interleaved rounds (each the median of {repeats} runs); "
          "ratio = pyengine time / torch time\n")
    cases = (sdpa_case(8, 8, 512, 64, False) + sdpa_case(8, 8, 512, 64, True) + sdpa_case(1, 8, 4096, 64, False)
             + encoder_layer_case(0.1) + encoder_layer_case(0.0))
    for threads in args.threads:
        limit_threads(threads)
        print(f"threads = {threads}")
        print(f"{'case':66s} {'pyengine ms':>11s} {'torch ms':>9s} {'pe GFLOP/s':>10s} {'torch GFLOP/s':>13s} "
              f"{'ratio':>6s}")
        for name, flops, f_pe, f_t in cases:
            t_pe, t_t = [], []
            for _ in range(rounds):
                t_pe.append(median_time(f_pe, repeats=repeats))
                t_t.append(median_time(f_t, repeats=repeats))
            a, b = statistics.median(t_pe), statistics.median(t_t)
            print(f"{name:66s} {a * 1e3:11.2f} {b * 1e3:9.2f} {flops / a / 1e9:10.1f} {flops / b / 1e9:13.1f} "
                  f"{a / b:6.2f}", flush=True)
        print()
    if not args.no_memory:
        print("peak memory of the long row (B1 H8 L4096 E64), growth of the resident set during one call, "
              f"{args.threads[-1]} threads:")
        for backward in (False, True):
            grown = {fw: peak_memory(fw, 1, 8, 4096, 64, backward, args.threads[-1]) for fw in ("pyengine", "torch")}
            print(f"  {'fwd+bwd' if backward else 'fwd':8s} pyengine {grown['pyengine'] / 2**20:8.1f} MiB   "
                  f"torch {grown['torch'] / 2**20:8.1f} MiB")


if __name__ == "__main__":
    main()
