"""Saving and loading: safetensors checkpoints."""
from .checkpoint import CheckpointError, load, save

__all__ = ["save", "load", "CheckpointError"]
