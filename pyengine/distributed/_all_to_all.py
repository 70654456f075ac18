"""all_to_all_single and all_to_all (PyTorch's names): every rank sends a part of its data to
every rank - the exchange behind expert parallelism and distributed transposes.

The parts may differ in size, so unlike the other collectives the ranks' tensors may differ in
shape; what must agree is checked instead: the dtype and device, the size of a row, and that
what rank r sends to rank j is what rank j expects from rank r (one small all-gather of every
rank's send and receive counts, bounded by the timeout; DistBackendError naming the first pair
that disagrees)."""
import numpy as np

from ._collectives import _DEVICES, _DTYPES, _run, _tensor, gather_ints
from ._state import member_group
from ._work import DistBackendError


def _splits(sizes, rows, parts, what, name):
    """Rows per rank: the given split sizes (summing to rows), or equal parts."""
    if sizes is None or len(sizes) == 0:
        if rows % parts:
            raise ValueError(f"{what}: {name} has {rows} rows along dim 0, which do not split into {parts} equal "
                             f"parts (give {name}_split_sizes)")
        return [rows // parts] * parts
    sizes = [int(s) for s in sizes]
    if len(sizes) != parts or any(s < 0 for s in sizes) or sum(sizes) != rows:
        raise ValueError(f"{what}: {name}_split_sizes must be {parts} non-negative sizes summing to {name}'s {rows} "
                         f"rows along dim 0, got {sizes}")
    return sizes


def _check_counts(pg, what, dtype, device, send, recv):
    """The ranks must agree on dtype and device, and rank r's send count to j must be rank j's
    receive count from r."""
    everyone = gather_ints(pg, [_DTYPES.index(dtype), _DEVICES.index(device)] + send + recv, f"{what}'s size check")
    n = pg.size
    kinds = {tuple(row[:2]) for row in everyone.tolist()}
    if len(kinds) > 1:
        ranks = "; ".join(f"rank {r}: {_DTYPES[d]} on {_DEVICES[v]}" for r, (d, v, *_) in enumerate(everyone.tolist()))
        raise DistBackendError(f"pyengine.distributed: {what}: the ranks passed different dtypes or devices: {ranks}")
    sends, recvs = everyone[:, 2:2 + n], everyone[:, 2 + n:]
    for r in range(n):
        for j in range(n):
            if sends[r, j] != recvs[j, r]:
                raise DistBackendError(f"pyengine.distributed: {what}: rank {r} sends {sends[r, j]} elements to rank "
                                       f"{j}, which expects {recvs[j, r]} from it (this is rank {pg.rank})")


def _exchange(what, g, output, input, send, recv, async_op, finish=None):
    """Exchange send[j] elements of input with rank j of group g, receiving recv[j] into output
    (the backend flattens both, staging strided ones)."""
    pg = g.backend_for(input)
    pg.check_usable(input)
    if pg.size > 1:
        _check_counts(pg, what, input.dtype.name, input.device.type, send, recv)
    work = pg.start_all_to_all(output, input, send, recv)
    if finish is not None:
        work.add_final(finish)
    return _run(work, async_op)


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None, group=None, async_op=False):
    """Split `input` along dim 0 into one part per rank (input_split_sizes rows each; default
    equal parts) and send part j to rank j; `output` receives rank j's part for this rank as its
    j-th part (output_split_sizes rows)."""
    what = "all_to_all_single"
    _tensor(input, what, "input")
    _tensor(output, what, "output")
    g = member_group(group, what)
    if g is None:
        return None
    if output.dtype != input.dtype or output.device != input.device:
        raise ValueError(f"{what}: output must have input's dtype and device ({input.dtype}, {input.device}), got "
                         f"{output.dtype}, {output.device}")
    if tuple(output.shape[1:]) != tuple(input.shape[1:]) or input.dim() == 0:
        raise ValueError(f"{what}: output and input must be at least 1-d with the same sizes after dim 0, got "
                         f"{tuple(output.shape)} and {tuple(input.shape)}")
    row = int(np.prod(input.shape[1:], dtype=np.int64))
    send = [s * row for s in _splits(input_split_sizes, input.shape[0], g.size(), what, "input")]
    recv = [s * row for s in _splits(output_split_sizes, output.shape[0], g.size(), what, "output")]
    return _exchange(what, g, output, input, send, recv, async_op)


def all_to_all(output_tensor_list, input_tensor_list, group=None, async_op=False):
    """Send input_tensor_list[j] to rank j; output_tensor_list[j] receives what rank j sent to
    this rank (the tensors may differ in shape, not in dtype)."""
    what = "all_to_all"
    g = member_group(group, what)
    if g is None:
        return None
    for name, tensors in (("output_tensor_list", output_tensor_list), ("input_tensor_list", input_tensor_list)):
        if not isinstance(tensors, (list, tuple)) or len(tensors) != g.size():
            raise ValueError(f"{what}: {name} must be a list of {g.size()} tensors (one per rank)")
        for i, t in enumerate(tensors):
            _tensor(t, what, f"{name}[{i}]")
    ref = input_tensor_list[0]
    if any(t.dtype != ref.dtype or t.device != ref.device for t in list(output_tensor_list) + list(input_tensor_list)):
        raise ValueError(f"{what}: every tensor must have one dtype and device ({ref.dtype}, {ref.device})")
    from ..ops.shape import cat
    from ..creation import empty
    flat_in = cat([t.detach().reshape(-1) for t in input_tensor_list])
    recv = [t.numel() for t in output_tensor_list]
    flat_out = empty(sum(recv), dtype=ref.dtype, device=ref.device)

    def scatter_back():
        from .. import _C
        offset = 0
        for t, n in zip(output_tensor_list, recv):
            _C.copy_(t._impl, flat_out[offset:offset + n].view(t.shape)._impl)
            offset += n
    work = _exchange(what, g, flat_out, flat_in, [t.numel() for t in input_tensor_list], recv, True, scatter_back)
    work._result = list(output_tensor_list)
    return _run(work, async_op)
