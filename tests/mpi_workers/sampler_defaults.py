"""DistributedSampler without num_replicas/rank, inside a process group; the node-local rank
the launcher gives. Usage: sampler_defaults.py OUT_DIR"""
import pyengine as pe
from pyengine.data import DistributedSampler
from _common import out_dir, report, start

rank, world = start()
sampler = DistributedSampler(range(5), shuffle=False)
report(out_dir(), rank, {"rank": sampler.rank, "world": sampler.num_replicas, "indices": list(sampler),
                         "local_rank": pe.distributed.get_node_local_rank()})
