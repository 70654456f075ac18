"""DistributedDataParallel's gradient reducer: buckets of gradients all-reduced during backward.

The parameters are cut into buckets (in reverse registration order, roughly the order backward
produces their gradients; one dtype and device per bucket; the first bucket small so the first
all-reduce starts early). Each parameter's post-accumulate-grad hook marks it ready; a bucket
whose parameters are all ready is copied into one flat tensor and its non-blocking all-reduce
started while backward goes on computing the next gradients. Buckets start strictly in index
order - MPI requires every rank to issue its collectives in the same order, and the order
gradients arrive in may differ between ranks. At the end of backward (a queued autograd callback)
every bucket is waited for, averaged, and copied back into the gradients.

A bucket's reduction is a Future of its averaged flat tensor: the all-reduce's own, or what a
communication hook (register_comm_hook) returns for it. With gradient_as_bucket_view the
gradients are views of the flat tensors, so backward accumulates straight into the buckets and
neither copy is made (after the first backward, or after zero_grad(set_to_none=True), the
gradients are copied in once and replaced by the views)."""
import numpy as np

from ...autograd.engine import queue_callback
from ...autograd.grad_mode import no_grad
from ...distributed._buffers import own_storage
from ...futures import Future
from ...tensor import Tensor
from ._grad_bucket import GradBucket

_FIRST_BUCKET_BYTES = 1 << 20


def _host_view(t):
    """t's storage as a flat NumPy array, or None (see own_storage): the bucket copies then skip
    the Tensor-op overhead, which is most of DDP's cost for a small model."""
    view = own_storage(t)
    return None if view is None else view.reshape(-1)


class _Bucket:
    def __init__(self, index, params):
        from ...creation import zeros
        self.index = index
        self.params = params
        numels = [p.numel() for p in params]
        offsets = [sum(numels[:i]) for i in range(len(params))]
        self.flat = zeros(sum(numels), dtype=params[0].dtype, device=params[0].device)
        self.slots = [self.flat[o:o + n] for o, n in zip(offsets, numels)]  # views of flat, one per parameter
        self.views = [s.view(p.shape) for s, p in zip(self.slots, params)]  # the same, in the parameters' shapes
        flat_view = _host_view(self.flat)
        self.slot_arrays = [None if flat_view is None else flat_view[o:o + n] for o, n in zip(offsets, numels)]
        self.reset()

    def reset(self):
        self.missing = len(self.params)
        self.ready = [False] * len(self.params)
        self.future = None  # of the reduced flat tensor, once the bucket's reduction has started

    def holds(self, i, grad):
        """True when `grad` is parameter i's slot of the flat tensor (gradient_as_bucket_view)."""
        return grad.data_ptr() == self.slots[i].data_ptr()

    def fill(self, as_views):
        """Copy the gradients into the flat tensor (zeros for a parameter without one), except
        those that are already views of it; as_views: the copied gradients are then replaced by
        their views."""
        with no_grad():
            for i, (p, slot, array) in enumerate(zip(self.params, self.slots, self.slot_arrays)):
                grad = p.grad
                if grad is not None and self.holds(i, grad):
                    continue
                if as_views and grad is not None:
                    p.grad = self.views[i].detach()  # detach: a Tensor of its own sharing the slot's memory
                view = None if grad is None or array is None else _host_view(grad)
                if view is not None:
                    np.copyto(array, view)
                elif grad is None:
                    slot.zero_()
                else:
                    slot.copy_(grad.reshape(-1))

    def take(self, result):
        """Make the flat tensor hold `result`, the reduced gradients (a communication hook may
        resolve to another tensor than the flat one it was given)."""
        if not isinstance(result, Tensor) or result.numel() != self.flat.numel():
            got = (f"a tensor of shape {tuple(result.shape)}" if isinstance(result, Tensor)
                   else f"a {type(result).__name__}")
            raise RuntimeError(f"DistributedDataParallel: the communication hook's future for bucket {self.index} "
                               f"resolved to {got}; it must resolve to the bucket's reduced flat tensor (a tensor of "
                               f"{self.flat.numel()} elements, like bucket.buffer())")
        if result.data_ptr() != self.flat.data_ptr() or result.dtype != self.flat.dtype:
            with no_grad():
                self.flat.copy_(result.reshape(-1))

    def unfill(self, globally_used, as_views):
        """Copy the averaged gradients back (a parameter no rank used keeps its gradient; one
        that is a view of the flat tensor has them already)."""
        with no_grad():
            for i, (p, slot, array) in enumerate(zip(self.params, self.slots, self.slot_arrays)):
                if not globally_used(p):
                    continue
                grad = p.grad
                if grad is None:
                    p.grad = self.views[i].detach() if as_views else self.views[i].clone()
                    continue
                if self.holds(i, grad):
                    continue
                view = None if array is None else _host_view(grad)
                if view is not None:
                    np.copyto(view, array)
                else:
                    grad.copy_(slot.view(p.shape))


def plan_buckets(params, cap_bytes):
    """Lists of parameters: reverse order, one dtype/device each, about cap_bytes each (the first
    at most 1 MiB)."""
    buckets, current, size, key = [], [], 0, None
    for p in reversed(params):
        cap = min(cap_bytes, _FIRST_BUCKET_BYTES) if not buckets else cap_bytes
        this_key = (p.dtype, str(p.device))
        if current and (this_key != key or size >= cap):
            buckets.append(current)
            current, size = [], 0
        current.append(p)
        size += p.numel() * p.element_size()
        key = this_key
    if current:
        buckets.append(current)
    return buckets


class Reducer:
    def __init__(self, group, params, names, cap_bytes, find_unused, as_views):
        self.group = group  # the ProcessGroup DDP averages over
        self.backend = group.mpi  # host messages (the used-parameter map)
        self.names = names  # id(param) -> its name, for error messages
        self.find_unused = find_unused
        self.as_views = as_views  # gradient_as_bucket_view
        self.comm_hook = None  # (state, hook) from register_comm_hook
        self.has_reduced = False  # a synchronised backward pass has run (a hook must come before)
        self.buckets = [_Bucket(i, ps) for i, ps in enumerate(plan_buckets(params, cap_bytes))]
        self.where = {id(p): (b, i) for b in self.buckets for i, p in enumerate(b.params)}
        self.params = params
        self.armed = False
        self.finishing = False
        self.next_bucket = 0
        self.locally_used = None
        if as_views:  # gradients that exist already become views now (PyTorch: at construction)
            for b in self.buckets:
                b.fill(as_views)
        for p in params:
            p.register_post_accumulate_grad_hook(self._grad_ready)

    def register_comm_hook(self, state, hook):
        if self.comm_hook is not None:
            raise RuntimeError("register_comm_hook or register_builtin_comm_hook can only be called once.")
        if self.has_reduced:
            raise RuntimeError("DistributedDataParallel: register_comm_hook must be called before the first "
                               "backward pass (a DDP communication hook can only be registered once and should be "
                               "registered before calling backward)")
        self.comm_hook = (state, hook)

    # ----- per iteration -----
    def prepare(self, outputs):
        """Called by forward when this iteration's gradients are to be synchronised: arm the
        hooks; with find_unused_parameters, mark ready now the parameters the outputs do not
        depend on (their share of the all-reduce is zeros)."""
        for b in self.buckets:
            b.reset()
        self.next_bucket = 0
        self.armed = True
        self.finishing = False
        self.locally_used = None
        if self.find_unused:
            reached = _leaves_reached(outputs)
            self.locally_used = {id(p) for p in self.params if id(p) in reached}
            for p in self.params:
                if id(p) not in reached:
                    self._mark(p)

    def _grad_ready(self, param):
        if not self.armed:
            return
        if not self.finishing:
            self.finishing = self.has_reduced = True
            queue_callback(self._finish)
        self._mark(param)

    def _mark(self, param):
        bucket, i = self.where[id(param)]
        if bucket.ready[i]:
            return
        bucket.ready[i] = True
        bucket.missing -= 1
        self._start_ready_buckets()

    def _start_ready_buckets(self):
        while self.next_bucket < len(self.buckets) and self.buckets[self.next_bucket].missing == 0:
            b = self.buckets[self.next_bucket]
            b.fill(self.as_views)
            b.future = self._reduce(b)
            self.next_bucket += 1
        for b in self.buckets[:self.next_bucket]:
            b.future.done()  # lets MPI progress the buckets in flight while backward computes

    def _reduce(self, b):
        """Start averaging bucket b across the ranks: a Future of its reduced flat tensor."""
        if self.comm_hook is None:
            backend = self.group.backend_for(b.flat)
            work = backend.start_all_reduce(b.flat, "AVG", what=f"DistributedDataParallel's gradient bucket {b.index}")
            return work.get_future()  # resolves to [b.flat], averaged in place
        state, hook = self.comm_hook
        future = hook(state, GradBucket(b.index, b.flat, b.views, b.params, b.index == len(self.buckets) - 1))
        if not isinstance(future, Future):
            raise RuntimeError(f"DDP communication hook's callback must return a pyengine.futures.Future object, "
                               f"but got {type(future).__module__}.{type(future).__qualname__}")
        return future

    def _finish(self):
        """End of backward: every bucket in, averaged and copied back."""
        self.armed = False
        missing = [self.names[id(p)] for b in self.buckets for p, r in zip(b.params, b.ready) if not r]
        if missing:
            raise RuntimeError(
                "DistributedDataParallel: this backward pass produced no gradient for some parameters, so "
                "their gradients cannot be averaged across ranks. This module has parameters that were not "
                "used in producing the loss; pass find_unused_parameters=True to DistributedDataParallel "
                "(or make sure every output takes part in the loss). Parameters which did not receive grad "
                f"on rank {self.backend.rank}: {', '.join(missing)}")
        globally_used = self._globally_used()
        for b in self.buckets:
            result = b.future.wait()
            if self.comm_hook is not None:
                b.take(result)
            b.unfill(globally_used, self.as_views)

    def _globally_used(self):
        """A parameter's gradient is written back unless no rank used it (find_unused_parameters:
        an all-reduce of the ranks' used flags)."""
        if self.locally_used is None:
            return lambda p: True
        from ...creation import tensor
        from ...dtypes import int32
        flags = tensor([1 if id(p) in self.locally_used else 0 for p in self.params], dtype=int32)
        self.backend.start_all_reduce(flags, "MAX", what="DistributedDataParallel's used-parameter map").wait()
        used = {id(p) for p, f in zip(self.params, flags.tolist()) if f}
        return lambda p: id(p) in used


def _leaves_reached(outputs):
    """ids of the leaf tensors the autograd graph of `outputs` reaches."""
    from ...autograd.function import AccumulateGrad
    from ...tensor import Tensor
    stack, seen, leaves = [], set(), set()

    def collect(o):
        if isinstance(o, Tensor):
            if o.grad_fn is not None:
                stack.append(o.grad_fn)
            elif o.requires_grad:
                leaves.add(id(o))
        elif isinstance(o, (list, tuple)):
            for x in o:
                collect(x)
        elif isinstance(o, dict):
            for x in o.values():
                collect(x)
    collect(outputs)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if type(node) is AccumulateGrad:
            v = node.variable
            if v is not None:
                leaves.add(id(v))
            continue
        for e in node._next:
            if e is not None:
                stack.append(e[0])
    return leaves
