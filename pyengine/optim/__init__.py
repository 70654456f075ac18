"""pyengine.optim: optimizers (one fused C++ kernel per parameter and step), lr schedulers and
gradient clipping, with PyTorch's API, defaults and state-dict format."""
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .clip import clip_grad_norm_, clip_grad_value_
from .lbfgs import LBFGS
from .nadam import NAdam
from .optimizer import Optimizer, required
from .radam import RAdam
from .rmsprop import RMSprop
from .sgd import SGD
from .sparse_adam import SparseAdam

__all__ = ["Adadelta", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "SGD", "lr_scheduler",
           "clip_grad_norm_", "clip_grad_value_", "Adamax", "LBFGS", "NAdam", "RAdam", "SparseAdam"]
