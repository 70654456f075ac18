"""pyengine.optim: optimizers (one fused C++ kernel per parameter and step), lr schedulers and
gradient clipping, with PyTorch's API, defaults and state-dict format."""
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .clip import clip_grad_norm_, clip_grad_value_
from .optimizer import Optimizer, required
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Adadelta", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "SGD", "lr_scheduler",
           "clip_grad_norm_", "clip_grad_value_"]
