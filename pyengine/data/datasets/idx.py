"""Reader for the IDX format of (Fashion-)MNIST: a big-endian header, then raw bytes.

Header: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions, then
one big-endian uint32 per dimension. We check every part and the file size, so a truncated or
foreign file fails with a message instead of a silently wrong array.
"""
import gzip
import os

import numpy as np

_UBYTE = 0x08


def read_idx(path, expected_ndim=None):
    """Return the array stored in an IDX file (optionally gzipped)."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise ValueError(f"{path}: cannot read IDX file ({e})") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number {raw[:4].hex() or 'empty'})")
    if raw[2] != _UBYTE:
        raise ValueError(f"{path}: IDX type code 0x{raw[2]:02x} is not supported (expected 0x08, unsigned bytes)")
    ndim = raw[3]
    if expected_ndim is not None and ndim != expected_ndim:
        raise ValueError(f"{path}: expected a {expected_ndim}-dimensional IDX array, the header says {ndim}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes, expected at least {header})")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    size = int(np.prod(shape)) if shape else 1
    if len(raw) != header + size:
        raise ValueError(f"{path}: IDX data has {len(raw) - header} bytes but the header shape {shape} "
                         f"needs {size} (truncated or corrupt file)")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def find_idx_file(root, stem):
    """`root/stem` or `root/stem.gz`, whichever exists (None if neither)."""
    for name in (stem, stem + ".gz"):
        path = os.path.join(root, name)
        if os.path.exists(path):
            return path
    return None
