"""The memory MPI reads and writes for a tensor.

A contiguous CPU tensor of a dtype MPI has goes to MPI as a NumPy view of its own storage: no
copy. Everything else - a strided view, a CUDA tensor (the MPI backend is host-memory MPI), a
float16/bfloat16 tensor (MPI has no 16-bit float sums; they are reduced in float32 and rounded
once, as the half types accumulate everywhere in pyengine) - is staged through a contiguous host
copy, written back into the tensor when the collective is done."""
import numpy as np

from .. import _C

_STAGED_IN_FLOAT32 = ("float16", "bfloat16")


def own_storage(tensor):
    """A NumPy view of a contiguous CPU tensor's own storage, or None where there is none to have
    (another device, a strided view, bfloat16, which NumPy lacks)."""
    impl = tensor._impl
    if impl.device != "cpu" or impl.dtype == "bfloat16" or not impl.is_contiguous():
        return None
    return impl.numpy()


def host_array(tensor):
    """(array, write_back): the array MPI uses for `tensor`, and a function that copies it back
    into the tensor (None when the array is the tensor's own storage)."""
    impl = tensor._impl
    view = own_storage(tensor) if impl.dtype not in _STAGED_IN_FLOAT32 else None
    if view is not None:
        return view, None
    staged = impl if impl.device == "cpu" else _C.to_device(impl, "cpu")
    if staged.dtype in _STAGED_IN_FLOAT32:
        staged = _C.to_dtype(staged, "float32")
    array = np.ascontiguousarray(staged.numpy())  # a copy: never the tensor's own storage
    return array, lambda: _C.copy_(impl, _C.from_numpy(array))

