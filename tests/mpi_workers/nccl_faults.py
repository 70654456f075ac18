"""The 'nccl' backend's watchdog, on 2 ranks of the emulated GPU with the fake NCCL: rank 1's
"GPU" starts an all_reduce 5 s late (stuck); with a 2 s timeout both ranks must get a
DistBackendError (their communicators aborted by the watchdog while the call still blocks)
instead of waiting, and refuse later NCCL calls.
Usage: nccl_faults.py OUT_DIR"""
import pyengine as pe
import pyengine.distributed as dist
import _fake_nccl
from _common import start

fake = _fake_nccl.install()
rank, world = start(timeout_s=2, backend="nccl")
t = pe.ones(4, device="cuda")
dist.all_reduce(t)  # the communicator, made while both ranks are well
if rank == 1:
    fake.hang_next_s = 5.0
try:
    dist.all_reduce(t)
    print(f"rank {rank}: no error", flush=True)
except dist.DistBackendError as e:
    print(f"rank {rank}: DistBackendError: {e}", flush=True)
    try:
        dist.all_reduce(t)
    except dist.DistBackendError as again:
        if "aborted" in str(again):
            print(f"rank {rank}: later call refused", flush=True)
fake.drain()  # the abandoned requests complete once rank 1 has joined
dist.destroy_process_group()
