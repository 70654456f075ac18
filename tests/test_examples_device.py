"""The examples' --device option end to end: the same tiny networks, from the same initial weights
and the same batches, train to the same losses on the CPU and on CUDA (a GPU, or the emulated one
of a PYENGINE_CUDA=EMU build). Tiny shapes: on the emulator every kernel runs on CPU threads."""
import copy

import numpy as np
import pytest

import pyengine as pe
from pyengine import nn
from pyengine.data import DataLoader, TensorDataset
from pyengine.examples import _training, cnn, mlp, resnet


needs_cuda = pytest.mark.skipif(not pe.cuda.is_available(),
                                reason="needs a CUDA device (a GPU or the PYENGINE_CUDA=EMU build)")

LR, STEPS = 0.1, 3


def images(n, shape, seed=0):
    """n generated images (standard normal pixels) and labels 0..9."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, *shape)).astype(np.float32)
    y = rng.integers(0, 10, n)
    return pe.tensor(x), pe.tensor(y)


def tiny_mlp():
    pe.manual_seed(0)
    return nn.Sequential(nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))


def tiny_cnn():
    pe.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(4 * 6 * 6, 10))


def mse_to_one_hot(out, y):
    # (one_hot on the host: the test is about training, not the indexing kernels)
    return nn.functional.mse_loss(out, nn.functional.one_hot(y.cpu(), 10).float().to(out.device))


def manual_sgd(params):
    """p <- p - lr * grad with elementwise ops only (no optimizer kernel)."""
    class Step:
        def zero_grad(self):
            for p in params:
                p.grad = None

        def step(self):
            with pe.no_grad():
                for p in params:
                    p.sub_(p.grad * LR)
    return Step()


def train(model, device, x, y, loss_fn, make_optimizer):
    """STEPS steps on consecutive batches; returns the losses and the final parameters (on the host)."""
    model = copy.deepcopy(model).to(device)  # the same initial weights on every device
    optimizer = make_optimizer(list(model.parameters()))
    batch = len(x) // STEPS
    losses = []
    for i in range(STEPS):
        xb, yb = x[i * batch:(i + 1) * batch].to(device), y[i * batch:(i + 1) * batch].to(device)
        loss = loss_fn(model(xb), yb)
        assert loss.device == pe.device(device)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, [p.detach().cpu().numpy() for p in model.parameters()]


def assert_same_training(model, x, y, loss_fn, make_optimizer):
    cpu_losses, cpu_params = train(model, "cpu", x, y, loss_fn, make_optimizer)
    cuda_losses, cuda_params = train(model, "cuda", x, y, loss_fn, make_optimizer)
    assert cpu_losses[-1] < cpu_losses[0] or len(set(cpu_losses)) > 1  # it did train
    np.testing.assert_allclose(cuda_losses, cpu_losses, rtol=1e-4, atol=1e-6)
    for c, g in zip(cpu_params, cuda_params):
        np.testing.assert_allclose(g, c, rtol=1e-4, atol=1e-5)


@needs_cuda
@pytest.mark.parametrize("loss_fn,make_optimizer", [
    (mse_to_one_hot, manual_sgd),  # matmul, add, relu, sub, square, mean: runs today
    (nn.functional.cross_entropy, lambda ps: pe.optim.SGD(ps, lr=LR)),
    (nn.functional.cross_entropy, lambda ps: pe.optim.SGD(ps, lr=LR, momentum=0.9)),
], ids=["mse-manual_sgd", "cross_entropy-sgd", "cross_entropy-sgd_momentum"])
def test_tiny_mlp_trains_the_same_on_cpu_and_cuda(loss_fn, make_optimizer):
    x, y = images(64, (784,))
    assert_same_training(tiny_mlp(), x, y, loss_fn, make_optimizer)


@needs_cuda
def test_tiny_cnn_trains_the_same_on_cpu_and_cuda():
    # conv, batch norm (training statistics), relu, max pool, linear, cross-entropy, SGD
    x, y = images(24, (1, 12, 12))
    assert_same_training(tiny_cnn(), x, y, nn.functional.cross_entropy,
                         lambda ps: pe.optim.SGD(ps, lr=LR, momentum=0.9))


@needs_cuda
def test_example_epoch_loop_moves_batches_to_the_device():
    # the examples' own loop (run_epoch: train, then evaluate) with device="cuda" against the CPU
    x, y = images(48, (784,), seed=1)
    loader = DataLoader(TensorDataset(x, y), batch_size=16)
    results = {}
    for device in ("cpu", "cuda"):
        model = tiny_mlp().to(device)
        optimizer = pe.optim.SGD(model.parameters(), lr=LR)
        train_stats = _training.run_epoch(model, loader, nn.CrossEntropyLoss(), optimizer, device=device)
        eval_stats = _training.run_epoch(model, loader, nn.CrossEntropyLoss(), device=device)
        results[device] = train_stats + eval_stats
    np.testing.assert_allclose(results["cuda"], results["cpu"], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("example", [mlp, cnn, resnet], ids=["mlp", "cnn", "resnet"])
def test_examples_reject_an_unusable_device_before_loading_data(example, monkeypatch):
    def no_data(*args, **kwargs):
        raise AssertionError("the device is checked before any data is loaded")
    monkeypatch.setattr(example, "image_loaders" if hasattr(example, "image_loaders") else "load", no_data)
    with pytest.raises(SystemExit, match="--device"):
        example.main(["--device", "tpu"])
    if not pe.cuda.is_available():
        with pytest.raises(SystemExit, match="CUDA"):
            example.main(["--device", "cuda"])


def test_resolve_device():
    assert _training.resolve_device("cpu") == pe.device("cpu")
    if pe.cuda.is_available():
        assert _training.resolve_device("cuda") == pe.device("cuda:0")
        assert "cuda:0" in _training.device_note(pe.device("cuda"))
    assert "threads" in _training.device_note(pe.device("cpu"))
