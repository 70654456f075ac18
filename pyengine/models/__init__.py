"""Ready-made networks built from pyengine.nn (kept out of the core layers)."""
from .positional import LearnedPositionalEmbedding, SinusoidalPositionalEncoding
from .resnet import BasicBlock, Bottleneck, ResNet, resnet

__all__ = ["BasicBlock", "Bottleneck", "LearnedPositionalEmbedding", "ResNet", "SinusoidalPositionalEncoding",
           "resnet"]
