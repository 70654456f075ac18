"""DistributedDataParallel: the same model on every rank, each on its own share of the data,
gradients averaged across ranks during backward (see _reducer.py) so every rank's optimizer
takes the same step."""
import contextlib
import inspect
import zlib

from ...autograd.grad_mode import is_grad_enabled, no_grad
from ...distributed._collectives import gather_ints
from ...distributed._work import DistBackendError
from ...distributed._state import resolve_group
from ...futures import Future
from ...tensor import Tensor
from ..module import Module
from ._grad_bucket import GradBucket
from ._reducer import Reducer


def _coalesced_broadcast(group, tensors):
    """Broadcast the group's rank 0's values of `tensors` to its other ranks: one message per
    dtype and device."""
    from ...ops.shape import cat
    by_kind = {}
    for t in tensors:
        by_kind.setdefault((t.dtype, str(t.device)), []).append(t)
    with no_grad():
        for same in by_kind.values():
            flat = cat([t.detach().reshape(-1) for t in same])
            group.backend_for(flat).start_broadcast(flat, 0).wait()
            offset = 0
            for t in same:
                n = t.numel()
                t.copy_(flat[offset:offset + n].view(t.shape))
                offset += n


def _check_same_model(backend, named):
    """Every rank's parameters and buffers must have the same names, shapes and dtypes."""
    text = ";".join(f"{name}:{tuple(t.shape)}:{t.dtype}" for name, t in named).encode()
    everyone = gather_ints(backend, [len(named), sum(t.numel() for _, t in named), zlib.crc32(text)],
                           "DistributedDataParallel's model check")
    if (everyone == everyone[backend.rank]).all():
        return
    ranks = "; ".join(f"rank {r}: {n} tensors, {numel} elements, layout checksum {crc:08x}"
                      for r, (n, numel, crc) in enumerate(everyone.tolist()))
    raise DistBackendError(f"DistributedDataParallel: the ranks' models differ in their parameters' or buffers' "
                           f"names, shapes or dtypes; every rank must build the same model (this is rank "
                           f"{backend.rank}; {ranks})")


class DistributedDataParallel(Module):
    """Wrap `module` for data-parallel training in the default process group.

    At construction the parameters and buffers of rank 0 are copied to every rank (the ranks'
    models must have the same parameters: checked). In training, each synchronised backward pass
    leaves every rank's .grad equal to the average over ranks of its local gradients; the
    all-reduces run in buckets of bucket_cap_mb MiB (default 25) that start while backward is
    still computing. broadcast_buffers: rank 0's buffers (BatchNorm's running statistics) are
    copied to every rank at each forward. find_unused_parameters: parameters the forward's
    outputs do not depend on take part with zero gradient (else such a parameter is an error at
    the end of backward). gradient_as_bucket_view: the parameters' .grad become views of the
    buckets' flat tensors, which saves the copies into and out of them (and their memory);
    zero_grad(set_to_none=False) keeps the views. no_sync(): a context in which backward passes
    only accumulate locally. register_comm_hook: reduce the buckets your own way (see
    pyengine.distributed.algorithms.ddp_comm_hooks). The wrapped model is `.module`; state_dict
    keys carry its "module." prefix, as in PyTorch."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True, init_sync=True,
                 process_group=None, bucket_cap_mb=None, find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: module must be a pyengine.nn.Module, got "
                            f"{type(module).__name__}")
        if device_ids is not None and len(list(device_ids)) != 1:
            raise ValueError(f"DistributedDataParallel: device_ids must be None or hold one device, got {device_ids!r}")
        if dim != 0:
            raise ValueError(f"DistributedDataParallel: dim must be 0 (batches split along dim 0), got {dim}")
        group = resolve_group(process_group, "DistributedDataParallel")
        if group is None:
            raise ValueError("DistributedDataParallel: this rank is not in process_group")
        backend = group.mpi
        cap_mb = 25 if bucket_cap_mb is None else bucket_cap_mb
        if not cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be positive, got {bucket_cap_mb}")
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.gradient_as_bucket_view = bool(gradient_as_bucket_view)
        self.require_backward_grad_sync = True
        self._backend = backend
        self.process_group = group
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any parameter "
                               "that requires a gradient.")
        if backend.size > 1:
            _check_same_model(backend, named + [(n, b) for n, b in module.named_buffers() if b is not None])
            if init_sync:
                _coalesced_broadcast(group, [p for _, p in module.named_parameters()] + self._buffers_to_sync())
        self._reducer = Reducer(group, [p for _, p in named], {id(p): n for n, p in named},
                                int(cap_mb * (1 << 20)), self.find_unused_parameters, self.gradient_as_bucket_view)

    def _buffers_to_sync(self):
        return [b for b in self.module.buffers() if b is not None]

    def forward(self, *inputs, **kwargs):
        if self.broadcast_buffers and self._backend.size > 1:
            buffers = self._buffers_to_sync()
            if buffers:
                _coalesced_broadcast(self.process_group, buffers)
        out = self.module(*inputs, **kwargs)
        if is_grad_enabled() and self.require_backward_grad_sync:
            self._reducer.prepare(out)
        else:
            self._reducer.armed = False
        return out

    def register_comm_hook(self, state, hook):
        """Reduce the gradient buckets with hook(state, bucket) instead of DDP's all-reduce.

        hook gets a GradBucket (bucket.buffer(): the flat gradients) for each bucket, in bucket
        order, as backward fills them, and returns a pyengine.futures.Future that resolves to the
        bucket's reduced flat tensor - the gradients averaged across the ranks (allreduce_hook
        divides by the world size before summing). DDP waits for every future at the end of
        backward and writes the results into the parameters' .grad. `state` is passed back to
        the hook as it is (the built-in hooks take the process group, None for the default one).
        Call it once, before the first backward pass; every rank registers the same hook."""
        _check_comm_hook(hook)
        self._reducer.register_comm_hook(state, hook)

    @contextlib.contextmanager
    def no_sync(self):
        """Backward passes in this context only accumulate .grad locally; the first synchronised
        backward after it averages the accumulated gradients (gradient accumulation)."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old


def _check_comm_hook(hook):
    """PyTorch's checks of a communication hook: callable, and where its bucket parameter or
    return value is annotated, as GradBucket and Future[Tensor] (string annotations, from
    `from __future__ import annotations`, are not evaluated and pass)."""
    if not callable(hook):
        raise TypeError("Communication hook must be callable.")
    sig = inspect.signature(hook)
    bucket = sig.parameters.get("bucket")
    if bucket is not None and bucket.annotation not in (inspect.Parameter.empty, GradBucket) \
            and not isinstance(bucket.annotation, str):
        raise ValueError("Communication hook: bucket annotation should be GradBucket.")
    if sig.return_annotation not in (inspect.Signature.empty, Future[Tensor]) \
            and not isinstance(sig.return_annotation, str):
        raise ValueError("Communication hook: return annotation should be pyengine.futures.Future[pyengine.Tensor].")
