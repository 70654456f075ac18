"""DistributedDataParallel against one process: every rank trains its share of each batch with
DDP, and also - alone, from rank 0's initial weights - the same model on the whole batches; the
two must end with the same parameters. Usage: ddp_train.py OUT_DIR MODEL MODE [views]
MODEL: mlp | cnn | bn (a CNN with BatchNorm). MODE: plain (3 steps) | no_sync (two half-batches
accumulated under no_sync, then one synchronised, per step) | unused (a branch no loss uses,
find_unused_parameters=True). views: with gradient_as_bucket_view=True."""
import sys

import numpy as np

import pyengine as pe
from pyengine import nn
from _common import out_dir, report, start
from _ddp_models import (PER_RANK, batch, loss_fn, max_diff, rank_model, reference_model, reference_step, sgd,
                         share)

rank, world = start()
model_kind, mode = sys.argv[2], sys.argv[3]
kind = "unused" if mode == "unused" else model_kind
views = sys.argv[4:] == ["views"]
local = rank_model(kind, rank)  # each rank starts from different weights: DDP must copy rank 0's
before = [p.detach().clone() for p in local.parameters()]
# Overlap: the first layer's weight gets its gradient last in backward; a hook registered before
# DDP's sees how many gradient buckets DDP has already started by then.
started_before_last_grad = []
first_weight = next(local.parameters())
first_weight.register_post_accumulate_grad_hook(lambda p: started_before_last_grad.append(ddp._reducer.next_bucket))
ddp = nn.parallel.DistributedDataParallel(local, bucket_cap_mb=0.0002, find_unused_parameters=(mode == "unused"),
                                          gradient_as_bucket_view=views)
opt = sgd(ddp.parameters())
reference, ref_opt = reference_model(kind)
before_diff = max_diff(before, reference.parameters())
start_diff = max_diff(local.parameters(), reference.parameters())
local_only = []  # no_sync: were the gradients still each rank's own after the unsynchronised backward?


def local_weight_grad():
    return next(local.parameters()).grad


for step in range(3):
    x, y = batch(kind, step, PER_RANK * world)
    mine = share(rank)
    opt.zero_grad()
    if mode == "no_sync":  # my share in two halves: the first accumulated locally
        half = PER_RANK // 2
        xs, ys = x[mine], y[mine]
        with ddp.no_sync():
            (loss_fn(ddp(xs[:half]), ys[:half]) / 2).backward()
        grads = [pe.zeros_like(local_weight_grad()) for _ in range(world)]
        pe.distributed.all_gather(grads, local_weight_grad())
        local_only.append(all(not pe.equal(grads[0], g) for g in grads[1:]))
        (loss_fn(ddp(xs[half:]), ys[half:]) / 2).backward()
    else:
        loss_fn(ddp(x[mine]), y[mine]).backward()
    opt.step()
    if mode == "no_sync":  # the same sum of half-batch means, over every rank's halves
        ref_opt.zero_grad()
        total = 0
        for r in range(world):
            for h in range(2):
                part = slice(r * PER_RANK + h * (PER_RANK // 2), r * PER_RANK + (h + 1) * (PER_RANK // 2))
                total = total + loss_fn(reference(x[part]), y[part]) / 2
        (total / world).backward()
        ref_opt.step()
    else:
        reference_step(reference, ref_opt, x, y)

diff = max_diff(local.parameters(), reference.parameters())
result = {"buckets": len(ddp._reducer.buckets), "started_before_last_grad": started_before_last_grad,
          "before_diff": before_diff, "start_diff": start_diff, "local_only": local_only, "diff": diff,
          "keys": list(ddp.state_dict())[:2]}
if mode == "unused":
    result["unused_grad_is_none"] = local.unused.weight.grad is None
if model_kind == "bn":
    # broadcast_buffers: every rank's running statistics are rank 0's at each forward
    ddp(batch(kind, 99 + rank, PER_RANK)[0])  # starts from rank 0's buffers, updates them with this rank's data
    rm = local[1].running_mean.numpy().copy()
    gathered = [pe.zeros(4) for _ in range(world)]
    pe.distributed.all_gather(gathered, pe.tensor(rm))
    ddp.eval()
    ddp(batch(kind, 100, 2)[0])  # eval: buffers broadcast again, no update
    result["bn_buffers_equal_rank0"] = bool(np.array_equal(local[1].running_mean.numpy(), gathered[0].numpy()))
    result["bn_tracked"] = int(local[1].num_batches_tracked.item())
pe.distributed.destroy_process_group()
report(out_dir(), rank, result)
