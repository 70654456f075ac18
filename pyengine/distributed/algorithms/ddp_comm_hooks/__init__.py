"""DDP communication hooks: functions hook(state, bucket) -> Future for
DistributedDataParallel.register_comm_hook (PyTorch's torch.distributed.algorithms.ddp_comm_hooks).
The built-in ones are in default_hooks."""
from . import default_hooks

__all__ = ["default_hooks"]
