"""pyengine.nn.parallel: DistributedDataParallel (data-parallel training over pyengine.distributed)."""
from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
