"""Checkpoints in the safetensors format: loading a file never runs code (no pickle).

`save(obj, path)` takes a state dict - a (possibly nested) dict/list of tensors, numbers, strings,
bools and None, like a model's or an optimizer's `state_dict()`. Tensors go into the safetensors
body under their key path (a flat model state dict keeps its own names, e.g. "0.weight", so
`safetensors.torch.load_file` reads the same tensors into PyTorch); everything else, and the
shape of the tree, goes into the header's metadata as JSON. Writes are atomic: a temporary file
in the same folder, then a rename, so a crash mid-save leaves the old checkpoint intact.
"""
import json
import os
import tempfile

import numpy as np

_TREE_KEY = "pyengine.tree"


def _install_hint():
    return "checkpoints need the 'safetensors' package: pip install safetensors"


def _flatten(obj, prefix, tensors):
    """Replace tensors in obj by {"__tensor__": name}, collecting name -> ndarray."""
    from ..tensor import Tensor
    if isinstance(obj, Tensor):
        name = prefix or "tensor"
        if name in tensors:
            raise ValueError(f"save: two tensors map to the name {name!r}")
        tensors[name] = np.require(obj.detach().cpu().numpy(), requirements="C")  # keeps 0-d shapes
        return {"__tensor__": name}
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, (str, int)):
                raise TypeError(f"save: dict keys must be str or int, got {type(k).__name__}")
            out[str(k) if isinstance(k, str) else f"__int__{k}"] = _flatten(v, f"{prefix}.{k}" if prefix else str(k), tensors)
        return out
    if isinstance(obj, (list, tuple)):
        items = [_flatten(v, f"{prefix}.{i}" if prefix else str(i), tensors) for i, v in enumerate(obj)]
        return {"__tuple__": items} if isinstance(obj, tuple) else items
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"save: cannot store a value of type {type(obj).__name__} (expected tensors, dicts, "
                    "lists, numbers, strings, bools or None)")


def _unflatten(node, tensors):
    from .. import from_numpy
    if isinstance(node, dict):
        if "__tensor__" in node:
            return from_numpy(tensors[node["__tensor__"]])
        if "__tuple__" in node:
            return tuple(_unflatten(v, tensors) for v in node["__tuple__"])
        return {(int(k[7:]) if k.startswith("__int__") else k): _unflatten(v, tensors) for k, v in node.items()}
    if isinstance(node, list):
        return [_unflatten(v, tensors) for v in node]
    return node


def save(obj, path):
    """Write `obj` (a state dict) to `path` atomically in the safetensors format."""
    try:
        from safetensors.numpy import save as st_save
    except ImportError as e:
        raise ImportError(_install_hint()) from e
    tensors = {}
    tree = _flatten(obj, "", tensors)
    blob = st_save(tensors, metadata={_TREE_KEY: json.dumps(tree)})
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".safetensors", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path):
    """Read a checkpoint written by `save` (or any safetensors file: then a flat dict of tensors)."""
    try:
        from safetensors import SafetensorError
        from safetensors.numpy import load as st_load
    except ImportError as e:
        raise ImportError(_install_hint()) from e
    with open(path, "rb") as f:
        data = f.read()
    try:
        tensors = st_load(data)
        header_len = int.from_bytes(data[:8], "little")
        header = json.loads(data[8:8 + header_len])
    except (SafetensorError, ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not a valid safetensors checkpoint (truncated or corrupt): {e}") from e
    tree = (header.get("__metadata__") or {}).get(_TREE_KEY)
    if tree is None:
        from .. import from_numpy
        return {k: from_numpy(v) for k, v in tensors.items()}
    return _unflatten(json.loads(tree), tensors)
