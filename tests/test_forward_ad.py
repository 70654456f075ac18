"""Forward-mode AD (pyengine.autograd.forward_ad): every op's jvp rule against the reverse-mode
Jacobian (J @ v, from pyengine's own backward) and against torch.func.jvp, in float64; the level
rules and errors against PyTorch's."""
import numpy as np
import pytest

import pyengine as pe
import pyengine.nn.functional as F
from pyengine.autograd import forward_ad as fwAD
from pyengine.autograd.functional import jacobian

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _libs(lib):
    return (pe, F) if lib == "pe" else (torch, TF)


# (id, f(lib, F, *inputs), input shapes, positive inputs?)
CASES = [
    ("add", lambda m, F, a, b: a + b, [(3, 4), (4,)], False),
    ("sub_alpha", lambda m, F, a, b: m.sub(a, b, alpha=2.0), [(3, 4), (3, 4)], False),
    ("mul", lambda m, F, a, b: a * b, [(2, 3), (2, 1)], False),
    ("div", lambda m, F, a, b: a / b, [(2, 3), (2, 3)], True),
    ("rdiv_scalar", lambda m, F, a: 2.0 / a, [(5,)], True),
    ("pow_tensor", lambda m, F, a, b: a ** b, [(2, 3), (2, 3)], True),
    ("pow_scalar", lambda m, F, a: a ** 3, [(2, 3)], False),
    ("rpow", lambda m, F, a: 2.0 ** a, [(4,)], False),
    ("exp", lambda m, F, a: a.exp(), [(3, 3)], False),
    ("log", lambda m, F, a: a.log(), [(3, 3)], True),
    ("sin_cos", lambda m, F, a: a.sin() * a.cos(), [(7,)], False),
    ("tanh", lambda m, F, a: a.tanh(), [(2, 5)], False),
    ("sigmoid", lambda m, F, a: a.sigmoid(), [(2, 5)], False),
    ("relu", lambda m, F, a: a.relu(), [(3, 4)], False),
    ("abs", lambda m, F, a: a.abs(), [(3, 4)], False),
    ("sqrt", lambda m, F, a: a.sqrt(), [(3, 4)], True),
    ("neg_square", lambda m, F, a: (-a).square(), [(3,)], False),
    ("where", lambda m, F, a, b: m.where(a > b, a, b * 2.0), [(3, 4), (3, 4)], False),
    ("where_scalar", lambda m, F, a: m.where(a > 0, a, 0.5), [(3, 4)], False),
    ("clamp", lambda m, F, a: a.clamp(-0.5, 0.5), [(4, 5)], False),
    ("clamp_tensor", lambda m, F, a, lo: m.clamp(a, min=lo), [(4, 5), (5,)], False),
    ("maximum", lambda m, F, a, b: m.maximum(a, b), [(3, 4), (4,)], False),
    ("minimum", lambda m, F, a, b: m.minimum(a, b), [(3, 4), (3, 4)], False),
    ("matmul", lambda m, F, a, b: a @ b, [(3, 4), (4, 2)], False),
    ("matmul_vec", lambda m, F, a, b: a @ b, [(3, 4), (4,)], False),
    ("matmul_batched", lambda m, F, a, b: m.matmul(a, b), [(2, 3, 4), (4, 5)], False),
    ("mm", lambda m, F, a, b: m.mm(a, b), [(2, 3), (3, 2)], False),
    ("bmm", lambda m, F, a, b: m.bmm(a, b), [(2, 2, 3), (2, 3, 2)], False),
    ("linear", lambda m, F, x, w, b: F.linear(x, w, b), [(4, 3), (2, 3), (2,)], False),
    ("linear_3d", lambda m, F, x, w: F.linear(x, w), [(2, 4, 3), (5, 3)], False),
    ("sum", lambda m, F, a: a.sum(), [(3, 4)], False),
    ("sum_dim", lambda m, F, a: a.sum(dim=1, keepdim=True), [(3, 4)], False),
    ("mean_dims", lambda m, F, a: a.mean(dim=(0, 2)), [(2, 3, 4)], False),
    ("max_all", lambda m, F, a: a.max(), [(3, 4)], False),
    ("min_all", lambda m, F, a: a.min(), [(3, 4)], False),
    ("amax", lambda m, F, a: a.amax(dim=0), [(3, 4)], False),
    ("max_dim", lambda m, F, a: a.max(dim=1).values, [(3, 4)], False),
    ("min_dim_keep", lambda m, F, a: a.min(dim=0, keepdim=True)[0], [(3, 4)], False),
    ("logsumexp", lambda m, F, a: a.logsumexp(dim=1), [(3, 4)], False),
    ("var", lambda m, F, a: a.var(dim=0), [(5, 3)], False),
    ("std", lambda m, F, a: a.std(), [(5, 3)], False),
    ("norm", lambda m, F, a: a.norm(), [(5, 3)], False),
    ("norm_p1_dim", lambda m, F, a: a.norm(p=1, dim=1), [(5, 3)], False),
    ("prod", lambda m, F, a: a.prod(dim=1), [(3, 4)], False),
    ("view", lambda m, F, a: a.view(4, 3) * 1.0, [(3, 4)], False),
    ("reshape", lambda m, F, a: a.t().reshape(-1), [(3, 4)], False),
    ("transpose", lambda m, F, a: a.transpose(0, 2), [(2, 3, 4)], False),
    ("permute", lambda m, F, a: a.permute(2, 0, 1), [(2, 3, 4)], False),
    ("expand", lambda m, F, a: a.expand(3, 2, 4), [(2, 1)], False),
    ("squeeze_unsqueeze", lambda m, F, a: a.squeeze(1).unsqueeze(0), [(3, 1, 4)], False),
    ("cat", lambda m, F, a, b: m.cat([a, b, a], dim=1), [(2, 3), (2, 1)], False),
    ("stack", lambda m, F, a, b: m.stack([a, b], dim=0), [(2, 3), (2, 3)], False),
    ("slice", lambda m, F, a: a[1:, ::2], [(4, 5)], False),
    ("index_int", lambda m, F, a: a[2], [(4, 5)], False),
    ("index_tensor", lambda m, F, a: a[[0, 2, 2]], [(4, 5)], False),
    ("gather", lambda m, F, a: a.gather(1, (m.tensor([[0, 2], [1, 1], [2, 0]]))), [(3, 4)], False),
    ("index_select", lambda m, F, a: a.index_select(0, m.tensor([2, 0])), [(3, 4)], False),
    ("tril", lambda m, F, a: a.tril(), [(4, 4)], False),
    ("clone_contiguous", lambda m, F, a: a.t().clone().contiguous(), [(3, 4)], False),
    ("to_float32", lambda m, F, a: a.to(m.float32).to(m.float64), [(3,)], False),
    ("softmax", lambda m, F, a: F.softmax(a, dim=1), [(3, 5)], False),
    ("log_softmax", lambda m, F, a: F.log_softmax(a, dim=0), [(3, 5)], False),
    ("cross_entropy", lambda m, F, a: F.cross_entropy(a, m.tensor([1, 0, 4])), [(3, 5)], False),
    ("cross_entropy_sum", lambda m, F, a: F.cross_entropy(a, m.tensor([1, 0, 4]), reduction="sum"), [(3, 5)],
     False),
    ("nll_loss", lambda m, F, a: F.nll_loss(a, m.tensor([1, 3])), [(2, 4)], False),
    ("mse_loss", lambda m, F, a, b: F.mse_loss(a, b), [(3, 4), (3, 4)], False),
    ("layer_norm", lambda m, F, x, w, b: F.layer_norm(x, (4,), w, b), [(3, 4), (4,), (4,)], False),
    ("layer_norm_2d", lambda m, F, x: F.layer_norm(x, (3, 4)), [(2, 3, 4)], False),
    ("conv2d", lambda m, F, x, w, b: F.conv2d(x, w, b, padding=1), [(2, 2, 5, 5), (3, 2, 3, 3), (3,)], False),
    ("conv2d_stride", lambda m, F, x, w: F.conv2d(x, w, stride=2), [(1, 2, 6, 6), (2, 2, 2, 2)], False),
    ("dropout_eval", lambda m, F, a: F.dropout(a, 0.5, training=False) * 2.0, [(3, 4)], False),
    ("embedding", lambda m, F, w: F.embedding(m.tensor([[0, 2], [3, 2]]), w), [(4, 3)], False),
    ("leaky_relu", lambda m, F, a: F.leaky_relu(a, 0.1), [(3, 4)], False),
    ("gelu", lambda m, F, a: F.gelu(a), [(3, 4)], False),
    ("elu", lambda m, F, a: F.elu(a), [(3, 4)], False),
    ("softplus", lambda m, F, a: F.softplus(a), [(3, 4)], False),
    ("silu", lambda m, F, a: F.silu(a), [(3, 4)], False),
    ("avg_pool2d", lambda m, F, a: F.avg_pool2d(a, 2), [(1, 2, 4, 4)], False),
    ("max_pool2d", lambda m, F, a: F.max_pool2d(a, 2, stride=1), [(1, 2, 4, 5)], False),
    ("batch_norm_train", lambda m, F, x, w, b: F.batch_norm(x, None, None, w, b, training=True),
     [(4, 3, 2, 2), (3,), (3,)], False),
    ("batch_norm_eval", lambda m, F, x, w: F.batch_norm(
        x, m.tensor([0.1, -0.2, 0.3], dtype=m.float64), m.tensor([1.5, 0.5, 2.0], dtype=m.float64), w),
     [(4, 3, 5), (3,)], False),
    ("group_norm", lambda m, F, x, w, b: F.group_norm(x, 2, w, b), [(2, 4, 3), (4,), (4,)], False),
    ("index_add", lambda m, F, x, s: x.index_add(0, m.tensor([2, 0, 2]), s, alpha=2.0), [(3, 4), (3, 4)], False),
    ("scatter_reduce_sum", lambda m, F, x, s: x.scatter_reduce(1, m.tensor([[0, 1, 0], [2, 2, 1]]), s, "sum"),
     [(2, 3), (2, 3)], False),
    ("scatter_reduce_mean", lambda m, F, x, s: x.scatter_reduce(1, m.tensor([[0, 1, 0], [2, 2, 1]]), s, "mean",
                                                                  include_self=False), [(2, 3), (2, 3)], False),
    ("scatter", lambda m, F, x, s: x.scatter(0, m.tensor([[1, 0, 2]]), s), [(3, 3), (1, 3)], False),
    ("index_put_acc", lambda m, F, x, v: x.index_put((m.tensor([0, 2, 0]),), v, accumulate=True),
     [(3, 2), (3, 2)], False),
    ("interpolate_nearest", lambda m, F, a: F.interpolate(a, scale_factor=2, mode="nearest"), [(1, 2, 3, 3)], False),
    ("interpolate_bilinear", lambda m, F, a: F.interpolate(a, size=(5, 4), mode="bilinear", align_corners=False),
     [(1, 2, 3, 3)], False),
    ("pixel_shuffle", lambda m, F, a: F.pixel_shuffle(a, 2), [(1, 8, 2, 3)], False),
    ("conv_transpose2d", lambda m, F, x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1),
     [(1, 2, 3, 3), (2, 3, 3, 3), (3,)], False),
    ("bilinear", lambda m, F, a, b, w, bias: F.bilinear(a, b, w, bias), [(2, 3), (2, 4), (5, 3, 4), (5,)], False),
    ("mlp", lambda m, F, x, w1, w2: (F.linear(x, w1).tanh() @ w2).sum(dim=0).sigmoid(), [(4, 3), (5, 3), (5, 2)],
     False),
]


def _inputs(shapes, positive, seed):
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal(s) for s in shapes]
    if positive:
        xs = [np.abs(x) + 0.5 for x in xs]
    vs = [rng.standard_normal(s) for s in shapes]
    return xs, vs


def _pe(a, device="cpu"):
    return pe.tensor(a, dtype=pe.float64, device=device)


def _fwd_tangent(f, xs, vs, device="cpu"):
    with fwAD.dual_level():
        duals = [fwAD.make_dual(_pe(x, device), _pe(v, device)) for x, v in zip(xs, vs)]
        out = f(pe, F, *duals)
        primal, tangent = fwAD.unpack_dual(out)
    assert tangent is not None, "the result of an op on dual inputs must be dual"
    assert tuple(tangent.shape) == tuple(primal.shape)
    return primal.detach().cpu().numpy(), tangent.detach().cpu().numpy()


@pytest.mark.parametrize("name,f,shapes,positive", CASES, ids=[c[0] for c in CASES])
def test_jvp_matches_reverse_jacobian_and_torch(name, f, shapes, positive):
    xs, vs = _inputs(shapes, positive, seed=len(name))
    primal, tangent = _fwd_tangent(f, xs, vs)
    rtol = 1e-6 if "float32" in name else 1e-9  # a float32 round trip rounds each way differently

    # reverse mode: J @ v from pyengine's own backward, one row per output element
    jac = jacobian(lambda *a: f(pe, F, *a), tuple(_pe(x) for x in xs))
    jv = sum(j.numpy().reshape(primal.size, -1) @ v.reshape(-1) for j, v in zip(jac, vs)).reshape(primal.shape)
    np.testing.assert_allclose(tangent, jv, rtol=rtol, atol=1e-10)

    # torch.func.jvp on the same inputs
    t_out, t_tan = torch.func.jvp(lambda *a: f(torch, TF, *a), tuple(torch.tensor(x) for x in xs),
                                  tuple(torch.tensor(v) for v in vs))
    np.testing.assert_allclose(primal, t_out.detach().numpy(), rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(tangent, t_tan.detach().numpy(), rtol=rtol, atol=1e-10)


@pytest.mark.parametrize("name", ["mul", "exp", "matmul", "softmax", "sum_dim", "layer_norm", "cat"])
def test_jvp_on_device_matches_cpu(device, name):
    _, f, shapes, positive = next(c for c in CASES if c[0] == name)
    xs, vs = _inputs(shapes, positive, seed=3)
    cpu = _fwd_tangent(f, xs, vs)
    dev = _fwd_tangent(f, xs, vs, device)
    np.testing.assert_allclose(dev[1], cpu[1], rtol=1e-10, atol=1e-12)


def test_against_torch_forward_ad_api():
    x, v = np.random.default_rng(0).standard_normal((2, 3, 4))
    with fwAD.dual_level() as level, torch.autograd.forward_ad.dual_level() as t_level:
        assert level == t_level == 0
        y = fwAD.make_dual(_pe(x), _pe(v)).exp().sum(1)
        ty = torch.autograd.forward_ad.make_dual(torch.tensor(x), torch.tensor(v)).exp().sum(1)
        u, tu = fwAD.unpack_dual(y), torch.autograd.forward_ad.unpack_dual(ty)
        assert isinstance(u, fwAD.UnpackedDualTensor) and u._fields == tu._fields == ("primal", "tangent")
        np.testing.assert_allclose(u.tangent.numpy(), tu.tangent.numpy(), rtol=1e-12)
        assert fwAD.unpack_dual(u.primal).tangent is None  # the primal carries no tangent


def test_constants_and_mixed_inputs():
    a, b = _pe(np.arange(3.0) + 1), _pe([2.0, 3.0, 4.0])
    with fwAD.dual_level():
        d = fwAD.make_dual(a, pe.ones(3, dtype=pe.float64))
        assert fwAD.unpack_dual(b * 2.0).tangent is None  # no dual input: a plain result
        np.testing.assert_allclose(fwAD.unpack_dual(d * b).tangent.numpy(), b.numpy())
        assert fwAD.unpack_dual(d > 1).tangent is None  # bool results carry no tangent
        idx = d.max(dim=0).indices
        assert idx.dtype == pe.int64 and fwAD.unpack_dual(idx).tangent is None


def test_tangent_gone_after_level_exit_and_decorator():
    with fwAD.dual_level():
        d = fwAD.make_dual(_pe([1.0]), _pe([2.0]))
        assert fwAD.unpack_dual(d).tangent is not None
    assert fwAD.unpack_dual(d).tangent is None
    assert fwAD.unpack_dual(d * 2).tangent is None

    @fwAD.dual_level()
    def tangent_of_square(x, v):
        return fwAD.unpack_dual(fwAD.make_dual(x, v) ** 2).tangent

    np.testing.assert_allclose(tangent_of_square(_pe([3.0]), _pe([1.0])).numpy(), [6.0])
    level = fwAD.enter_dual_level()
    fwAD.exit_dual_level(level=level)


def test_reverse_mode_through_duals_and_differentiable_tangents():
    x = _pe([0.5, -1.0, 2.0]).requires_grad_()
    tx = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    v = [1.0, 2.0, -1.0]
    with fwAD.dual_level():
        y = fwAD.make_dual(x, _pe(v)).sin() * 3.0
        tangent = fwAD.unpack_dual(y).tangent
        (tangent.sum() + y.sum()).backward()
    with torch.autograd.forward_ad.dual_level():
        ty = torch.autograd.forward_ad.make_dual(tx, torch.tensor(v, dtype=torch.float64)).sin() * 3.0
        ttan = torch.autograd.forward_ad.unpack_dual(ty).tangent
        (ttan.sum() + ty.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_custom_function_jvp_and_save_for_forward():
    class Cube(pe.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_forward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            raise AssertionError("not called")

        @staticmethod
        def jvp(ctx, t):
            (x,) = ctx.saved_tensors
            return 3.0 * x * x * t

    with fwAD.dual_level():
        out = Cube.apply(fwAD.make_dual(_pe([1.0, 2.0]), _pe([1.0, 0.5])))
        np.testing.assert_allclose(fwAD.unpack_dual(out).tangent.numpy(), [3.0, 6.0])


# ---------------------------------------------------------------- errors (as PyTorch)
def test_make_dual_outside_a_level():
    with pytest.raises(RuntimeError, match="no level exists"):
        fwAD.make_dual(_pe([1.0]), _pe([1.0]))
    with pytest.raises(RuntimeError, match="no level exists"):
        torch.autograd.forward_ad.make_dual(torch.ones(1), torch.ones(1))
    x = _pe([1.0])
    assert fwAD.unpack_dual(x) == (x, None)


def test_tangent_shape_mismatch():
    with fwAD.dual_level():
        with pytest.raises(RuntimeError, match=r"different size .* size \[2\] .* size \[3\]"):
            fwAD.make_dual(_pe([1.0, 2.0]), _pe([1.0, 2.0, 3.0]))


def test_level_errors():
    with fwAD.dual_level():
        with pytest.raises(RuntimeError, match="Nested forward mode AD is not supported"):
            fwAD.enter_dual_level()
        with pytest.raises(RuntimeError, match="Invalid level"):
            fwAD.make_dual(_pe([1.0]), _pe([1.0]), level=3)
        with pytest.raises(RuntimeError, match="not the last one"):
            fwAD.exit_dual_level(level=4)
        d = fwAD.make_dual(_pe([1.0]), _pe([1.0]))
        with pytest.raises(RuntimeError, match="already has a forward gradient"):
            fwAD.make_dual(d, _pe([1.0]))
        with pytest.raises(ValueError, match="floating point.*int64"):
            fwAD.make_dual(pe.tensor([1, 2]), _pe([1.0, 2.0]))
        with pytest.raises(TypeError, match="tangent"):
            fwAD.make_dual(_pe([1.0]), [1.0])
    with pytest.raises(RuntimeError, match="no level is active"):
        fwAD.exit_dual_level()


def test_unsupported_op_names_the_op():
    with fwAD.dual_level():
        d = fwAD.make_dual(_pe(np.ones((1, 1, 4, 4))), _pe(np.ones((1, 1, 4, 4))))
        p = fwAD.make_dual(_pe([0.3, 0.6]), _pe([1.0, 1.0]))
        with pytest.raises(NotImplementedError, match="forward AD with BinaryCrossEntropy .*not been implemented"):
            F.binary_cross_entropy(p, _pe([0.0, 1.0]))
        with pytest.raises(NotImplementedError, match=r"scatter_reduce\(reduce='amax'\)"):
            p.scatter_reduce(0, pe.tensor([0, 0]), p, "amax")

        class NoJvp(pe.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2

        with pytest.raises(NotImplementedError, match="NoJvp"):
            NoJvp.apply(d)
        assert fwAD.unpack_dual(NoJvp.apply(_pe([1.0]))).tangent is None  # no dual input: fine


def test_inplace_ops_on_duals_match_torch():
    """x.mul_(..), x.exp_(), x[key] = dual, a write through a view: the written tensor takes the
    result's tangent, as in PyTorch."""
    def run(lib, fw):
        m = pe if lib == "pe" else torch
        new = (lambda a: pe.tensor(a, dtype=pe.float64)) if lib == "pe" else (
            lambda a: torch.tensor(a, dtype=torch.float64))
        with fw.dual_level():
            d = fw.make_dual(new([1.0, 2.0, 0.5]), new([1.0, -3.0, 2.0]))
            y = d * 1.0
            y.mul_(d)
            y.exp_()
            z = m.zeros(4, dtype=m.float64)
            z[1:] = y
            z[0] = 5.0
            w = m.zeros(2, 4, dtype=m.float64)
            w[1].add_(z * d.sum())
            return [fw.unpack_dual(t).tangent.detach().numpy() for t in (y, z, w)]

    for ours, theirs in zip(run("pe", fwAD), run("torch", torch.autograd.forward_ad)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
