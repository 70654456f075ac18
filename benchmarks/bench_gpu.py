"""GPU speed on a real NVIDIA GPU: GFLOP/s of pyengine's CUDA kernels next to the GPU's FP32 peak.

SGEMM 4096^3, the issue-5 convolution (32x64x32x32 input, 64 3x3 filters, pad 1) forward and
forward+backward, one training step of the example MLP (784-256-128-10, batch 256) and of a
small CNN (batch 128, 28x28), and the recurrent layers of benchmarks/bench_rnn.py (an LSTM of seq 50,
batch 64, input 32, hidden 128; a 2-layer bidirectional LSTM of seq 100, batch 32, input 128,
hidden 256) forward and forward+backward, and the fused attention (bench_attention.py's shapes).
Each time is the median of several synchronised runs after a
warm-up. The FP32 peak is the CUDA-core peak: 2 FLOP (one FMA) x cores x boost clock, with the
cores per SM of the device's architecture. Run by benchmarks/gpu_check.sh; pass --device cuda on
the emulated build only to smoke-test the script (numbers there mean nothing).
"""
import argparse
import statistics
import time

import numpy as np

import pyengine as pe
from pyengine import nn
from pyengine.nn import functional as F

# FP32 CUDA cores per SM, by compute capability major (Ampere datacenter 8.0: 64; Hopper: 128).
_CORES_PER_SM = {(8, 0): 64, (8, 6): 128, (8, 9): 128, (9, 0): 128}


def fp32_peak_gflops():
    try:
        import subprocess
        out = subprocess.run(["nvidia-smi", "--query-gpu=clocks.max.sm,name", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, check=True).stdout.split(",")
        mhz, name = float(out[0]), out[1].strip()
    except Exception:
        return None, "unknown GPU (nvidia-smi not found)"
    cc = pe.cuda.get_device_capability()
    sms = {"H200": 132, "H100": 132, "A100": 108}.get(next((k for k in ("H200", "H100", "A100") if k in name), ""), None)
    if sms is None or cc not in _CORES_PER_SM:
        return None, name
    return 2 * sms * _CORES_PER_SM[cc] * mhz / 1e3, name


def timed(fn, reps):
    fn()
    pe.cuda.synchronize()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        pe.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--small", action="store_true", help="tiny sizes (smoke test on the emulated GPU)")
    args = ap.parse_args()
    dev = "cuda"
    peak, name = fp32_peak_gflops()
    print(f"device: {pe.cuda.get_device_name()} ({name}), capability {pe.cuda.get_device_capability()}, "
          f"emulated: {pe.cuda.is_emulated()}, FP32 peak: {f'{peak:.0f} GFLOP/s' if peak else 'unknown'}")
    rows = []

    n = 64 if args.small else 4096
    a, b = pe.randn(n, n, device=dev), pe.randn(n, n, device=dev)
    t = timed(lambda: a @ b, args.reps)
    rows.append((f"SGEMM {n}", 2 * n ** 3 / t / 1e9, t))

    xs, k = ((2, 8, 8, 8), 8) if args.small else ((32, 64, 32, 32), 64)
    x = pe.randn(*xs, device=dev, requires_grad=True)
    w = pe.randn(k, xs[1], 3, 3, device=dev, requires_grad=True)
    flops = 2 * xs[0] * k * xs[2] * xs[3] * xs[1] * 9
    t = timed(lambda: F.conv2d(x, w, None, 1, 1), args.reps)
    rows.append((f"conv {xs} {k} 3x3 fwd", flops / t / 1e9, t))

    def conv_fb():
        F.conv2d(x, w, None, 1, 1).sum().backward()
    t = timed(conv_fb, args.reps)
    rows.append((f"conv {xs} {k} 3x3 fwd+bwd", 3 * flops / t / 1e9, t))

    batch = 16 if args.small else 256
    mlp = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)).to(dev)
    opt = pe.optim.SGD(mlp.parameters(), lr=0.01, momentum=0.9)
    xb, yb = pe.randn(batch, 784, device=dev), pe.randint(0, 10, (batch,), device=dev)

    def mlp_step():
        opt.zero_grad()
        nn.functional.cross_entropy(mlp(xb), yb).backward()
        opt.step()
    t = timed(mlp_step, args.reps)
    mlp_flops = 6 * batch * (784 * 256 + 256 * 128 + 128 * 10)
    rows.append((f"MLP train step (batch {batch})", mlp_flops / t / 1e9, t))

    cb = 8 if args.small else 128
    cnn = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(64 * 7 * 7, 10)).to(dev)
    copt = pe.optim.Adam(cnn.parameters(), lr=1e-3)
    cx, cy = pe.randn(cb, 1, 28, 28, device=dev), pe.randint(0, 10, (cb,), device=dev)

    def cnn_step():
        copt.zero_grad()
        nn.functional.cross_entropy(cnn(cx), cy).backward()
        copt.step()
    t = timed(cnn_step, args.reps)
    cnn_flops = 6 * cb * (28 * 28 * 32 * 9 + 14 * 14 * 64 * 32 * 9 + 64 * 49 * 10)
    rows.append((f"CNN train step (batch {cb})", cnn_flops / t / 1e9, t))

    for T, B, I, H, layers, bidir in ([(5, 4, 8, 16, 1, False), (5, 4, 8, 16, 2, True)] if args.small else
                                      [(50, 64, 32, 128, 1, False), (100, 32, 128, 256, 2, True)]):
        lstm = nn.LSTM(I, H, num_layers=layers, bidirectional=bidir).to(dev)
        xr = pe.randn(T, B, I, device=dev, requires_grad=True)
        dirs = 2 if bidir else 1
        flops, width = 0, I
        for _ in range(layers):
            flops += dirs * 2 * T * B * 4 * H * (width + H)
            width = H * dirs
        name = f"LSTM T{T} B{B} I{I} H{H}" + (f" {layers}-layer bidir" if bidir else "")

        def lstm_fwd():
            with pe.no_grad():
                lstm(xr)

        def lstm_fb():
            lstm(xr)[0].sum().backward()
        t = timed(lstm_fwd, args.reps)
        rows.append((name + " fwd", flops / t / 1e9, t))
        t = timed(lstm_fb, args.reps)
        rows.append((name + " fwd+bwd", 3 * flops / t / 1e9, t))

    # The fused attention kernel (cuda/attention.cu): bench_attention.py's shapes.
    for B, H, L, E, causal in ([(2, 2, 40, 16, False), (2, 2, 40, 16, True)] if args.small else
                               [(8, 8, 512, 64, False), (8, 8, 512, 64, True), (1, 8, 4096, 64, False)]):
        q, k, v = (pe.randn(B, H, L, E, device=dev, requires_grad=True) for _ in range(3))
        flops = 4 * B * H * L * L * E // (2 if causal else 1)
        name = f"sdpa B{B} H{H} L{L} E{E}" + (" causal" if causal else "")

        def attn_fwd():
            with pe.no_grad():
                nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)

        def attn_fb():
            nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal).sum().backward()
        t = timed(attn_fwd, args.reps)
        rows.append((name + " fwd", flops / t / 1e9, t))
        t = timed(attn_fb, args.reps)
        rows.append((name + " fwd+bwd", 3 * flops / t / 1e9, t))

    print(f"{'what':46} {'ms':>9} {'GFLOP/s':>9} {'% of FP32 peak':>15}")
    for what, gf, t in rows:
        pct = f"{100 * gf / peak:.1f}%" if peak else "-"
        print(f"{what:46} {t * 1e3:9.3f} {gf:9.1f} {pct:>15}")


if __name__ == "__main__":
    main()
