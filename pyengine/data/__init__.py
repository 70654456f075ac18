"""Data: datasets, loaders (with worker processes), samplers, cross-validation splits and
augmentation transforms. Also importable as pyengine.utils.data (PyTorch's path)."""
from . import dataloader, dataset, distributed, sampler
from ._worker import WorkerInfo, get_worker_info
from .cv import KFold
from .dataloader import DataLoader, default_collate, default_convert
from .dataset import (ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset, Subset, TensorDataset,
                      random_split)
from .distributed import DistributedSampler
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
                      WeightedRandomSampler)

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "ConcatDataset", "ChainDataset", "StackDataset", "Subset",
           "random_split", "DataLoader", "default_collate", "default_convert", "get_worker_info", "WorkerInfo",
           "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler", "DistributedSampler", "KFold"]
