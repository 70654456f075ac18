"""Checkpoints in the safetensors format: loading a file never runs code (no pickle).

`save(obj, path)` takes a state dict - a (possibly nested) dict/list of tensors, numbers, strings,
bools and None, like a model's or an optimizer's `state_dict()`. Tensors go into the safetensors
body under their key path (a flat model state dict keeps its own names, e.g. "0.weight", so
`safetensors.torch.load_file` reads the same tensors into PyTorch); everything else, and the
shape of the tree, goes into the header's metadata as JSON. Writes are atomic: a temporary file
in the same folder, then a rename, so a crash mid-save leaves the old checkpoint intact.

Devices: tensors are written from wherever they live (CUDA tensors are copied to the host), and
a tensor that was not on the CPU has its device ("cuda:0") noted in the tree. `load` gives CPU
tensors unless `map_location` says otherwise (see `load`).
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
        location = obj._impl.device
        return {"__tensor__": name} if location == "cpu" else {"__tensor__": name, "device": location}
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


def _unflatten(node, tensors, place):
    from .. import from_numpy
    if isinstance(node, dict):
        if "__tensor__" in node:
            return place(from_numpy(tensors[node["__tensor__"]]), node.get("device", "cpu"))
        if "__tuple__" in node:
            return tuple(_unflatten(v, tensors, place) for v in node["__tuple__"])
        return {(int(k[7:]) if k.startswith("__int__") else k): _unflatten(v, tensors, place)
                for k, v in node.items()}
    if isinstance(node, list):
        return [_unflatten(v, tensors, place) for v in node]
    return node


def _placer(map_location):
    """place(cpu_tensor, saved_location) -> the tensor where `map_location` puts it."""
    from ..dtypes import device, device_name
    from ..tensor import Tensor

    if map_location is None:
        return lambda t, location: t
    if isinstance(map_location, (str, device, int)) and not isinstance(map_location, bool):
        target = device_name(map_location)
        return lambda t, location: t.to(target)
    if isinstance(map_location, dict):
        remap = {device_name(k): device_name(v) for k, v in map_location.items()}
        return lambda t, location: t.to(remap.get(location, location))
    if callable(map_location):
        def place(t, location):
            out = map_location(t, location)
            if out is None:  # PyTorch: None means "restore where it was saved"
                return t.to(location)
            if not isinstance(out, Tensor):
                raise TypeError(f"load: map_location returned {type(out).__name__}; expected a pyengine.Tensor "
                                "or None")
            return out
        return place
    raise TypeError(f"load: map_location must be None, a device (str, int or pyengine.device), a dict of "
                    f"locations or a callable, got {type(map_location).__name__}")


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


def load(path, map_location=None, weights_only=True):
    """Read a checkpoint written by `save` (or any safetensors file: then a flat dict of tensors).

    Tensors come back on the CPU. `map_location`, as in torch.load, moves them: a device ("cuda",
    "cpu", "cuda:0", pyengine.device, an int) puts every tensor there; a dict maps saved locations
    ("cpu", "cuda:0") to devices, leaving unmapped ones where they were saved; a callable
    fn(tensor, location) returns the tensor to use (None: where it was saved). `weights_only` is
    accepted for PyTorch compatibility: loading never runs code anyway."""
    place = _placer(map_location)
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
        return {k: place(from_numpy(v), "cpu") for k, v in tensors.items()}
    return _unflatten(json.loads(tree), tensors, place)
