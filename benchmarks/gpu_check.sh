#!/usr/bin/env bash
# On a machine with an NVIDIA GPU, nvcc, CMake, ninja and Python with numpy, pytest, hypothesis,
# pybind11, safetensors and tqdm (the workplace's H200 image has them all; nothing is installed
# here): build pyengine with CUDA for this GPU, run the device tests on it, and print
# bench_gpu.py's GFLOP/s next to the FP32 peak. About 5 minutes on an H200; the whole log also
# goes to $OUT/gpu_check.log when $OUT is set.
set -uo pipefail
cd "$(dirname "$0")/.."
log=${OUT:-/tmp}/gpu_check.log
exec > >(tee "$log") 2>&1
PY=${PYTHON:-python3}
# The system compiler, not a toolchain that links its own static libstdc++ into _C (the H200
# image's $CXX=/opt/gcc does): a second C++ runtime beside the one numpy loads crashes iostreams.
for tool in gcc g++; do [ -x /usr/bin/$tool ] || { echo "no /usr/bin/$tool"; exit 1; }; done
export CC=/usr/bin/gcc CXX=/usr/bin/g++ CUDAHOSTCXX=/usr/bin/g++
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,compute_cap --format=csv
nvcc --version | tail -1
c++ --version | head -1
$PY -c "import sys, numpy, pytest, pybind11; print('python', sys.version.split()[0], 'numpy', numpy.__version__)"
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d .)
rm -f pyengine/_C*.so
# This GPU's architecture only, and the generic CPU kernels only: the check is about the GPU.
rm -rf build/gpu
cmake -S . -B build/gpu -G Ninja -DPYENGINE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$arch" -DPYENGINE_MULTI_ISA=OFF \
  -Dpybind11_DIR="$($PY -m pybind11 --cmakedir)" -DPython_EXECUTABLE="$(command -v $PY)" > /dev/null || exit 1
start=$(date +%s)
cmake --build build/gpu -j"$(nproc)" > build/gpu/build.log 2>&1 || { tail -40 build/gpu/build.log; exit 1; }
echo "== built in $(( $(date +%s) - start )) s"
PYTHONPATH=. $PY -c "
import pyengine as pe
assert pe.cuda.is_available() and not pe.cuda.is_emulated(), 'no real GPU'
x = pe.randn(256, 256, device='cuda')
print(pe.cuda.get_device_name(), pe.cuda.get_device_capability(), 'smoke:', float(((x @ x) - (x.cpu() @ x.cpu()).cuda()).abs().max().cpu()))
" || exit 1
# Every test that runs on device="cuda" (the device fixture's cuda half and the *_device files).
start=$(date +%s)
PYTHONPATH=. timeout 150 $PY -m pytest -q -p no:cacheprovider -rf -k "cuda or device" tests 2>&1 | tail -40
echo "== device tests done in $(( $(date +%s) - start )) s"
PYTHONPATH=. timeout 90 $PY benchmarks/bench_gpu.py --reps 5
# The 'nccl' backend on this GPU: a world of one process (MPI's singleton start), NCCL from the
# nvidia-nccl wheel or the system, when the image has mpi4py and the library (nothing is installed
# here). The collectives against their results, and a DDP step against the same step alone.
echo "== NCCL backend"
PYTHONPATH=. timeout 90 $PY benchmarks/nccl_check.py
