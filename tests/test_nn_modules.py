"""nn layers and the Module API: registration, modes, state_dict, repr, summary, containers;
gradcheck for every layer/activation; differential tests against PyTorch CPU."""
from collections import OrderedDict

import numpy as np
import pytest

import pyengine as pe
from pyengine import nn
from pyengine.autograd import gradcheck, gradgradcheck
from pyengine.nn import functional as F

rng = np.random.default_rng(0)


def t64(*shape, grad=True, scale=1.0):
    return pe.tensor(rng.standard_normal(shape) * scale, dtype=pe.float64, requires_grad=grad)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(256, 128)
        self.fc3 = nn.Linear(128, 10)
        self.register_buffer("steps", pe.zeros(1))
        self.register_buffer("scratch", pe.zeros(2), persistent=False)

    def forward(self, x):
        return self.fc3(self.act(self.fc2(self.act(self.fc1(x)))))


# ---------------------------------------------------------------- Module API
def test_registration_and_iteration():
    m = MLP()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in m.parameters())
    assert [n for n, _ in m.named_buffers()] == ["steps", "scratch"]
    assert [n for n, _ in m.named_children()] == ["fc1", "act", "fc2", "fc3"]
    assert [n for n, _ in m.named_modules()] == ["", "fc1", "act", "fc2", "fc3"]
    assert len(list(m.modules())) == 5
    assert sum(p.numel() for p in m.parameters()) == 235146
    m.fc2 = None
    assert "fc2.weight" not in dict(m.named_parameters())
    with pytest.raises(TypeError, match="parameter 'weight'"):
        m.fc1.weight = pe.zeros(256, 784)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        m.nope


def test_shared_parameters_are_listed_once():
    lin = nn.Linear(3, 3)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_train_eval_apply_zero_grad_requires_grad():
    m = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    assert m.training and m[1].training
    m.eval()
    assert not m.training and not m[1].training
    m.train()
    assert m[1].training
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "Dropout", "Sequential"]
    m(pe.ones(1, 2)).sum().backward()
    assert m[0].weight.grad is not None
    m.zero_grad(set_to_none=False)
    assert m[0].weight.grad.abs().sum().item() == 0
    m.zero_grad()
    assert m[0].weight.grad is None
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_to_dtype_keeps_parameter_objects():
    m = MLP()
    w = m.fc1.weight
    m.to(pe.float64)
    assert m.fc1.weight is w and w.dtype == pe.float64 and m.steps.dtype == pe.float64
    assert m(pe.zeros(1, 784, dtype=pe.float64)).dtype == pe.float64
    m.float()
    assert w.dtype == pe.float32
    with pytest.raises(TypeError, match="floating"):
        m.to(pe.int64)


def test_state_dict_round_trip_missing_unexpected_and_shape_mismatch():
    a, b = MLP(), MLP()
    sd = a.state_dict()
    assert list(sd) == ["steps", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"]
    assert not sd["fc1.weight"].requires_grad
    res = b.load_state_dict(sd)
    assert res.missing_keys == [] and res.unexpected_keys == []
    np.testing.assert_array_equal(b.fc2.weight.detach().numpy(), a.fc2.weight.detach().numpy())
    partial = OrderedDict((k, v) for k, v in sd.items() if k != "fc3.bias")
    partial["extra"] = pe.zeros(1)
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "fc3.bias"'):
        b.load_state_dict(partial)
    res = b.load_state_dict(partial, strict=False)
    assert res == (["fc3.bias"], ["extra"])
    assert res.missing_keys == ["fc3.bias"]
    bad = dict(sd)
    bad["fc1.weight"] = pe.zeros(3, 784)
    before = b.fc2.weight.detach().numpy().copy()
    with pytest.raises(RuntimeError, match=r"fc1.weight.*\(3, 784\).*\(256, 784\)"):
        b.load_state_dict(bad, strict=False)
    np.testing.assert_array_equal(b.fc2.weight.detach().numpy(), before)  # nothing changed


def test_repr_matches_pytorch_layout():
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Sequential(nn.Dropout(0.2)))
    assert repr(m) == ("Sequential(\n  (0): Linear(in_features=3, out_features=4, bias=True)\n  (1): ReLU()\n"
                       "  (2): Sequential(\n    (0): Dropout(p=0.2, inplace=False)\n  )\n)")
    assert repr(nn.GELU()) == "GELU(approximate='none')"
    assert repr(nn.Softmax(1)) == "Softmax(dim=1)"
    assert repr(nn.Unflatten(1, (2, 3))) == "Unflatten(dim=1, unflattened_size=(2, 3))"
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"


def test_summary_reports_235146(capsys):
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    model.train()
    s = nn.summary(model, (1, 28, 28))
    out = capsys.readouterr().out
    assert "Total params: 235,146" in out and "Trainable params: 235,146" in out
    assert s.total_params == 235146
    assert [r.output_shape for r in s.rows] == [[-1, 784], [-1, 256], [-1, 256], [-1, 128], [-1, 128], [-1, 10]]
    assert [r.params for r in s.rows] == [0, 200960, 0, 32896, 0, 1290]
    assert "200,960" in out
    assert model.training  # mode restored
    model[1].weight.requires_grad_(False)
    s = nn.summary(model, (784,), print_summary=False)
    assert s.trainable_params == 235146 - 200704 and s.non_trainable_params == 200704


def test_forward_hooks():
    lin = nn.Linear(2, 2)
    h = lin.register_forward_hook(lambda mod, inp, out: out * 0.0)
    assert lin(pe.ones(1, 2)).abs().sum().item() == 0.0
    h.remove()
    assert lin(pe.ones(1, 2)).abs().sum().item() != 0.0


# ---------------------------------------------------------------- containers
def test_sequential_indexing_slicing_ordereddict():
    seq = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 3)), ("act", nn.Tanh()), ("out", nn.Linear(3, 1))]))
    assert len(seq) == 3 and isinstance(seq[1], nn.Tanh) and seq[-1] is seq.out
    assert list(seq.state_dict()) == ["fc.weight", "fc.bias", "out.weight", "out.bias"]
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2
    assert tuple(seq(pe.ones(4, 2)).shape) == (4, 1)
    with pytest.raises(IndexError, match="index 3 is out of range"):
        seq[3]
    seq.append(nn.Sigmoid())
    assert len(seq) == 4


def test_modulelist_and_moduledict():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    ml.append(nn.ReLU())
    ml.insert(0, nn.Identity())
    assert len(ml) == 5 and isinstance(ml[0], nn.Identity)
    assert [n for n, _ in ml.named_parameters()][:2] == ["1.weight", "1.bias"]
    md = nn.ModuleDict({"a": nn.Linear(2, 2), "b": nn.ReLU()})
    assert "a" in md and list(md.keys()) == ["a", "b"] and len(md) == 2
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias"]


def test_flatten_unflatten_identity():
    x = pe.arange(24.0).reshape(2, 3, 4)
    assert tuple(nn.Flatten()(x).shape) == (2, 12)
    assert tuple(nn.Flatten(0, 1)(x).shape) == (6, 4)
    assert tuple(nn.Unflatten(1, (3, 4))(nn.Flatten()(x)).shape) == (2, 3, 4)
    assert nn.Identity(54, unused="x")(x) is x


# ---------------------------------------------------------------- Linear, LazyLinear, Dropout
def test_linear_layout_init_bounds_and_forward():
    pe.manual_seed(0)
    lin = nn.Linear(20, 7)
    assert tuple(lin.weight.shape) == (7, 20) and tuple(lin.bias.shape) == (7,)
    bound = 1 / np.sqrt(20)
    assert np.abs(lin.weight.detach().numpy()).max() <= bound and np.abs(lin.bias.detach().numpy()).max() <= bound
    x = rng.standard_normal((5, 20)).astype(np.float32)
    ref = x @ lin.weight.detach().numpy().T + lin.bias.detach().numpy()
    np.testing.assert_allclose(lin(pe.tensor(x)).detach().numpy(), ref, rtol=1e-5, atol=1e-5)
    x3 = rng.standard_normal((2, 3, 20)).astype(np.float32)
    np.testing.assert_allclose(lin(pe.tensor(x3)).detach().numpy(), x3 @ lin.weight.detach().numpy().T +
                               lin.bias.detach().numpy(), rtol=1e-5, atol=1e-5)
    assert tuple(nn.Linear(20, 7, bias=False)(pe.tensor(x)).shape) == (5, 7)
    assert tuple(lin(pe.zeros(0, 20)).shape) == (0, 7)
    with pytest.raises(RuntimeError, match=r"input has 3 features.*expects 20"):
        lin(pe.zeros(2, 3))


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("in_shape", [(4, 3), (2, 2, 3), (3,)])
def test_linear_gradcheck(bias, in_shape):
    w, b = t64(5, 3), (t64(5) if bias else None)
    x = t64(*in_shape)
    assert gradcheck(lambda x, w, *b: F.linear(x, w, *b), (x, w) + ((b,) if bias else ()))
    assert gradgradcheck(lambda x, w: F.linear(x, w), (t64(2, 3), t64(4, 3)))


def test_lazy_linear_infers_in_features():
    pe.manual_seed(1)
    lazy = nn.LazyLinear(4)
    params = list(lazy.parameters())
    y = lazy(pe.ones(3, 6))
    assert tuple(y.shape) == (3, 4) and type(lazy) is nn.Linear and lazy.in_features == 6
    assert lazy.weight is params[0] and tuple(lazy.weight.shape) == (4, 6)  # same objects, materialised
    assert "in_features=6" in repr(lazy)


def test_dropout_inverted_scaling_eval_identity_and_seed():
    x = pe.ones(200, 100)
    d = nn.Dropout(0.3)
    pe.manual_seed(5)
    y = d(x).numpy()
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    assert abs(kept.mean() - 0.7) < 0.02
    pe.manual_seed(5)
    np.testing.assert_array_equal(d(x).numpy(), y)
    d.eval()
    assert d(x) is x
    assert (nn.Dropout(1.0)(x).numpy() == 0).all()
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        nn.Dropout(1.5)
    xg = t64(4, 5)
    pe.manual_seed(3)
    out = F.dropout(xg, 0.4)
    out.backward(pe.ones_like(out))
    np.testing.assert_allclose(xg.grad.numpy(), (out.detach().numpy() != 0) / 0.6)


# ---------------------------------------------------------------- activations
ACTIVATIONS = [
    ("relu", lambda x: F.relu(x)),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2)),
    ("elu", lambda x: F.elu(x, 1.5)),
    ("gelu", lambda x: F.gelu(x)),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh")),
    ("sigmoid", lambda x: F.sigmoid(x)),
    ("tanh", lambda x: F.tanh(x)),
    ("softplus", lambda x: F.softplus(x)),
    ("softplus_beta_threshold", lambda x: F.softplus(x, beta=2.0, threshold=1.0)),
    ("silu", lambda x: F.silu(x)),
    ("threshold", lambda x: F.threshold(x, 0.1, -2.0)),
    ("softmax0", lambda x: F.softmax(x, 0)),
    ("softmax1", lambda x: F.softmax(x, 1)),
    ("log_softmax0", lambda x: F.log_softmax(x, 0)),
    ("log_softmax-1", lambda x: F.log_softmax(x, -1)),
]


@pytest.mark.parametrize("name,fn", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_gradcheck(name, fn):
    x = t64(3, 4, scale=2.0)
    x.data.numpy().reshape(-1)[np.abs(x.detach().numpy().reshape(-1)) < 1e-3] = 0.5  # away from kinks
    assert gradcheck(fn, (x,))
    if name not in ("relu", "threshold"):
        assert gradgradcheck(fn, (x,))


def test_softmax_on_strided_input_gradcheck():
    x = t64(4, 3)
    assert gradcheck(lambda x: F.log_softmax(x.t(), 1), (x,))
    assert gradcheck(lambda x: F.softmax(x[:, ::2], 0), (x,))


def test_activation_modules_and_inplace():
    x = pe.tensor([-2.0, -0.5, 0.5, 2.0])
    np.testing.assert_allclose(nn.ReLU()(x).numpy(), [0, 0, 0.5, 2])
    np.testing.assert_allclose(nn.LeakyReLU()(x).numpy(), [-0.02, -0.005, 0.5, 2], rtol=1e-6)
    np.testing.assert_allclose(nn.Threshold(0.0, 7.0)(x).numpy(), [7, 7, 0.5, 2])
    np.testing.assert_allclose(nn.Softmax(0)(x).numpy().sum(), 1.0, rtol=1e-6)
    y = x.clone()
    F.elu(y, inplace=True)
    np.testing.assert_allclose(y.numpy(), np.where(x.numpy() > 0, x.numpy(), np.expm1(x.numpy())), rtol=1e-6)
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")
    with pytest.raises(TypeError, match="floating"):
        F.gelu(pe.tensor([1, 2]))


def test_softplus_large_inputs_do_not_overflow():
    x = pe.tensor([-1000.0, 0.0, 15.0, 1000.0], dtype=pe.float64)
    np.testing.assert_allclose(F.softplus(x, threshold=float("inf")).numpy(), [0.0, np.log(2), np.log1p(np.exp(15)),
                                                                               1000.0])


# ---------------------------------------------------------------- differential tests against PyTorch
def _torch():
    return pytest.importorskip("torch")


TORCH_ACTS = [
    (lambda: nn.ReLU(), "ReLU()"), (lambda: nn.LeakyReLU(0.1), "LeakyReLU(0.1)"), (lambda: nn.ELU(0.7), "ELU(0.7)"),
    (lambda: nn.GELU(), "GELU()"), (lambda: nn.GELU("tanh"), "GELU('tanh')"), (lambda: nn.Sigmoid(), "Sigmoid()"),
    (lambda: nn.Tanh(), "Tanh()"), (lambda: nn.Softmax(1), "Softmax(1)"), (lambda: nn.LogSoftmax(0), "LogSoftmax(0)"),
    (lambda: nn.Softplus(2.0, 3.0), "Softplus(2.0, 3.0)"), (lambda: nn.SiLU(), "SiLU()"),
    (lambda: nn.Threshold(0.2, -1.0), "Threshold(0.2, -1.0)"),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("make,torch_expr", TORCH_ACTS, ids=[a[1] for a in TORCH_ACTS])
def test_activations_match_torch(make, torch_expr, dtype):
    torch = _torch()
    x = (rng.standard_normal((6, 5)) * 3).astype(dtype)
    g = rng.standard_normal((6, 5)).astype(dtype)
    xp = pe.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yp, yt = make()(xp), eval("torch.nn." + torch_expr)(xt)
    yp.backward(pe.tensor(g))
    yt.backward(torch.tensor(g))
    rtol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(yp.detach().numpy(), yt.detach().numpy(), rtol=rtol, atol=rtol)
    np.testing.assert_allclose(xp.grad.numpy(), xt.grad.numpy(), rtol=rtol, atol=rtol)


def test_linear_matches_torch_and_state_dict_loads_into_torch():
    torch = _torch()
    pm = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Dropout(0.1), nn.Linear(5, 3))
    tm = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Dropout(0.1), torch.nn.Linear(5, 3))
    sd = pm.state_dict()
    assert list(sd) == list(tm.state_dict())
    tm.load_state_dict({k: torch.tensor(v.numpy()) for k, v in sd.items()})
    pm.eval(), tm.eval()
    x = rng.standard_normal((4, 6)).astype(np.float32)
    xp, xt = pe.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yp, yt = pm(xp), tm(xt)
    np.testing.assert_allclose(yp.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    yp.square().sum().backward()
    yt.square().sum().backward()
    np.testing.assert_allclose(xp.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-6)
    for (n, p), (_, q) in zip(pm.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-6, err_msg=n)
    # and back: a PyTorch state dict loads into the pyengine model
    pm2 = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Dropout(0.1), nn.Linear(5, 3))
    pm2.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    pm2.eval()
    np.testing.assert_allclose(pm2(pe.tensor(x)).detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_dropout_gradcheck_with_a_fixed_mask():
    def fn(x):
        pe.manual_seed(7)  # the same mask on every evaluation
        return F.dropout(x, 0.3)
    assert gradcheck(fn, (t64(4, 6),))


def test_deepcopy_and_pickle_keep_parameters():
    import copy
    import pickle
    m = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    for clone in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        w = clone[0].weight
        assert isinstance(w, nn.Parameter) and w.requires_grad and w is not m[0].weight
        np.testing.assert_array_equal(w.detach().numpy(), m[0].weight.detach().numpy())
    assert repr(m[0].weight).startswith("Parameter containing:\ntensor(")


def test_container_mutation_and_lookup_helpers():
    seq = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    del seq[1]
    assert len(seq) == 2 and list(seq._modules) == ["0", "1"] and isinstance(seq[1], nn.Linear)
    seq[0] = nn.Identity()
    assert isinstance(seq[0], nn.Identity)
    ml = nn.ModuleList([nn.ReLU(), nn.Tanh(), nn.Sigmoid()])
    del ml[0]
    ml[1] = nn.ELU()
    assert [type(m).__name__ for m in ml] == ["Tanh", "ELU"]
    md = nn.ModuleDict({"a": nn.ReLU()})
    md["b"] = nn.Linear(1, 1)
    assert isinstance(md.pop("a"), nn.ReLU) and list(md) == ["b"]
    outer = nn.Sequential(OrderedDict(block=nn.Sequential(nn.Linear(3, 4))))
    assert outer.get_submodule("block.0") is outer.block[0]
    assert outer.get_parameter("block.0.bias") is outer.block[0].bias
    with pytest.raises(AttributeError, match="has no attribute `nope`"):
        outer.get_submodule("block.nope")
    with pytest.raises(KeyError, match="buffer name can"):
        outer.register_buffer("a.b", pe.zeros(1))
    with pytest.raises(TypeError, match="Module subclass"):
        outer.add_module("x", 3)
