"""Recurrent layers against PyTorch CPU in the same run: LSTM, GRU and plain RNN (seq 50,
batch 64, input 32, hidden 128), a 2-layer bidirectional LSTM (seq 100, batch 32, input 128,
hidden 256) and an LSTMCell stepped 50 times from Python, forward and forward+backward.

    python benchmarks/bench_rnn.py [--threads 1 2] [--rounds 5] [--quick]

Each case times pyengine and PyTorch alternately for several rounds (the machine is shared)
and reports the median. GFLOP/s counts the GEMM work (2 flops per multiply-add of the input
and recurrent products; backward twice the forward's). ratio = pyengine time / PyTorch time
(<= 1.0 means pyengine is at least as fast; the target is 0.8, and 1.0 for the Python cell loop).

PyTorch 2.13's CPU LSTM is fused: `nn.LSTM` runs oneDNN's RNN primitive (`aten::mkldnn_rnn_layer`,
forward and backward; its GRU and RNN are not). The "native" columns time PyTorch with oneDNN
switched off (`torch.backends.mkldnn.flags(enabled=False)`): its unfused per-step ATen path, the
implementation the 0.8 target was written against.
"""
import argparse
import statistics
import warnings

import numpy as np

import pyengine as pe
from common import limit_threads, machine_line, median_time, torch_or_none

torch = torch_or_none()
# Switching oneDNN off and on warns about TF32 on Intel GPUs, which has nothing to do with this.
warnings.filterwarnings("ignore", message="TF32 acceleration on top of oneDNN")

GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


def copy_weights(m_pe, m_t):
    state = {k: pe.tensor(v.detach().numpy()) for k, v in m_t.state_dict().items()}
    m_pe.load_state_dict(state)


def gemm_flops(kind, T, B, I, H, layers=1, directions=1):
    """Multiply-add flops of one forward: the input and recurrent products of every layer."""
    G, flops, width = GATES[kind], 0, I
    for _ in range(layers):
        flops += directions * 2 * T * B * G * H * (width + H)
        width = H * directions
    return flops


def module_case(kind, T, B, I, H, layers=1, bidirectional=False):
    m_t = getattr(torch.nn, kind)(I, H, num_layers=layers, bidirectional=bidirectional)
    m_pe = getattr(pe.nn, kind)(I, H, num_layers=layers, bidirectional=bidirectional)
    copy_weights(m_pe, m_t)
    x = np.random.default_rng(0).standard_normal((T, B, I), dtype=np.float32)
    px, tx = pe.from_numpy(x), torch.from_numpy(x)
    pxg, txg = pe.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    label = f"{kind} T{T} B{B} I{I} H{H}" + (f" {layers}-layer bidir" if bidirectional else "")
    flops = gemm_flops(kind, T, B, I, H, layers, 2 if bidirectional else 1)

    def fwd_pe():
        with pe.no_grad():
            m_pe(px)

    def fwd_t():
        with torch.no_grad():
            m_t(tx)

    def both_pe():
        pxg.grad = None
        m_pe.zero_grad()
        m_pe(pxg)[0].sum().backward()

    def both_t():
        txg.grad = None
        m_t.zero_grad()
        m_t(txg)[0].sum().backward()

    return [(label + " fwd", flops, fwd_pe, fwd_t), (label + " fwd+bwd", 3 * flops, both_pe, both_t)]


def cell_loop_case(T=50, B=64, I=32, H=128):
    """An LSTMCell stepped T times from Python: one fused op per step, autograd through all."""
    m_t, m_pe = torch.nn.LSTMCell(I, H), pe.nn.LSTMCell(I, H)
    copy_weights(m_pe, m_t)
    x = np.random.default_rng(1).standard_normal((T, B, I), dtype=np.float32)
    pxg, txg = pe.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    flops = gemm_flops("LSTM", T, B, I, H)

    def loop(m, xs):
        h = c = None
        out = 0
        for t in range(T):
            h, c = m(xs[t]) if h is None else m(xs[t], (h, c))
            out = out + h.sum()
        return out

    def fwd_pe():
        with pe.no_grad():
            loop(m_pe, pxg)

    def fwd_t():
        with torch.no_grad():
            loop(m_t, txg)

    def both_pe():
        pxg.grad = None
        m_pe.zero_grad()
        loop(m_pe, pxg).backward()

    def both_t():
        txg.grad = None
        m_t.zero_grad()
        loop(m_t, txg).backward()

    label = f"LSTMCell x{T} steps from Python B{B} I{I} H{H}"
    return [(label + " fwd", flops, fwd_pe, fwd_t), (label + " fwd+bwd", 3 * flops, both_pe, both_t)]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="one round of 3 runs (a smoke run)")
    args = p.parse_args()
    if torch is None:
        raise SystemExit("bench_rnn needs PyTorch for the comparison")
    rounds, repeats = (1, 3) if args.quick else (args.rounds, 7)
    print(f"machine: {machine_line()}")
    print(f"PyTorch {torch.__version__}; pyengine ISA: {pe._C.active_isa()}; float32")
    print(f"median over {rounds} interleaved rounds (each the median of {repeats} runs); "
          "ratio = pyengine time / torch time\n")
    cases = (module_case("LSTM", 50, 64, 32, 128) + module_case("GRU", 50, 64, 32, 128)
             + module_case("RNN", 50, 64, 32, 128) + module_case("LSTM", 100, 32, 128, 256, 2, True)
             + cell_loop_case())
    for threads in args.threads:
        limit_threads(threads)
        print(f"threads = {threads}")
        print(f"{'case':52s} {'pyengine ms':>11s} {'torch ms':>9s} {'pe GFLOP/s':>10s} {'torch GFLOP/s':>13s} "
              f"{'ratio':>6s} {'native ms':>10s} {'vs native':>8s}")
        for name, flops, f_pe, f_t in cases:
            t_pe, t_t, t_n = [], [], []
            for _ in range(rounds):
                t_pe.append(median_time(f_pe, repeats=repeats))
                t_t.append(median_time(f_t, repeats=repeats))
                with torch.backends.mkldnn.flags(enabled=False):
                    t_n.append(median_time(f_t, repeats=repeats))
            a, b, c = statistics.median(t_pe), statistics.median(t_t), statistics.median(t_n)
            print(f"{name:52s} {a * 1e3:11.2f} {b * 1e3:9.2f} {flops / a / 1e9:10.1f} {flops / b / 1e9:13.1f} "
                  f"{a / b:6.2f} {c * 1e3:10.2f} {a / c:8.2f}", flush=True)
        print()


if __name__ == "__main__":
    main()
