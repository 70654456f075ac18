"""Every optimizer of pyengine.optim, with every option that changes its kernel path, stepping a
small parameter on each device: the CUDA kernels (cuda/optimizer.cu) must follow the CPU's
trajectory (same functors of math/optimizer_math.h) to rounding, state buffers included, also for
a non-contiguous parameter (updated through a temporary) and in a small training loop."""
import numpy as np
import pytest

import pyengine as pe
from pyengine import nn, optim

RNG = np.random.default_rng(3)

CONFIGS = [
    (optim.SGD, dict(lr=0.1)),
    (optim.SGD, dict(lr=0.1, weight_decay=0.1, maximize=True)),
    (optim.SGD, dict(lr=0.1, momentum=0.9)),
    (optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
    (optim.Adam, dict(lr=0.01)),
    (optim.Adam, dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    (optim.Adam, dict(lr=0.01, betas=(0.6, 0.7), maximize=True)),
    (optim.AdamW, dict(lr=0.01)),
    (optim.AdamW, dict(lr=0.01, weight_decay=0.5, amsgrad=True)),
    (optim.RMSprop, dict(lr=0.01)),
    (optim.RMSprop, dict(lr=0.01, centered=True, weight_decay=0.1)),
    (optim.RMSprop, dict(lr=0.01, momentum=0.9, maximize=True)),
    (optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
    (optim.Adagrad, dict(lr=0.1)),
    (optim.Adagrad, dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.2)),
    (optim.Adadelta, dict()),
    (optim.Adadelta, dict(lr=0.5, rho=0.5, weight_decay=0.1, maximize=True)),
]
IDS = [f"{c.__name__}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'default'}" for c, kw in CONFIGS]


W0 = np.random.default_rng(5).standard_normal((4, 5))
GRADS = [np.random.default_rng(10 + s).standard_normal((4, 5)) for s in range(3)]


def host(t):
    return t.detach().cpu().numpy()


def close(got, want, dtype):
    tol = dict(rtol=2e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(host(got), host(want), **tol)


def trajectory(cls, kwargs, device, dtype, steps=3, transposed=False):
    """The parameter and its optimizer state after `steps` steps with the fixed gradients."""
    if transposed:
        p = pe.tensor(W0.T, dtype=dtype, device=device).t()  # a (4, 5) view with strides (1, 4)
    else:
        p = pe.tensor(W0, dtype=dtype, device=device)
    p.requires_grad_(True)
    opt = cls([p], **kwargs)
    for step in range(steps):
        p.grad = pe.tensor(GRADS[step], dtype=dtype, device=device)
        opt.step()
    return p, opt.state[p]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=IDS)
def test_step_matches_cpu(device, cls, kwargs, dtype):
    got, got_state = trajectory(cls, kwargs, device, dtype)
    want, want_state = trajectory(cls, kwargs, "cpu", dtype)
    assert str(got.device).startswith(device) and host(got).dtype == np.dtype(dtype)
    assert np.abs(host(want) - W0).max() > 1e-3  # the steps did move the parameter
    close(got, want, dtype)
    for name, value in want_state.items():
        if isinstance(value, pe.Tensor) and value.numel() > 1:
            assert str(got_state[name].device).startswith(device), name
            close(got_state[name], value, dtype)


@pytest.mark.parametrize("cls,kwargs", [CONFIGS[3], CONFIGS[6], CONFIGS[13]], ids=[IDS[3], IDS[6], IDS[13]])
def test_non_contiguous_param(device, cls, kwargs):
    got, _ = trajectory(cls, kwargs, device, "float64", transposed=True)
    want, _ = trajectory(cls, kwargs, "cpu", "float64", transposed=True)
    close(got, want, "float64")


def test_training_loop_with_clipping(device):
    """A tiny linear regression trained on the device with Adam and clip_grad_value_ follows the CPU.
    (clip_grad_norm_ concatenates the norms: cat has no CUDA kernel yet.)"""
    x = RNG.standard_normal((8, 3))
    y = x @ np.array([[1.0], [-2.0], [0.5]]) + 0.1
    result = {}
    for dev in ("cpu", device):
        pe.manual_seed(0)
        model = nn.Linear(3, 1).to(dtype=pe.float64, device=dev)
        opt = optim.Adam(model.parameters(), lr=0.05)
        xs, ys = pe.tensor(x, device=dev), pe.tensor(y, device=dev)
        for _ in range(4):
            opt.zero_grad()
            loss = ((model(xs) - ys) ** 2).mean()
            loss.backward()
            optim.clip_grad_value_(model.parameters(), 0.5)
            opt.step()
        result[dev] = [host(p) for p in model.parameters()]
    for g, w in zip(result[device], result["cpu"]):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


def test_mixed_devices_rejected(device):
    if device == "cpu":
        pytest.skip("needs a second device")
    p = pe.zeros(3, device=device)
    with pytest.raises(RuntimeError, match="expected all tensors on the same device, got param on"):
        pe._C.sgd_step_(p._impl, pe.zeros(3)._impl, None, 0.1)
