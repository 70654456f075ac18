"""Regularisation helpers: L1/L2 penalties on chosen parameters, and early stopping.

    loss = F.cross_entropy(model(x), y) + 1e-4 * l2_penalty(weight_parameters(model))
"""
import copy



def weight_parameters(model):
    """The parameters with ndim >= 2 (weight matrices and kernels), i.e. not biases or norms'
    scales: what a penalty usually applies to."""
    return [p for p in model.parameters() if p.ndim >= 2]


def bias_parameters(model):
    return [p for p in model.parameters() if p.ndim < 2]


def _params(params):
    from ..tensor import Tensor
    ps = [params] if isinstance(params, Tensor) else list(params)
    if not ps:
        raise ValueError("penalty: got an empty list of parameters")
    return ps


def l1_penalty(params):
    """sum_i |p_i| over every element of every tensor (differentiable; add it to the loss)."""
    total = None
    for p in _params(params):
        s = p.abs().sum()
        total = s if total is None else total + s
    return total


def l2_penalty(params):
    """sum_i p_i^2 over every element of every tensor (no 1/2 factor: add lambda * l2 for the
    ridge penalty lambda ||w||^2, whose gradient is 2 lambda w)."""
    total = None
    for p in _params(params):
        s = p.square().sum()
        total = s if total is None else total + s
    return total


class EarlyStopping:
    """Stop once a validation metric has gone `patience` epochs in a row without improving.

    mode='min': improvement means metric < best - min_delta; mode='max': metric > best + min_delta.
    step(metric, model=None) -> True when training should stop. With a model it keeps a copy of
    the best state_dict (`best_state`), which `restore(model)` loads back.
    """

    def __init__(self, patience=5, min_delta=0.0, mode="min"):
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if patience < 0:
            raise ValueError(f"patience must be >= 0, got {patience}")
        if min_delta < 0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta}")
        self.patience, self.min_delta, self.mode = patience, min_delta, mode
        self.best = None
        self.best_epoch = -1
        self.best_state = None
        self.num_bad_epochs = 0
        self.epoch = -1
        self.should_stop = False

    def _improved(self, metric):
        if self.best is None:
            return True
        if self.mode == "min":
            return metric < self.best - self.min_delta
        return metric > self.best + self.min_delta

    def step(self, metric, model=None):
        metric = float(metric)
        self.epoch += 1
        if self._improved(metric):
            self.best, self.best_epoch, self.num_bad_epochs = metric, self.epoch, 0
            if model is not None:
                self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            self.num_bad_epochs += 1
        self.should_stop = self.num_bad_epochs >= self.patience
        return self.should_stop

    def restore(self, model):
        if self.best_state is None:
            raise RuntimeError("EarlyStopping.restore(): no best state was recorded (pass model to step())")
        model.load_state_dict(copy.copy(self.best_state))
        return model
