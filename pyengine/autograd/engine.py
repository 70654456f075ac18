"""The backward engine: iterative topological execution of the recorded graph.

No recursion anywhere, so a 100,000-op chain works. A node runs when every node that feeds it a
gradient has run (dependency counting), so each node runs once with its summed gradient.
"""
import threading
from sys import getrefcount as _getrefcount

from . import function as _fn
from .function import AccumulateGrad
from .grad_mode import state


def _count_dependencies(roots):
    """Number of incoming edges per node, over everything reachable from `roots`."""
    deps = {}
    seen = set(roots)
    stack = list(roots)
    while stack:
        node = stack.pop()
        for e in node._next:
            if e is None:
                continue
            child = e[0]
            deps[child] = deps.get(child, 0) + 1
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return deps, seen


def _needed_nodes(nodes, targets):
    """Nodes from which some target can be reached (only those need to run for autograd.grad)."""
    parents = {}
    for node in nodes:
        for e in node._next:
            if e is not None:
                parents.setdefault(e[0], []).append(node)
    needed = set(targets)
    stack = list(targets)
    while stack:
        for p in parents.get(stack.pop(), ()):
            if p not in needed:
                needed.add(p)
                stack.append(p)
    return needed


def _zeros_for(meta):
    shape, dtype, device = meta
    return _fn._wrap(_fn._C.full(shape, 0.0, dtype, device))


def _run_hooks(hooks, grad):
    for hook in hooks:
        result = hook(grad)
        if result is not None:
            _check_hook_result(hook, grad, result)
            grad = result
    return grad


def _hook_name(hook):
    return getattr(hook, "__name__", None) or repr(hook)


def _short_repr(value, limit=80):
    r = repr(value)
    return r if len(r) <= limit else r[:limit - 3] + "..."


def _check_hook_result(hook, grad, result):
    """A tensor hook may replace the gradient only by a Tensor of the same shape, dtype and device
    (PyTorch's rules), and the error names the hook and what it returned."""
    name = _hook_name(hook)
    if not isinstance(result, _fn._Tensor):
        raise TypeError(f"hook '{name}' has returned an incorrect type: expected a Tensor or None, "
                        f"got {type(result).__name__} ({_short_repr(result)})")
    g, r = grad._impl, result._impl
    if r.shape != g.shape:
        raise RuntimeError(f"hook '{name}' has changed the size of value: the gradient has shape "
                           f"{tuple(g.shape)}, the hook returned shape {tuple(r.shape)}")
    if r.dtype != g.dtype:
        raise RuntimeError(f"hook '{name}' has changed the type of value: was pyengine.{g.dtype}, "
                           f"got pyengine.{r.dtype}")
    if r.device != g.device:
        raise RuntimeError(f"hook '{name}' has changed the device of value: was {g.device}, got {r.device}")


# References to an incoming gradient that only the engine holds, seen from _adoptable: the
# run_backward's `grads` list, _accumulate's and _adoptable's arguments and getrefcount's own;
# to its TensorImpl: the Tensor's slot and getrefcount's argument. (tests/test_autograd_speed.py
# checks that fresh gradients are adopted and shared or user-held ones are not.)
_ENGINE_REFS = 4
_IMPL_REFS = 2


def _adoptable(grad):
    """True when nothing but the engine can see `grad`, so a leaf may take it as its .grad
    without a copy (what the op's backward just allocated, typically)."""
    return (type(grad) is _fn._Tensor and grad.grad_fn is None and not grad._requires_grad
            and _getrefcount(grad) <= _ENGINE_REFS and _getrefcount(grad._impl) <= _IMPL_REFS
            and grad._impl.sole_dense_owner())


def _accumulate(node, grad, create_graph):
    v = node.variable
    if v is None:  # the leaf is gone: no one can see its gradient
        return
    vimpl = v._impl
    if grad.shape != v.shape:
        raise RuntimeError(f"gradient of shape {tuple(grad.shape)} does not match the leaf's shape "
                           f"{tuple(vimpl.shape)}")
    if grad._impl.dtype != vimpl.dtype:  # e.g. a user Function's backward in another precision
        grad = grad.to(vimpl.dtype)
    if grad._impl.device != vimpl.device:  # or on another device: .grad lives with its leaf (PyTorch)
        grad = grad.to(device=vimpl.device)
    # Read-modify-write of .grad under the leaf's lock: backward passes in other threads may be
    # accumulating into the same leaf, and the in-place add below runs without the GIL.
    with _fn.grad_lock(v):
        old = v.grad
        if old is None:
            # Own the gradient: the incoming tensor may alias another leaf's grad or a user's tensor;
            # a buffer no one else can see is adopted as it is.
            if create_graph:
                v.grad = grad
            elif _adoptable(grad):
                v.grad = grad
            else:
                v.grad = _fn._wrap(_fn._C.clone(grad._impl))
        elif create_graph or old._requires_grad:
            v.grad = old + grad
        else:
            # Like PyTorch: without create_graph, later gradients are added into .grad in place.
            _fn._C.add(old._impl, grad._impl, out=old._impl)


def _run_post_accumulate_hooks(node):
    leaf = node.variable
    if leaf is not None:
        for hook in node._post_hooks:
            hook(leaf)


# The callbacks queued during the backward pass running in this thread (None outside one).
_backward_local = threading.local()


def queue_callback(callback):
    """Run callback() once the backward pass running in this thread has finished, before
    backward() returns (PyTorch's Variable._execution_engine.queue_callback): how
    DistributedDataParallel learns that every gradient of an iteration is in."""
    queue = getattr(_backward_local, "callbacks", None)
    if queue is None:
        raise RuntimeError("queue_callback: no backward pass is running in this thread")
    queue.append(callback)


def run_backward(roots, retain_graph, create_graph, inputs=None, allow_unused=False):
    """roots: [(node, output_nr, grad Tensor)]. inputs: tensors to return gradients for
    (autograd.grad); then nothing is accumulated into .grad. Returns the captured grads.
    Callbacks queued while it runs (queue_callback) run after it, in order."""
    outer = getattr(_backward_local, "callbacks", None)
    queue = _backward_local.callbacks = []
    try:
        results = _run_graph(roots, retain_graph, create_graph, inputs, allow_unused)
        while queue:  # a callback may queue another
            queue.pop(0)()
        return results
    finally:
        _backward_local.callbacks = outer


def _run_graph(roots, retain_graph, create_graph, inputs, allow_unused):
    root_nodes = []
    for node, _, _ in roots:
        if node not in root_nodes:
            root_nodes.append(node)
    deps, nodes = _count_dependencies(root_nodes)

    capture = None
    needed = None
    if inputs is not None:
        capture = {}  # node -> [(output_nr, position in inputs)]
        for i, t in enumerate(inputs):
            if not t._requires_grad:
                raise RuntimeError(f"autograd.grad: input {i} does not require grad")
            node, nr = (t.grad_fn, t._output_nr) if t.grad_fn is not None else (t._accumulator(), 0)
            capture.setdefault(node, []).append((nr, i))
        needed = _needed_nodes(nodes, capture.keys())
        deps = {}
        for node in needed:
            for e in node._next:
                if e is not None and e[0] in needed:
                    deps[e[0]] = deps.get(e[0], 0) + 1
    results = [None] * (len(inputs) if inputs is not None else 0)

    buffers = {}
    for node, nr, grad in roots:
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * node._num_outputs
        buf[nr] = grad if buf[nr] is None else buf[nr] + grad
    ready = [n for n in root_nodes if deps.get(n, 0) == 0 and (needed is None or n in needed)]

    prev_mode = state.enabled
    state.enabled = create_graph
    try:
        while ready:
            node = ready.pop()
            grads = buffers.pop(node, None) or [None] * node._num_outputs
            hooks = node._pre_hooks
            if hooks:
                for nr, hs in hooks.items():
                    if grads[nr] is not None:
                        grads[nr] = _run_hooks(hs, grads[nr])
            is_leaf = type(node) is AccumulateGrad
            if is_leaf and grads[0] is not None:
                leaf = node.variable
                if leaf is not None and leaf._hooks:
                    grads[0] = _run_hooks(leaf._hooks, grads[0])
            if capture is not None and node in capture:
                for nr, i in capture[node]:
                    results[i] = grads[nr]
            if is_leaf:
                if capture is None and grads[0] is not None:
                    _accumulate(node, grads[0], create_graph)
                    if node._post_hooks:
                        _run_post_accumulate_hooks(node)
                continue
            nexts = node._next
            outs = None
            if any(g is not None for g in grads) and (
                    needed is None or any(e is not None and e[0] in needed for e in nexts)):
                if node._freed:
                    node.saved_tensors  # raises the "backward through the graph a second time" error
                if node._out_meta is not None:
                    grads = [_zeros_for(m) if g is None and m is not None else g
                             for g, m in zip(grads, node._out_meta)]
                try:
                    outs = node.backward(node, *grads)
                except Exception:
                    if node._freed:  # another thread's backward freed this shared graph meanwhile
                        node.saved_tensors  # raises the "second time" error, not a missing ctx field
                    raise
                if type(outs) is not tuple:
                    outs = (outs,)
                if len(outs) < len(nexts):
                    raise RuntimeError(f"function {node.name()} returned {len(outs)} gradients; expected "
                                       f"{len(nexts)} (one per forward input)")
                if not retain_graph:
                    node._release()
            for i, e in enumerate(nexts):
                if e is None:
                    continue
                child = e[0]
                if needed is not None and child not in needed:
                    continue
                g = outs[i] if outs is not None else None
                if g is not None:
                    if not isinstance(g, _fn._Tensor):
                        g = _fn._wrap(g)
                    buf = buffers.get(child)
                    if buf is None:
                        buf = buffers[child] = [None] * child._num_outputs
                    nr = e[1]
                    buf[nr] = g if buf[nr] is None else buf[nr] + g
                left = deps[child] - 1
                deps[child] = left
                if left == 0:
                    ready.append(child)
            outs = g = None  # the buffers hold the gradients now (see _adoptable's reference count)
    finally:
        state.enabled = prev_mode

    if inputs is not None and not allow_unused:
        for i, r in enumerate(results):
            if r is None:
                raise RuntimeError(f"One of the differentiated Tensors (input {i}) appears to not have been "
                                   "used in the graph. Set allow_unused=True if this is the desired behavior.")
    return results
