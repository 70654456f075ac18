"""pyengine.utils: PyTorch's torch.utils paths for code written against PyTorch.

pyengine.utils.data is pyengine.data itself (the same module object, with its submodules
dataloader, dataset, distributed and sampler), so `from pyengine.utils.data import DataLoader` and
`import pyengine.utils.data.sampler` work as their torch.utils.data forms do.
"""
import sys

from .. import data

for _name in ("dataloader", "dataset", "distributed", "sampler"):
    sys.modules[f"{__name__}.data.{_name}"] = getattr(data, _name)
sys.modules[f"{__name__}.data"] = data
del _name

__all__ = ["data"]
