"""Saving and loading: safetensors checkpoints."""
from .checkpoint import load, save

__all__ = ["save", "load"]
