"""Reading .npz archives without running code from the file.

`np.load(..., allow_pickle=True)` unpickles object arrays, and unpickling can call any function the
file names: a crafted file runs code. Keras stores data sets such as IMDB as object arrays of
Python lists, so we read them with an unpickler that only builds what such a file legitimately
holds (NumPy arrays, dtypes, scalars, and the built-in containers and numbers pickle encodes
without naming a function). Any other global in the pickle is an error naming it.
"""
import io
import pickle
import zipfile

import numpy as np

# The functions an ndarray / NumPy scalar pickle names, taken from NumPy itself so the names of
# both NumPy 1 (numpy.core.multiarray) and NumPy 2 (numpy._core.multiarray) files resolve.
_RECONSTRUCT = np.empty(0).__reduce__()[0]
_SCALAR = np.int64(0).__reduce__()[0]


def _latin1_encode(text, encoding="utf-8", errors="strict"):
    """What a protocol-2 pickle written by Python 3 calls to rebuild bytes (as _codecs.encode)."""
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"refusing to rebuild bytes with encoding {encoding!r} (expected latin1)")
    return text.encode("latin1", errors)


_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.multiarray", "scalar"): _SCALAR,
    ("numpy._core.multiarray", "scalar"): _SCALAR,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_encode,
}


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: only NumPy arrays of plain Python values may be "
                "unpickled from a data file") from None


def _read_npy(f, where):
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    else:  # 3.0 only differs by a utf8 header, which the 2.0 reader cannot parse
        raise ValueError(f"{where}: .npy format version {version} is not supported (expected 1.0 or 2.0)")
    if not dtype.hasobject:
        f.seek(0)
        return np.lib.format.read_array(f, allow_pickle=False)
    # Python 2 pickles (older Keras files) hold byte strings: latin1 maps them 1:1, as NumPy advises.
    array = _ArrayUnpickler(f, encoding="latin1").load()
    if not isinstance(array, np.ndarray) or array.shape != tuple(shape):
        got = array.shape if isinstance(array, np.ndarray) else type(array).__name__
        raise ValueError(f"{where}: the pickled array is {got}, but the header says shape {tuple(shape)}")
    return array


def load_npz(path, names=None):
    """{name: array} of the arrays in an .npz archive (only `names` if given), object arrays included.

    Raises ValueError for a file that is not an .npz archive, a missing name, or a pickle that names
    anything beyond NumPy arrays and plain Python values.
    """
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        raise ValueError(f"{path}: not an .npz archive ({e})") from e
    with archive:
        members = {m[:-4]: m for m in archive.namelist() if m.endswith(".npy")}
        wanted = list(members) if names is None else list(names)
        missing = [n for n in wanted if n not in members]
        if missing:
            raise ValueError(f"{path}: no array named {', '.join(missing)} (the archive holds "
                             f"{', '.join(sorted(members)) or 'no arrays'})")
        out = {}
        for name in wanted:
            with archive.open(members[name]) as member:
                data = io.BytesIO(member.read())  # read_array needs a seekable file
            try:
                out[name] = _read_npy(data, f"{path}[{name}]")
            except (pickle.UnpicklingError, EOFError) as e:
                raise ValueError(f"{path}[{name}]: {e}") from e
        return out
