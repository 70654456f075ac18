"""Checkpoints in the safetensors format: loading a file never runs code (no pickle).

`save(obj, path)` takes a state dict - a (possibly nested) dict/list of tensors, numbers, strings,
bools and None, like a model's or an optimizer's `state_dict()`. Tensors go into the safetensors
body under their key path (a flat model state dict keeps its own names, e.g. "0.weight", so
`safetensors.torch.load_file` reads the same tensors into PyTorch); everything else, and the
shape of the tree, goes into the header's metadata as JSON, with a CRC-32 of the tree and every
tensor's name, dtype, shape and bytes. Writes are atomic (see `atomic.py`): a crash mid-save
leaves the old checkpoint intact and its temporary is removed by the next save to that folder.

Loading checks everything a damaged or foreign file could get wrong - its length, the header's
JSON, each tensor's dtype, shape and extent (safetensors), the tree, the checksum - and raises
`CheckpointError` (a ValueError) naming the file and the fault.

Devices: tensors are written from wherever they live (CUDA tensors are copied to the host), and
a tensor that was not on the CPU has its device ("cuda:0") noted in the tree. `load` gives CPU
tensors unless `map_location` says otherwise (see `load`).
"""
import errno
import json
import os
import re
import zlib

import numpy as np

from . import bfloat16_bits
from .atomic import write_atomically

_TREE_KEY = "pyengine.tree"
_CRC_KEY = "pyengine.crc32"
# safetensors' names of pyengine's dtypes
_LOADABLE_DTYPES = ("F32", "F64", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL")
# Dict keys the tree encoding gives a meaning; a state dict using them could not be read back as it was.
_RESERVED_KEYS = ("__tensor__", "__tuple__")
_INT_KEY = "__int__"


class CheckpointError(ValueError):
    """A file that is not a checkpoint pyengine can load; the message names the file and the fault."""


class CheckpointIsADirectoryError(IsADirectoryError, CheckpointError):
    """`load` was given a folder (an IsADirectoryError as PyTorch raises, and a CheckpointError)."""


class _BadTree(Exception):
    """A fault in the metadata tree at `where` (a key path)."""

    def __init__(self, where, what):
        super().__init__(f"at {where or 'the top'}: {what}")


def _corrupt(path, what):
    return CheckpointError(f"{path}: not a valid safetensors checkpoint (truncated or corrupt): {what}")


def _install_hint():
    return "checkpoints need the 'safetensors' package: pip install safetensors"


def _checksum(tree_json, arrays):
    """CRC-32 of what `load` returns: the tree and every tensor's name, dtype, shape and bytes."""
    crc = zlib.crc32(tree_json.encode("utf-8", "surrogatepass"))
    for name in sorted(arrays):
        a = arrays[name]
        crc = zlib.crc32(f"\0{name}\0{a.dtype.name}\0{a.shape}\0".encode("utf-8", "surrogatepass"), crc)
        crc = zlib.crc32(np.ascontiguousarray(a).reshape(-1).view(np.uint8), crc)
    return crc


def _flatten(obj, prefix, tensors):
    """Replace tensors in obj by {"__tensor__": name}, collecting name -> ndarray."""
    from ..tensor import Tensor
    if isinstance(obj, Tensor):
        name = prefix or "tensor"
        if name in tensors:
            raise ValueError(f"save: two tensors map to the name {name!r}")
        t = obj.detach().cpu()
        array = bfloat16_bits.to_bits(t) if t.dtype.name == "bfloat16" else t.numpy()
        tensors[name] = np.require(array, requirements="C")  # keeps 0-d shapes
        location = obj._impl.device
        return {"__tensor__": name} if location == "cpu" else {"__tensor__": name, "device": location}
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if isinstance(k, bool) or not isinstance(k, (str, int)):
                raise TypeError(f"save: dict keys must be str or int, got {type(k).__name__} ({k!r})")
            if isinstance(k, str) and (k in _RESERVED_KEYS or k.startswith(_INT_KEY)):
                raise ValueError(f"save: the dict key {k!r} is reserved by the checkpoint format "
                                 f"({', '.join(_RESERVED_KEYS)} and keys starting with {_INT_KEY!r})")
            out[k if isinstance(k, str) else f"{_INT_KEY}{k}"] = _flatten(v, f"{prefix}.{k}" if prefix else str(k),
                                                                          tensors)
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


def _tensor_of(array):
    """The CPU tensor sharing a loaded array's memory (uint16 arrays hold bfloat16 bits)."""
    from .. import from_numpy
    return bfloat16_bits.from_bits(array) if array.dtype == bfloat16_bits.BITS else from_numpy(array)


def _unflatten(node, tensors, place, where, used):
    """The object `node` (a JSON value of the tree) stands for; `used` collects the tensor names
    met, so that each tensor is read once. Raises _BadTree for anything `_flatten` cannot write."""
    from ..dtypes import device
    if isinstance(node, dict):
        if "__tensor__" in node:
            name, location = node["__tensor__"], node.get("device", "cpu")
            if set(node) - {"__tensor__", "device"}:
                extra = sorted(set(node) - {"__tensor__", "device"})
                raise _BadTree(where, f"a tensor reference has unexpected keys {extra}")
            if not isinstance(name, str) or name not in tensors:
                raise _BadTree(where, f"the tensor {name!r} is not in the file")
            if name in used:
                raise _BadTree(where, f"the tensor {name!r} is referenced twice")
            used.add(name)
            try:
                if not isinstance(location, str):
                    raise TypeError(type(location).__name__)
                device(location)
            except (TypeError, ValueError):
                raise _BadTree(where, f"the tensor {name!r} has an invalid device {location!r}") from None
            return place(_tensor_of(tensors[name]), location)
        if "__tuple__" in node:
            if len(node) != 1 or not isinstance(node["__tuple__"], list):
                raise _BadTree(where, "a tuple must be {\"__tuple__\": [items]}")
            return tuple(_unflatten(v, tensors, place, f"{where}.{i}" if where else str(i), used)
                         for i, v in enumerate(node["__tuple__"]))
        out = {}
        for k, v in node.items():
            key = k
            if k.startswith(_INT_KEY):
                if not re.fullmatch(r"-?[0-9]+", k[len(_INT_KEY):]):
                    raise _BadTree(where, f"the key {k!r} is not {_INT_KEY} followed by an integer")
                key = int(k[len(_INT_KEY):])
            out[key] = _unflatten(v, tensors, place, f"{where}.{key}" if where else str(key), used)
        return out
    if isinstance(node, list):
        return [_unflatten(v, tensors, place, f"{where}.{i}" if where else str(i), used) for i, v in enumerate(node)]
    return node  # None, bool, int, float, str: JSON has no other values


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
    tree = json.dumps(_flatten(obj, "", tensors))
    blob = st_save(tensors, metadata={_TREE_KEY: tree, _CRC_KEY: str(_checksum(tree, tensors))})
    blob, _ = bfloat16_bits.retag(blob, "U16", "BF16")
    write_atomically(path, blob)


def _read(path):
    if os.path.isdir(path):
        raise CheckpointIsADirectoryError(errno.EISDIR, "a folder, not a checkpoint file", path)
    with open(path, "rb") as f:
        return f.read()


def _parse_header(path, data):
    """The header's tensor entries and metadata, checked as far as safetensors does not: the
    length field against the file, the JSON, and each dtype against what pyengine holds."""
    if len(data) < 8:
        raise _corrupt(path, "the file is empty" if not data else
                       f"the file has {len(data)} bytes, fewer than the 8-byte header length a safetensors file "
                       "starts with")
    size = int.from_bytes(data[:8], "little")
    if size > len(data) - 8:
        raise _corrupt(path, f"the header length field says {size} bytes, but only {len(data) - 8} follow it")
    try:
        header = json.loads(data[8:8 + size].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise _corrupt(path, f"the header is not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise _corrupt(path, f"the header is a JSON {type(header).__name__}, not an object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise _corrupt(path, "the header's __metadata__ is not an object of strings")
    for name, entry in header.items():
        dtype = entry.get("dtype") if isinstance(entry, dict) else None
        if not isinstance(dtype, str):
            raise _corrupt(path, f"the header's entry for tensor {name!r} has no dtype string")
        if dtype not in _LOADABLE_DTYPES:
            raise CheckpointError(f"{path}: the tensor {name!r} has dtype {dtype!r}; pyengine loads "
                                  f"{', '.join(_LOADABLE_DTYPES)} tensors only")
    return metadata


def load(path, map_location=None, weights_only=True):
    """Read a checkpoint written by `save` (or any safetensors file: then a flat dict of tensors).

    Tensors come back on the CPU. `map_location`, as in torch.load, moves them: a device ("cuda",
    "cpu", "cuda:0", pyengine.device, an int) puts every tensor there; a dict maps saved locations
    ("cpu", "cuda:0") to devices, leaving unmapped ones where they were saved; a callable
    fn(tensor, location) returns the tensor to use (None: where it was saved). `weights_only` is
    accepted for PyTorch compatibility: loading never runs code anyway.

    A file that is not a checkpoint - truncated, altered, empty, a folder, a dtype pyengine does not
    have - raises CheckpointError (a ValueError) naming the file and the fault."""
    place = _placer(map_location)
    try:
        from safetensors import SafetensorError
        from safetensors.numpy import load as st_load
    except ImportError as e:
        raise ImportError(_install_hint()) from e
    path = os.fspath(path)
    data = _read(path)
    metadata = _parse_header(path, data)
    data, _ = bfloat16_bits.retag(data, "BF16", "U16")
    try:  # offsets, extents and shapes against the data: safetensors' own checks
        tensors = st_load(data)
    except (SafetensorError, ValueError, KeyError, TypeError) as e:
        raise _corrupt(path, str(e)) from None
    tree, crc = metadata.get(_TREE_KEY), metadata.get(_CRC_KEY)
    if tree is None and crc is None:  # not written by pyengine
        return {k: place(_tensor_of(v), "cpu") for k, v in tensors.items()}
    # pyengine writes these keys only, so a misspelt one is damage (a checksum whose key was hit
    # must not let the rest go unchecked)
    unknown = sorted(set(metadata) - {_TREE_KEY, _CRC_KEY})
    if unknown:
        raise _corrupt(path, f"the metadata has unexpected keys {unknown} beside pyengine's")
    if tree is None:
        raise _corrupt(path, f"the metadata has {_CRC_KEY} but no {_TREE_KEY}")
    if crc is not None and crc != str(_checksum(tree, tensors)):  # files of older versions have none
        raise _corrupt(path, f"the content does not match its checksum ({_CRC_KEY} {crc!r}, content "
                             f"{_checksum(tree, tensors)})")
    try:
        tree = json.loads(tree)
    except (ValueError, RecursionError) as e:
        raise _corrupt(path, f"the metadata's {_TREE_KEY} is not valid JSON ({e})") from None
    try:  # errors of map_location's own making pass through as they are
        return _unflatten(tree, tensors, place, "", set())
    except RecursionError:
        raise _corrupt(path, f"the metadata's {_TREE_KEY} is nested too deeply") from None
    except _BadTree as e:
        raise _corrupt(path, f"the metadata's {_TREE_KEY} {e}") from None
