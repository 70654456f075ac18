"""How a training example runs when launched on several processes:

    mpiexec -n 2 pyengine-mlp          # or: mpiexec -n 2 python -m pyengine.examples.cnn

Each rank trains a DistributedDataParallel copy of the model on its share of every batch (the
global --batch-size split over the ranks, so the optimisation is the one-process run's), all
ranks validate the same full sets (identical models: identical early-stopping decisions), and
only rank 0 prints, draws progress bars and writes files. Started without a launcher (or with
one process) nothing changes."""
import os
import sys

import numpy as np

import pyengine as pe

# The variables MPI launchers set for each rank: MPICH/Hydra (PMI_*), Open MPI, PMIx.
_WORLD_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS")


def launched_world_size():
    """The number of processes the MPI launcher started (1 without one)."""
    for var in _WORLD_SIZE_VARS:
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return 1


def backend_for_device(device):
    """NCCL for a model on real GPUs when the library is installed; else MPI (which carries CUDA
    tensors too, through host memory - the emulated GPU's way)."""
    on_gpu = device.type == "cuda" and not pe.cuda.is_emulated()
    return "nccl" if on_gpu and pe.distributed.is_nccl_available() else "mpi"


class DataParallelRun:
    def __init__(self, device=pe.device("cpu")):
        self.world = launched_world_size()
        self.rank = 0
        self.backend = None
        if self.world > 1:
            self.backend = backend_for_device(device)
            pe.distributed.init_process_group(self.backend)
            self.rank, self.world = pe.distributed.get_rank(), pe.distributed.get_world_size()
        if self.rank != 0:  # one voice: the other ranks' output and progress bars are muted
            os.environ["TQDM_DISABLE"] = "1"
            sys.stdout = open(os.devnull, "w")

    @property
    def is_main(self):
        return self.rank == 0

    def device(self, device):
        """This rank's device: on a machine with several GPUs, each rank takes its own
        (cuda:<local rank>, as torchrun scripts do)."""
        if self.world == 1 or device.type != "cuda":
            return device
        local = pe.distributed.get_node_local_rank(fallback_rank=self.rank)
        return pe.device(f"cuda:{local % max(1, pe.cuda.device_count())}")

    def note(self):
        """The examples' first line adds this: how many processes train, over what."""
        return "" if self.world == 1 else f"; {self.world} processes ({self.backend.upper()}), data-parallel"

    def model(self, model):
        """model, or its DistributedDataParallel wrapper when there are several ranks."""
        return model if self.world == 1 else pe.nn.parallel.DistributedDataParallel(model)

    def train_loader(self, loader, seed):
        """loader's data set, each rank reading its share (DistributedSampler) in batches of
        batch_size / world_size; fit() calls the sampler's set_epoch."""
        if self.world == 1:
            return loader
        if loader.batch_size % self.world:
            raise SystemExit(f"--batch-size {loader.batch_size} does not split over {self.world} processes")
        sampler = pe.data.DistributedSampler(loader.dataset, seed=seed)
        return pe.data.DataLoader(loader.dataset, batch_size=loader.batch_size // self.world, sampler=sampler)

    def report_throughput(self, loader, epoch_seconds):
        """Rank 0 prints every rank's and the total training throughput (images per second)."""
        if self.world == 1:
            return
        mine = pe.tensor([len(loader.sampler) / float(np.mean(epoch_seconds))], dtype=pe.float64)
        everyone = [pe.zeros(1, dtype=pe.float64) for _ in range(self.world)]
        pe.distributed.all_gather(everyone, mine)
        rates = [float(t.item()) for t in everyone]
        print("training throughput: " + ", ".join(f"rank {r} {v:,.0f}" for r, v in enumerate(rates))
              + f" images/s; total {sum(rates):,.0f} images/s over {self.world} processes", flush=True)
