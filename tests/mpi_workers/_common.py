"""Shared by the scripts the distributed tests launch with mpiexec: start the process group with
a short timeout, one compute thread per rank, and report this rank's results as JSON."""
import datetime
import json
import os
import sys

import pyengine as pe
import pyengine.distributed as dist


def start(timeout_s=30, backend="mpi"):
    pe.set_num_threads(1)  # the ranks share the machine's cores
    dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout_s))
    return dist.get_rank(), dist.get_world_size()


def report(out_dir, rank, payload):
    """Write this rank's results to OUT_DIR/rank<r>.json (the test reads every rank's)."""
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
        json.dump(payload, f)


def out_dir():
    return sys.argv[1]


class Checks:
    """check(name, ok, detail): records the names of the checks this rank passed (its report)
    and fails loudly - naming the rank - at the first that does not pass."""

    def __init__(self, rank):
        self.rank = rank
        self.names = []

    def __call__(self, name, ok, detail=""):
        self.names.append(name)
        assert ok, f"rank {self.rank}: {name} failed {detail}"

    def report(self, out_dir):
        report(out_dir, self.rank, {"checks": len(self.names), "names": self.names})


def raises(kind, fn, text):
    """Whether fn() raises `kind` with `text` in its message."""
    try:
        fn()
    except kind as e:
        return text in str(e)
    return False
