"""Ready-made networks built from pyengine.nn (kept out of the core layers)."""
from .resnet import BasicBlock, Bottleneck, ResNet, resnet

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "resnet"]
