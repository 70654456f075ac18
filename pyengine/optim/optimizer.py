"""Optimizer: the base class with PyTorch's bookkeeping - param groups with per-group options,
per-parameter state, zero_grad, closures, and state_dict/load_state_dict in PyTorch's format.

Subclasses only say how one parameter is updated: `_update(p, group, state)` calls one fused
C++ kernel (pyengine._C.*_step_) that rewrites the parameter and its state buffers in place.
State buffers are created contiguous with the parameter's dtype, as the kernels require; the
step count is kept as a Python float (PyTorch keeps a 0-d tensor; both load either way).
"""
import warnings
from collections import defaultdict
from copy import deepcopy
from itertools import chain

import numpy as np

from .. import _C
from ..autograd.grad_mode import enable_grad
from ..tensor import Tensor, _wrap


class _RequiredParameter:
    """Marks a default that every param group must set itself (SGD's lr in old PyTorch)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _state_buffer(p, fill=0.0):
    """A contiguous tensor shaped and typed like parameter p, filled with `fill`."""
    impl = p._impl
    return _wrap(_C.full(impl.shape, float(fill), impl.dtype, impl.device))


def _as_float(value):
    """Hyperparameters may be Python numbers or 1-element tensors (as in PyTorch)."""
    return float(value)


def _check_adam_args(lr, betas, eps, weight_decay):
    """The argument checks of the Adam family, with PyTorch's messages."""
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


class Optimizer:
    def __init__(self, params, defaults):
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            "but got pyengine.Tensor")
        self.state = defaultdict(dict)
        self.param_groups = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [self.__class__.__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)

    # ----- param groups -----
    def add_param_group(self, param_group):
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs. Please use a list instead.")
        else:
            params = list(params)
        param_group["params"] = params

        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + type(p).__name__)
            if not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)

        if len({id(p) for p in params}) != len(params):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will "
                          "cause an error", stacklevel=3)
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ----- gradients and steps -----
    def zero_grad(self, set_to_none=True):
        """Reset every parameter's .grad: to None (default), or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if g.grad_fn is not None:
                        g.detach_()
                    else:
                        g.requires_grad_(False)
                    g.zero_()

    def step(self, closure=None):
        """One update of every parameter that has a gradient. `closure` (optional) re-evaluates
        the model under enable_grad and returns the loss, which step returns."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        states = self.state
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = states.get(p)
                if state is None:
                    state = {}
                    self._update(p, group, state)
                    if state:  # stateless rules (plain SGD) leave no entry, as in PyTorch
                        states[p] = state
                else:
                    self._update(p, group, state)
        return loss

    def _update(self, p, group, state):
        """Update parameter p (which has a .grad) in place; `state` is its state dict, filled
        on the first call."""
        raise NotImplementedError

    # ----- checkpoints -----
    def state_dict(self):
        """{"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]}, with
        parameters numbered in group order, as PyTorch does. Tensors are the live state (not copies)."""
        index_of = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index_of.setdefault(id(p), len(index_of))
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {(index_of[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore state and options saved by state_dict() (ours or PyTorch's). Tensors are copied,
        converted to each parameter's dtype; nothing changes if the layout does not match. A
        malformed state dict (from a damaged or foreign file) is a TypeError/ValueError saying where."""
        groups = self.param_groups
        _check_layout(state_dict, groups)
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError(f"loaded state dict has a different number of parameter groups: "
                             f"{len(saved_groups)} in the state dict, {len(groups)} in the optimizer")
        for i, (group, saved) in enumerate(zip(groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"loaded state dict contains a parameter group that doesn't match the size of "
                                 f"optimizer's group: group {i} has {len(saved['params'])} parameters in the state "
                                 f"dict, {len(group['params'])} in the optimizer")
        param_of = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                            chain.from_iterable(g["params"] for g in groups)))

        state = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key in param_of:
                p = param_of[key]
                state[p] = {name: self._load_state_entry(p, key, name, v) for name, v in value.items()}
            else:
                state[key] = value
        new_groups = []
        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            new_groups.append(saved)
        self.__setstate__({"state": state, "param_groups": new_groups})

    def _load_state_entry(self, p, index, name, value):
        """One saved state entry of parameter p, converted for this optimizer's update."""
        return _load_state_value(p, index, name, value)


def _is_number(value):
    return isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_))


def _check_layout(state_dict, groups):
    """What load_state_dict reads, checked before anything is read: a mapping with "state" (a mapping
    of mappings) and "param_groups" (a list of mappings, each with a list of parameter ids "params");
    options that are numbers (or tuples of numbers, like betas) in the optimizer must be saved so."""
    from collections.abc import Mapping
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"optimizer state dict must be a dict with 'state' and 'param_groups', got "
                        f"{type(state_dict).__name__}")
    for key in ("state", "param_groups"):
        if key not in state_dict:
            raise ValueError(f"optimizer state dict has no {key!r} entry (its keys: {sorted(map(str, state_dict))})")
    saved_groups, state = state_dict["param_groups"], state_dict["state"]
    if not isinstance(saved_groups, (list, tuple)) or not all(isinstance(g, Mapping) for g in saved_groups):
        raise TypeError(f"optimizer state dict: 'param_groups' must be a list of dicts, got {saved_groups!r:.200}")
    if not isinstance(state, Mapping) or not all(isinstance(v, Mapping) for v in state.values()):
        raise TypeError(f"optimizer state dict: 'state' must be a dict of per-parameter dicts, got {state!r:.200}")
    for i, saved in enumerate(saved_groups):
        params = saved.get("params")
        if "params" not in saved:
            raise ValueError(f"optimizer state dict: param_groups[{i}] has no 'params' entry")
        if not isinstance(params, (list, tuple)):
            raise TypeError(f"optimizer state dict: param_groups[{i}]['params'] must be a list of parameter ids, "
                            f"got {params!r:.200}")
        if i >= len(groups):
            continue  # the count mismatch is reported by the caller
        for key, current in groups[i].items():
            value = saved.get(key, current)
            if key == "params" or current is None:
                continue
            if _is_number(current) and not _is_number(value) and not isinstance(value, Tensor):
                raise TypeError(f"optimizer state dict: param_groups[{i}][{key!r}] must be a number, "
                                f"got {value!r:.200}")
            if (isinstance(current, tuple) and all(_is_number(c) for c in current)
                    and not (isinstance(value, (list, tuple)) and len(value) == len(current)
                             and all(_is_number(v) for v in value))):
                raise TypeError(f"optimizer state dict: param_groups[{i}][{key!r}] must be {len(current)} numbers "
                                f"like {current}, got {value!r:.200}")


# Per-parameter scalars that PyTorch keeps as 0-d tensors and pyengine as Python floats.
_SCALAR_STATE = ("step", "mu_product")


def _load_state_value(p, index, name, value):
    """One entry of a parameter's saved state, made fit for the fused kernels: scalars ("step",
    NAdam's "mu_product") become floats; tensors (ours, PyTorch's, NumPy's) become a fresh
    contiguous copy in p's dtype."""
    if name in _SCALAR_STATE:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"loaded state dict has {name} {value!r:.100} for parameter {index}; expected a "
                             "number") from None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Tensor):
        impl = value._impl
    else:
        try:
            arr = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)  # e.g. torch
            # a native-byte-order copy (ascontiguousarray would make 0-d 1-d; from_numpy shares bytes as they are)
            impl = _C.from_numpy(np.array(arr, dtype=arr.dtype.newbyteorder("="), order="C"))
        except (TypeError, ValueError) as e:
            raise TypeError(f"loaded state dict has state {name!r} for parameter {index} that is not a tensor or "
                            f"array of numbers: {value!r:.100} ({e})") from None
    if impl.shape != p._impl.shape:
        if impl.numel == p._impl.numel:  # e.g. a 0-d buffer that went through a file as shape (1,)
            impl = _C.reshape(impl, list(p._impl.shape))
        else:
            raise ValueError(f"loaded state dict has state {name!r} of shape {tuple(impl.shape)} for parameter "
                             f"{index}, which has shape {tuple(p._impl.shape)}")
    out = _C.empty(impl.shape, p._impl.dtype, p._impl.device)
    _C.copy_(out, impl)
    return _wrap(out)
