#!/usr/bin/env bash
# On a machine with an NVIDIA GPU and nvcc: build pyengine with CUDA, run the device-parametrised
# tests on the real GPU, and print the GPU benchmark (bench_gpu.py). Meant to finish in under 8
# minutes on an H100/H200-class machine; output goes to stdout (and $OUT/gpu_check.log if $OUT is set).
set -euo pipefail
cd "$(dirname "$0")/.."
log=${OUT:-/tmp}/gpu_check.log
exec > >(tee "$log") 2>&1
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
nvcc --version | tail -1
python3 -m venv /tmp/pe-gpu && . /tmp/pe-gpu/bin/activate
pip install -q numpy pytest hypothesis pybind11 ninja cmake safetensors tqdm
# Build for this GPU's architecture only (a third of the nvcc time of the sm_80;sm_90 wheel).
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d .)
rm -f pyengine/_C*.so
cmake -S . -B build/gpu -G Ninja -DPYENGINE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$arch" \
  -Dpybind11_DIR="$(python -m pybind11 --cmakedir)" -DPython_EXECUTABLE="$(command -v python)" >/dev/null
time cmake --build build/gpu -j"$(nproc)"
python -c "import pyengine as pe; assert pe.cuda.is_available() and not pe.cuda.is_emulated(); print(pe.cuda.get_device_name())"
# The device-parametrised tests, on the real GPU (torch is not installed: its comparisons skip).
time PYTHONPATH=. timeout 300 python -m pytest -q -p no:cacheprovider -k cuda tests || true
PYTHONPATH=. python benchmarks/bench_gpu.py
