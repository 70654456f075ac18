"""NumPy's argument names, accepted where PyTorch accepts them: `axis=` for `dim=` and
`keepdims=` for `keepdim=` on every pyengine.X function and Tensor method that has those
parameters (PyTorch's argument parser does the same for all of its native functions), e.g.
`pe.sum(x, axis=1, keepdims=True)` or `x.argmax(axis=0)`.

The aliases are added by a thin wrapper that passes positional calls straight through; giving
both names is a TypeError, as in PyTorch."""
import functools
import inspect

_ALIASES = (("axis", "dim"), ("keepdims", "keepdim"))


def with_aliases(fn):
    """fn accepting axis=/keepdims= for its dim/keepdim parameters (fn itself when it has none)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return fn
    names = tuple((alias, name) for alias, name in _ALIASES if name in params and alias not in params)
    if not names or getattr(fn, "_numpy_aliases", False):
        return fn

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if kwargs:
            for alias, name in names:
                if alias in kwargs:
                    if name in kwargs:
                        raise TypeError(f"{fn.__name__}() got both '{name}' and its alias '{alias}'")
                    kwargs[name] = kwargs.pop(alias)
        return fn(*args, **kwargs)

    wrapper._numpy_aliases = True
    return wrapper


def install(namespace, tensor_cls):
    """Wrap the public functions of `namespace` (pyengine's globals) and tensor_cls's methods."""
    for name, obj in list(namespace.items()):
        if not name.startswith("_") and inspect.isfunction(obj) and obj.__module__.startswith("pyengine"):
            namespace[name] = with_aliases(obj)
    for name, obj in list(vars(tensor_cls).items()):
        if not name.startswith("_") and inspect.isfunction(obj):
            setattr(tensor_cls, name, with_aliases(obj))
