"""pyengine.nn.utils: gradient clipping (implemented next to the optimizers) and variable-length
sequence tools for the recurrent layers (nn.utils.rnn)."""
from ...optim.clip import clip_grad_norm_, clip_grad_value_
from . import rnn

__all__ = ["clip_grad_norm_", "clip_grad_value_", "rnn"]
