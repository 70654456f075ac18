"""nn.ParameterList / nn.ParameterDict (registration, indexing, state_dict keys as torch 2.13) and
nn.init.orthogonal_, trunc_normal_, sparse_ (shapes, the properties that define them, and their
distributions by statistical tests)."""
import math
from collections import OrderedDict

import numpy as np
import pytest

import pyengine as pe
import pyengine.nn as nn

torch = pytest.importorskip("torch")


# ---------------------------------------------------------------- ParameterList
def _both(shapes):
    return ([pe.ones(*s) for s in shapes], [torch.ones(*s) for s in shapes])


def test_parameter_list_registers_like_torch():
    ours_vals, their_vals = _both([(2,), (3, 4)])

    class Ours(nn.Module):
        def __init__(self):
            super().__init__()
            self.params = nn.ParameterList(ours_vals)
            self.lin = nn.Linear(2, 2)

    class Theirs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.params = torch.nn.ParameterList(their_vals)
            self.lin = torch.nn.Linear(2, 2)

    o, t = Ours(), Theirs()
    assert list(o.state_dict().keys()) == list(t.state_dict().keys()) == \
        ["params.0", "params.1", "lin.weight", "lin.bias"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in o.params)
    assert len(list(o.parameters())) == 4
    o.params.append(pe.zeros(5))
    o.params.extend([nn.Parameter(pe.zeros(1)), pe.zeros(2)])
    o.params += [pe.zeros(3)]
    t.params.append(torch.zeros(5))
    t.params.extend([torch.nn.Parameter(torch.zeros(1)), torch.zeros(2)])
    t.params += [torch.zeros(3)]
    assert list(o.state_dict().keys()) == list(t.state_dict().keys())
    assert len(o.params) == len(t.params) == 6
    assert tuple(o.params[-1].shape) == (3,)
    sliced = o.params[1:4]
    assert isinstance(sliced, nn.ParameterList) and [tuple(p.shape) for p in sliced] == [(3, 4), (5,), (1,)]
    assert sliced[0] is o.params[1]  # the same parameters, not copies
    # a replaced entry keeps its place and is registered as a Parameter
    o.params[0] = pe.full((2,), 7.0)
    assert list(o.state_dict().keys())[0] == "params.0"
    np.testing.assert_array_equal(o.state_dict()["params.0"].numpy(), [7.0, 7.0])
    # state_dict round trip through torch's keys
    o2 = Ours()
    o2.params.extend([pe.zeros(5), pe.zeros(1), pe.zeros(2), pe.zeros(3)])
    o2.load_state_dict(o.state_dict())
    np.testing.assert_array_equal(o2.params[0].detach().numpy(), [7.0, 7.0])


def test_parameter_list_non_tensors_and_gradients():
    plist = nn.ParameterList([pe.ones(2), "not a parameter", None])
    assert len(plist) == 3 and plist[1] == "not a parameter" and plist[2] is None
    assert list(plist.state_dict().keys()) == ["0"]
    loss = sum((p * p).sum() for p in plist if isinstance(p, pe.Tensor))
    loss.backward()
    np.testing.assert_array_equal(plist[0].grad.numpy(), [2.0, 2.0])
    opt = pe.optim.SGD(nn.ParameterList([plist[0]]).parameters(), lr=0.5)
    opt.step()
    np.testing.assert_array_equal(plist[0].detach().numpy(), [0.0, 0.0])


def test_parameter_list_errors_and_repr():
    plist = nn.ParameterList([pe.ones(2, 3)])
    with pytest.raises(IndexError, match="index 5 is out of range for ParameterList of length 1"):
        plist[5]
    with pytest.raises(TypeError, match="ParameterList.extend should be called with an iterable, but got int"):
        plist.extend(3)
    with pytest.raises(RuntimeError, match="ParameterList should not be called."):
        plist(1)
    assert "(0): Parameter containing: [pyengine.float32 of size 2x3]" in repr(plist)


# ---------------------------------------------------------------- ParameterDict
def test_parameter_dict_registers_like_torch():
    ours = nn.ParameterDict({"b": pe.ones(1), "a": nn.Parameter(pe.ones(2))})
    theirs = torch.nn.ParameterDict({"b": torch.ones(1), "a": torch.nn.Parameter(torch.ones(2))})
    assert list(ours.keys()) == list(theirs.keys()) == ["a", "b"]  # a plain dict is taken sorted
    assert list(ours.state_dict().keys()) == list(theirs.state_dict().keys())
    ordered = OrderedDict([("z", pe.ones(1)), ("y", pe.ones(1))])
    ours.update(ordered)
    theirs.update(OrderedDict([("z", torch.ones(1)), ("y", torch.ones(1))]))
    ours.update([("c", pe.ones(3))])
    theirs.update([("c", torch.ones(3))])
    ours["d"] = pe.zeros(4)
    theirs["d"] = torch.zeros(4)
    assert list(ours.keys()) == list(theirs.keys()) == ["a", "b", "z", "y", "c", "d"]
    assert list(ours.state_dict().keys()) == list(theirs.state_dict().keys())
    assert isinstance(ours["d"], nn.Parameter) and ours["d"].requires_grad
    assert "c" in ours and "q" not in ours and len(ours) == 6

    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.pd = ours

    assert list(Holder().state_dict().keys()) == [f"pd.{k}" for k in ours.keys()]
    assert len(list(Holder().parameters())) == 6


def test_parameter_dict_dict_methods():
    pd = nn.ParameterDict({"a": pe.ones(1), "b": pe.ones(2)})
    b = pd.pop("b")
    assert tuple(b.shape) == (2,) and list(pd.keys()) == ["a"] and list(pd.state_dict()) == ["a"]
    assert pd.get("zz") is None and pd.get("a") is pd["a"]
    assert pd.setdefault("c", pe.zeros(3)) is pd["c"]
    assert pd.popitem()[0] == "c"
    copy = pd.copy()
    assert copy["a"] is pd["a"] and copy is not pd
    merged = pd | {"x": pe.ones(1)}
    assert list(merged.keys()) == ["a", "x"] and list(pd.keys()) == ["a"]
    pd |= {"y": pe.ones(1)}
    assert list(pd.keys()) == ["a", "y"]
    assert list(reversed(pd)) == ["y", "a"]
    assert [k for k, _ in pd.items()] == ["a", "y"] and len(list(pd.values())) == 2
    assert list(pd.fromkeys(["p", "q"]).keys()) == ["p", "q"]
    del pd["a"]
    assert list(pd.state_dict()) == ["y"]
    pd.clear()
    assert len(pd) == 0 and list(pd.parameters()) == []


def test_parameter_dict_errors():
    pd = nn.ParameterDict()
    with pytest.raises(TypeError, match="cannot be used as a key as it is not a string \\(type is 'int'\\)"):
        pd[1] = pe.ones(1)
    with pytest.raises(KeyError, match="no key 'x'"):
        pd["x"]
    with pytest.raises(AttributeError):  # PyTorch raises AttributeError there: both work
        pd["x"]
    with pytest.raises(TypeError, match="should be called with an iterable of key/value pairs, but got int"):
        pd.update(3)
    with pytest.raises(ValueError, match="element #0 has length 3; 2 is required"):
        pd.update([("a", pe.ones(1), 3)])
    with pytest.raises(KeyError, match="parameter name can"):
        pd["a.b"] = pe.ones(1)
    with pytest.raises(RuntimeError, match="ParameterDict should not be called."):
        pd()


# ---------------------------------------------------------------- init.orthogonal_
@pytest.mark.parametrize("shape", [(3, 3), (5, 8), (8, 5), (4, 2, 3), (6, 3, 2, 2), (1, 7)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal_is_orthogonal_with_gain(shape, gain):
    w = pe.empty(*shape, dtype=pe.float64)
    assert nn.init.orthogonal_(w, gain=gain) is w
    q = w.numpy().reshape(shape[0], -1)
    rows, cols = q.shape
    gram = q @ q.T if rows <= cols else q.T @ q
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(min(rows, cols)), atol=1e-10)
    # float32 too, and the same shapes as torch fills
    w32 = nn.init.orthogonal_(pe.empty(*shape))
    assert w32.dtype == pe.float32 and tuple(w32.shape) == tuple(torch.nn.init.orthogonal_(torch.empty(*shape)).shape)


def test_orthogonal_is_haar_distributed():
    """A Haar-random 3x3 orthogonal matrix has entries of mean 0 and variance 1/3, and det +-1 with
    equal probability (the sign fix by R's diagonal makes it uniform, as torch's)."""
    n = 1500
    qs = np.stack([nn.init.orthogonal_(pe.empty(3, 3, dtype=pe.float64)).numpy() for _ in range(n)])
    assert np.abs(qs.mean(0)).max() < 5 * math.sqrt(1 / 3 / n)
    np.testing.assert_allclose((qs ** 2).mean(0), np.full((3, 3), 1 / 3), atol=0.05)
    dets = np.linalg.det(qs)
    np.testing.assert_allclose(np.abs(dets), 1.0, atol=1e-10)
    assert abs((dets > 0).mean() - 0.5) < 5 * 0.5 / math.sqrt(n)


def test_orthogonal_errors_and_empty():
    with pytest.raises(ValueError, match=r"Only tensors with 2 or more dimensions are supported, got shape \(3,\)"):
        nn.init.orthogonal_(pe.empty(3))
    assert tuple(nn.init.orthogonal_(pe.empty(0, 3)).shape) == (0, 3)


# ---------------------------------------------------------------- init.trunc_normal_
def _truncnorm_cdf(x, mean, std, a, b):
    phi = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
    lo, hi = phi((a - mean) / std), phi((b - mean) / std)
    return np.array([(phi((v - mean) / std) - lo) / (hi - lo) for v in x])


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (1.0, 2.0, -1.0, 2.5), (0.0, 0.02, -0.04, 0.04),
                                          (-3.0, 0.5, -3.2, -1.0)])
def test_trunc_normal_matches_the_truncated_normal(mean, std, a, b):
    n = 20000
    w = nn.init.trunc_normal_(pe.empty(n, dtype=pe.float64), mean, std, a, b)
    x = np.sort(w.numpy())
    assert x[0] >= a and x[-1] <= b
    # Kolmogorov-Smirnov against the truncated normal's CDF (critical value 1.63/sqrt(n) at 1%)
    cdf = _truncnorm_cdf(x, mean, std, a, b)
    ks = max(np.abs(cdf - np.arange(1, n + 1) / n).max(), np.abs(cdf - np.arange(n) / n).max())
    assert ks < 1.63 / math.sqrt(n)
    # and the same moments as torch's sampler
    t = torch.nn.init.trunc_normal_(torch.empty(n, dtype=torch.float64), mean, std, a, b).numpy()
    assert abs(x.mean() - t.mean()) < 6 * t.std() / math.sqrt(n)
    assert abs(x.std() / t.std() - 1) < 0.05


def test_trunc_normal_shape_dtype_and_warning():
    w = nn.init.trunc_normal_(pe.empty(4, 5))
    assert w.dtype == pe.float32 and tuple(w.shape) == (4, 5) and np.abs(w.numpy()).max() <= 2.0
    with pytest.warns(UserWarning, match="mean is more than 2 std from"):
        nn.init.trunc_normal_(pe.empty(10), mean=10.0, std=1.0, a=-2.0, b=2.0)
    p = nn.Parameter(pe.empty(3, 3))
    nn.init.trunc_normal_(p, std=0.02)  # a leaf that requires grad is filled under no_grad
    assert p.requires_grad and p.grad_fn is None


def test_trunc_normal_on_device(device):
    w = nn.init.trunc_normal_(pe.empty(5000, dtype=pe.float64, device=device), 0.5, 1.0, 0.0, 1.0)
    assert w.device.type == device
    x = w.cpu().numpy()
    assert x.min() >= 0.0 and x.max() <= 1.0
    expected_mean = 0.5  # symmetric truncation around the mean
    assert abs(x.mean() - expected_mean) < 6 * 0.3 / math.sqrt(x.size)


# ---------------------------------------------------------------- init.sparse_
@pytest.mark.parametrize("rows,cols,sparsity", [(10, 4, 0.35), (7, 3, 0.0), (5, 6, 1.0), (13, 2, 0.5)])
def test_sparse_zeroes_ceil_sparsity_rows_per_column(rows, cols, sparsity):
    w = nn.init.sparse_(pe.empty(rows, cols, dtype=pe.float64), sparsity, std=0.5)
    t = torch.nn.init.sparse_(torch.empty(rows, cols), sparsity, std=0.5)
    ours = (w.numpy() == 0).sum(0)
    theirs = (t.numpy() == 0).sum(0)
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(ours, np.full(cols, math.ceil(sparsity * rows)))


def test_sparse_distribution():
    rows, cols, std = 20, 500, 0.3
    w = nn.init.sparse_(pe.empty(rows, cols, dtype=pe.float64), 0.25, std=std).numpy()
    nonzero = w[w != 0]
    assert abs(nonzero.std() / std - 1) < 0.05 and abs(nonzero.mean()) < 5 * std / math.sqrt(nonzero.size)
    # the zeroed rows are uniform over the rows: each row is zero in about a quarter of the columns
    per_row = (w == 0).sum(1)
    expected = cols * 0.25
    chi2 = ((per_row - expected) ** 2 / expected).sum()
    assert chi2 < 45.0  # chi-square, 19 degrees of freedom: 45 is beyond the 99.9% point
    with pytest.raises(ValueError, match=r"Only tensors with 2 dimensions are supported, got shape \(2, 3, 4\)"):
        nn.init.sparse_(pe.empty(2, 3, 4), 0.5)
