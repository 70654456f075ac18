"""pyengine-gan at small settings: each loss moves the way its player wants (the DCGAN
discriminator's loss falls from about 2 ln 2, the WGAN-GP critic's Wasserstein estimate rises, one
generator step lowers the generator's own loss against a fixed discriminator), the generator's
fixed-noise samples change from epoch to epoch, the quality figures are what they claim on known
inputs, the gradient penalty is exact for a linear critic, the PNGs are written after the
printed figures (and skipped with a warning without matplotlib), and a classifier saved by one
run is loaded by the next."""
import argparse
import math
import os
import sys

import numpy as np
import pytest

import pyengine as pe
from pyengine import nn
from pyengine.data.datasets.mnist import FASHION_MNIST_ROOT
from pyengine.examples import gan

needs_data = pytest.mark.skipif(not os.path.isdir(FASHION_MNIST_ROOT), reason="dataset-fashion-mnist not installed")
TINY = ["--train-size", "256", "--batch-size", "32", "--epochs", "2", "--width", "4", "--latent-dim", "8",
        "--eval-samples", "300", "--fixed-samples", "5", "--classifier-train-size", "640", "--classifier-width", "2"]


def _args(**kw):
    base = dict(latent_dim=8, width=4, lr=2e-4, n_critic=5, gp_lambda=10.0)
    return argparse.Namespace(**{**base, **kw})


def _real_batch(n=32, seed=0):
    """Stand-in 'real' images in [-1, 1]: dark backgrounds with a bright square, unlike the
    untrained generator's grey."""
    rng = np.random.default_rng(seed)
    x = np.full((n, 1, 28, 28), -1.0, dtype=np.float32)
    for i, (r, c) in enumerate(rng.integers(4, 16, size=(n, 2))):
        x[i, 0, r:r + 8, c:c + 8] = 1.0
    return pe.tensor(x)


def test_dcgan_discriminator_loss_falls_from_2_ln_2():
    pe.manual_seed(0)
    trainer = gan.DCGAN(_args(lr=1e-3), "cpu")
    real = _real_batch()
    losses = [trainer.step(real, i)["d_loss"] for i in range(15)]
    assert 1.0 < losses[0] < 2.0  # an untrained discriminator cannot tell: about 2 ln 2 = 1.39
    assert np.mean(losses[-3:]) < 0.7 * losses[0]


def test_wgan_gp_critic_separates_and_the_generator_steps_every_n_critic():
    pe.manual_seed(0)
    trainer = gan.WGANGP(_args(lr=1e-3, n_critic=3), "cpu")
    real = _real_batch()
    steps = [trainer.step(real, i) for i in range(12)]
    assert [("g_loss" in s) for s in steps] == [i % 3 == 0 for i in range(12)]
    assert np.mean([s["wasserstein"] for s in steps[-3:]]) > steps[0]["wasserstein"] + 0.5
    assert all(s["gp"] >= 0 for s in steps)


@pytest.mark.parametrize("name", gan.MODELS)
def test_one_generator_step_lowers_the_generator_loss_against_a_fixed_discriminator(name):
    pe.manual_seed(1)
    trainer = gan.TRAINERS[name](_args(), "cpu")
    z = pe.randn(16, 8)
    bce = nn.BCEWithLogitsLoss()

    def g_loss():  # the generator's objective for this model, the discriminator's weights fixed
        score = trainer.D(trainer.G(z))
        return bce(score, pe.ones_like(score)) if name == "dcgan" else -score.mean()
    before = g_loss()
    trainer.opt_g.zero_grad()
    before.backward()
    trainer.opt_g.step()
    with pe.no_grad():
        after = g_loss()
    assert float(after.item()) < float(before.item())


def test_gradient_penalty_of_a_linear_critic_is_its_weight_norm_minus_one_squared():
    pe.manual_seed(0)
    critic = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 1))
    with pe.no_grad():
        critic[1].weight.mul_(3.0)
    gp = gan.gradient_penalty(critic, pe.randn(5, 1, 28, 28), pe.randn(5, 1, 28, 28))
    norm = float(np.linalg.norm(critic[1].weight.detach().numpy()))
    np.testing.assert_allclose(gp.item(), (norm - 1) ** 2, rtol=1e-5)
    gp.backward()  # through the double backward to the weights: d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    w = critic[1].weight.detach().numpy()
    np.testing.assert_allclose(critic[1].weight.grad.numpy(), 2 * (norm - 1) * w / norm, rtol=1e-4, atol=1e-7)


def test_quality_figures_on_known_probabilities():
    eye = np.eye(10)
    confident_all_classes = gan.quality(np.repeat(eye, 3, axis=0))
    assert confident_all_classes["score"] == pytest.approx(10)
    assert confident_all_classes["confidence"] == pytest.approx(1)
    assert list(confident_all_classes["histogram"]) == [3] * 10
    one_class = gan.quality(np.repeat(eye[[4]], 7, axis=0))  # mode collapse: the score's floor
    assert one_class["score"] == pytest.approx(1) and list(one_class["histogram"]) == [0] * 4 + [7] + [0] * 5
    unsure = gan.quality(np.full((6, 10), 0.1))
    assert unsure["score"] == pytest.approx(1) and unsure["confidence"] == pytest.approx(0.1)
    half = gan.quality(np.repeat(eye[:2], 5, axis=0))  # two classes, confidently: score 2
    assert half["score"] == pytest.approx(2)


def test_models_shapes_and_range():
    pe.manual_seed(0)
    G, D = gan.Generator(latent_dim=5, width=3), gan.Discriminator(width=3, norm="layer")
    images = G(pe.randn(4, 5))
    assert tuple(images.shape) == (4, 1, 28, 28)
    assert -1 <= float(images.min().item()) and float(images.max().item()) <= 1
    assert tuple(D(images).shape) == (4, 1)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D.modules())  # the penalty stays per sample
    assert tuple(gan.tile(images.detach().numpy(), 3).shape) == (2 * 29 + 1, 3 * 29 + 1)


@needs_data
def test_end_to_end_writes_pngs_after_the_figures_and_samples_change(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "gan"
    r = gan.main(TINY + ["--out", str(out)])
    assert list(r["models"]) == list(gan.MODELS)
    for name, m in r["models"].items():
        assert len(m["history"]) == 2 and m["samples"].shape == (300, 1, 28, 28)
        rows = m["epoch_samples"]
        assert len(rows) == 3 and all(row.shape == (5, 1, 28, 28) for row in rows)  # init + one per epoch
        for a, b in zip(rows, rows[1:]):
            assert np.abs(a - b).mean() > 1e-3, name  # the generator moved in every epoch
    assert r["models"]["dcgan"]["history"][-1]["d_loss"] < 2 * math.log(2)
    assert r["models"]["wgan-gp"]["history"][-1]["wasserstein"] > 0
    for f in r["quality"].values():
        assert 1 - 1e-9 <= f["score"] <= 10 and 0.1 <= f["confidence"] <= 1
    assert r["quality"]["dcgan"]["histogram"].sum() == 300 and r["quality"]["real test set"]["histogram"].sum() == 10000
    pngs = sorted(os.listdir(out))
    assert pngs == ["gan_class_histogram.png", "gan_dcgan_epochs.png", "gan_dcgan_samples.png",
                    "gan_wgan_gp_epochs.png", "gan_wgan_gp_samples.png"]
    assert all(os.path.getsize(out / p) > 5_000 for p in pngs)
    printed = capsys.readouterr().out
    assert printed.index("real test set") < printed.index("samples per epoch saved to")


@needs_data
def test_a_saved_classifier_is_loaded_by_the_next_run_and_no_matplotlib_costs_only_the_pngs(tmp_path, monkeypatch,
                                                                                            capsys):
    path = str(tmp_path / "classifier.safetensors")
    argv = TINY + ["--models", "dcgan", "--epochs", "1", "--classifier", path]
    first = gan.main(argv + ["--out", ""])
    assert os.path.exists(path) and f"classifier saved to {path}" in capsys.readouterr().out
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setattr(sys, "stderr", sys.stdout)
    second = gan.main(argv + ["--out", str(tmp_path / "out")])
    printed = capsys.readouterr().out
    assert f"classifier: loaded {path}" in printed
    assert second["classifier_test_acc"] == first["classifier_test_acc"]
    assert "warning: no plot" in printed and printed.index("real test set") < printed.index("warning: no plot")
    assert not any(name.endswith(".png") for name in os.listdir(tmp_path / "out"))


def test_a_classifier_of_another_shape_is_a_clean_exit(tmp_path, monkeypatch):
    path = str(tmp_path / "other.safetensors")
    pe.save(nn.Linear(3, 2).state_dict(), path)
    args = argparse.Namespace(classifier=path, classifier_width=2, classifier_convs=1, seed=0)
    with pytest.raises(SystemExit, match="not a state dict of pyengine-cnn's model"):
        gan.get_classifier(args, None, None, "cpu")


def _torch_models(torch, latent_dim, width, critic):
    """The example's networks as a PyTorch student writes them (same layer order, so the state
    dict keys and layouts must match pyengine's)."""
    tnn = torch.nn
    G = tnn.Sequential(tnn.Linear(latent_dim, 2 * width * 49, bias=False), tnn.Unflatten(1, (2 * width, 7, 7)),
                       tnn.BatchNorm2d(2 * width), tnn.ReLU(),
                       tnn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1, bias=False),
                       tnn.BatchNorm2d(width), tnn.ReLU(), tnn.ConvTranspose2d(width, 1, 4, stride=2, padding=1),
                       tnn.Tanh())
    norm = tnn.LayerNorm([2 * width, 7, 7]) if critic else tnn.BatchNorm2d(2 * width)
    D = tnn.Sequential(tnn.Conv2d(1, width, 4, stride=2, padding=1), tnn.LeakyReLU(0.2),
                       tnn.Conv2d(width, 2 * width, 4, stride=2, padding=1, bias=False), norm, tnn.LeakyReLU(0.2),
                       tnn.Flatten(), tnn.Linear(2 * width * 49, 1))
    return G, D


def _step(optimizer, loss):
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


@pytest.mark.parametrize("name", gan.MODELS)
def test_two_training_steps_match_the_same_steps_in_torch(name, monkeypatch):
    """The example's step (the DCGAN pair of steps; a WGAN-GP critic step with its generator step)
    against the same code in torch 2.13, from the same weights, noise and interpolation weights."""
    torch = pytest.importorskip("torch")
    pe.manual_seed(3)
    trainer = gan.TRAINERS[name](_args(latent_dim=6, width=3, n_critic=1), "cpu")
    G, D = _torch_models(torch, 6, 3, critic=name == "wgan-gp")
    G.load_state_dict({k.removeprefix("net."): torch.tensor(v.numpy()) for k, v in trainer.G.state_dict().items()})
    D.load_state_dict({k.removeprefix("net."): torch.tensor(v.numpy()) for k, v in trainer.D.state_dict().items()})
    betas = (0.5, 0.999) if name == "dcgan" else (0.0, 0.9)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=betas)
    rng = np.random.default_rng(0)
    for step in range(2):
        real = rng.uniform(-1, 1, (4, 1, 28, 28)).astype(np.float32)
        zs = [rng.standard_normal((4, 6)).astype(np.float32) for _ in range(2)]
        eps = rng.random((4, 1, 1, 1)).astype(np.float32)
        draws = iter(zs)
        monkeypatch.setattr(pe, "randn", lambda *shape, **kw: pe.tensor(next(draws)))
        monkeypatch.setattr(pe, "rand", lambda *shape, **kw: pe.tensor(eps))
        ours = trainer.step(pe.tensor(real), step)
        real_t, z1, z2 = torch.tensor(real), torch.tensor(zs[0]), torch.tensor(zs[1])
        if name == "dcgan":
            bce = torch.nn.BCEWithLogitsLoss()
            fake = G(z1)
            d_loss = bce(D(real_t), torch.ones(4, 1)) + bce(D(fake.detach()), torch.zeros(4, 1))
            _step(opt_d, d_loss)
            g_loss = bce(D(fake), torch.ones(4, 1))
        else:
            with torch.no_grad():
                fake = G(z1)
            x_hat = (torch.tensor(eps) * real_t + (1 - torch.tensor(eps)) * fake).requires_grad_(True)
            score = D(x_hat)
            grad, = torch.autograd.grad(score, x_hat, torch.ones_like(score), create_graph=True)
            gp = ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
            d_loss = D(fake).mean() - D(real_t).mean() + 10 * gp
            _step(opt_d, d_loss)
            g_loss = -D(G(z2)).mean()
        _step(opt_g, g_loss)
        np.testing.assert_allclose(ours["d_loss"], d_loss.item(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(ours["g_loss"], g_loss.item(), rtol=1e-4, atol=1e-5)
    for ours_sd, theirs in ((trainer.G.state_dict(), G.state_dict()), (trainer.D.state_dict(), D.state_dict())):
        for k, v in ours_sd.items():
            np.testing.assert_allclose(v.numpy(), theirs[k.removeprefix("net.")].numpy(), rtol=1e-3, atol=1e-5,
                                       err_msg=k)


@pytest.mark.parametrize("name", gan.MODELS)
def test_a_step_on_the_device_gives_the_cpus_losses(name, device, monkeypatch):
    """The same weights, batch, noise and interpolation weights: the same losses on `device`
    (the emulated GPU runs the CUDA kernels on the CPU)."""
    rng = np.random.default_rng(1)
    real = rng.uniform(-1, 1, (3, 1, 28, 28)).astype(np.float32)
    z, eps = rng.standard_normal((3, 5)).astype(np.float32), rng.random((3, 1, 1, 1)).astype(np.float32)
    monkeypatch.setattr(pe, "randn", lambda *shape, device=None, **kw: pe.tensor(z, device=device))
    monkeypatch.setattr(pe, "rand", lambda *shape, device=None, **kw: pe.tensor(eps, device=device))
    losses = {}
    for where in ("cpu", device):
        pe.manual_seed(2)
        trainer = gan.TRAINERS[name](_args(latent_dim=5, width=2, n_critic=1), where)
        assert all(p.device == pe.device(where) for p in trainer.G.parameters())
        losses[where] = [trainer.step(pe.tensor(real, device=where), i) for i in range(2)]
    for ours, cpu in zip(losses[device], losses["cpu"]):
        assert ours.keys() == cpu.keys()
        for k in cpu:
            np.testing.assert_allclose(ours[k], cpu[k], rtol=1e-4, atol=1e-5, err_msg=k)
