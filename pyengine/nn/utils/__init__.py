"""pyengine.nn.utils: gradient clipping (implemented next to the optimizers)."""
from ...optim.clip import clip_grad_norm_, clip_grad_value_

__all__ = ["clip_grad_norm_", "clip_grad_value_"]
