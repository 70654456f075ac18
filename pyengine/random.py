"""Random number generators with PyTorch's API: pyengine.Generator objects, the default
generator behind pe.manual_seed, and the draws that take `generator=` (normal, multinomial here;
rand, randn, randint, randperm and bernoulli in creation.py).

Every generator is a Philox stream (csrc/ops/random.h): a seed and an offset counting the blocks
already drawn. Draws on the CPU and on a GPU read the same stream the same way, so a generator
in a given state gives the same numbers on both devices (the generator's `device` is checked
against the tensor's, as in PyTorch, but does not change the numbers).

Deliberate difference: get_state() returns an int64 tensor (seed, offset, initial seed), not
PyTorch's uint8 byte string; set_state() takes what get_state() returned.
"""
import os

from . import _C
from .dtypes import device as _device_cls, device_name
from .ops._util import Op
from .tensor import Tensor, _wrap

_DEFAULT_SEED = 67280421310721  # PyTorch's default seed
_U64 = 2 ** 64


def _signed(v):
    return v - _U64 if v >= 2 ** 63 else v


class Generator:
    """A random stream: Generator(device='cpu'). manual_seed(seed) resets it (and returns it),
    seed() reseeds it from the OS and returns the seed, initial_seed() is the last seed set,
    get_state()/set_state() save and restore it exactly."""

    def __init__(self, device="cpu"):
        try:
            name = device_name(device)
        except ValueError as e:
            raise RuntimeError(f"Generator: expected a 'cpu' or 'cuda' device, got {device!r} ({e})") from None
        if name.startswith("cuda"):
            from . import cuda
            if not cuda.is_available():
                raise RuntimeError(f"Generator: device {name!r} needs CUDA, which is not available")
        elif name != "cpu":
            raise RuntimeError(f"Generator: expected a 'cpu' or 'cuda' device, got {device!r}")
        self._engine = _C.Generator(_DEFAULT_SEED)
        self._device = _device_cls(name)
        self._initial_seed = _DEFAULT_SEED

    @classmethod
    def _of_engine(cls, engine):
        g = cls.__new__(cls)
        g._engine = engine
        g._device = _device_cls("cpu")
        g._initial_seed = engine.state()[0]
        return g

    @property
    def device(self):
        return self._device

    def manual_seed(self, seed):
        """Seed the stream and return self: an int in [-2**63, 2**64) (negative ones wrap modulo
        2**64, as in PyTorch)."""
        if not isinstance(seed, int):
            try:
                seed = int(seed.__index__() if hasattr(seed, "__index__") else seed.item())
            except (AttributeError, TypeError, ValueError, RuntimeError):
                raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}") from None
        if not -2 ** 63 <= seed < _U64:
            raise ValueError(f"manual_seed: seed {seed} is outside [-2**63, 2**64) (Overflow when unpacking long long)")
        self._engine.manual_seed(seed)
        self._initial_seed = seed % _U64
        return self

    def seed(self):
        """Reseed from a non-deterministic source; returns the new seed."""
        s = int.from_bytes(os.urandom(8), "little")
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._initial_seed

    def get_state(self):
        """The stream's state as an int64 tensor (seed, offset, initial seed)."""
        seed, offset = self._engine.state()
        return _wrap(_C.from_numpy(_state_array(seed, offset, self._initial_seed)))

    def set_state(self, new_state):
        """Restore a state from get_state() (of this or any generator)."""
        if not isinstance(new_state, Tensor) or new_state.dtype.name != "int64" or tuple(new_state.shape) != (3,):
            what = (f"pyengine.{new_state.dtype.name} tensor of shape {tuple(new_state.shape)}"
                    if isinstance(new_state, Tensor) else type(new_state).__name__)
            raise TypeError(f"set_state: expected the int64 tensor of shape (3,) that get_state() returns, got {what}")
        seed, offset, initial = (int(v) % _U64 for v in new_state.tolist())
        self._engine.set_state(seed, offset)
        self._initial_seed = initial
        return self

    def __repr__(self):
        return f"<pyengine.Generator device={self._device}>"


def _state_array(*values):
    import numpy as np
    return np.array([_signed(v) for v in values], dtype=np.int64)


default_generator = Generator._of_engine(_C.default_generator())
default_generator._initial_seed = _DEFAULT_SEED


def manual_seed(seed):
    """Seed the default generator (every draw without generator=); returns it."""
    return default_generator.manual_seed(seed)


def seed():
    """Reseed the default generator from a non-deterministic source; returns the seed."""
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)


def engine(generator, device=None, fn="random"):
    """The _C engine a draw uses (None: the default one), after PyTorch's checks: a Generator,
    on the device type the tensor is drawn on."""
    if generator is None:
        return None
    if not isinstance(generator, Generator):
        raise TypeError(f"{fn}(): argument 'generator' must be a pyengine.Generator, not {type(generator).__name__}")
    want = "cpu" if device is None else device_name(device).split(":")[0]
    have = generator.device.type
    if have != want:
        raise RuntimeError(f"{fn}(): expected a '{want}' device type for generator but found '{have}'")
    return generator._engine


# ---------------------------------------------------------------- normal, multinomial
def _float_dtype_of(t, fn):
    if t.dtype.name not in ("float32", "float64"):
        raise NotImplementedError(f"{fn}: not implemented for pyengine.{t.dtype.name} tensors (float32 or float64)")
    return t.dtype.name


class NormalBackward(Op):
    """normal()'s result when mean or std is a tensor that requires grad: PyTorch's gradient is
    zero for both (the draw is not reparametrised), so the result joins the graph with zeros."""

    @staticmethod
    def forward(ctx, mean, std, sample):
        if ctx is not None:
            ctx.like = [(list(v.shape), v.dtype.name, v._impl.device) if isinstance(v, Tensor) else None
                        for v in (mean, std)]
        return sample._impl

    @staticmethod
    def backward(ctx, g):
        return tuple(None if like is None else _wrap(_C.full(like[0], 0.0, like[1], like[2]))
                     for like in ctx.like) + (None,)


def normal(mean, std=1.0, size=None, *, generator=None, out=None, dtype=None, device=None, requires_grad=False):
    """Normal draws, PyTorch's four overloads: normal(mean_tensor, std_tensor) (broadcast),
    normal(mean_tensor, std=1.0), normal(mean, std_tensor), and normal(mean, std, size) with
    float mean and std (dtype/device as for randn)."""
    from .creation import randn
    mt, st = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not mt and not st:
        if size is None:
            raise TypeError("normal(): with a float mean and std, the size argument is required "
                            "(normal(mean, std, size))")
        std = float(std)
        if not std >= 0.0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        sample = randn(*([size] if isinstance(size, int) else size), generator=generator, dtype=dtype,
                       device=device) * std + float(mean)
        if requires_grad:
            sample.requires_grad_(True)
        return out.copy_(sample) if out is not None else sample
    if size is not None:
        raise TypeError("normal(): size is only accepted with a float mean and std")
    if st:
        if not bool((std.detach() >= 0).all().item()):
            raise RuntimeError("normal expects all elements of std >= 0.0")
    elif not float(std) >= 0.0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {float(std)}")
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    dt = _float_dtype_of(tensors[0], "normal")
    if len(tensors) == 2:
        from .ops.shape import broadcast_shapes
        shape = tuple(broadcast_shapes(mean.shape, std.shape))
        dt = _C.result_type(mean._impl, std._impl)
    else:
        shape = tuple(tensors[0].shape)
    dev = tensors[0].device
    m = mean.detach() if mt else mean
    s = std.detach() if st else std
    sample = randn(*shape, generator=generator, dtype=dt, device=dev) * s + m
    if any(t.requires_grad for t in tensors):
        sample = NormalBackward.apply(mean, std, sample)
    return out.copy_(sample) if out is not None else sample


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    """num_samples indices per row of the 1-d or 2-d non-negative weights `input` (rows need
    not sum to 1), drawn with or without replacement: an int64 tensor (num_samples,) or
    (rows, num_samples). Same numbers on the CPU and on a GPU for the same generator state."""
    if not isinstance(input, Tensor):
        raise TypeError(f"multinomial(): argument 'input' must be a Tensor, not {type(input).__name__}")
    if isinstance(num_samples, bool) or not isinstance(num_samples, int):
        raise TypeError(f"multinomial(): argument 'num_samples' must be int, not {type(num_samples).__name__}")
    eng = engine(generator, input.device, "multinomial")
    result = _wrap(_C.multinomial(input.detach()._impl, num_samples, bool(replacement), eng))
    return out.copy_(result) if out is not None else result


# Tensor.random_()'s default upper bound per dtype, as PyTorch's: every integer the dtype holds
# exactly (2**mantissa bits + 1 for floats), the largest int64, 0/1 for bool.
_RANDOM_TO = {"float32": 2 ** 24 + 1, "float64": 2 ** 53 + 1, "int64": 2 ** 63 - 1, "bool": 2}


def random_(self, *args, generator=None, **kwargs):
    """In place: integers drawn uniformly from [from, to) (random_(to) and random_(from, to),
    PyTorch's overloads; random_() covers the integers the dtype holds exactly)."""
    names = ("from", "to")
    bounds = dict(zip(names, args))
    if len(args) == 1:  # random_(to)
        bounds = {"to": args[0]}
    unknown = set(kwargs) - set(names)
    if len(args) > 2 or unknown:
        raise TypeError(f"random_() takes (to) or (from, to) and generator=, got {len(args)} positional arguments"
                        + (f" and unexpected keywords {sorted(unknown)}" if unknown else ""))
    bounds.update(kwargs)
    low = int(bounds.get("from", 0))
    high = bounds.get("to")
    high = _RANDOM_TO[self.dtype.name] if high is None else int(high)
    from .creation import randint
    self.copy_(randint(low, high, tuple(self.shape), generator=generator, device=self.device))
    return self
