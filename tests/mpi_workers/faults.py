"""A rank that fails: the others must stop too, with a clear message, never hang.
Usage: faults.py OUT_DIR KIND; KIND: raise (rank 1 raises before an all_reduce) | exit (rank 1's
process exits) | hang (rank 1 never joins the all_reduce: the others time out) | ddp_models
(the ranks build different models)."""
import os
import sys
import time

import pyengine as pe
import pyengine.distributed as dist
from _common import start

kind = sys.argv[2]
rank, world = start(timeout_s=3)
if kind == "ddp_models":
    model = pe.nn.Linear(4, 3 + rank)
    pe.nn.parallel.DistributedDataParallel(model)
if rank == 1:
    if kind == "raise":
        raise ValueError("rank 1 is broken on purpose")
    if kind == "exit":
        os._exit(7)
    if kind == "hang":
        time.sleep(120)
dist.all_reduce(pe.ones(4))
print(f"rank {rank} finished", flush=True)
