"""Ready-made networks built from pyengine.nn (kept out of the core layers)."""
from .positional import LearnedPositionalEmbedding, SinusoidalPositionalEncoding
from .rbm import RBM, dbn_classifier, sigmoid_mlp
from .resnet import BasicBlock, Bottleneck, ResNet, resnet

__all__ = ["BasicBlock", "Bottleneck", "LearnedPositionalEmbedding", "RBM", "ResNet", "SinusoidalPositionalEncoding",
           "dbn_classifier", "resnet", "sigmoid_mlp"]
