"""Tensor: the Python face of a `_C.TensorImpl`, plus the autograd fields.

Math lives in pyengine/ops (one Function per op); the operators and methods are attached at the
bottom of this file so `x + y` goes straight to the op with no extra indirection.
"""
import weakref

import numpy as np

from . import _C
from .autograd import function as _function
from .autograd.function import AccumulateGrad, _without, grad_lock, registry_lock
from .autograd.grad_mode import state as _grad_state
from .dtypes import _BY_NAME, FLOATING_NAMES, to_device, to_dtype, device_name
from .size import as_size as _as_size
from .errors import IndexRangeError

_new = object.__new__


class Tensor:
    __slots__ = ("_impl", "_requires_grad", "grad", "grad_fn", "_output_nr", "_hooks", "_grad_acc",
                 "_retains_grad", "_shape", "_dt", "_view_of", "_inference", "__weakref__")
    # _shape/_dt cache impl.shape/impl.dtype (each a ~1 us trip through pybind11); an impl's
    # geometry never changes, so the cache is valid until `.data = ...` swaps the impl.

    # ndarray + Tensor: NumPy defers to our reflected operators instead of iterating the tensor.
    __array_ufunc__ = None

    def __init__(self, data=None, dtype=None):
        if isinstance(data, _C.TensorImpl):
            impl = data
        else:  # Tensor(data) builds a default-dtype (float32) tensor, like torch.Tensor(data)
            from .creation import tensor as _tensor
            from .dtypes import get_default_dtype
            impl = _tensor([] if data is None else data, dtype=dtype or get_default_dtype())._impl
        _init(self, impl)

    # ----- metadata -----
    @property
    def shape(self):
        shape = self._shape
        if shape is None:
            shape = self._shape = _as_size(self._impl.shape)
        return shape

    def size(self, dim=None):
        shape = self.shape
        if dim is None:
            return shape
        return shape[_wrap_dim(dim, len(shape))]

    def dim(self):
        return len(self._shape or shape_of(self))

    @property
    def ndim(self):
        return len(self._shape or shape_of(self))

    def numel(self):
        return self._impl.numel

    nelement = numel

    @property
    def dtype(self):
        return _BY_NAME[dtype_name(self)]

    @property
    def device(self):
        return to_device(self._impl.device)

    @property
    def is_cuda(self):
        return self._impl.device != "cpu"

    def is_floating_point(self):
        return self._impl.dtype in FLOATING_NAMES

    def element_size(self):
        return self._impl.itemsize

    def stride(self, dim=None):
        strides = self._impl.strides
        return strides if dim is None else strides[_wrap_dim(dim, len(strides))]

    def storage_offset(self):
        return self._impl.offset

    def is_contiguous(self):
        return self._impl.is_contiguous()

    def data_ptr(self):
        return self._impl.data_ptr

    @property
    def _version(self):
        return self._impl.version

    # ----- autograd fields -----
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        flag = bool(flag)
        if flag and self._inference and not _grad_state.inference:
            raise RuntimeError("Setting requires_grad=True on inference tensor outside InferenceMode is not allowed; "
                               "clone() it to get a normal tensor")
        if self.grad_fn is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to "
                               "use a computed variable in a subgraph that doesn't require differentiation "
                               "use var_no_grad = var.detach().")
        if flag and dtype_name(self) not in FLOATING_NAMES:
            raise RuntimeError(f"only Tensors of floating point dtype can require gradients, got "
                               f"pyengine.{self._impl.dtype}")
        self._requires_grad = flag

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def retains_grad(self):
        return self._retains_grad

    @property
    def data(self):
        return _wrap(self._impl)

    @data.setter
    def data(self, other):
        self._impl = other._impl
        self._shape = self._dt = None

    def detach(self):
        t = _wrap(self._impl)
        t._inference = self._inference  # the same data: an inference tensor stays one
        return t

    def is_inference(self):
        """True for tensors made inside pyengine.inference_mode() (they cannot join autograd later)."""
        return self._inference

    def detach_(self):
        self.grad_fn = None
        self._requires_grad = False
        return self

    def _accumulator(self):
        """This leaf's AccumulateGrad node: made at first use, then kept (see AccumulateGrad)."""
        node = self._grad_acc
        if node is None:
            with registry_lock:  # one node per leaf, even when threads ask at once
                node = self._grad_acc
                if node is None:
                    node = self._grad_acc = AccumulateGrad(self)
        return node

    def register_hook(self, hook):
        """hook(grad) -> Tensor or None, called when the gradient for this tensor is computed; a
        returned tensor replaces the gradient."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            with registry_lock:  # copy on write: a running backward keeps iterating the old list
                self._hooks = (self._hooks or []) + [hook]  # run at this leaf's AccumulateGrad
        else:
            self.grad_fn.add_pre_hook(self._output_nr, hook)
        return _RemovableHandle(self, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """hook(tensor), called after a backward pass has added a gradient into this leaf's .grad
        (PyTorch's name and rules: leaves only; the hook returns nothing)."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        node = self._accumulator()
        with registry_lock:  # copy on write, as register_hook
            node._post_hooks = (node._post_hooks or []) + [hook]
        return _PostAccumulateHandle(node, hook)

    def retain_grad(self):
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None:
            return
        with registry_lock:  # exactly one keep hook, even when threads ask at once
            if self._retains_grad:
                return
            self._retains_grad = True
        me = weakref.ref(self)

        def keep(grad):
            t = me()
            if t is not None:
                g = grad.detach()
                with grad_lock(t):  # backward passes through t in several threads add up
                    t.grad = g.clone() if t.grad is None else t.grad + g
        self.grad_fn.add_pre_hook(self._output_nr, keep)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        from .autograd import backward as _backward
        _backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    # ----- conversion -----
    def numpy(self, force=False):
        if self._requires_grad and not force:
            _refuse_numpy_of_requires_grad()
        impl = self._impl
        if impl.device != "cpu":
            if not force:
                raise TypeError(f"can't convert {impl.device} device type tensor to numpy. "
                                "Use Tensor.cpu() to copy the tensor to host memory first.")
            impl = _C.to_device(impl, "cpu")
        return impl.numpy()

    def __array__(self, dtype=None, copy=None):
        # Like PyTorch: np.asarray(t) is t.numpy(), so a tensor that requires grad is refused (a
        # write through the array would bypass autograd); a CUDA tensor is copied to the host.
        if self._requires_grad:
            _refuse_numpy_of_requires_grad()
        a = self._host_array()
        return a if dtype is None else a.astype(dtype, copy=False)

    def _host_array(self):
        """A NumPy view of the data (copied to the host first for CUDA tensors); no grad checks."""
        impl = self._impl
        if impl.device != "cpu":
            impl = _C.to_device(impl, "cpu")
        return impl.numpy()

    def item(self):
        n = self._impl.numel
        if n != 1:
            raise RuntimeError(f"a Tensor with {n} elements cannot be converted to Scalar")
        return self._python_values().item()

    def tolist(self):
        return self._python_values().tolist()

    def _python_values(self):
        """A host array for item()/tolist(): bfloat16, which NumPy lacks, goes through float32 (exact)."""
        if self._impl.dtype == "bfloat16":
            return _wrap(_C.to_dtype(self._impl, "float32"))._host_array()
        return self._host_array()

    def __len__(self):
        shape = self._impl.shape
        if not shape:
            raise TypeError("len() of a 0-d tensor")
        return shape[0]

    def __iter__(self):
        if self._impl.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._impl.shape[0]))

    def __bool__(self):
        if self._impl.numel != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._impl.numel} values is ambiguous")
        return bool(self.item())

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._impl.dtype not in ("int64", "bool") or self._impl.numel != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __hash__(self):
        return id(self)

    def __dlpack__(self, stream=None):
        return _C.to_dlpack(self.detach()._impl)

    def __dlpack_device__(self):
        d = self.device
        return (1, 0) if d.type == "cpu" else (2, d.index)

    def __repr__(self):
        from ._format import format_tensor
        return format_tensor(self)

    __str__ = __repr__

    def __format__(self, spec):
        if self._impl.ndim == 0:
            return format(self.item(), spec)
        return repr(self)

    def __reduce_ex__(self, protocol):
        from .creation import tensor
        device = None if self._impl.device == "cpu" else self._impl.device  # unpickles where it was
        if self._impl.dtype == "bfloat16":  # no NumPy type: through float32, which holds it exactly
            return (tensor, (self.detach().float().numpy(force=True).copy(), "bfloat16", device, self._requires_grad))
        return (tensor, (self.detach().numpy(force=True).copy(), None, device, self._requires_grad))

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                               "protocol at the moment. Use tensor.detach().clone() instead.")
        import copy
        cls = type(self)  # keeps subclasses such as nn.Parameter
        t = cls.__new__(cls)
        _init(t, _C.clone(self._impl))
        t._requires_grad = self._requires_grad
        memo[id(self)] = t
        if self.grad is not None:
            t.grad = copy.deepcopy(self.grad, memo)
        extra = getattr(self, "__dict__", None)
        if extra:
            t.__dict__.update(copy.deepcopy(extra, memo))
        return t


def _refuse_numpy_of_requires_grad():
    raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")


def _init(t, impl):
    t._impl = impl
    t._requires_grad = False
    t.grad = None
    t.grad_fn = None
    t._output_nr = 0
    t._hooks = None
    t._grad_acc = None
    t._retains_grad = False
    t._shape = None
    t._dt = None
    t._view_of = None  # (root base Tensor, basic-index steps) for views made by indexing
    t._inference = _grad_state.inference


def _wrap(impl):
    """A fresh Tensor (no autograd history) around a TensorImpl. The hot path of every op, so
    _init's body is repeated here rather than called (a Python call costs more than the stores)."""
    t = _new(Tensor)
    t._impl = impl
    t._requires_grad = False
    t.grad = None
    t.grad_fn = None
    t._output_nr = 0
    t._hooks = None
    t._grad_acc = None
    t._retains_grad = False
    t._shape = None
    t._dt = None
    t._view_of = None
    t._inference = _grad_state.inference
    return t


def dtype_name(t):
    """t's dtype name ("float32", ...), cached on the Tensor."""
    dt = t._dt
    if dt is None:
        dt = t._dt = t._impl.dtype
    return dt


def shape_of(t):
    """t's shape tuple, cached on the Tensor."""
    shape = t._shape
    if shape is None:
        shape = t._shape = _as_size(t._impl.shape)
    return shape


def _wrap_dim(dim, ndim):
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexRangeError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n


class _RemovableHandle:
    __slots__ = ("_tensor", "_hook")

    def __init__(self, tensor, hook):
        self._tensor = weakref.ref(tensor)
        self._hook = hook

    def remove(self):
        t = self._tensor()
        if t is None:
            return
        if t.grad_fn is None:
            with registry_lock:
                if t._hooks:
                    t._hooks = _without(t._hooks, self._hook)
            return
        t.grad_fn.remove_pre_hook(self._hook)


class _PostAccumulateHandle:
    __slots__ = ("_node", "_hook")

    def __init__(self, node, hook):
        self._node = weakref.ref(node)
        self._hook = hook

    def remove(self):
        node = self._node()
        if node is not None:
            with registry_lock:
                node._post_hooks = _without(node._post_hooks or [], self._hook) or None


_function._bind(Tensor, _wrap, _C)

from . import _tensor_methods  # noqa: E402,F401  (attaches operators and methods)
