"""pyengine.autograd.functional against torch.autograd.functional: values and shapes for single
and tuple inputs/outputs, v handling, create_graph, strict mode, jacobian strategies and errors."""
import numpy as np
import pytest

import pyengine as pe
import pyengine.autograd.functional as AF

torch = pytest.importorskip("torch")
TAF = torch.autograd.functional

RNG = np.random.default_rng(14)
X = RNG.standard_normal((2, 3))
Y = RNG.standard_normal((3,))
V2x3 = RNG.standard_normal((2, 3))
V3 = RNG.standard_normal((3,))


def _m(lib):
    return pe if lib is pe else torch


def _t(lib, a):
    return pe.tensor(a, dtype=pe.float64) if lib is pe else torch.tensor(a, dtype=torch.float64)


def _same(ours, theirs):
    """Same nesting, shapes and values (torch's forward-mode jacobian nests in lists)."""
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            _same(o, t)
        return
    assert not isinstance(ours, tuple)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


# functions written once for both libraries (only Tensor methods)
def f_single(x):                # (2, 3) -> (3,)
    return (x.sin() * x).sum(0)


def f_tuple_in(x, y):           # (2, 3), (3,) -> (2,)
    return (x * y).tanh().sum(1)


def f_tuple_out(x):             # (2, 3) -> ((3,), ())
    return x.exp().mean(0), (x * x).sum()


def f_both(x, y):               # (2, 3), (3,) -> ((2, 3), (3,))
    return x * y, y.sigmoid() * x.sum(0)


def f_scalar(x):                # (2, 3) -> ()
    return (x.exp() * x.cos()).sum()


def f_scalar2(x, y):            # (2, 3), (3,) -> ()
    return ((x * y) ** 2).sum() + (y.exp() * x).sum()


def _args(lib, *arrays):
    ts = tuple(_t(lib, a) for a in arrays)
    return ts if len(ts) > 1 else ts[0]


JAC_CASES = [(f_single, (X,)), (f_tuple_in, (X, Y)), (f_tuple_out, (X,)), (f_both, (X, Y))]


@pytest.mark.parametrize("f,arrays", JAC_CASES, ids=lambda c: getattr(c, "__name__", ""))
@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
def test_jacobian(f, arrays, strategy):
    kw = {"vectorize": True} if strategy == "forward-mode" else {}
    _same(AF.jacobian(f, _args(pe, *arrays), strategy=strategy, **kw),
          TAF.jacobian(f, _args(torch, *arrays), strategy=strategy, **kw))


def test_jacobian_single_tensor_in_tuple_and_independent_outputs():
    _same(AF.jacobian(f_single, (_t(pe, X),)), TAF.jacobian(f_single, (_t(torch, X),)))

    def g(x, y):
        return x * 2.0  # independent of y: a zero block (an error in strict mode)
    _same(AF.jacobian(g, _args(pe, X, Y)), TAF.jacobian(g, _args(torch, X, Y)))
    with pytest.raises(RuntimeError, match="independent of input 1"):
        AF.jacobian(g, _args(pe, X, Y), strict=True)


@pytest.mark.parametrize("f,arrays,v", [
    (f_single, (X,), (V3,)), (f_tuple_in, (X, Y), (V3[:2],)), (f_tuple_out, (X,), (V3, np.array(1.5))),
    (f_both, (X, Y), (V2x3, V3))], ids=["single", "tuple_in", "tuple_out", "both"])
def test_vjp(f, arrays, v):
    ours = AF.vjp(f, _args(pe, *arrays), _args(pe, *v))
    theirs = TAF.vjp(f, _args(torch, *arrays), _args(torch, *v))
    _same(ours, theirs)


@pytest.mark.parametrize("f,arrays,v", [
    (f_single, (X,), (V2x3,)), (f_tuple_in, (X, Y), (V2x3, V3)), (f_tuple_out, (X,), (V2x3,)),
    (f_both, (X, Y), (V2x3, V3))], ids=["single", "tuple_in", "tuple_out", "both"])
def test_jvp(f, arrays, v):
    _same(AF.jvp(f, _args(pe, *arrays), _args(pe, *v)), TAF.jvp(f, _args(torch, *arrays), _args(torch, *v)))


def test_jvp_agrees_with_forward_ad():
    from pyengine.autograd import forward_ad as fwAD
    _, jv = AF.jvp(f_single, _t(pe, X), _t(pe, V2x3))
    with fwAD.dual_level():
        tangent = fwAD.unpack_dual(f_single(fwAD.make_dual(_t(pe, X), _t(pe, V2x3)))).tangent
    np.testing.assert_allclose(jv.numpy(), tangent.numpy(), rtol=1e-12)


def test_v_none_for_single_elements():
    one = np.array([0.7])
    _same(AF.vjp(f_scalar, _t(pe, X)), TAF.vjp(f_scalar, _t(torch, X)))
    _same(AF.jvp(lambda x: x.exp() * 2.0, _t(pe, one)), TAF.jvp(lambda x: x.exp() * 2.0, _t(torch, one)))
    _same(AF.hvp(lambda x: (x ** 3).sum(), _t(pe, one)), TAF.hvp(lambda x: (x ** 3).sum(), _t(torch, one)))
    with pytest.raises(RuntimeError, match="v can only be None if the user-provided function returns a single"):
        AF.vjp(f_single, _t(pe, X))
    with pytest.raises(RuntimeError, match="v can only be None if the input to the user-provided function"):
        AF.jvp(f_single, _t(pe, X))


@pytest.mark.parametrize("f,arrays", [(f_scalar, (X,)), (f_scalar2, (X, Y))], ids=["single", "tuple"])
@pytest.mark.parametrize("outer", ["reverse-mode", "forward-mode"])
def test_hessian(f, arrays, outer):
    kw = {"vectorize": True} if outer == "forward-mode" else {}
    _same(AF.hessian(f, _args(pe, *arrays), outer_jacobian_strategy=outer, **kw),
          TAF.hessian(f, _args(torch, *arrays), outer_jacobian_strategy=outer, **kw))


@pytest.mark.parametrize("fn", ["hvp", "vhp"])
@pytest.mark.parametrize("f,arrays,v", [(f_scalar, (X,), (V2x3,)), (f_scalar2, (X, Y), (V2x3, V3))],
                         ids=["single", "tuple"])
def test_hvp_vhp(fn, f, arrays, v):
    _same(getattr(AF, fn)(f, _args(pe, *arrays), _args(pe, *v)),
          getattr(TAF, fn)(f, _args(torch, *arrays), _args(torch, *v)))


@pytest.mark.parametrize("fn", ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"])
def test_create_graph_results_are_differentiable(fn):
    """With create_graph=True the result depends on the inputs differentiably: the gradient of its
    sum matches torch's; without it, the result is detached."""
    def run(lib):
        x = _t(lib, X).requires_grad_()
        v = _t(lib, V2x3)
        mod = AF if lib is pe else TAF
        if fn == "vjp":
            res = mod.vjp(lambda a: a.sin() * a, x, v, create_graph=True)[1]
        elif fn == "jvp":
            res = mod.jvp(lambda a: a.sin() * a, x, v, create_graph=True)[1]
        elif fn == "jacobian":
            res = mod.jacobian(lambda a: (a.sin() * a).sum(0), x, create_graph=True)
        elif fn == "hessian":
            res = mod.hessian(f_scalar, x, create_graph=True)
        else:
            res = getattr(mod, fn)(f_scalar, x, v, create_graph=True)[1]
        assert res.requires_grad
        (g,) = (pe.autograd.grad if lib is pe else torch.autograd.grad)((res * res).sum(), x)
        return res, g

    ours, theirs = run(pe), run(torch)
    _same(ours, theirs)
    plain = AF.jacobian(f_single, _t(pe, X).requires_grad_())
    assert not plain.requires_grad


def test_strict_and_errors():
    def const(x):
        return x.detach() * 2.0
    with pytest.raises(RuntimeError, match="does not require gradients"):
        AF.vjp(const, _t(pe, X), _t(pe, V2x3), strict=True)
    _same(AF.vjp(const, _t(pe, X), _t(pe, V2x3)), TAF.vjp(const, _t(torch, X), _t(torch, V2x3)))
    with pytest.raises(TypeError, match="inputs given to vjp must be either a Tensor or a tuple of Tensors"):
        AF.vjp(f_single, [1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"v has invalid size: should be \(3,\) but got \(2,\)"):
        AF.vjp(f_single, _t(pe, X), _t(pe, [1.0, 2.0]))
    with pytest.raises(RuntimeError, match="v is a tuple of invalid length: should be 2 but got 1"):
        AF.jvp(f_tuple_in, _args(pe, X, Y), (_t(pe, V2x3),))
    with pytest.raises(AssertionError, match="Expected strategy"):
        AF.jacobian(f_single, _t(pe, X), strategy="sideways")
    with pytest.raises(NotImplementedError, match="create_graph=True"):
        AF.jacobian(f_single, _t(pe, X), create_graph=True, strategy="forward-mode")
    with pytest.raises(RuntimeError, match="strict=True"):
        AF.jacobian(f_single, _t(pe, X), strict=True, strategy="forward-mode")
    with pytest.raises(RuntimeError, match="should contain a single element"):
        AF.hessian(f_single, _t(pe, X))
    with pytest.raises(RuntimeError, match="should return a single Tensor"):
        AF.vhp(f_tuple_out, _t(pe, X), _t(pe, V2x3))


def test_on_device(device):
    x = pe.tensor(X, dtype=pe.float64, device=device)
    v = pe.tensor(V2x3, dtype=pe.float64, device=device)
    out, jv = AF.jvp(lambda a: (a.exp() * a).sum(1), x, v)
    _, t_jv = TAF.jvp(lambda a: (a.exp() * a).sum(1), _t(torch, X), _t(torch, V2x3))
    assert out.device.type == device
    np.testing.assert_allclose(jv.cpu().numpy(), t_jv.numpy(), rtol=1e-10)
    h = AF.hessian(lambda a: (a.exp() * a).sum(), x)
    np.testing.assert_allclose(h.cpu().numpy(), TAF.hessian(lambda a: (a.exp() * a).sum(), _t(torch, X)).numpy(),
                               rtol=1e-10)
