"""A data-parallel PyTorch training script, written as a PyTorch user writes one (gloo backend,
DistributedDataParallel, DistributedSampler with set_epoch, a metric all-reduced, a rank-0
checkpoint), runs on pyengine under `mpiexec -n 2` with only its import lines changed."""
import re

from mpi_launch import launch_python
from test_pytorch_script import _pyengine_imports

SCRIPT = '''
import sys
import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

dist.init_process_group(backend="gloo")
rank, world_size = dist.get_rank(), dist.get_world_size()
torch.manual_seed(0)  # the same data everywhere; each rank reads its share
n = 800
angles = torch.rand(n) * 6.28
labels = torch.randint(0, 3, (n,))
radius = 1.0 + labels.float()
x = torch.stack([radius * torch.cos(angles), radius * torch.sin(angles)], dim=1) + 0.1 * torch.randn(n, 2)
dataset = TensorDataset(x, labels)
sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=0)
loader = DataLoader(dataset, batch_size=32, sampler=sampler)

torch.manual_seed(rank)  # different initial weights: DDP starts every rank from rank 0's
model = DDP(nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 3)))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
criterion = nn.CrossEntropyLoss()
for epoch in range(20):
    sampler.set_epoch(epoch)
    for xb, yb in loader:
        optimizer.zero_grad()
        criterion(model(xb), yb).backward()
        optimizer.step()

with torch.no_grad():
    correct = torch.tensor([(model(x).argmax(dim=1) == labels).sum().item()], dtype=torch.float64)
dist.all_reduce(correct, op=dist.ReduceOp.SUM)
checksum = sum(p.detach().double().sum().item() for p in model.parameters())
if rank == 0:
    torch.save(model.module.state_dict(), sys.argv[1])
dist.barrier()
restored = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 3))
restored.load_state_dict(torch.load(sys.argv[1], weights_only=True))
same = all(torch.equal(a, b) for a, b in zip(restored.parameters(), model.module.parameters()))
print(f"rank {rank}: accuracy {correct.item() / (n * world_size):.4f} checksum {checksum:.10f} restored {same}")
dist.destroy_process_group()
'''


def test_the_script_only_differs_in_its_import_lines():
    changed = [a for a, b in zip(SCRIPT.split("\n"), _pyengine_imports(SCRIPT).split("\n")) if a != b]
    assert changed == [line for line in SCRIPT.split("\n") if line.startswith(("import torch", "from torch"))]
    assert len(changed) == 6


def test_a_pytorch_ddp_script_runs_under_mpiexec_with_only_the_import_changed(tmp_path):
    script = tmp_path / "train_ddp.py"
    script.write_text(_pyengine_imports(SCRIPT))
    # (the ranks' lines may interleave: each is matched on its own, not line by line)
    rc, out, _ = launch_python(2, [str(script), str(tmp_path / "model.pt")], timeout=300, cwd=tmp_path)
    assert rc == 0, out[-3000:]
    ranks = dict((int(r), (float(a), c, s)) for r, a, c, s in
                 re.findall(r"rank (\d): accuracy ([\d.]+) checksum ([-\d.]+) restored (True|False)", out))
    assert sorted(ranks) == [0, 1], out[-3000:]
    assert ranks[0][0] == ranks[1][0] > 0.9        # learned; the all-reduced metric is the same on both
    assert ranks[0][1] == ranks[1][1]              # identical models on both ranks
    assert ranks[0][2] == ranks[1][2] == "True"    # rank 0's checkpoint loads everywhere
