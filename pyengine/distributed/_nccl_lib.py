"""The NCCL runtime, loaded with ctypes the first time a CUDA tensor reaches a collective.

NCCL is NVIDIA's collective library for GPUs (all-reduce over NVLink, PCIe and InfiniBand). It
is not linked into _C: machines without GPUs never need it, and its wheel is 350 MB. It is
found, in this order, at $PYENGINE_NCCL_LIBRARY, in the nvidia-nccl-cu12 / -cu13 wheels, or as
the system's libnccl.so.2.

Every function pyengine calls is declared below with its C prototype from nccl.h (tests compare
them with the header of the installed wheel): a wrong ctypes signature would not fail loudly, it
would pass garbage to the GPU."""
import ctypes
import ctypes.util
import importlib.util
import os

_INSTALL = ("pip install nvidia-nccl-cu12 (or pyengine's extra: pip install \"pyengine[distributed,nccl]\"), "
            "or point PYENGINE_NCCL_LIBRARY at a libnccl.so.2")
MIN_VERSION = 21000  # 2.10: ncclAvg


class UniqueId(ctypes.Structure):
    """ncclUniqueId: rank 0's address, handed to the other ranks (over MPI) to meet."""
    _fields_ = [("internal", ctypes.c_char * 128)]


# ncclDataType_t, for pyengine's dtypes; bool travels as uint8 with max/min as its or/and.
DTYPES = {"int8": 0, "uint8": 1, "int32": 2, "int64": 4, "float16": 6, "float32": 7, "float64": 8,
          "bfloat16": 9, "bool": 1}
# ncclRedOp_t for pyengine's ReduceOp names; NCCL has no bitwise reductions.
OPS = {"SUM": 0, "PRODUCT": 1, "MAX": 2, "MIN": 3, "AVG": 4}
BOOL_OPS = {"SUM": "MAX", "MAX": "MAX", "BOR": "MAX", "PRODUCT": "MIN", "MIN": "MIN", "BAND": "MIN"}
SUCCESS, IN_PROGRESS = 0, 7

_p, _i, _size = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t
# name: (restype, argtypes), as in nccl.h. ncclComm_t and cudaStream_t are pointers; the enums
# (ncclResult_t, ncclDataType_t, ncclRedOp_t) are ints.
PROTOTYPES = {
    "ncclGetVersion": (_i, [ctypes.POINTER(_i)]),
    "ncclGetUniqueId": (_i, [ctypes.POINTER(UniqueId)]),
    "ncclCommInitRank": (_i, [ctypes.POINTER(_p), _i, UniqueId, _i]),
    "ncclCommDestroy": (_i, [_p]),
    "ncclCommAbort": (_i, [_p]),
    "ncclCommGetAsyncError": (_i, [_p, ctypes.POINTER(_i)]),
    "ncclGetErrorString": (ctypes.c_char_p, [_i]),
    "ncclGetLastError": (ctypes.c_char_p, [_p]),
    "ncclAllReduce": (_i, [_p, _p, _size, _i, _i, _p, _p]),
    "ncclReduce": (_i, [_p, _p, _size, _i, _i, _i, _p, _p]),
    "ncclBroadcast": (_i, [_p, _p, _size, _i, _i, _p, _p]),
    "ncclAllGather": (_i, [_p, _p, _size, _i, _p, _p]),
    "ncclReduceScatter": (_i, [_p, _p, _size, _i, _i, _p, _p]),
    "ncclSend": (_i, [_p, _size, _i, _i, _p, _p]),
    "ncclRecv": (_i, [_p, _size, _i, _i, _p, _p]),
    "ncclGroupStart": (_i, []),
    "ncclGroupEnd": (_i, []),
}


class NcclError(RuntimeError):
    """An NCCL call failed (the message has NCCL's own words)."""
    __module__ = "pyengine.distributed"


_test_library = None  # a stand-in for libnccl (tests on the emulated GPU); see use_library


def use_library(library):
    """Use `library` (an object with the NCCL functions of PROTOTYPES as attributes) instead of
    libnccl.so.2; None to go back. For tests on the emulated GPU, which NCCL cannot drive."""
    global _test_library, _loaded
    _test_library, _loaded = library, None


def test_library_in_use():
    return _test_library is not None


def _wheel_paths():
    spec = importlib.util.find_spec("nvidia")
    for root in (spec.submodule_search_locations or []) if spec else []:
        for sub in ("nccl", "cu13", "cu12"):
            yield os.path.join(root, sub, "lib", "libnccl.so.2")


def find_library():
    """The path of the libnccl.so.2 pyengine would load, or None."""
    explicit = os.environ.get("PYENGINE_NCCL_LIBRARY")
    if explicit:
        return explicit
    for path in _wheel_paths():
        if os.path.exists(path):
            return path
    return ctypes.util.find_library("nccl")


def is_found():
    return _test_library is not None or find_library() is not None


class Nccl:
    """libnccl with its functions declared; call(name, *args) raises NcclError on failure."""

    def __init__(self, library, path):
        self.path = path
        self._lib = library
        if isinstance(library, ctypes.CDLL):
            for name, (restype, argtypes) in PROTOTYPES.items():
                fn = getattr(library, name)
                fn.restype, fn.argtypes = restype, argtypes
        version = ctypes.c_int()
        self.call("ncclGetVersion", ctypes.byref(version))
        self.version = version.value
        if self.version < MIN_VERSION:
            raise RuntimeError(f"pyengine.distributed: {path} is NCCL {self.version_text}; the 'nccl' backend needs "
                               f"2.10 or newer ({_INSTALL})")

    @property
    def version_text(self):
        v = self.version
        return f"{v // 10000}.{v // 100 % 100}.{v % 100}"

    def error_text(self, result, comm=None):
        text = self._lib.ncclGetErrorString(result)
        last = self._lib.ncclGetLastError(comm)
        text = text.decode() if isinstance(text, bytes) else str(text)
        last = last.decode() if isinstance(last, bytes) else (last or "")
        return f"{text} ({last})" if last else text

    def call(self, name, *args, comm=None, what=None):
        result = getattr(self._lib, name)(*args)
        if result not in (SUCCESS, IN_PROGRESS):
            raise NcclError(f"pyengine.distributed: NCCL's {name} failed{' in ' + what if what else ''}: "
                            f"{self.error_text(result, comm)}")
        return result


_loaded = None


def load():
    """The NCCL library (loaded once), or RuntimeError saying what to install."""
    global _loaded
    if _loaded is not None:
        return _loaded
    if _test_library is not None:
        _loaded = Nccl(_test_library, "(test library)")
        return _loaded
    path = find_library()
    if path is None:
        raise RuntimeError(f"pyengine.distributed: the 'nccl' backend needs the NCCL library, and none was found: "
                           f"{_INSTALL}")
    try:
        library = ctypes.CDLL(path)
    except OSError as e:
        raise RuntimeError(f"pyengine.distributed: could not load NCCL from {path}: {e}") from None
    _loaded = Nccl(library, path)
    return _loaded
