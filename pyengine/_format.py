"""PyTorch-style repr: tensor([[1., 2.], [3., 4.]], requires_grad=True)."""
import numpy as np

_PREFIX = "tensor("


def _array_str(a):
    if a.dtype.kind == "f":
        finite = a[np.isfinite(a)].astype(np.float64)  # (float16's max would overflow below)
        integral = finite.size == 0 or bool(np.all(finite == np.round(finite)))
        big = finite.size and (np.abs(finite).max() >= 1e8 or 0 < np.abs(finite[finite != 0]).min(initial=1) < 1e-4)
        opts = dict(precision=4, floatmode="unique" if integral and not big else "fixed",
                    suppress_small=False)
        if big:
            opts["formatter"] = {"float_kind": lambda v: f"{v:.4e}"}
    else:
        opts = {}
    return np.array2string(a, separator=", ", prefix=_PREFIX, threshold=1000, edgeitems=3, **opts)


def format_tensor(t):
    # bfloat16 has no NumPy type: shown through float32, which holds every bfloat16 exactly
    a = (t.detach().float() if t._impl.dtype == "bfloat16" else t.detach()).numpy(force=True)
    body = _array_str(a)
    if a.size == 0 and a.ndim > 1:
        body = "[]"
    extras = []
    if a.size == 0 and a.ndim > 1:
        extras.append(f"size={tuple(a.shape)}")
    name = t._impl.dtype
    if name not in ("float32", "int64", "bool") or (a.size == 0 and name != "float32"):
        extras.append(f"dtype=pyengine.{name}")
    if t._impl.device != "cpu":
        extras.append(f"device='{t._impl.device}'")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._requires_grad:
        extras.append("requires_grad=True")
    return _PREFIX + ", ".join([body] + extras) + ")"
