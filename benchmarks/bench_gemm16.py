"""16-bit float products on the CPU: pyengine's bfloat16 GEMM (AVX512_BF16 dot products where
the CPU has them, else operands widened to float32 while packing) and float16 GEMM (widened),
against pyengine's own float32 GEMM, PyTorch 2.13 in the same dtypes, and NumPy float32 (OpenBLAS;
NumPy has no bfloat16).

    python benchmarks/bench_gemm16.py [--threads 1 2] [--rounds 3] [--sizes 256 512 1024]

Each row times the libraries alternately for several rounds (the machine is shared) and reports
the median over rounds of each round's median, as GFLOP/s (2 M N K per product) and ratios
pyengine time / peer time (< 1: pyengine is faster). "bf16 (widened)" is the same product with the
dot-product kernel switched off (set_isa('avx2')), to show what the instruction buys.
"""
from common import clean_openblas_env

clean_openblas_env()

import argparse  # noqa: E402

import numpy as np  # noqa: E402

import pyengine as pe  # noqa: E402
from common import interleaved, limit_threads, machine_line, openblas_kernel, torch_or_none  # noqa: E402

torch = torch_or_none()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    args = p.parse_args()
    print(f"machine: {machine_line()}")
    print(f"NumPy {np.__version__}, OpenBLAS kernel: {openblas_kernel()}")
    print(f"PyTorch: {torch.__version__ if torch else 'not installed'}; pyengine ISA: {pe._C.active_isa()}, "
          f"bfloat16 products on: {pe._C.bf16_gemm_path()}")
    print("square products n x n @ n x n; GFLOP/s (median); ratio = pyengine time / peer time\n")
    best_isa = pe._C.active_isa()
    lower_isa = "avx2" if best_isa == "avx512" else best_isa

    def widened(a, b):
        pe._C.set_isa(lower_isa)
        try:
            return a @ b
        finally:
            pe._C.set_isa(best_isa)

    rng = np.random.default_rng(0)
    for threads in args.threads:
        limit_threads(threads)
        print(f"threads = {threads}")
        print(f"{'n':>5s} {'dtype':16s} {'pe GF/s':>8s} {'torch GF/s':>10s} {'vs torch':>8s} "
              f"{'pe f32 GF/s':>11s} {'numpy f32':>9s} {'vs pe f32':>9s}")
        for n in args.sizes:
            an = rng.standard_normal((n, n)).astype(np.float32)
            bn = rng.standard_normal((n, n)).astype(np.float32)
            a32, b32 = pe.tensor(an), pe.tensor(bn)
            gflop = 2 * n ** 3 / 1e9
            for label, pe_dtype, torch_name, op in (
                    ("bfloat16", pe.bfloat16, "bfloat16", lambda a, b: a @ b),
                    ("bf16 (widened)", pe.bfloat16, None, widened),
                    ("float16", pe.float16, "float16", lambda a, b: a @ b)):
                a, b = a32.to(pe_dtype), b32.to(pe_dtype)
                ta = tb = None
                if torch is not None and torch_name:
                    ta = torch.from_numpy(an).to(getattr(torch, torch_name))
                    tb = torch.from_numpy(bn).to(getattr(torch, torch_name))
                fns = [lambda: op(a, b), (lambda: ta @ tb) if ta is not None else None,
                       lambda: a32 @ b32, lambda: an @ bn]
                t_pe, t_torch, t_f32, t_np = interleaved(fns, args.rounds)
                print(f"{n:5d} {label:16s} {gflop / t_pe:8.1f} {gflop / t_torch:10.1f} {t_pe / t_torch:8.2f} "
                      f"{gflop / t_f32:11.1f} {gflop / t_np:9.1f} {t_pe / t_f32:9.2f}")
        print()


if __name__ == "__main__":
    main()
