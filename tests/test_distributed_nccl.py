"""The 'nccl' backend (CUDA tensors through NVIDIA's NCCL).

What runs where:
- everywhere: the clear errors at init_process_group when NCCL cannot start;
- where the NCCL wheel is installed (nvidia-nccl-cu12: the README's test command installs it):
  every ctypes prototype pyengine declares against the installed nccl.h, the enum values, and
  the real library loaded, its version read, a unique id made and - without a GPU - the
  communicator's failure reported in NCCL's words;
- on the emulated GPU (PYENGINE_CUDA=EMU): the whole backend on 2 and 3 MPI ranks with
  tests/mpi_workers/_fake_nccl.py standing in for libnccl (the emulated GPU's memory is host
  memory), incl. a peer that joins too late (the watchdog aborts the communicator);
- on a real GPU: benchmarks/gpu_check.sh runs a one-rank NCCL check."""
import ctypes
import os
import re
import subprocess

import pytest

import pyengine as pe
import pyengine.distributed as dist
from pyengine.distributed import _nccl_lib
from _child_python import run_python
from mpi_launch import launch, run_ranks
from test_distributed import assert_every_collective_checked

EMULATED = pe.cuda.is_available() and pe.cuda.is_emulated()
HEADER = None
if _nccl_lib.find_library():
    HEADER = os.path.join(os.path.dirname(os.path.dirname(_nccl_lib.find_library())), "include", "nccl.h")
needs_wheel = pytest.mark.skipif(HEADER is None or not os.path.exists(HEADER),
                                 reason="no NCCL wheel (pip install nvidia-nccl-cu12)")


# ----------------------------------------------------------------------------- without NCCL
def test_init_says_what_is_missing():
    assert not dist.is_nccl_available() or (pe.cuda.is_built() and not pe.cuda.is_emulated())
    if not pe.cuda.is_available():
        why = "'nccl' backend needs CUDA GPUs"
    elif pe.cuda.is_emulated():
        why = "emulated GPU .*which NCCL cannot drive"
    else:
        pytest.skip("a real GPU: gpu_check.sh runs the NCCL backend")
    with pytest.raises(RuntimeError, match=why):
        dist.init_process_group("nccl")
    assert not dist.is_initialized()


def test_missing_library_says_what_to_install(monkeypatch):
    monkeypatch.setenv("PYENGINE_NCCL_LIBRARY", "/nonexistent/libnccl.so.2")
    monkeypatch.setattr(_nccl_lib, "_loaded", None)
    with pytest.raises(RuntimeError, match="could not load NCCL from /nonexistent/libnccl.so.2"):
        _nccl_lib.load()
    monkeypatch.delenv("PYENGINE_NCCL_LIBRARY")
    monkeypatch.setattr(_nccl_lib, "_wheel_paths", lambda: iter(()))
    monkeypatch.setattr(_nccl_lib.ctypes.util, "find_library", lambda name: None)
    assert _nccl_lib.find_library() is None and not dist.is_nccl_available()
    with pytest.raises(RuntimeError, match="pip install nvidia-nccl-cu12"):
        _nccl_lib.load()
    monkeypatch.setattr(_nccl_lib, "_loaded", None)


def test_old_nccl_is_refused():
    class Old:
        def ncclGetVersion(self, version):
            version._obj.value = 20904
            return 0
    with pytest.raises(RuntimeError, match="is NCCL 2.9.4; the 'nccl' backend needs 2.10 or newer"):
        _nccl_lib.Nccl(Old(), "old")


# ------------------------------------------------------------------- the real library's ABI
_C_TYPES = {"void*": ctypes.c_void_p, "constvoid*": ctypes.c_void_p, "size_t": ctypes.c_size_t, "int": ctypes.c_int,
            "ncclDataType_t": ctypes.c_int, "ncclRedOp_t": ctypes.c_int, "ncclResult_t": ctypes.c_int,
            "ncclComm_t": ctypes.c_void_p, "constncclComm_t": ctypes.c_void_p, "cudaStream_t": ctypes.c_void_p,
            "ncclUniqueId": _nccl_lib.UniqueId, "ncclComm_t*": ctypes.POINTER(ctypes.c_void_p),
            "ncclUniqueId*": ctypes.POINTER(_nccl_lib.UniqueId), "int*": ctypes.POINTER(ctypes.c_int),
            "ncclResult_t*": ctypes.POINTER(ctypes.c_int), "constchar*": ctypes.c_char_p}


def _prototypes(header):
    """{name: (return type, [parameter types])} of the functions declared in nccl.h."""
    text = re.sub(r"/\*.*?\*/|//[^\n]*", "", open(header).read(), flags=re.S)
    found = {}
    for ret, name, params in re.findall(r"\b((?:const\s+)?\w+\s*\*?)\s*\b(nccl\w+)\s*\(([^;{)]*)\)\s*;", text):
        types = []
        for p in filter(None, (p.strip() for p in params.split(","))):
            p = re.sub(r"\s*\*\s*", "* ", p).split()
            if p[-1] != "*" and len(p) > 1 and not p[-1].endswith("*"):
                p = p[:-1]  # the parameter's name
            types.append("".join(p))
        found[name] = ("".join(ret.split()), [t for t in types if t != "void"])
    return found


@needs_wheel
def test_prototypes_match_the_installed_header():
    declared = _prototypes(HEADER)
    for name, (restype, argtypes) in _nccl_lib.PROTOTYPES.items():
        assert name in declared, f"{name} is not declared in {HEADER}"
        ret, params = declared[name]
        assert _C_TYPES[ret] is restype, (name, ret, restype)
        assert len(params) == len(argtypes), (name, params, argtypes)
        for c_type, ours in zip(params, argtypes):
            assert _C_TYPES[c_type] is ours, (name, c_type, ours)


@needs_wheel
def test_enum_values_match_the_installed_header():
    text = open(HEADER).read()

    def value(name):
        return int(re.search(rf"\b{name}\s*=\s*(\d+)", text).group(1))
    names = {"int8": "ncclInt8", "uint8": "ncclUint8", "int32": "ncclInt32", "int64": "ncclInt64",
             "float16": "ncclFloat16", "float32": "ncclFloat32", "float64": "ncclFloat64",
             "bfloat16": "ncclBfloat16", "bool": "ncclUint8"}
    assert {k: value(v) for k, v in names.items()} == _nccl_lib.DTYPES
    ops = {"SUM": "ncclSum", "PRODUCT": "ncclProd", "MAX": "ncclMax", "MIN": "ncclMin", "AVG": "ncclAvg"}
    assert {k: value(v) for k, v in ops.items()} == _nccl_lib.OPS
    assert value("ncclSuccess") == _nccl_lib.SUCCESS and value("ncclInProgress") == _nccl_lib.IN_PROGRESS
    assert re.search(r"#define NCCL_UNIQUE_ID_BYTES 128\b", text) and ctypes.sizeof(_nccl_lib.UniqueId) == 128


@needs_wheel
def test_the_real_library_loads_and_reports_its_failures():
    """In a child process (the library stays loaded): version, a unique id, and - with no GPU -
    ncclCommInitRank's failure as an NcclError in NCCL's words."""
    out = run_python(["-c",
        "import ctypes\n"
        "from pyengine.distributed import _nccl_lib\n"
        "nccl = _nccl_lib.load()\n"
        "print('version', nccl.version_text, nccl.path)\n"
        "uid = _nccl_lib.UniqueId()\n"
        "nccl.call('ncclGetUniqueId', ctypes.byref(uid))\n"
        "print('uid bytes', sum(1 for b in bytes(uid) if b))\n"
        "comm = ctypes.c_void_p()\n"
        "try:\n"
        "    nccl.call('ncclCommInitRank', ctypes.byref(comm), 1, uid, 0, what='a test')\n"
        "    print('initialised')\n"
        "except _nccl_lib.NcclError as e:\n"
        "    print('NcclError:', e)\n"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=120).stdout
    version = re.search(r"version (\d+)\.(\d+)\.(\d+) (\S+)", out)
    assert version and (int(version[1]), int(version[2])) >= (2, 10) and version[4].endswith("libnccl.so.2"), out
    assert int(re.search(r"uid bytes (\d+)", out)[1]) > 4, out
    if pe.cuda.is_available() and not pe.cuda.is_emulated():
        assert "initialised" in out, out
    else:  # no GPU: NCCL's own words, with its last error
        assert re.search(r"NcclError: pyengine.distributed: NCCL's ncclCommInitRank failed in a test: "
                         r"unhandled cuda error .*\(.*\)", out), out


# ------------------------------------------------------------- the backend on the emulated GPU
needs_emulator = pytest.mark.skipif(not EMULATED, reason="the fake NCCL runs on the emulated GPU's host memory")


@needs_emulator
@pytest.mark.parametrize("world", [2, 3])
def test_nccl_backend_on_the_emulated_gpu(tmp_path, world):
    reports = run_ranks(world, "nccl_collectives.py", tmp_path, timeout=600)
    for rank, report in enumerate(reports):
        names = set(report["names"])
        assert report["checks"] == len(report["names"]) > 300
        assert_every_collective_checked(names, rank, world, "cuda")
        for name in ("backend name", "one communicator, made once", "zero copy: the tensor's pointer, in place",
                     "CPU tensors over MPI", "all_reduce float16", "all_reduce bfloat16", "all_reduce bool SUM",
                     "all_reduce bool PRODUCT", "no bitwise ops", "no int16", "async", "DDP over NCCL",
                     "DDP equals one process", "device mismatch detected", "destroyed"):
            assert name in names, (rank, name)
        assert ("async error raised" in names) == (rank == 0)


@needs_emulator
def test_a_peer_that_never_joins_is_aborted_by_the_watchdog(tmp_path):
    rc, out, seconds = launch(2, "nccl_faults.py", tmp_path, timeout=120)
    assert rc == 0, out[-3000:]
    for rank in (0, 1):
        assert f"rank {rank}: DistBackendError: pyengine.distributed: the NCCL communicator on cuda:0 was aborted " \
               f"(all_reduce timed out after 2 s" in out, out[-3000:]
        assert f"rank {rank}: later call refused" in out, out[-3000:]
    assert seconds < 60, seconds


@needs_emulator
def test_sub_groups_on_nccl(tmp_path):
    """new_group with the 'nccl' backend: each group bootstraps its own NCCL communicator (rank 0
    of the group makes the id, the group's MPI communicator carries it)."""
    for rank, report in enumerate(run_ranks(3, "groups.py", tmp_path, "cuda", timeout=300)):
        got = set(report["names"])
        for name in ("NCCL communicator per group", "all_reduce in group", "overlapping groups", "subgroup all_reduce",
                     "new_group disagreement",
                     "other groups after destroy", "all destroyed"):
            assert name in got, (rank, name)
        if rank in (0, 2):
            assert {"backend", "broadcast group_src", "DDP over a sub-group", "scatter in group",
                    "batch_isend_irecv in group (global peers)",
                    "reduce_scatter_tensor in group", "destroyed group refused"} <= got, rank
