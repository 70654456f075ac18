"""gradcheck for tensors on any device (pyengine.autograd.gradcheck reads and writes inputs through
NumPy views, which only CPU tensors have): central differences on host copies moved to the device,
against autograd's Jacobian from one-hot output gradients. float64, tiny shapes only."""
import numpy as np

import pyengine as pe


def gradcheck_on(device, fn, *arrays, eps=1e-6, atol=1e-5, rtol=1e-3):
    """Asserts that d fn(*inputs) / d inputs, run on `device`, matches finite differences."""
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]

    def run(values, requires_grad=False):
        xs = [pe.tensor(v, device=device, requires_grad=requires_grad) for v in values]
        return xs, fn(*xs)

    xs, out = run(arrays, requires_grad=True)
    assert str(out.device).startswith(device), f"{fn} ran on {out.device}, not {device}"
    n_out = out.numel()
    analytical = [np.zeros((n_out, a.size)) for a in arrays]
    for j in range(n_out):
        g = np.zeros(n_out)
        g[j] = 1.0
        grads = pe.autograd.grad([out], xs, [pe.tensor(g.reshape(tuple(out.shape)), device=device)],
                                 retain_graph=True, allow_unused=True)
        for i, gi in enumerate(grads):
            if gi is not None:
                analytical[i][j] = gi.cpu().numpy().ravel()
    for i, a in enumerate(arrays):
        numerical = np.zeros((n_out, a.size))
        for k in range(a.size):
            plus, minus = [b.copy() for b in arrays], [b.copy() for b in arrays]
            plus[i].reshape(-1)[k] += eps
            minus[i].reshape(-1)[k] -= eps
            with pe.no_grad():
                hi = run(plus)[1].cpu().numpy().ravel()
                lo = run(minus)[1].cpu().numpy().ravel()
            numerical[:, k] = (hi - lo) / (2 * eps)
        np.testing.assert_allclose(analytical[i], numerical, atol=atol, rtol=rtol,
                                   err_msg=f"gradient of input {i} on {device}")
