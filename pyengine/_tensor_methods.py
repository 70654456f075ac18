"""Attach operators and methods to Tensor. Each points straight at the functional op, so a
method call costs one Python call more than the kernel, not several."""
from . import _C
from .dtypes import device as device_cls, device_name, dtype as dtype_cls, to_dtype
from .ops import elementwise as E, index as I, inplace as P, linalg as L, reduce as R, shape as S
from .ops import sort as O
from .ops._util import Op, as_operand, linear_jvp
from .tensor import Tensor, _wrap

T = Tensor


# ---------------------------------------------------------------- arithmetic operators
def _r(fn):
    """Reflected operator: scalar OP tensor."""
    return lambda self, other: fn(other, self)


# The arithmetic operators are the Functions' apply itself (a plain function per class, see
# autograd.function._make_apply): `x + y` is one Python call before the kernel.
T.__add__ = E.AddBackward.apply
T.__radd__ = E.AddBackward.apply  # addition commutes (promotion included)
T.__sub__ = E.SubBackward.apply
T.__rsub__ = _r(E._sub)
T.__mul__ = E.MulBackward.apply
T.__rmul__ = E.MulBackward.apply
T.__truediv__ = E.DivBackward.apply
T.__rtruediv__ = _r(E.div)
T.__pow__ = E.pow
T.__rpow__ = _r(E.pow)
T.__matmul__ = L.matmul
T.__rmatmul__ = _r(L.matmul)
T.__neg__ = E.NegBackward.apply
T.__pos__ = lambda self: self
T.__abs__ = E.AbsBackward.apply

T.__lt__ = E.lt
T.__le__ = E.le
T.__gt__ = E.gt
T.__ge__ = E.ge
T.__eq__ = E.eq
T.__ne__ = E.ne
# Bitwise operators are bitwise, as in PyTorch (logical for bool tensors, since bool & bool is
# bool); and, or and xor commute, promotion included.
T.__and__ = T.__rand__ = E.bitwise_and
T.__or__ = T.__ror__ = E.bitwise_or
T.__xor__ = T.__rxor__ = E.bitwise_xor
T.__lshift__ = E.bitwise_left_shift
T.__rlshift__ = _r(E.bitwise_left_shift)
T.__rshift__ = E.bitwise_right_shift
T.__rrshift__ = _r(E.bitwise_right_shift)
T.__floordiv__ = E.FloorDivideBackward.apply
T.__rfloordiv__ = _r(E.floor_divide)
T.__mod__ = E.RemainderBackward.apply
T.__rmod__ = _r(E.remainder)
T.__hash__ = lambda self: id(self)


def __invert__(self):
    if self._impl.dtype not in ("bool", "int64"):
        raise TypeError(f"~ (operator.invert) is only implemented on integer and bool tensors, got "
                        f"pyengine.{self._impl.dtype}")
    return _wrap(_C.bitwise_not(self._impl))


T.__invert__ = __invert__


# ---------------------------------------------------------------- in-place ops
def _inplace(op_name, functional):
    """x.op_(...): the kernel writes into x when there is no graph to record; otherwise see
    ops/inplace.py (recorded out of place, then x -- or its base -- takes over the result)."""
    kernel = getattr(_C, op_name)

    def method(self, *args):
        if P.recording(self, *args):
            return P.record_inplace(self, lambda t: functional(t, *args))
        kernel(self._impl, *[as_operand(a) for a in args], out=self._impl)
        return self

    method.__name__ = op_name + "_"
    return method


def _binary_inplace(name, functional):
    base = _inplace(name, functional)

    def method(self, other, *, alpha=1):
        return base(self, other if alpha == 1 else E.mul(other, alpha))

    method.__name__ = name + "_"
    return method


T.add_ = T.__iadd__ = _binary_inplace("add", E._add)
T.sub_ = T.__isub__ = _binary_inplace("sub", E._sub)
T.mul_ = T.__imul__ = _binary_inplace("mul", E.mul)
T.div_ = T.__itruediv__ = _binary_inplace("div", E.div)
T.pow_ = T.__ipow__ = _binary_inplace("pow", E.pow)
T.floor_divide_ = T.__ifloordiv__ = _inplace("floor_divide", E.floor_divide)
T.remainder_ = T.__imod__ = _inplace("remainder", E.remainder)
T.bitwise_and_ = T.__iand__ = _inplace("bitwise_and", E.bitwise_and)
T.bitwise_or_ = T.__ior__ = _inplace("bitwise_or", E.bitwise_or)
T.bitwise_xor_ = T.__ixor__ = _inplace("bitwise_xor", E.bitwise_xor)
T.bitwise_left_shift_ = T.__ilshift__ = _inplace("bitwise_left_shift", E.bitwise_left_shift)
T.bitwise_right_shift_ = T.__irshift__ = _inplace("bitwise_right_shift", E.bitwise_right_shift)
T.bitwise_not_ = _inplace("bitwise_not", E.bitwise_not)
for _name in ("neg", "abs", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid",
              "relu", "erf", "sign", "floor", "ceil", "round", "reciprocal", "square"):
    setattr(T, _name + "_", _inplace(_name, getattr(E, _name)))


def clamp_(self, min=None, max=None):
    if P.recording(self, min, max):
        return P.record_inplace(self, lambda t: E.clamp(t, min, max))
    E.clamp(self, min, max, out=self)
    return self


T.clamp_ = T.clip_ = clamp_

def _everywhere(t):
    """A 0-d True mask: where(_everywhere(t), v, t) replaces t by v with a zero gradient for t."""
    return _wrap(_C.full([], 1.0, "bool", t._impl.device))


def fill_(self, value):
    if isinstance(value, Tensor):
        value = value.item()
    if P.recording(self):
        return P.record_inplace(self, lambda t: E.masked_fill(t, _everywhere(t), value))
    P.bump_after(self._impl, lambda: _C.fill_(self._impl, value))
    return self


def zero_(self):
    return fill_(self, 0.0)


def copy_(self, src, non_blocking=False):
    if not isinstance(src, Tensor):
        src = _wrap(_C.full([], src, self._impl.dtype, self._impl.device))
    if P.recording(self, src):
        return P.record_inplace(self, lambda t: E.where(_everywhere(t), src.to(t.dtype, device=t.device), t))
    P.bump_after(self._impl, lambda: _C.copy_(self._impl, src._impl))
    return self


def masked_fill_(self, mask, value):
    if P.recording(self, value):
        return P.record_inplace(self, lambda t: E.masked_fill(t, mask, value))
    return copy_(self, E.masked_fill(self, mask, value))


def scatter_add_(self, dim, index, src):
    if P.recording(self, src):
        return P.record_inplace(self, lambda t: I.scatter_add(t, dim, index, src))
    P.bump_after(self._impl, lambda: _C.scatter_add_(self._impl, dim, index._impl, src._impl))
    return self


def index_put_(self, indices, values, accumulate=False):
    if not accumulate:
        P.setitem(self, tuple(indices), values)
        return self
    if P.recording(self, values):
        return P.record_inplace(self, lambda t: I.index_put(t, indices, values, True))
    idx = I._int_indices(indices)
    vals = values._impl if isinstance(values, Tensor) else values
    P.bump_after(self._impl, lambda: _C.index_put_(self._impl, idx, vals, True))
    return self


def scatter_(self, dim, index, src=None, *, value=None, reduce=None):
    src = value if src is None else src
    if src is None:
        raise TypeError("scatter_(): expected a src tensor or a value")
    if P.recording(self, src):
        return P.record_inplace(self, lambda t: I.scatter(t, dim, index, src, reduce=reduce))
    I._check_index("scatter_", index)
    I._warn_scatter_reduce(src, reduce)
    s = src._impl if isinstance(src, Tensor) else src
    P.bump_after(self._impl, lambda: _C.scatter_(self._impl, dim, index._impl, s, reduce))
    return self


def scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
    if P.recording(self, src):
        return P.record_inplace(self, lambda t: I.scatter_reduce(t, dim, index, src, reduce,
                                                                 include_self=include_self))
    I._check_index("scatter_reduce_", index)
    P.bump_after(self._impl, lambda: _C.scatter_reduce_(self._impl, dim, index._impl, src._impl, reduce,
                                                        bool(include_self)))
    return self


def index_add_(self, dim, index, source, *, alpha=1):
    if P.recording(self, source):
        return P.record_inplace(self, lambda t: I.index_add(t, dim, index, source, alpha=alpha))
    I._check_index("index_add_", index)
    P.bump_after(self._impl, lambda: _C.index_add_(self._impl, dim, index._impl, source._impl, alpha))
    return self


def _engine(generator, t, fn):
    from .random import engine
    return engine(generator, t._impl.device, fn)


def uniform_(self, a=0.0, b=1.0, *, generator=None):
    P.write_without_graph(self, "uniform_")
    eng = _engine(generator, self, "uniform_")
    P.bump_after(self._impl, lambda: _C.uniform_(self._impl, a, b, eng))
    return self


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    P.write_without_graph(self, "normal_")
    eng = _engine(generator, self, "normal_")
    P.bump_after(self._impl, lambda: _C.normal_(self._impl, mean, std, eng))
    return self


def bernoulli_(self, p=0.5, *, generator=None):
    """In place: 1 with probability p (a float, or a tensor of probabilities broadcast to self)."""
    if isinstance(p, Tensor):
        if p.ndim == 0:
            p = p.item()
        else:  # a draw per (broadcast) element, converted into self's dtype and device
            from .creation import bernoulli
            try:
                p = p.detach().to(self.device).expand(*self.shape)
            except ValueError as e:  # torch: a RuntimeError naming both shapes
                raise RuntimeError(f"bernoulli_: p of shape {tuple(p.shape)} cannot be broadcast to self's shape "
                                   f"{tuple(self.shape)}") from e
            return self.copy_(bernoulli(p, generator=generator))
    p = float(p)
    if not 0.0 <= p <= 1.0:  # NaN too
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    P.write_without_graph(self, "bernoulli_")
    eng = _engine(generator, self, "bernoulli_")
    P.bump_after(self._impl, lambda: _C.bernoulli_(self._impl, p, eng))
    return self


def bernoulli(self, p=None, *, generator=None):
    """self as probabilities (a draw per element), or with p a float: probability p everywhere."""
    from .creation import bernoulli as _bernoulli
    return _bernoulli(self, p, generator=generator)


T.fill_ = fill_
T.zero_ = zero_
T.copy_ = copy_
T.masked_fill_ = masked_fill_
T.scatter_add_ = scatter_add_
T.index_put_ = index_put_
T.scatter_ = scatter_
T.scatter_reduce_ = scatter_reduce_
T.index_add_ = index_add_
T.uniform_ = uniform_
T.normal_ = normal_
T.bernoulli_ = bernoulli_
T.bernoulli = bernoulli


# ---------------------------------------------------------------- indexing
T.__getitem__ = I.getitem
T.__setitem__ = P.setitem

# ---------------------------------------------------------------- math methods
for _name in ("neg", "abs", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid",
              "relu", "erf", "sign", "floor", "ceil", "round", "reciprocal", "square", "logical_not",
              "bitwise_not"):
    setattr(T, _name, getattr(E, _name))
T.negative = E.neg
T.absolute = E.abs
for _name in ("add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge",
              "logical_and", "logical_or", "logical_xor", "multiply", "divide", "subtract", "true_divide",
              "greater", "greater_equal", "less", "less_equal", "not_equal", "clamp", "clip", "masked_fill",
              "floor_divide", "remainder", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift",
              "bitwise_right_shift"):
    setattr(T, _name, getattr(E, _name))
T.where = lambda self, condition, other: E.where(condition, self, other)
for _name in ("sum", "mean", "prod", "amax", "amin", "max", "min", "argmax", "argmin", "var", "std",
              "logsumexp", "norm", "all", "any"):
    setattr(T, _name, getattr(R, _name))
for _name in ("matmul", "mm", "bmm", "dot"):
    setattr(T, _name, getattr(L, _name))
for _name in ("view", "reshape", "unsqueeze", "squeeze", "flatten", "unflatten", "permute", "transpose",
              "swapaxes", "swapdims", "movedim", "t", "expand", "expand_as", "broadcast_to", "split", "chunk",
              "unbind", "tril", "triu", "repeat"):
    setattr(T, _name, getattr(S, _name))
for _name in ("narrow", "select", "gather", "scatter_add", "index_select", "nonzero", "scatter", "scatter_reduce",
              "index_add", "index_put"):
    setattr(T, _name, getattr(I, _name))
for _name in ("topk", "kthvalue"):
    setattr(T, _name, getattr(O, _name))


def view(self, *shape):
    """view(*shape) reshapes without copying; view(dtype) reads the same bytes as another dtype
    (not tracked by autograd, as in PyTorch, where it is not differentiable)."""
    if len(shape) == 1 and isinstance(shape[0], dtype_cls):
        return _wrap(_C.view_dtype(self._impl, shape[0].name))
    return S.view(self, *shape)


T.view = view


def view_as(self, other):
    return S.view(self, list(other.shape))


def reshape_as(self, other):
    return S.reshape(self, list(other.shape))


T.view_as = view_as
T.reshape_as = reshape_as


def _T(self):
    return S.permute(self, list(range(self.ndim - 1, -1, -1))) if self.ndim > 1 else self


def _mT(self):
    if self.ndim < 2:
        raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got {self.ndim}-D "
                           "tensor.")
    return S.transpose(self, -2, -1)


T.T = property(_T)
T.mT = property(_mT)


# ---------------------------------------------------------------- copies and conversions
class CloneBackward(Op):
    jvp = staticmethod(linear_jvp)  # linear in its tensor inputs

    @staticmethod
    def forward(ctx, x):
        return _C.clone(x._impl)

    @staticmethod
    def backward(ctx, g):
        return g


class ContiguousBackward(Op):
    jvp = staticmethod(linear_jvp)  # linear in its tensor inputs

    @staticmethod
    def forward(ctx, x):
        return _C.contiguous(x._impl)

    @staticmethod
    def backward(ctx, g):
        return g


class ToCopyBackward(Op):
    """dtype/device conversion: the gradient converts back (none to an integer dtype)."""

    jvp = staticmethod(linear_jvp)  # linear in its tensor inputs

    float_outputs = False  # the target dtype may be an integer one

    @staticmethod
    def forward(ctx, x, dtype, device):
        if ctx is not None:
            ctx.src = (x._impl.dtype, x._impl.device)
        impl = x._impl
        if dtype is not None and dtype != impl.dtype:
            impl = _C.to_dtype(impl, dtype)
        if device is not None and device != impl.device:
            impl = _C.to_device(impl, device)
        return impl

    @staticmethod
    def backward(ctx, g):
        dtype, device = ctx.src
        return g.to(dtype=dtype, device=device), None, None



def clone(self, *, memory_format=None):
    return CloneBackward.apply(self)


def contiguous(self, memory_format=None):
    if self._impl.is_contiguous():
        return self
    return ContiguousBackward.apply(self)


def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False):
    """to(dtype), to(device), to(device, dtype), to(other_tensor)."""
    for a in args:
        if isinstance(a, Tensor):
            dtype, device = a.dtype, a.device
        elif isinstance(a, device_cls) or (isinstance(a, str) and a.split(":")[0] in ("cpu", "cuda")):
            device = a
        elif isinstance(a, int) and not isinstance(a, bool):
            device = a
        else:
            dtype = a
    dt = None if dtype is None else to_dtype(dtype).name
    dev = None if device is None else device_name(device)
    impl = self._impl
    if (dt is None or dt == impl.dtype) and (dev is None or dev == impl.device):
        return clone(self) if copy else self
    return ToCopyBackward.apply(self, dt, dev)


T.clone = clone
T.contiguous = contiguous
T.to = to
T.cpu = lambda self, memory_format=None: to(self, device="cpu")
T.cuda = lambda self, device=None, non_blocking=False: to(self, device="cuda" if device is None else device)
T.float = lambda self: to(self, "float32")
T.double = lambda self: to(self, "float64")
T.half = lambda self: to(self, "float16")
T.bfloat16 = lambda self: to(self, "bfloat16")
T.long = lambda self: to(self, "int64")
T.int = lambda self: to(self, "int32")
T.short = lambda self: to(self, "int16")
T.char = lambda self: to(self, "int8")
T.byte = lambda self: to(self, "uint8")
T.bool = lambda self: to(self, "bool")

# Tensor.type()'s legacy names, as PyTorch prints them (pyengine.FloatTensor, ...).
_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
               "bfloat16": "BFloat16Tensor", "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
               "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}
_DTYPE_OF_TYPE_NAME = {v: k for k, v in _TYPE_NAMES.items()}


def type_(self, dtype=None, non_blocking=False):
    """type() names the tensor's type ('pyengine.FloatTensor', 'pyengine.cuda.FloatTensor');
    type(dtype) converts, where dtype is a dtype or such a name."""
    if dtype is None:
        where = "cuda." if self._impl.device != "cpu" else ""
        return f"pyengine.{where}{_TYPE_NAMES[self._impl.dtype]}"
    if isinstance(dtype, str) and dtype.rsplit(".", 1)[-1] in _DTYPE_OF_TYPE_NAME:
        dtype = _DTYPE_OF_TYPE_NAME[dtype.rsplit(".", 1)[-1]]
    return to(self, dtype)


T.type = type_
T.type_as = lambda self, other: to(self, other.dtype)


def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
    from .creation import zeros
    return zeros(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
    from .creation import ones
    return ones(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    from .creation import full
    return full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device,
                requires_grad=requires_grad)


def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
    from .creation import tensor
    return tensor(data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


T.new_zeros = new_zeros
T.new_ones = new_ones
T.new_full = new_full
T.new_tensor = new_tensor


# ---------------------------------------------------------------- issue 15's elementwise math (ops/elementwise_more.py)
def _attach_elementwise_more():
    from .ops import elementwise_more as M
    for name in ("isnan", "isinf", "isposinf", "isneginf", "isfinite", "isreal", "nan_to_num", "copysign", "fmod",
                 "div", "divide", "log2", "log10", "exp2", "atan2", "arctan2", "hypot", "tan", "asin", "acos",
                 "atan", "arcsin", "arccos", "arctan", "sinh", "cosh", "asinh", "acosh", "atanh", "arcsinh",
                 "arccosh", "arctanh", "trunc", "fix", "frac", "logaddexp", "xlogy", "lerp", "sgn", "isclose",
                 "allclose", "equal", "softmax", "log_softmax"):
        setattr(T, name, getattr(M, name))  # (self is the first argument of each)
    # in place through the kernel (out=self): torch's in-place variants of the _C ops
    for name, kernel in (("log2", "log2"), ("log10", "log10"), ("exp2", "exp2"), ("tan", "tan"), ("asin", "asin"),
                         ("acos", "acos"), ("atan", "atan"), ("sinh", "sinh"), ("cosh", "cosh"), ("asinh", "asinh"),
                         ("acosh", "acosh"), ("atanh", "atanh"), ("trunc", "trunc"), ("frac", "frac"),
                         ("arcsin", "asin"), ("arccos", "acos"), ("arctan", "atan"), ("arcsinh", "asinh"),
                         ("arccosh", "acosh"), ("arctanh", "atanh"), ("fix", "trunc"), ("copysign", "copysign"),
                         ("fmod", "fmod"), ("atan2", "atan2"), ("arctan2", "atan2"), ("hypot", "hypot"),
                         ("xlogy", "xlogy"), ("sgn", "sign")):
        method = _inplace(kernel, getattr(M, name))
        method.__name__ = name + "_"
        setattr(T, name + "_", method)
    rounded = {mode: _inplace(kernel, M._ROUNDED_DIV[mode]) for mode, kernel in
               (("trunc", "div_trunc"), ("floor", "floor_divide"))}
    true_div_ = T.div_

    def div_(self, other, *, rounding_mode=None):
        M._check_rounding_mode(rounding_mode)
        return true_div_(self, other) if rounding_mode is None else rounded[rounding_mode](self, other)

    T.div_ = T.divide_ = div_

    def _composite_inplace(functional, name):
        def method(self, *args, **kwargs):
            if P.recording(self, *args):
                return P.record_inplace(self, lambda t: functional(t, *args, **kwargs))
            return self.copy_(functional(self, *args, **kwargs))
        method.__name__ = name
        return method

    T.nan_to_num_ = _composite_inplace(M.nan_to_num, "nan_to_num_")
    T.lerp_ = _composite_inplace(M.lerp, "lerp_")


_attach_elementwise_more()


def multinomial(self, num_samples, replacement=False, *, generator=None):
    from .random import multinomial as _multinomial
    return _multinomial(self, num_samples, replacement, generator=generator)


T.multinomial = multinomial


def _attach_random():
    from .random import random_
    T.random_ = random_


_attach_random()
