"""W-GAN pieces against torch 2.13: weight clipping on parameters (p.data.clamp_ and p.clamp_
under no_grad), clip_grad_norm_/clip_grad_value_, and the WGAN-GP gradient penalty
((||d critic(x_hat) / d x_hat||_2 - 1)^2).mean(), which needs double backward through every
layer a critic uses: the penalty and its parameter gradients match torch's in float64 for
critics of Conv2d, LeakyReLU, LayerNorm, Linear, flatten/view/mean; each of those ops passes
gradgradcheck in float64; CPU/CUDA parity."""
import numpy as np
import pytest

import pyengine as pe
import pyengine.nn as nn
import pyengine.nn.functional as F
from pyengine.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")


def _t(a, grad=False):
    return torch.tensor(np.asarray(a), requires_grad=grad)


def _p(a, device="cpu", grad=False):
    return pe.tensor(np.asarray(a), device=device, requires_grad=grad)


def _copy_into_torch(module, tmodule):
    tmodule.load_state_dict({k: torch.tensor(v.cpu().numpy()) for k, v in module.state_dict().items()})
    return tmodule


def _critic(nn_mod, c=2, h=8):
    """A DCGAN-style W-GAN critic (no batch norm: the penalty is per sample), as students write it,
    built from pyengine.nn or torch.nn."""

    class Critic(nn_mod.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn_mod.Conv2d(1, c, 3, stride=1, padding=1)
            self.act = nn_mod.LeakyReLU(0.2)
            self.conv2 = nn_mod.Conv2d(c, 2 * c, 4, stride=2, padding=1)
            self.norm = nn_mod.LayerNorm([2 * c, h // 2, h // 2])
            self.fc1 = nn_mod.Linear(2 * c * (h // 2) ** 2, 6)
            self.norm_fc = nn_mod.LayerNorm(6)
            self.fc2 = nn_mod.Linear(6, 1)

        def forward(self, x):
            x = self.act(self.conv1(x))
            x = self.act(self.norm(self.conv2(x)))
            x = x.view(x.shape[0], -1)
            x = self.act(self.norm_fc(self.fc1(x)))
            return self.fc2(x).view(-1)

    return Critic()


def _critics(seed=0, device="cpu"):
    pe.manual_seed(seed)
    critic = _critic(nn).double()
    # LayerNorm starts at weight 1, bias 0: perturb so the affine parameters' gradients are tested
    with pe.no_grad():
        for m in (critic.norm, critic.norm_fc):
            m.weight.add_(pe.randn(*m.weight.shape, dtype=pe.float64) * 0.3)
            m.bias.add_(pe.randn(*m.bias.shape, dtype=pe.float64) * 0.3)
    tcritic = _copy_into_torch(critic, _critic(torch.nn).double())
    return critic.to(device), tcritic


def _penalty(lib, critic, real, fake, eps):
    """WGAN-GP (Gulrajani et al. 2017): the critic's input gradient at random interpolates."""
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    out = critic(x_hat)
    grad, = lib.autograd.grad(out, x_hat, grad_outputs=lib.ones_like(out), create_graph=True)
    grad = grad.flatten(1)
    return ((grad.norm(2, dim=1) - 1) ** 2).mean()


def _batch(n=3, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 1, 8, 8)), rng.standard_normal((n, 1, 8, 8)), rng.random((n, 1, 1, 1))


def test_gradient_penalty_and_its_parameter_gradients_match_torch():
    critic, tcritic = _critics()
    real, fake, eps = _batch()
    gp = _penalty(pe, critic, _p(real), _p(fake), _p(eps))
    tgp = _penalty(torch, tcritic, _t(real), _t(fake), _t(eps))
    np.testing.assert_allclose(gp.item(), tgp.item(), rtol=1e-12)
    gp.backward()
    tgp.backward()
    for (name, p), (tname, tp) in zip(critic.named_parameters(), tcritic.named_parameters()):
        assert name == tname
        if p.grad is None or tp.grad is None:
            # the last bias: the input gradient does not depend on it (None in both); a bias just
            # before a LeakyReLU: torch's graph reaches it through the slope mask, so its gradient
            # is a zero tensor there and None here
            for g in (p.grad, tp.grad):
                assert g is None or np.abs(np.asarray(g.detach())).max() == 0, name
        else:
            np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


def test_full_wgan_gp_critic_loss_matches_torch():
    """critic(fake).mean() - critic(real).mean() + lambda * GP, and one Adam step on it."""
    critic, tcritic = _critics(2)
    real, fake, eps = _batch(4, seed=3)
    opt = pe.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.0, 0.9))
    topt = torch.optim.Adam(tcritic.parameters(), lr=1e-3, betas=(0.0, 0.9))
    for _ in range(2):
        loss = critic(_p(fake)).mean() - critic(_p(real)).mean() + 10 * _penalty(pe, critic, _p(real), _p(fake), _p(eps))
        tloss = (tcritic(_t(fake)).mean() - tcritic(_t(real)).mean()
                 + 10 * _penalty(torch, tcritic, _t(real), _t(fake), _t(eps)))
        np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-10)
        opt.zero_grad()
        topt.zero_grad()
        loss.backward()
        tloss.backward()
        opt.step()
        topt.step()
    for p, tp in zip(critic.parameters(), tcritic.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-9, atol=1e-12)


def test_gradient_penalty_on_device_matches_cpu(device):
    critic, _ = _critics(4)
    dcritic, _ = _critics(4, device=device)
    real, fake, eps = _batch(2, seed=5)
    gp = _penalty(pe, critic, _p(real), _p(fake), _p(eps))
    dgp = _penalty(pe, dcritic, _p(real, device), _p(fake, device), _p(eps, device))
    assert dgp.device == pe.device(device)
    np.testing.assert_allclose(dgp.item(), gp.item(), rtol=1e-10)
    gp.backward()
    dgp.backward()
    for p, dp in zip(critic.parameters(), dcritic.parameters()):
        if p.grad is not None:
            np.testing.assert_allclose(dp.grad.cpu().numpy(), p.grad.numpy(), rtol=1e-8, atol=1e-12)


# ---------------------------------------------------------------- double backward of each critic op
rng = np.random.default_rng(7)


def _away_from_zero(shape):
    """Inputs with |x| >= 0.1, so finite differences never straddle LeakyReLU's kink."""
    a = rng.standard_normal(shape)
    return np.where(np.abs(a) < 0.1, 0.1 * np.sign(a) + (a == 0) * 0.1, a)


def _check(fn, *arrays, device="cpu"):
    xs = [_p(a, device, grad=True) for a in arrays]
    assert gradcheck(fn, xs)
    assert gradgradcheck(fn, xs)


def test_gradgradcheck_linear():
    _check(lambda x, w, b: F.linear(x, w, b), rng.standard_normal((3, 4)), rng.standard_normal((2, 4)),
           rng.standard_normal(2))
    _check(lambda x, w: F.linear(x, w), rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4)))


@pytest.mark.parametrize("stride,padding,dilation,groups", [(1, 0, 1, 1), (2, 1, 1, 1), (1, 1, 2, 2)])
def test_gradgradcheck_conv2d(stride, padding, dilation, groups):
    _check(lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups),
           rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((2, 2 // groups, 3, 3)), rng.standard_normal(2))


def test_gradgradcheck_leaky_relu():
    _check(lambda x: F.leaky_relu(x, 0.2), _away_from_zero((3, 5)))
    _check(lambda x: nn.LeakyReLU(0.01)(x) * x, _away_from_zero((4,)))  # a non-zero second derivative


@pytest.mark.parametrize("shape,normalized", [((3, 5), (5,)), ((2, 2, 3, 3), (2, 3, 3))])
def test_gradgradcheck_layer_norm(shape, normalized):
    _check(lambda x, w, b: F.layer_norm(x, normalized, w, b, eps=1e-5), rng.standard_normal(shape),
           1 + 0.3 * rng.standard_normal(normalized), rng.standard_normal(normalized))
    _check(lambda x: F.layer_norm(x, normalized), rng.standard_normal(shape))


def test_gradgradcheck_shape_ops_mean_and_norm():
    _check(lambda x: x.flatten(1).mean(), rng.standard_normal((2, 3, 2)))
    _check(lambda x: x.view(2, -1).mean(dim=1), rng.standard_normal((2, 3, 2)))
    _check(lambda x: (x.flatten(1).norm(2, dim=1) - 1) ** 2, rng.standard_normal((3, 4)))


def test_gradgradcheck_conv_and_layer_norm_on_device(device):
    _check(lambda x, w: F.conv2d(x, w, padding=1), rng.standard_normal((1, 1, 4, 4)), rng.standard_normal((2, 1, 3, 3)),
           device=device)
    _check(lambda x, w, b: F.layer_norm(x, (4,), w, b), rng.standard_normal((2, 4)), 1 + rng.standard_normal(4) * 0.2,
           rng.standard_normal(4), device=device)


# ---------------------------------------------------------------- weight clipping, gradient clipping
def test_weight_clipping_on_parameters_matches_torch():
    critic, tcritic = _critics(8)
    with pe.no_grad():
        for p in critic.parameters():
            p.clamp_(-0.05, 0.05)
    for p in list(tcritic.parameters()):
        with torch.no_grad():
            p.clamp_(-0.05, 0.05)
    for p, tp in zip(critic.parameters(), tcritic.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), tp.detach().numpy())
        assert p.requires_grad and p.grad_fn is None and isinstance(p, nn.Parameter)
    for p, tp in zip(critic.parameters(), tcritic.parameters()):  # the original W-GAN's p.data.clamp_
        p.data.clamp_(-0.01, 0.01)
        tp.data.clamp_(-0.01, 0.01)
        np.testing.assert_array_equal(p.detach().numpy(), tp.detach().numpy())
        assert p.requires_grad and p.grad_fn is None
    # clipped parameters still train
    real, _, _ = _batch(2)
    critic(_p(real)).mean().backward()
    assert all(p.grad is not None for p in critic.parameters())
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        next(critic.parameters()).clamp_(-1, 1)  # outside no_grad, as torch


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_clip_grad_norm_and_value_match_torch(norm_type):
    critic, tcritic = _critics(9)
    real, fake, eps = _batch(2, seed=9)
    _penalty(pe, critic, _p(real), _p(fake), _p(eps)).mul(100).backward()
    _penalty(torch, tcritic, _t(real), _t(fake), _t(eps)).mul(100).backward()
    total = nn.utils.clip_grad_norm_(critic.parameters(), max_norm=0.5, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tcritic.parameters(), max_norm=0.5, norm_type=norm_type)
    np.testing.assert_allclose(total.item(), ttotal.item(), rtol=1e-10)
    nn.utils.clip_grad_value_(critic.parameters(), 0.01)
    torch.nn.utils.clip_grad_value_(tcritic.parameters(), 0.01)
    for p, tp in zip(critic.parameters(), tcritic.parameters()):
        if p.grad is not None:
            np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-9, atol=1e-14)
