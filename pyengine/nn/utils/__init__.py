"""pyengine.nn.utils: gradient clipping (implemented next to the optimizers), parameters as one
vector, pruning (nn.utils.prune) and variable-length sequence tools for the recurrent layers
(nn.utils.rnn)."""
from ...optim.clip import clip_grad_norm_, clip_grad_value_
from .convert_parameters import parameters_to_vector, vector_to_parameters
from . import prune, rnn

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters", "prune", "rnn"]
