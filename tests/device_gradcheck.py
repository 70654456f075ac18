"""float64 gradcheck of an op running on a given device: inputs made there from NumPy arrays,
checked by pyengine.autograd.gradcheck (which perturbs non-CPU inputs through host copies)."""
import numpy as np

import pyengine as pe


def gradcheck_on(device, fn, *arrays, eps=1e-6, atol=1e-5, rtol=1e-3):
    """Asserts that fn runs on `device` and that its gradients there match finite differences."""
    xs = [pe.tensor(np.asarray(a, dtype=np.float64), device=device, requires_grad=True) for a in arrays]
    out = fn(*xs)
    for o in (out,) if isinstance(out, pe.Tensor) else out:
        assert o.device.type == pe.device(device).type, f"{fn} ran on {o.device}, not {device}"
    assert pe.autograd.gradcheck(fn, xs, eps=eps, atol=atol, rtol=rtol)
    return True
