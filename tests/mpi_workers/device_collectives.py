"""The MPI backend with CUDA tensors (carried through host memory) and a CUDA model under DDP:
run where pyengine.cuda is available (the emulated GPU in CI). Usage: device_collectives.py OUT_DIR"""
import numpy as np

import pyengine as pe
import pyengine.distributed as dist
from pyengine import nn
from _common import out_dir, report, start

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
pe.manual_seed(7 + rank)
local = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3)).to("cuda")
ddp = nn.parallel.DistributedDataParallel(local, bucket_cap_mb=0.0001)
pe.manual_seed(7)
ref = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3)).to("cuda")
opt, ref_opt = pe.optim.SGD(ddp.parameters(), lr=0.1), pe.optim.SGD(ref.parameters(), lr=0.1)
g = np.random.default_rng(3)
x = pe.tensor(g.standard_normal((4 * world, 6)).astype("float32"), device="cuda")
y = pe.tensor(g.integers(0, 3, 4 * world), device="cuda")
loss_fn = nn.CrossEntropyLoss()
for _ in range(2):
    opt.zero_grad()
    loss_fn(ddp(x[rank * 4:(rank + 1) * 4]), y[rank * 4:(rank + 1) * 4]).backward()
    opt.step()
    ref_opt.zero_grad()
    loss_fn(ref(x), y).backward()
    ref_opt.step()
results["ddp grads on device"] = all(p.grad.device.type == "cuda" for p in local.parameters())
results["ddp diff"] = max(float((a - b).abs().max()) for a, b in zip(local.parameters(), ref.parameters()))
dist.destroy_process_group()
report(out_dir(), rank, results)
