"""Function: one differentiable op, forward and backward side by side.

A Function instance is both the `ctx` its forward/backward see and the graph node the engine
runs. `apply` records the graph only when grad mode is on and some input requires grad; when it
does not, Functions whose forward accepts ctx=None (`ctx_optional`, every pyengine op) get None
and no node is made at all. That is the one "no graph needed" fast path: ops call `apply`.
"""
import threading
from weakref import ref as _weakref

from . import _dual_state as _dual
from ..dtypes import FLOATING_NAMES
from .grad_mode import state

_new = object.__new__
_NO_GRADS = [(False,) * n for n in range(8)]
_FLOAT = FLOATING_NAMES

_Tensor = None  # pyengine.tensor.Tensor, bound at import time (tensor.py imports us first)
_wrap = None
_TensorImpl = None
_C = None


def _bind(tensor_cls, wrap, C):
    global _Tensor, _wrap, _TensorImpl, _C
    _Tensor, _wrap, _TensorImpl, _C = tensor_cls, wrap, C.TensorImpl, C


# ----- thread safety -----
# Several Python threads may run backward() at once into shared leaves, and the kernels release
# the GIL, so a read-modify-write of autograd state must hold a lock (PyTorch: one mutex per
# AccumulateGrad node). Two kinds, always taken in one order (no code holds two grad locks, and
# registry_lock, which an op recording a graph may take under a grad lock, never waits for a grad
# lock), so they cannot deadlock:
#   grad_lock(t): guards t.grad (accumulation into a leaf, retain_grad's copy). Striped by the
#     tensor's identity: per-tensor locks without a slot on every Tensor, and passes that write
#     different leaves almost never meet.
#   registry_lock: guards the rare one-time bookkeeping (a leaf's AccumulateGrad node, hook
#     lists, retain_grad). Hook tables are copied on write, so the engine reads them unlocked.
_GRAD_LOCKS = tuple(threading.Lock() for _ in range(64))
registry_lock = threading.Lock()


def grad_lock(t):
    return _GRAD_LOCKS[(id(t) >> 4) & 63]


def _describe(impl):
    return f"[pyengine.{impl.dtype} tensor of shape {tuple(impl.shape)}]"


class Node:
    """What the engine needs from a graph node."""

    __slots__ = ()
    _next = ()          # per forward input: (node, output_nr) where its gradient goes, or None
    _num_outputs = 1
    _pre_hooks = None   # {output_nr: [hook, ...]}: hooks of the non-leaf tensors it produced
    _freed = False
    is_view = False     # True for ops whose output aliases their input's storage

    def name(self):
        return type(self).__name__

    def add_pre_hook(self, output_nr, hook):
        with registry_lock:  # copy on write: a running backward keeps iterating the old table
            table = dict(self._pre_hooks or {})
            table[output_nr] = table.get(output_nr, []) + [hook]
            self._pre_hooks = table

    def remove_pre_hook(self, hook):
        with registry_lock:
            for nr, hooks in (self._pre_hooks or {}).items():
                rest = _without(hooks, hook)
                if rest is not hooks:
                    self._pre_hooks = {**self._pre_hooks, nr: rest}
                    return


def _without(hooks, hook):
    """A copy of the hook list `hooks` less the first occurrence of `hook` (one handle, one entry)."""
    for i, h in enumerate(hooks):
        if h is hook:
            return hooks[:i] + hooks[i + 1:]
    return hooks


class AccumulateGrad(Node):
    """The sink for a leaf: adds incoming gradients into `variable.grad`.

    The leaf keeps its node for life (so ops on it need not make a new one) and the node refers
    back to the leaf weakly, so there is no reference cycle. A leaf that is gone gets no
    gradient: no one could read it.
    """

    __slots__ = ("_variable", "_pre_hooks", "_post_hooks", "__weakref__")

    def __init__(self, variable):
        self._variable = _weakref(variable)
        self._pre_hooks = None
        self._post_hooks = None  # [hook(leaf)]: run after each accumulation into leaf.grad

    @property
    def variable(self):
        return self._variable()


class Function(Node):
    """Subclass with static `forward(ctx, *args)` and `backward(ctx, *grad_outputs)`; call `apply`.

    forward returns Tensors or raw _C.TensorImpl objects (a tuple for several outputs); backward
    returns one gradient (or None) per forward argument.
    """

    # Not slotted: user Functions stash arbitrary attributes on ctx, like in PyTorch.
    # float_outputs: the op's outputs are floating point whenever a differentiable input is, so
    # apply need not ask each output's dtype (pyengine's own ops set it; user Functions don't).
    float_outputs = False
    # The class of the graph nodes apply() records: a subclass named like PyTorch's nodes
    # ("Conv2dFn" / "Conv2d" -> "Conv2dBackward"), so grad_fn reads as users know it.
    _node_cls = None
    # forward_calls_tensor_ops: forward may use Tensor ops, so apply runs it under no_grad.
    # pyengine's own ops call _C directly and skip that.
    forward_calls_tensor_ops = True
    # ctx_optional: forward accepts ctx=None, meaning "no graph is recorded": it then skips
    # everything it would keep for backward. apply passes None (and makes no node) when grad mode
    # is off or no Tensor argument requires grad; pyengine's own ops (ops._util.Op) set it, user
    # Functions always get a real ctx.
    ctx_optional = False
    _saved = None
    _non_differentiable = None
    _out_meta = None

    # ----- ctx API -----
    def save_for_backward(self, *tensors):
        """Keep tensors for backward. Pass a forward OUTPUT as its raw TensorImpl (or the Tensor
        forward returns); its version is checked at backward like any other."""
        if not self._recording:
            if self.__dict__.get("_fw_keep"):  # forward AD with no graph: keep them for jvp
                self._fw_saved = tensors
            return
        entries = []
        for t in tensors:
            if t is None:
                entries.append(None)
            elif getattr(t, "_inference", False):
                _refuse_inference_tensor()
            elif isinstance(t, _TensorImpl):
                entries.append(["out", t, t.version, None, None])  # output index (apply), tangent (apply_dual)
            elif t.grad_fn is None:
                entries.append(("leaf", t, t._impl.version))
            else:
                # A snapshot, not the Tensor: an in-place op may later rebase the Tensor object.
                # Its forward-AD tangent goes with it (forward-over-reverse differentiates backward).
                entries.append(("var", t._impl, t._impl.version, t.grad_fn, t._output_nr,
                                _dual.tangent_of(t) if _dual.tangents else None))
        self._saved = entries

    @property
    def saved_tensors(self):
        if self._freed:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved tensors "
                "after they have already been freed). Saved intermediate values of the graph are freed "
                "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
                "backward through the graph a second time or if you need to access saved tensors after "
                "calling backward.")
        saved = self._saved
        fw_saved = self.__dict__.get("_fw_saved") if self.__dict__.get("_in_jvp") else None
        if fw_saved is not None:  # inside jvp: what save_for_forward kept
            return tuple([_wrap(t) if isinstance(t, _TensorImpl) else t for t in fw_saved])
        if saved is None:
            return ()
        out = []
        graph = state.enabled  # True only under create_graph: rebuild graph-carrying tensors
        for e in saved:
            if e is None:
                out.append(None)
                continue
            kind = e[0]
            impl = e[1]._impl if kind == "leaf" else e[1]
            if impl.version != e[2]:
                who = f"output {e[3]} of {self.name()}" if kind == "out" else "an input of " + self.name()
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an inplace "
                    f"operation: {_describe(impl)}, which is {who}, is at version {impl.version}; expected "
                    f"version {e[2]} instead. Hint: clone the tensor before modifying it in place.")
            if kind == "leaf":
                out.append(e[1])
            else:
                t = _wrap(impl)
                if graph:
                    if kind == "var":
                        t._requires_grad, t.grad_fn, t._output_nr = True, e[3], e[4]
                    elif e[3] is not None:
                        t._requires_grad, t.grad_fn, t._output_nr = True, self, e[3]
                tangent = e[5] if kind == "var" else e[4]
                if tangent is not None and _dual.tangents is not None:
                    _dual.set_tangent(t, tangent)
                out.append(t)
        return tuple(out)

    def mark_non_differentiable(self, *tensors):
        ids = {id(t._impl if isinstance(t, _Tensor) else t) for t in tensors}
        self._non_differentiable = ids

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "_node_of" in cls.__dict__:  # the generated node class itself
            return
        base = cls.__name__
        for suffix in ("Fn", "Backward"):
            if base.endswith(suffix) and len(base) > len(suffix):
                base = base[: -len(suffix)]
                break
        cls._node_cls = type(base.lstrip("_") + "Backward", (cls,),
                             {"_node_of": cls, "__module__": cls.__module__, "__slots__": ()})
        if "apply" not in cls.__dict__ and getattr(cls.apply, "_made_by_function", False):
            cls.apply = staticmethod(_make_apply(cls))

    # ----- subclass API -----
    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError

    # jvp(ctx, *tangents): forward-mode AD (PyTorch's Function.jvp), one tangent (or None) per
    # forward argument in, one per output out. None here means "no rule": forward AD through the
    # op raises. ctx carries what forward stored plus `fw_inputs`/`fw_outputs` (the primals).
    jvp = None

    def save_for_forward(self, *tensors):
        """Keep tensors for jvp (PyTorch's ctx.save_for_forward); jvp reads them as
        ctx.saved_tensors (forward's save_for_backward keeps them there too when no graph is
        recorded)."""
        self._fw_saved = tensors

    @staticmethod
    def apply(*args):
        """Run forward on args and, when grad mode is on and some Tensor argument requires grad,
        record the node. Replaced per subclass by _make_apply(cls) (the hot path of every op)."""
        raise TypeError("call apply on a Function subclass")

    def _release(self):
        # Drop everything the node holds (saved tensors, edges, ctx attributes such as index
        # tensors) so memory goes back as soon as backward has passed, even while the output
        # tensor (and so this node) is still referenced.
        # One atomic swap, so a thread running backward through this shared node sees it whole or
        # freed, never emptied but not yet marked.
        self.__dict__ = {"_freed": True}


Function.apply._made_by_function = True  # subclasses get their own (see __init_subclass__)


def _make_apply(cls):
    """`cls.apply`: record `cls` into the graph around its forward (see Function.apply's doc).

    A plain function closed over cls, made once per class by Function.__init_subclass__: calling
    it makes no bound-method object, and Tensor can use it directly as an operator method.
    forward and ctx_optional are read once here (class-body attributes): a classmethod forward
    is then bound once, not on every call.
    """
    forward = cls.forward
    ctx_optional = cls.ctx_optional

    def apply(*args):
        # The hot path of every differentiable op, so it is written out by hand: no list
        # comprehensions (each is a function call in Python 3.11) and no helper calls for the
        # usual one- and two-argument cases.
        if _dual.tangents and not state.fw_paused:  # some dual tensor exists (forward AD)
            return _dual.apply_dual(cls, args, apply, apply_ctx)
        n = len(args)
        grad_on = state.enabled
        record = False
        if grad_on:  # does any Tensor argument require grad? (short-circuits; no tuple built)
            if n == 1:
                a = args[0]
                record = isinstance(a, _Tensor) and a._requires_grad
            elif n == 2:
                a, b = args
                record = (isinstance(a, _Tensor) and a._requires_grad) or (isinstance(b, _Tensor) and b._requires_grad)
            else:
                for a in args:
                    if isinstance(a, _Tensor) and a._requires_grad:
                        record = True
                        break
        if not record and ctx_optional:
            # The one "no graph needed" fast path: no node; forward sees ctx=None. Spelled-out
            # calls for one and two arguments: a star call costs more than the check.
            if n == 1:
                out = forward(None, args[0])
            elif n == 2:
                out = forward(None, args[0], args[1])
            else:
                out = forward(None, *args)
            if type(out) is _TensorImpl:
                return _wrap(out)
            if type(out) is tuple:
                return tuple([o if o is None or isinstance(o, _Tensor) else _wrap(o) for o in out])
            return out if isinstance(out, _Tensor) else _wrap(out)
        if record:
            if n == 1:
                needs = (True,)
            elif n == 2:
                needs = (isinstance(a, _Tensor) and a._requires_grad, isinstance(b, _Tensor) and b._requires_grad)
            else:
                needs = tuple([isinstance(a, _Tensor) and a._requires_grad for a in args])
        else:
            needs = None
        return apply_ctx(args, record, needs, grad_on)[1]

    def apply_ctx(args, record, needs, grad_on, for_jvp=False):
        """forward with a real ctx (the graph node when `record`; with `for_jvp`, it keeps what
        forward saves for the op's jvp even when no graph is recorded); returns (ctx, output(s))."""
        n = len(args)
        ctx = _new(cls._node_cls)
        ctx._recording = record
        if for_jvp:
            ctx._fw_keep = True
        if record:
            ctx.needs_input_grad = needs
        else:
            ctx.needs_input_grad = _NO_GRADS[n] if n < 8 else (False,) * n
        if cls.forward_calls_tensor_ops and grad_on:  # their ops must not record a graph
            state.enabled = False
            try:
                out = forward(ctx, *args)
            finally:
                state.enabled = True
        else:
            out = forward(ctx, *args)
        if type(out) is tuple:
            outs = tuple([o if o is None or isinstance(o, _Tensor) else _wrap(o) for o in out])
            if record:
                _connect(ctx, args, outs)
            return ctx, outs
        if not isinstance(out, _Tensor):
            out = _wrap(out)
        if record:
            ctx._next = _edges(args, needs)
            impl = out._impl
            nd = ctx._non_differentiable
            if nd is None or id(impl) not in nd:
                if cls.float_outputs:
                    differentiable = True
                else:
                    dt = out._dt
                    if dt is None:
                        dt = out._dt = impl.dtype
                    differentiable = dt in _FLOAT
                if differentiable:
                    out._requires_grad = True
                    out.grad_fn = ctx
                    out._output_nr = 0
            saved = ctx._saved
            if saved:
                for e in saved:
                    if e is not None and e[0] == "out" and e[1] is impl:
                        e[3] = 0 if out.grad_fn is ctx else None
        return ctx, out

    apply.__qualname__ = cls.__qualname__ + ".apply"
    apply._made_by_function = True
    return apply


def _edges(args, needs):
    """Per input: (node, output_nr) its gradient flows to, or None when it needs none."""
    edges = []
    for a, need in zip(args, needs):
        if not need:
            edges.append(None)
            continue
        fn = a.grad_fn
        if fn is not None:
            edges.append((fn, a._output_nr))
        else:
            acc = a._grad_acc  # the leaf's AccumulateGrad, without a method call once it exists
            edges.append((acc if acc is not None else a._accumulator(), 0))
    return tuple(edges)


def _connect(ctx, args, outs):
    """Record the graph: edges to where each input's gradient goes; outputs point at ctx."""
    ctx._next = _edges(args, ctx.needs_input_grad)
    nd = ctx._non_differentiable
    check_dtype = len(outs) > 1 or not ctx.float_outputs
    for i, o in enumerate(outs):
        if o is None:
            continue
        impl = o._impl
        if nd is not None and id(impl) in nd:
            continue
        if check_dtype:
            dt = o._dt
            if dt is None:
                dt = o._dt = impl.dtype
            differentiable = dt in _FLOAT
        else:
            differentiable = True
        if differentiable:
            o._requires_grad = True
            o.grad_fn = ctx
            o._output_nr = i
    if len(outs) > 1:
        ctx._num_outputs = len(outs)
        ctx._out_meta = tuple(None if o is None else (o._impl.shape, o._impl.dtype, o._impl.device) for o in outs)
    saved = ctx._saved
    if saved:
        for e in saved:
            if e is not None and e[0] == "out":
                for i, o in enumerate(outs):
                    if o is not None and o._impl is e[1]:
                        e[3] = i if o.grad_fn is ctx else None
                        break



def _refuse_inference_tensor():
    raise RuntimeError("Inference tensors cannot be saved for backward. Please do not use Tensors created in "
                       "inference mode in computation tracked by autograd; clone() one to get a normal tensor.")
