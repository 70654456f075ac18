"""KLDivLoss, PoissonNLLLoss, GaussianNLLLoss, CosineEmbeddingLoss, MarginRankingLoss, HingeEmbeddingLoss,
SoftMarginLoss, TripletMarginLoss, MultiLabelSoftMarginLoss, MultiMarginLoss, CosineSimilarity,
PairwiseDistance and F.normalize against torch 2.13: values and gradients of every tensor argument
for every reduction and option (float32 and float64), gradcheck in float64, device parity, modules
and the errors."""
import warnings

import numpy as np
import pytest

import pyengine as pe
import pyengine.nn as nn
import pyengine.nn.functional as F
from device_gradcheck import gradcheck_on

torch = pytest.importorskip("torch")
TF = torch.nn.functional

RNG = np.random.default_rng(0)
X = RNG.normal(size=(4, 5))
X2 = RNG.normal(size=(4, 5))
X3 = RNG.normal(size=(4, 5))
U = RNG.uniform(0.05, 1.0, size=(4, 5))
SIGNS = np.array([1.0, -1.0, -1.0, 1.0])
LABELS = (RNG.uniform(size=(4, 5)) > 0.5).astype(np.float64)
CLASSES = np.array([0, 3, 4, 1])


def _case(name, args, kw=None, diff=None):
    """args: NumPy arrays (float ones become tensors, `diff` lists which of them require grad) or
    other values passed as they are."""
    return name, args, kw or {}, diff


CASES = []
for red in ("none", "mean", "sum", "batchmean"):
    CASES += [_case("kl_div", [X, U], {"reduction": red}, [0, 1]),
              _case("kl_div", [X, X2], {"reduction": red, "log_target": True}, [0, 1])]
# 0 * log 0 = 0; the target's gradient there (-inf in theory) is NaN in PyTorch, finite here: not compared
CASES.append(_case("kl_div", [X, np.where(U > 0.5, U, 0.0)], {"reduction": "sum"}, [0]))
for red in ("none", "mean", "sum"):
    CASES += [
        _case("poisson_nll_loss", [X, 5 * U], {"reduction": red}, [0, 1]),
        _case("poisson_nll_loss", [U, 5 * U], {"reduction": red, "log_input": False, "full": True}, [0]),
        _case("poisson_nll_loss", [X, 5 * U], {"reduction": red, "full": True, "eps": 1e-3}, [0]),
        _case("gaussian_nll_loss", [X, X2, U], {"reduction": red}, [0, 1, 2]),
        _case("gaussian_nll_loss", [X, X2, U[:, 0]], {"reduction": red, "full": True}, [0, 1, 2]),
        _case("gaussian_nll_loss", [X, X2, U[:, :1]], {"reduction": red}, [0, 1, 2]),
        _case("gaussian_nll_loss", [X, X2, U[:1, :]], {"reduction": red, "eps": 0.3}, [0, 1, 2]),
        _case("cosine_embedding_loss", [X, X2, SIGNS], {"reduction": red, "margin": 0.2}, [0, 1]),
        _case("cosine_embedding_loss", [X[0], X2[0], np.array(-1.0)], {"reduction": red, "margin": -0.5}, [0, 1]),
        _case("margin_ranking_loss", [X[:, 0], X2[:, 0], SIGNS], {"reduction": red, "margin": 0.3}, [0, 1, 2]),
        _case("hinge_embedding_loss", [X, np.sign(X2)], {"reduction": red, "margin": 0.5}, [0]),
        _case("soft_margin_loss", [X, np.sign(X2)], {"reduction": red}, [0]),
        _case("triplet_margin_loss", [X, X2, X3], {"reduction": red}, [0, 1, 2]),
        _case("triplet_margin_loss", [X, X2, X3], {"reduction": red, "p": 1, "swap": True, "margin": 2.0},
              [0, 1, 2]),
        _case("triplet_margin_loss", [X[0], X2[0], X3[0]], {"reduction": red, "p": 3, "eps": 1e-3}, [0, 1, 2]),
        _case("multilabel_soft_margin_loss", [X, LABELS], {"reduction": red}, [0, 1]),
        _case("multilabel_soft_margin_loss", [X, LABELS, U[0]], {"reduction": red}, [0, 1, 2]),
        _case("multi_margin_loss", [X, CLASSES], {"reduction": red}, [0]),
        _case("multi_margin_loss", [X, CLASSES], {"reduction": red, "p": 2, "margin": 0.7, "weight": U[0]}, [0]),
        _case("multi_margin_loss", [X[1], CLASSES[1:2]], {"reduction": red}, [0]),
    ]
CASES += [
    _case("cosine_similarity", [X, X2], {}, [0, 1]),
    _case("cosine_similarity", [X, X2[:1]], {"dim": -1, "eps": 1e-3}, [0, 1]),  # broadcast
    _case("cosine_similarity", [X, X2], {"dim": 0}, [0, 1]),
    _case("pairwise_distance", [X, X2], {}, [0, 1]),
    _case("pairwise_distance", [X, X2[0]], {"p": 1.0, "keepdim": True}, [0, 1]),
    _case("pairwise_distance", [X, X2], {"p": 3.5, "eps": 0.0}, [0, 1]),
    _case("pairwise_distance", [X, X2], {"p": float("inf")}, [0, 1]),
    _case("normalize", [X], {}, [0]),
    _case("normalize", [X], {"p": 1.0, "dim": 0}, [0]),
    _case("normalize", [X], {"p": 3.0, "dim": -1, "eps": 0.5}, [0]),
]


def _ids(cases):
    def opt(k, v):
        return f"{k}={v}" if np.isscalar(v) else f"{k}=T"
    return [f"{i}-{c[0]}-" + "-".join(opt(k, v) for k, v in c[2].items()) for i, c in enumerate(cases)]


def _make(lib, a, dtype, grad, device="cpu"):
    if isinstance(a, np.ndarray):
        if a.dtype.kind == "f":
            if lib is pe:
                return pe.tensor(a, dtype=dtype, device=device, requires_grad=grad)
            return torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=grad)
        return lib.tensor(a) if lib is torch else pe.tensor(a, device=device)
    return a


def _run(lib, fn, args, kw, diff, dtype, device="cpu"):
    ts = [_make(lib, a, dtype, i in (diff or []), device) for i, a in enumerate(args)]
    kw = {k: _make(lib, v, dtype, False, device) for k, v in kw.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fn(*ts, **kw)
    out.sum().backward()
    grads = [ts[i].grad for i in (diff or [])]
    return out, grads


def _np(t):
    return t.detach().cpu().numpy() if hasattr(t, "cpu") else t.detach().numpy()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,args,kw,diff", CASES, ids=_ids(CASES))
def test_functional_matches_torch(name, args, kw, diff, dtype):
    ours, our_grads = _run(pe, getattr(F, name), args, kw, diff, dtype)
    theirs, their_grads = _run(torch, getattr(TF, name), args, kw, diff, dtype)
    tol = 2e-5 if dtype == "float32" else 1e-11
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_allclose(_np(ours), _np(theirs), rtol=tol, atol=tol)
    for g, h in zip(our_grads, their_grads):
        assert (g is None) == (h is None)
        if g is not None:
            np.testing.assert_allclose(_np(g), _np(h), rtol=tol, atol=tol)


# gaussian_nll_loss's clamp of var to eps changes the value only (PyTorch's no_grad clamp), so its
# gradient is not the finite difference where var < eps: those cases are left out here.
GRAD_CASES = [c for c in CASES[::3] if not (c[0] == "gaussian_nll_loss" and "eps" in c[2])]


@pytest.mark.parametrize("name,args,kw,diff", GRAD_CASES, ids=_ids(GRAD_CASES))
def test_gradcheck(name, args, kw, diff):
    kw = {k: pe.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    fixed = [pe.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
    tensors = [pe.tensor(args[i], requires_grad=True) for i in diff]

    def fn(*ts):
        full = list(fixed)
        for i, t in zip(diff, ts):
            full[i] = t
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return getattr(F, name)(*full, **kw)
    assert pe.autograd.gradcheck(fn, tensors)


DEVICE_CASES = [c for c in CASES if c[2].get("reduction", "sum") == "sum" or "reduction" not in c[2]][::2]


@pytest.mark.parametrize("name,args,kw,diff", DEVICE_CASES, ids=_ids(DEVICE_CASES))
def test_device_parity(device, name, args, kw, diff):
    ours, our_grads = _run(pe, getattr(F, name), args, kw, diff, "float64", device)
    assert ours.device.type == device
    ref, ref_grads = _run(pe, getattr(F, name), args, kw, diff, "float64")
    np.testing.assert_allclose(_np(ours), _np(ref), rtol=1e-10, atol=1e-12)
    for g, h in zip(our_grads, ref_grads):
        np.testing.assert_allclose(_np(g), _np(h), rtol=1e-10, atol=1e-12)
    if diff:
        i = diff[0]
        fixed = [pe.tensor(a, device=device) if isinstance(a, np.ndarray) else a for a in args]
        kwd = {k: pe.tensor(v, device=device) if isinstance(v, np.ndarray) else v for k, v in kw.items()}

        def fn(t):
            full = list(fixed)
            full[i] = t
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return getattr(F, name)(*full, **kwd)
        gradcheck_on(device, fn, args[i])


def test_kl_div_mean_warns_like_torch_and_batchmean_of_scalar():
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        F.kl_div(pe.tensor(X), pe.tensor(U))
    x, t = np.array(-0.5), np.array(0.3)
    np.testing.assert_allclose(F.kl_div(pe.tensor(x), pe.tensor(t), reduction="batchmean").numpy(),
                               TF.kl_div(torch.tensor(x), torch.tensor(t), reduction="batchmean").numpy())


def test_gaussian_nll_float_var_and_clamped_var_gradient():
    ours = F.gaussian_nll_loss(pe.tensor(X), pe.tensor(X2), 0.5)
    theirs = TF.gaussian_nll_loss(torch.tensor(X), torch.tensor(X2), 0.5)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    # var below eps: the value uses eps, the gradient passes through the clamp (PyTorch's no_grad clamp)
    v = np.full((4, 5), 1e-9)
    a, b = pe.tensor(v, requires_grad=True), torch.tensor(v, requires_grad=True)
    F.gaussian_nll_loss(pe.tensor(X), pe.tensor(X2), a).backward()
    TF.gaussian_nll_loss(torch.tensor(X), torch.tensor(X2), b).backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10)


def test_cosine_similarity_of_zero_vectors_and_integers():
    z = np.zeros((2, 3))
    np.testing.assert_array_equal(F.cosine_similarity(pe.tensor(z), pe.tensor(X[:2, :3])).numpy(),
                                  TF.cosine_similarity(torch.tensor(z), torch.tensor(X[:2, :3])).numpy())
    ai, bi = [[1, 2, 3]], [[2, 0, 1]]
    with pytest.raises(RuntimeError, match="expected common dtype to be floating point"):
        TF.cosine_similarity(torch.tensor(ai), torch.tensor(bi))
    with pytest.raises(RuntimeError, match="expected common dtype to be floating point, yet common dtype is pyengine.int64"):
        F.cosine_similarity(pe.tensor(ai), pe.tensor(bi))


def test_normalize_out_and_zero_rows():
    x = np.vstack([X[:2], np.zeros((1, 5))])
    out = pe.empty(3, 5, dtype=pe.float64)
    assert F.normalize(pe.tensor(x), out=out) is out
    np.testing.assert_allclose(out.numpy(), TF.normalize(torch.tensor(x)).numpy(), rtol=1e-12)
    a, b = pe.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    F.normalize(a).sum().backward()
    TF.normalize(b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10)


MODULES = [
    ("KLDivLoss", {"reduction": "batchmean", "log_target": True}, [X, X2]),
    ("KLDivLoss", {"reduction": "sum"}, [X, U]),
    ("PoissonNLLLoss", {"log_input": False, "full": True, "eps": 1e-4}, [U, 3 * U]),
    ("GaussianNLLLoss", {"full": True, "eps": 1e-3, "reduction": "sum"}, [X, X2, U]),
    ("CosineEmbeddingLoss", {"margin": 0.1}, [X, X2, SIGNS]),
    ("MarginRankingLoss", {"margin": 0.2, "reduction": "none"}, [X[:, 0], X2[:, 0], SIGNS]),
    ("HingeEmbeddingLoss", {"margin": 2.0}, [X, np.sign(X2)]),
    ("SoftMarginLoss", {"reduction": "sum"}, [X, np.sign(X2)]),
    ("TripletMarginLoss", {"margin": 0.5, "p": 1.0, "swap": True}, [X, X2, X3]),
    ("MultiLabelSoftMarginLoss", {"weight": U[0]}, [X, LABELS]),
    ("MultiMarginLoss", {"p": 2, "weight": U[0], "margin": 0.5}, [X, CLASSES]),
    ("CosineSimilarity", {"dim": 0, "eps": 1e-6}, [X, X2]),
    ("PairwiseDistance", {"p": 1.5, "keepdim": True}, [X, X2]),
    ("KLDivLoss", {"size_average": False}, [X, U]),  # legacy arguments decide the reduction
    ("TripletMarginLoss", {"reduce": False}, [X, X2, X3]),
]


@pytest.mark.parametrize("cls,kw,args", MODULES, ids=[f"{m[0]}{i}" for i, m in enumerate(MODULES)])
def test_modules_match_torch(cls, kw, args):
    pkw = {k: pe.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = getattr(nn, cls)(**pkw), getattr(torch.nn, cls)(**tkw)
        assert list(ours.state_dict().keys()) == list(theirs.state_dict().keys())
        assert getattr(ours, "reduction", None) == getattr(theirs, "reduction", None)
        ya = ours(*[pe.tensor(a) for a in args])
        yb = theirs(*[torch.tensor(a) for a in args])
    np.testing.assert_allclose(ya.numpy(), yb.numpy(), rtol=1e-12, atol=1e-14)


def test_errors_name_what_came():
    x = pe.tensor(X)
    with pytest.raises(ValueError, match="'avg' is not a valid value for reduction"):
        F.kl_div(x, x, reduction="avg")
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        nn.KLDivLoss(reduction="avg")
    with pytest.raises(ValueError, match="x is not a valid value for reduction"):
        F.poisson_nll_loss(x, x, reduction="x")
    with pytest.raises(ValueError, match=r"var is of incorrect size: var of shape \(5,\) .* \(4, 5\)"):
        F.gaussian_nll_loss(x, x, pe.ones(5, dtype=pe.float64))
    with pytest.raises(ValueError, match="var has negative entry"):
        F.gaussian_nll_loss(x, x, -pe.ones(4, 5, dtype=pe.float64))
    with pytest.raises(ValueError, match="var has negative entry"):
        F.gaussian_nll_loss(x, x, -1.0)
    with pytest.raises(RuntimeError, match=r"0D or 1D target tensor expected.*\(4, 1\)"):
        F.cosine_embedding_loss(x, x, pe.ones(4, 1))
    with pytest.raises(RuntimeError, match="input1 and input2 should have the same number of dimensions"):
        F.cosine_embedding_loss(x, x[0], pe.ones(4))
    with pytest.raises(RuntimeError, match=r"All input tensors should have same dimension.*target: \(4, 1\)"):
        F.margin_ranking_loss(x[:, 0], x[:, 0], pe.ones(4, 1))
    with pytest.raises(RuntimeError, match="anchor 2D, positive 1D, and negative 2D"):
        F.triplet_margin_loss(x, x[0], x)
    with pytest.raises(ValueError, match="expected margin to be greater than 0, got 0"):
        nn.TripletMarginLoss(margin=0)
    with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
        F.multi_margin_loss(x, pe.tensor(CLASSES), p=3)
    with pytest.raises(RuntimeError, match=r"target out of range: expected class indices in \[0, 4\]"):
        F.multi_margin_loss(x, pe.tensor([0, 1, 2, 5]))
    with pytest.raises(RuntimeError, match="inconsistent target size"):
        F.multi_margin_loss(x, pe.tensor([0, 1]))
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2"):
        F.normalize(x, dim=2)
    with pytest.raises(RuntimeError, match=r"x1 of shape \(4, 5\) and x2 of shape \(3, 5\) are not broadcastable"):
        F.cosine_similarity(x, pe.ones(3, 5, dtype=pe.float64))
    with pytest.raises(TypeError, match="argument 'target' must be Tensor, not list"):
        F.kl_div(x, [1.0])
