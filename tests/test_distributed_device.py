"""pyengine.distributed with CUDA tensors (through host memory on the MPI backend) and DDP of a
model on the device, on 2 MPI ranks: runs where pyengine.cuda is available, i.e. on the emulated
GPU in CI (PYENGINE_CUDA=EMU) or a real one."""
import pytest

import pyengine as pe
from mpi_launch import run_ranks


@pytest.mark.skipif(not pe.cuda.is_available(), reason="no CUDA device (real or emulated)")
def test_collectives_and_ddp_on_cuda_tensors(tmp_path):
    for r in run_ranks(2, "device_collectives.py", tmp_path, timeout=300):
        for name in ("all_reduce", "all_reduce bf16 strided", "broadcast", "all_gather_into_tensor",
                     "ddp grads on device"):
            assert r[name] is True, (name, r)
        assert r["ddp diff"] < 1e-5, r
