"""The 'nccl' backend on a real GPU, one process (run by gpu_check.sh; no GPU is needed to read
it): NCCL's version, every collective on CUDA tensors against its result, a DDP training step
equal to the same step without DDP, and the time of a 64 MiB all_reduce. Says why and exits 0
when the machine has no mpi4py or no NCCL library."""
import importlib.util
import sys
import time

import pyengine as pe
import pyengine.distributed as dist
from pyengine import nn
from pyengine.distributed import _nccl_lib

if importlib.util.find_spec("mpi4py") is None or _nccl_lib.find_library() is None:
    print(f"skipped: mpi4py {'found' if importlib.util.find_spec('mpi4py') else 'missing'}, NCCL library "
          f"{_nccl_lib.find_library() or 'missing'} (pip install mpi4py mpich nvidia-nccl-cu12)")
    sys.exit(0)
if not pe.cuda.is_available() or pe.cuda.is_emulated():
    sys.exit("nccl_check.py needs a real GPU")
dist.init_process_group("nccl")
print("NCCL", _nccl_lib.load().version_text, "from", _nccl_lib.find_library(), "backend", dist.get_backend())
ok = True


def check(name, good):
    global ok
    ok &= bool(good)
    print(f"{name}: {'ok' if good else 'FAILED'}")


for dtype in (pe.float32, pe.float64, pe.float16, pe.bfloat16, pe.int64):
    t = pe.arange(1000, device="cuda").to(dtype)
    dist.all_reduce(t)
    check(f"all_reduce {dtype}", (t.cpu().double() == pe.arange(1000).double()).all().item())
t = pe.arange(12.0, device="cuda").reshape(3, 4).t()  # strided
dist.all_reduce(t, dist.ReduceOp.MAX)
check("all_reduce strided MAX", (t.cpu() == pe.arange(12.0).reshape(3, 4).t()).all().item())
t = pe.full((5,), 3.0, device="cuda")
dist.broadcast(t, src=0)
out = pe.zeros(5, device="cuda")
dist.all_gather_into_tensor(out, t)
check("broadcast + all_gather_into_tensor", out.cpu().tolist() == [3.0] * 5)
dist.reduce_scatter_tensor(out, pe.ones(5, device="cuda"))
check("reduce_scatter_tensor", out.cpu().tolist() == [1.0] * 5)
w = dist.all_reduce(pe.ones(10, device="cuda"), async_op=True)
check("async wait", w.wait() and w.is_completed())

pe.manual_seed(0)
model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 10)).to("cuda")
pe.manual_seed(0)
ref = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 10)).to("cuda")
ddp = nn.parallel.DistributedDataParallel(model)
x, y = pe.randn(16, 32, device="cuda"), pe.randint(0, 10, (16,), device="cuda")
nn.CrossEntropyLoss()(ddp(x), y).backward()
nn.CrossEntropyLoss()(ref(x), y).backward()
check("DDP gradients", max(float((a.grad - b.grad).abs().max()) for a, b in zip(model.parameters(),
                                                                          ref.parameters())) < 1e-6)
big = pe.ones(16 * 1024 * 1024, device="cuda")
dist.all_reduce(big)
times = []
for _ in range(5):
    began = time.perf_counter()
    dist.all_reduce(big)  # wait() returns when the GPU is done
    times.append(time.perf_counter() - began)
print(f"all_reduce 64 MiB, 1 rank: median {sorted(times)[2] * 1e3:.2f} ms")
dist.destroy_process_group()
print("NCCL check", "passed" if ok else "FAILED")
sys.exit(0 if ok else 1)
