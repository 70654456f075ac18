"""Device plumbing, as in PyTorch: device objects, Tensor.to/.cuda/.cpu, creation with device=,
mixed-device errors (and the 0-d CPU scalar exception), Module.to, optimizer state on the
parameter's device, and checkpoints of CUDA tensors with map_location.

Tests taking the `device` fixture run on "cpu" and, when available, "cuda" (a real GPU, or the
emulated one of a PYENGINE_CUDA=EMU build); tests about two devices need CUDA."""
import copy
import pickle

import numpy as np
import pytest

import pyengine as pe
from pyengine import nn


CUDA = pe.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="needs a CUDA device (a GPU or the PYENGINE_CUDA=EMU build)")


def host(t):
    return t.detach().cpu().numpy()


# ---------------------------------------------------------------------------------------- device objects
def test_device_objects_parse_print_and_compare():
    d = pe.device("cuda:1")
    assert (d.type, d.index, str(d)) == ("cuda", 1, "cuda:1")
    assert repr(d) == "device(type='cuda', index=1)"
    assert pe.device("cuda", 1) == d == "cuda:1" and hash(pe.device(d)) == hash(d)
    assert pe.device("cpu").index is None and str(pe.device("cpu")) == "cpu"
    assert pe.device("cuda") == pe.device("cuda:0")
    assert pe.device("cpu") != pe.device("cuda")
    for bad in ("gpu", "cuda:x"):
        with pytest.raises(ValueError):
            pe.device(bad)
    x = pe.zeros(2)
    assert x.device == pe.device("cpu") and x.device.type == "cpu" and not x.is_cuda


# ---------------------------------------------------------------------------------------- Tensor.to
def test_tensor_to_device_and_back(device):
    x = pe.randn(3, 4)
    y = x.to(device)
    assert y.device == pe.device(device) and y.is_cuda == (device == "cuda")
    assert y.dtype == pe.float32 and y.shape == (3, 4)
    np.testing.assert_array_equal(host(y), host(x))
    np.testing.assert_array_equal(host(y.cpu()), host(x))
    assert y.to(device) is y and y.to(pe.device(device)) is y  # already there: no copy
    assert y.to(device, copy=True) is not y
    z = x.to(device, pe.float64)
    assert z.device == pe.device(device) and z.dtype == pe.float64
    z = x.to(dtype=pe.float64, device=pe.device(device))
    assert z.device == pe.device(device) and z.dtype == pe.float64
    like = pe.zeros(1, dtype=pe.int64, device=device)
    w = x.to(like)
    assert w.device == pe.device(device) and w.dtype == pe.int64
    assert x.cpu() is x


def test_to_copies_strided_views(device):
    base = pe.arange(24.0).reshape(4, 6)
    for view in (base.t(), base[1:, ::2], base[::2, 1:].t(), base[:, 2:3].expand(4, 5)):
        np.testing.assert_array_equal(host(view.to(device)), host(view))


@needs_cuda
def test_cuda_and_cpu_methods():
    x = pe.arange(5)
    for y in (x.cuda(), x.cuda(0), x.cuda("cuda:0"), x.cuda(pe.device("cuda")), x.to(0), x.cuda(non_blocking=True)):
        assert y.device == pe.device("cuda", 0) and y.dtype == pe.int64
        np.testing.assert_array_equal(y.cpu().numpy(), np.arange(5))
    assert str(x.cuda().device) == "cuda:0" and x.cuda().is_cuda


def test_to_is_differentiable_across_devices(device):
    x = pe.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x.to(device)
    (y * y).sum().backward()
    assert x.grad.device == pe.device("cpu")  # the gradient comes back to the leaf's device
    np.testing.assert_allclose(x.grad.numpy(), [2.0, -4.0, 6.0])


@needs_cuda
def test_cuda_tensor_to_numpy_needs_cpu_first():
    x = pe.tensor([[1.0, 2.0]], device="cuda")
    with pytest.raises(TypeError, match="cpu"):
        x.numpy()
    np.testing.assert_array_equal(np.asarray(x), [[1.0, 2.0]])
    assert x.tolist() == [[1.0, 2.0]] and x.sum().item() == 3.0 and float(x[0, 1]) == 2.0
    assert "device='cuda:0'" in repr(x)


@pytest.mark.skipif(CUDA, reason="checks the no-CUDA error; this build has a CUDA device")
def test_moving_to_cuda_without_cuda_raises_cleanly():
    x = pe.zeros(2)
    for move in (lambda: x.cuda(), lambda: x.to("cuda"), lambda: pe.zeros(2, device="cuda"),
                 lambda: nn.Linear(2, 2).cuda()):
        with pytest.raises(RuntimeError, match="(?i)cuda"):
            move()


# ---------------------------------------------------------------------------------------- creation
def test_creation_functions_honour_device(device):
    dev = pe.device(device)
    made = {
        "zeros": pe.zeros(2, 3, device=device), "ones": pe.ones((2, 3), device=dev),
        "full": pe.full((2, 3), 7.0, device=device), "empty": pe.empty(2, 3, device=device),
        "rand": pe.rand(2, 3, device=device), "randn": pe.randn(2, 3, device=device),
        "arange": pe.arange(6, device=device), "arange_f": pe.arange(0.0, 1.0, 0.25, device=device),
        "linspace": pe.linspace(0, 1, 5, device=device), "eye": pe.eye(3, 4, device=device),
        "randint": pe.randint(0, 5, (7,), device=device), "randperm": pe.randperm(6, device=device),
        "tensor": pe.tensor([[1, 2], [3, 4]], device=device),
        "as_tensor": pe.as_tensor(np.arange(3.0), device=device),
    }
    for name, t in made.items():
        assert t.device == dev, name
    np.testing.assert_array_equal(host(made["zeros"]), np.zeros((2, 3)))
    np.testing.assert_array_equal(host(made["ones"]), np.ones((2, 3)))
    np.testing.assert_array_equal(host(made["full"]), np.full((2, 3), 7.0))
    np.testing.assert_array_equal(host(made["arange"]), np.arange(6))
    np.testing.assert_array_equal(host(made["arange_f"]), [0, 0.25, 0.5, 0.75])
    np.testing.assert_allclose(host(made["linspace"]), np.linspace(0, 1, 5))
    np.testing.assert_array_equal(host(made["eye"]), np.eye(3, 4))
    np.testing.assert_array_equal(np.sort(host(made["randperm"])), np.arange(6))
    np.testing.assert_array_equal(host(made["tensor"]), [[1, 2], [3, 4]])
    r = host(made["rand"])
    assert ((0 <= r) & (r < 1)).all()
    k = host(made["randint"])
    assert ((0 <= k) & (k < 5)).all() and made["randint"].dtype == pe.int64

    x = made["randn"]
    for like in (pe.zeros_like(x), pe.ones_like(x), pe.full_like(x, 2), pe.empty_like(x), pe.rand_like(x),
                 pe.randn_like(x), x.new_zeros(2), x.new_ones(2), x.new_full((2,), 3.0), x.new_tensor([1.0])):
        assert like.device == dev  # *_like and new_* keep the device
    assert pe.zeros_like(x, device="cpu").device == pe.device("cpu")


@needs_cuda
def test_creation_accepts_an_int_device_index():
    assert pe.zeros(2, device=0).device == pe.device("cuda:0")
    assert pe.tensor([1.0], device=0).device == pe.device("cuda:0")


# ---------------------------------------------------------------------------------------- mixed devices
def _pair():
    return pe.arange(6.0, device="cuda").reshape(2, 3), pe.ones(2, 3)


def _raises_naming_both_devices():
    return pytest.raises(RuntimeError, match=r"(cuda:0.*cpu|cpu.*cuda:0)")


@needs_cuda
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "lt", "ge",
                                "logical_and"])
def test_mixed_device_binary_ops_raise_naming_both_devices(op):
    a, b = _pair()
    fn = getattr(pe, op)
    with _raises_naming_both_devices():
        fn(a, b)
    with _raises_naming_both_devices():
        fn(b, a)
    a.requires_grad_(True)  # the recording path checks too
    if op in ("add", "mul"):
        with _raises_naming_both_devices():
            fn(a, b)


@needs_cuda
def test_mixed_device_other_ops_raise_naming_both_devices():
    a, b = _pair()
    with _raises_naming_both_devices():
        a += b
    with _raises_naming_both_devices():
        a @ b.t()
    with _raises_naming_both_devices():
        pe.mm(b, a.t())
    with _raises_naming_both_devices():
        pe.bmm(a.unsqueeze(0), b.t().unsqueeze(0))
    with _raises_naming_both_devices():
        pe.where(a > 0, a, b)
    with _raises_naming_both_devices():
        pe.clamp(a, min=b)
    with _raises_naming_both_devices():
        nn.functional.mse_loss(a, b)
    with _raises_naming_both_devices():
        nn.functional.l1_loss(b, a)
    # a 0-d CUDA tensor is a device tensor: it does not join CPU tensors
    with _raises_naming_both_devices():
        b + pe.tensor(1.0, device="cuda")


@needs_cuda
def test_mixed_device_cat_and_losses_raise_naming_both_devices():
    a, b = _pair()
    pe.cat([a, a])  # (skips until cat has its CUDA kernel)
    with _raises_naming_both_devices():
        pe.cat([a, b])
    with _raises_naming_both_devices():
        pe.stack([b, a])
    target = pe.tensor([0, 2])
    nn.functional.cross_entropy(a, target.cuda())
    with _raises_naming_both_devices():
        nn.functional.cross_entropy(a, target)
    with _raises_naming_both_devices():
        nn.functional.nll_loss(a, target)


@needs_cuda
def test_cpu_scalar_tensor_joins_cuda_tensors_as_in_pytorch():
    a = pe.tensor([1.0, 2.0, 4.0], device="cuda")
    s = pe.tensor(2.0)  # 0-d, on the CPU
    for got, expected in ((a + s, [3, 4, 6]), (s * a, [2, 4, 8]), (a / s, [0.5, 1, 2]), (s - a, [1, 0, -2]),
                          (a ** s, [1, 4, 16]), (pe.maximum(a, s), [2, 2, 4]), (a > s, [False, False, True]),
                          (pe.clamp(a, s, pe.tensor(3.0)), [2, 2, 3])):
        assert got.device == pe.device("cuda")
        np.testing.assert_array_equal(host(got), expected)
    # in place into the CUDA tensor
    b = a.clone()
    b.mul_(s)
    np.testing.assert_array_equal(host(b), [2, 4, 8])
    # promotion as in PyTorch: a 0-d tensor's higher category wins, a lower one does not
    ints = pe.tensor([1, 2], device="cuda")
    assert (ints + pe.tensor(0.5, dtype=pe.float64)).dtype == pe.float64
    assert (a + pe.tensor(1.0, dtype=pe.float64)).dtype == pe.float32
    assert (a + pe.tensor(1)).dtype == pe.float32
    # 0-d on both devices: the CUDA one decides
    assert (pe.tensor(1.0, device="cuda") + pe.tensor(2.0)).device == pe.device("cuda")


@needs_cuda
def test_gradient_of_a_cpu_scalar_operand_comes_back_to_the_cpu():
    a = pe.tensor([1.0, 2.0, 4.0], device="cuda", requires_grad=True)
    s = pe.tensor(2.0, requires_grad=True)
    w = pe.tensor([1.0, 3.0], requires_grad=True)  # a CPU graph feeding the scalar
    k = (w * w).sum() * 0.1  # 1.0, computed on the CPU
    y = (a * s + s - a / s + a * k).sum()
    y.backward()
    assert s.grad.device == pe.device("cpu") and w.grad.device == pe.device("cpu")
    assert a.grad.device == pe.device("cuda")
    # dy/ds = sum(a + 1 + a / s^2) = 7 + 3 + 7/4; dy/da = s - 1/s + k; dy/dw = sum(a) * 0.2 * w
    np.testing.assert_allclose(s.grad.numpy(), 11.75)
    np.testing.assert_allclose(host(a.grad), [2.5] * 3)
    np.testing.assert_allclose(w.grad.numpy(), [1.4, 4.2], rtol=1e-6)


# ---------------------------------------------------------------------------------------- modules
def _mlp():
    pe.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.BatchNorm1d(4), nn.Linear(4, 2))


def test_module_to_moves_parameters_buffers_and_grads_in_place(device):
    model = _mlp()
    params = list(model.parameters())
    before = [host(p) for p in params]
    for p in params:
        p.grad = pe.ones_like(p)
    assert model.to(device) is model
    dev = pe.device(device)
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]  # the same Parameter objects
    for p, b in zip(params, before):
        assert isinstance(p, nn.Parameter) and p.requires_grad and p.is_leaf
        assert p.device == dev and p.grad.device == dev
        np.testing.assert_array_equal(host(p), b)
    for name, buf in model.named_buffers():
        assert buf.device == dev, name
    assert model[2].num_batches_tracked.dtype == pe.int64
    model.double()
    assert all(p.dtype == pe.float64 and p.grad.dtype == pe.float64 for p in params)
    assert model[2].running_mean.dtype == pe.float64 and model[2].num_batches_tracked.dtype == pe.int64
    model.cpu()
    assert all(p.device == pe.device("cpu") for p in params)
    assert all(b.device == pe.device("cpu") for b in model.buffers())


@needs_cuda
def test_module_to_accepts_every_device_spelling():
    for spelling in ("cuda", "cuda:0", pe.device("cuda"), 0):
        model = nn.Linear(2, 2)
        model.to(spelling)
        assert model.weight.device == pe.device("cuda:0"), spelling
    model = nn.Linear(2, 2).cuda(0)
    assert model.bias.device == pe.device("cuda:0")
    model.to(pe.zeros(1, dtype=pe.float64))  # to(tensor): its device and dtype
    assert model.weight.device == pe.device("cpu") and model.weight.dtype == pe.float64
    model.to("cuda", pe.float32)
    assert model.weight.device == pe.device("cuda:0") and model.weight.dtype == pe.float32


def test_module_forward_backward_on_device_matches_cpu(device):
    ref, model = _mlp()[:2], _mlp()[:2]  # Linear + ReLU: matmul, add, relu
    model.to(device)
    x = pe.randn(5, 3)
    y_ref, y = ref(x), model(x.to(device))
    assert y.device == pe.device(device)
    np.testing.assert_allclose(host(y), host(y_ref), rtol=1e-5, atol=1e-6)
    y_ref.sum().backward()
    y.sum().backward()
    for p_ref, p in zip(ref.parameters(), model.parameters()):
        assert p.grad.device == pe.device(device)
        np.testing.assert_allclose(host(p.grad), host(p_ref.grad), rtol=1e-5, atol=1e-6)


def test_lazy_module_materialises_where_it_was_moved(device):
    model = nn.LazyLinear(2).to(device)
    y = model(pe.ones(4, 3, device=device))
    assert model.weight.device == pe.device(device) and y.device == pe.device(device)
    assert model.weight.shape == (2, 3)


def test_summary_feeds_the_model_on_its_device(device):
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU()).to(device)
    s = nn.summary(model, (3,), print_summary=False)
    assert [r.output_shape for r in s.rows] == [[-1, 4], [-1, 4]]


def test_pickle_and_deepcopy_keep_the_device(device):
    x = pe.arange(4.0, device=device)
    y = pickle.loads(pickle.dumps(x))
    assert y.device == pe.device(device)
    np.testing.assert_array_equal(host(y), [0, 1, 2, 3])
    model = copy.deepcopy(nn.Linear(2, 2).to(device))
    assert model.weight.device == pe.device(device)


# ---------------------------------------------------------------------------------------- optimizers
OPTIMIZERS = {
    "sgd": lambda ps: pe.optim.SGD(ps, lr=0.1, momentum=0.9),
    "adam": lambda ps: pe.optim.Adam(ps, lr=0.01, amsgrad=True),
    "adamw": lambda ps: pe.optim.AdamW(ps, lr=0.01),
    "rmsprop": lambda ps: pe.optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
    "adagrad": lambda ps: pe.optim.Adagrad(ps, lr=0.1),
    "adadelta": lambda ps: pe.optim.Adadelta(ps),
}


def _state_tensors(opt):
    return [(k, v) for st in opt.state.values() for k, v in st.items() if isinstance(v, pe.Tensor)]


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_state_lives_on_the_parameter_device(name, device):
    ref = pe.tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True)
    p = nn.Parameter(ref.detach().to(device))
    opt_ref, opt = OPTIMIZERS[name]([ref]), OPTIMIZERS[name]([p])
    for step in range(2):
        g = pe.tensor([[0.1, -0.2], [0.3, 0.4]]) * (step + 1)
        ref.grad, p.grad = g, g.to(device)
        opt_ref.step()
        opt.step()
    states = _state_tensors(opt)
    assert states, "every optimizer here keeps a tensor state"
    for key, v in states:
        assert v.device == pe.device(device), key
    assert p.device == pe.device(device)
    np.testing.assert_allclose(host(p), host(ref), rtol=1e-6, atol=1e-7)


def test_optimizer_created_before_module_to_still_steps(device):
    ref, model = _mlp()[:2], _mlp()[:2]
    opt_ref = pe.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    opt = pe.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.to(device)  # after the optimizer was built: it holds the same Parameter objects
    x = pe.randn(5, 3)
    for _ in range(2):
        for m, o, xb in ((ref, opt_ref, x), (model, opt, x.to(device))):
            o.zero_grad()
            (m(xb) ** 2).mean().backward()
            o.step()
    for p_ref, p in zip(ref.parameters(), model.parameters()):
        assert p.device == pe.device(device)
        np.testing.assert_allclose(host(p), host(p_ref), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop"])
def test_optimizer_load_state_dict_moves_state_to_the_parameter_device(name, device):
    p_cpu = nn.Parameter(pe.tensor([1.0, 2.0, 3.0]))
    opt_cpu = OPTIMIZERS[name]([p_cpu])
    p_cpu.grad = pe.tensor([0.5, -1.0, 2.0])
    opt_cpu.step()
    saved = opt_cpu.state_dict()
    p = nn.Parameter(p_cpu.detach().to(device))
    opt = OPTIMIZERS[name]([p])
    opt.load_state_dict(saved)
    loaded = dict(_state_tensors(opt))
    assert set(loaded) == {k for k, _ in _state_tensors(opt_cpu)}
    for key, v in loaded.items():
        assert v.device == pe.device(device), key
        np.testing.assert_array_equal(host(v), host(opt_cpu.state[p_cpu][key]))
        assert v is not opt_cpu.state[p_cpu][key]


# ---------------------------------------------------------------------------------------- checkpoints
def test_map_location_on_a_cpu_checkpoint(tmp_path, device):
    path = str(tmp_path / "ck.safetensors")
    pe.save({"w": pe.arange(3.0), "n": [pe.ones(2, dtype=pe.int64)], "step": 4}, path)
    for ml in (device, pe.device(device), {"cpu": device}, lambda t, loc: t.to(device)):
        out = pe.load(path, map_location=ml)
        assert out["w"].device == pe.device(device) and out["n"][0].device == pe.device(device)
        assert out["step"] == 4
        np.testing.assert_array_equal(host(out["w"]), [0, 1, 2])
    out = pe.load(path, map_location=lambda t, loc: None)  # None: where it was saved (the CPU)
    assert out["w"].device == pe.device("cpu")
    with pytest.raises(TypeError, match="map_location"):
        pe.load(path, map_location=3.5)
    with pytest.raises(TypeError, match="map_location"):
        pe.load(path, map_location=lambda t, loc: "cuda")


@needs_cuda
def test_save_and_load_cuda_tensors(tmp_path):
    path = str(tmp_path / "ck.safetensors")
    w = pe.tensor([[1.0, 2.0], [3.0, 4.0]], device="cuda")
    b = pe.tensor([5.0, 6.0])
    pe.save({"w": w.t(), "b": b, "more": [w[0]], "lr": 0.1}, path)  # views are fine too
    plain = pe.load(path)  # by default everything comes back to the CPU
    assert plain["w"].device == plain["b"].device == plain["more"][0].device == pe.device("cpu")
    np.testing.assert_array_equal(plain["w"].numpy(), [[1, 3], [2, 4]])
    np.testing.assert_array_equal(plain["more"][0].numpy(), [1, 2])
    assert plain["lr"] == 0.1
    on_cuda = pe.load(path, map_location="cuda")
    assert all(t.device == pe.device("cuda:0") for t in (on_cuda["w"], on_cuda["b"], on_cuda["more"][0]))
    swapped = pe.load(path, map_location={"cuda:0": "cpu", "cpu": pe.device("cuda")})
    assert swapped["w"].device == pe.device("cpu") and swapped["b"].device == pe.device("cuda:0")
    where_saved = pe.load(path, map_location={})  # unmapped locations: where they were saved
    assert where_saved["w"].device == pe.device("cuda:0") and where_saved["b"].device == pe.device("cpu")
    seen = []
    pe.load(path, map_location=lambda t, loc: seen.append((loc, t.device)) or t)
    assert sorted(seen, key=str) == sorted([("cuda:0", pe.device("cpu")), ("cpu", pe.device("cpu")),
                                            ("cuda:0", pe.device("cpu"))], key=str)


def test_module_state_dict_through_a_file_onto_the_device(tmp_path, device):
    path = str(tmp_path / "model.safetensors")
    model = _mlp().to(device)
    pe.save(model.state_dict(), path)
    fresh = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.BatchNorm1d(4), nn.Linear(4, 2)).to(device)
    fresh.load_state_dict(pe.load(path, map_location=device))
    for (k, a), (_, b) in zip(model.state_dict().items(), fresh.state_dict().items()):
        assert b.device == pe.device(device), k
        np.testing.assert_array_equal(host(a), host(b))
    # a CPU checkpoint copied into a model on the device: the parameters stay where they are
    cpu_model = _mlp()
    fresh.load_state_dict(cpu_model.state_dict())
    for p, q in zip(fresh.parameters(), cpu_model.parameters()):
        assert p.device == pe.device(device)
        np.testing.assert_array_equal(host(p), host(q))
