"""What the DDP workers share: the models, the batches, and the one-process reference that DDP
on several ranks must match (every rank trains it alone on the whole batches, from rank 0's
initial weights - the weights DDP copies to every rank)."""
import numpy as np

import pyengine as pe
from pyengine import nn

PER_RANK = 4  # samples per rank in each step's batch
loss_fn = nn.CrossEntropyLoss()


class TwoHeads(nn.Module):
    """An MLP with a head the loss never uses (find_unused_parameters)."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(12, 16), nn.Tanh())
        self.head = nn.Linear(16, 3)
        self.unused = nn.Linear(16, 3)

    def forward(self, x):
        return self.head(self.body(x))


def build(kind):
    """kind: mlp | cnn | bn (a CNN with BatchNorm) | unused (TwoHeads)."""
    if kind == "unused":
        return TwoHeads()
    if kind == "mlp":
        return nn.Sequential(nn.Linear(12, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3))
    layers = [nn.Conv2d(1, 4, 3, padding=1)]
    if kind == "bn":
        layers.append(nn.BatchNorm2d(4))
    return nn.Sequential(*layers, nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))


def batch(kind, step, n):
    """Step `step`'s batch of n samples: the same on every rank (each takes its share)."""
    g = np.random.default_rng(100 + step)
    shape = (n, 12) if kind in ("mlp", "unused") else (n, 1, 8, 8)
    return pe.tensor(g.standard_normal(shape).astype("float32")), pe.tensor(g.integers(0, 3, n))


def share(rank):
    """This rank's rows of a step's batch."""
    return slice(rank * PER_RANK, (rank + 1) * PER_RANK)


def sgd(params):
    return pe.optim.SGD(params, lr=0.1, momentum=0.9)


def rank_model(kind, rank):
    """This rank's own model: different initial weights on every rank (DDP must copy rank 0's)."""
    pe.manual_seed(1000 + rank)
    return build(kind)


def reference_model(kind):
    """Rank 0's initial weights, rebuilt on every rank, and its optimizer."""
    pe.manual_seed(1000)
    model = build(kind)
    return model, sgd(model.parameters())


def reference_step(model, opt, x, y):
    """One step of the reference on the whole batch."""
    opt.zero_grad()
    loss_fn(model(x), y).backward()
    opt.step()


def max_diff(params_a, params_b):
    """The largest difference between two models' parameters (on the CPU: one may be on a GPU)."""
    return max(float((a.cpu() - b.cpu()).abs().max()) for a, b in zip(params_a, params_b))


def ddp_matches_one_process(rank, world, device="cpu", group=None, steps=2, **ddp_kwargs):
    """DDP of the MLP on `device` over `group` (rank, world: this rank's place in it) for `steps`
    SGD steps beside the one-process reference on the CPU: (largest parameter difference, the
    rank's model)."""
    from pyengine.nn.parallel import DistributedDataParallel
    local = rank_model("mlp", rank).to(device)
    ddp = DistributedDataParallel(local, process_group=group, **ddp_kwargs)
    opt = sgd(ddp.parameters())
    reference, ref_opt = reference_model("mlp")
    for step in range(steps):
        x, y = batch("mlp", step, PER_RANK * world)
        opt.zero_grad()
        loss_fn(ddp(x[share(rank)].to(device)), y[share(rank)].to(device)).backward()
        opt.step()
        reference_step(reference, ref_opt, x, y)
    return max_diff(local.parameters(), reference.parameters()), local
