"""DistributedSampler without num_replicas/rank, inside a process group. Usage: sampler_defaults.py OUT_DIR"""
from pyengine.data import DistributedSampler
from _common import out_dir, report, start

rank, world = start()
sampler = DistributedSampler(range(5), shuffle=False)
report(out_dir(), rank, {"rank": sampler.rank, "world": sampler.num_replicas, "indices": list(sampler)})
