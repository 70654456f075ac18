"""bfloat16 in safetensors files. safetensors' NumPy API (what checkpoints are written and read
with) has no bfloat16, as NumPy has none: such tensors travel as their uint16 bit patterns, and
the header's dtype is rewritten between "BF16" (in the file, as PyTorch writes it) and "U16" (what
the NumPy API handles). The data section is untouched: its offsets do not depend on the header."""
import json

import numpy as np

BITS = np.uint16  # pyengine has no uint16 dtype, so a uint16 array here always holds bfloat16 bits


def to_bits(tensor):
    """The bit patterns of a CPU bfloat16 tensor, as a uint16 array."""
    from ..dtypes import int16
    return tensor.view(int16).numpy().view(BITS)


def from_bits(array):
    """The bfloat16 tensor whose bit patterns `array` (uint16) holds, sharing its memory."""
    from .. import bfloat16, from_numpy
    return from_numpy(np.require(array, requirements="W").view(np.int16)).view(bfloat16)


def retag(blob, old, new, names=None):
    """`blob` (a safetensors file's bytes) with the dtype `old` of the named tensors (all of that
    dtype when names is None) changed to `new` in the header; returns (bytes, names changed)."""
    size = int.from_bytes(blob[:8], "little")
    header = json.loads(bytes(blob[8:8 + size]).decode("utf-8"))
    changed = [k for k, v in header.items()
               if k != "__metadata__" and v.get("dtype") == old and (names is None or k in names)]
    if not changed:
        return blob, changed
    for k in changed:
        header[k]["dtype"] = new
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # safetensors pads the header to 8 bytes
    return len(text).to_bytes(8, "little") + text + bytes(blob[8 + size:]), changed
