"""Checkpoints written by rank 0 and loaded by all; rank0_first ordering.
Usage: rank0.py OUT_DIR"""
import os
import time

import pyengine as pe
import pyengine.distributed as dist
from _common import out_dir, report, start

rank, world = start()
folder = out_dir()
marker = os.path.join(folder, "prepared")
with dist.rank0_first():  # rank 0 "prepares a data set"; the others find it done
    if rank == 0:
        time.sleep(0.3)  # a slow preparation: the others must still wait for it
        with open(marker, "w") as f:
            f.write("ready")
    saw_marker = os.path.exists(marker)

pe.manual_seed(rank)  # different weights per rank, made equal by DDP
model = pe.nn.parallel.DistributedDataParallel(pe.nn.Linear(3, 2))
path = os.path.join(folder, "ckpt.safetensors")
stamp = os.path.getmtime(path) if os.path.exists(path) else None
dist.barrier()  # every rank has looked before rank 0 writes
dist.save(model.state_dict(), path)  # rank 0 writes; all return once it is there
loaded = pe.load(path)
same = all(pe.equal(loaded[k], v) for k, v in model.state_dict().items())
report(folder, rank, {"saw_marker": saw_marker, "keys": sorted(loaded), "same": same,
                      "existed_before": stamp is not None})
