"""gradcheck for tensors on any device: pyengine.autograd.gradcheck reads and perturbs inputs
through zero-copy NumPy views, which only CPU tensors have. This one builds every perturbed
input on the host and moves it to the device, and reads outputs and gradients back, so the
forward and backward kernels under test are the device's own."""
import numpy as np

import pyengine as pe
from pyengine.autograd import grad as autograd_grad


def _outs(fn, xs):
    out = fn(*xs)
    return (out,) if isinstance(out, pe.Tensor) else tuple(out)


def device_gradcheck(fn, arrays, device, eps=1e-6, atol=1e-5, rtol=1e-3):
    """fn(*tensors) for float64 `arrays` placed on `device`; asserts that autograd's Jacobian
    matches central differences for every input and output. Returns True."""
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    xs = [pe.tensor(a, device=device, requires_grad=True) for a in arrays]
    outs = _outs(fn, xs)
    for k, o in enumerate(outs):
        assert o.device.type == device, f"output {k} on {o.device}, expected {device}"
        n = o.numel()
        ana = [np.zeros((n, a.size)) for a in arrays]
        for j in range(n):
            onehot = np.zeros(n)
            onehot[j] = 1.0
            go = pe.tensor(onehot.reshape(o.shape), device=device)
            gs = autograd_grad([o], xs, [go], retain_graph=True, allow_unused=True)
            for i, g in enumerate(gs):
                if g is not None:
                    ana[i][j] = g.detach().cpu().numpy().ravel()
        for i, a in enumerate(arrays):
            num = np.zeros((n, a.size))
            for e in range(a.size):
                cols = []
                for sign in (1, -1):
                    b = a.copy().reshape(-1)
                    b[e] += sign * eps
                    inputs = [pe.tensor(b.reshape(a.shape) if m == i else arrays[m], device=device)
                              for m in range(len(arrays))]
                    with pe.no_grad():
                        cols.append(_outs(fn, inputs)[k].cpu().numpy().astype(np.float64).ravel())
                num[:, e] = (cols[0] - cols[1]) / (2 * eps)
            np.testing.assert_allclose(ana[i], num, atol=atol, rtol=rtol,
                                       err_msg=f"Jacobian of output {k} w.r.t. input {i} on {device}")
    return True
