"""The MPI backend with CUDA tensors (carried through host memory) and a CUDA model under DDP:
run where pyengine.cuda is available (the emulated GPU in CI). Usage: device_collectives.py OUT_DIR"""
import pyengine as pe
import pyengine.distributed as dist
from _common import out_dir, report, start
from _ddp_models import ddp_matches_one_process

rank, world = start()
results = {}
want = float(sum(range(1, world + 1)))

t = pe.full((5, 3), float(rank + 1), device="cuda")
dist.all_reduce(t)
results["all_reduce"] = t.device.type == "cuda" and t.cpu().tolist() == [[want] * 3] * 5

t = pe.full((4, 2), float(rank + 1), device="cuda", dtype=pe.bfloat16).t()  # strided, 16-bit, on the device
dist.all_reduce(t)
results["all_reduce bf16 strided"] = t.dtype == pe.bfloat16 and t.float().cpu().tolist() == [[want] * 4] * 2

t = pe.arange(6, device="cuda") * (rank + 1)
dist.broadcast(t, src=world - 1)
results["broadcast"] = t.cpu().tolist() == [i * world for i in range(6)]

out = pe.zeros(world * 2, device="cuda")
dist.all_gather_into_tensor(out, pe.full((2,), float(rank), device="cuda"))
results["all_gather_into_tensor"] = out.cpu().tolist() == [float(r) for r in range(world) for _ in range(2)]

# DDP on the device: equal to one process on the whole batch
diff, local = ddp_matches_one_process(rank, world, "cuda", bucket_cap_mb=0.0001)
results["ddp grads on device"] = all(p.grad.device.type == "cuda" for p in local.parameters())
results["ddp diff"] = diff
dist.destroy_process_group()
report(out_dir(), rank, results)
