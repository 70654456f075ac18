"""pyengine.models.RBM and the deep-belief-network classifier: the free energy against NumPy and
against summing out the hidden units by enumeration, the CD/PCD loss's autograd gradient against
the closed-form contrastive-divergence update, Gibbs sampling reaching the exact distribution of
a tiny model, the pseudo-log-likelihood against exact conditionals, gradcheck, device parity on
the emulated GPU, and clear errors for bad input."""
import itertools

import numpy as np
import pytest

import pyengine as pe
from pyengine.autograd import gradcheck
from pyengine.models import RBM, dbn_classifier, sigmoid_mlp


def _rbm(n_visible, n_hidden, seed=0, scale=0.5, device="cpu"):
    """A float64 RBM with non-trivial weights and biases drawn by NumPy."""
    rng = np.random.default_rng(seed)
    rbm = RBM(n_visible, n_hidden, dtype=pe.float64)
    with pe.no_grad():
        rbm.weight.copy_(pe.tensor(scale * rng.normal(size=(n_hidden, n_visible))))
        rbm.visible_bias.copy_(pe.tensor(scale * rng.normal(size=n_visible)))
        rbm.hidden_bias.copy_(pe.tensor(scale * rng.normal(size=n_hidden)))
    return rbm.to(device)


def _params(rbm):
    return (rbm.weight.detach().cpu().numpy(), rbm.visible_bias.detach().cpu().numpy(),
            rbm.hidden_bias.detach().cpu().numpy())


def _free_energy_np(rbm, v):
    w, b, c = _params(rbm)
    return -v @ b - np.logaddexp(0.0, v @ w.T + c).sum(1)


def _binary(n, width, seed):
    return np.random.default_rng(seed).integers(0, 2, size=(n, width)).astype(np.float64)


def _all_states(width):
    return np.array(list(itertools.product([0.0, 1.0], repeat=width)))


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_layout_parameters_and_repr():
    rbm = RBM(784, 50)
    assert tuple(rbm.weight.shape) == (50, 784) and rbm.weight.dtype == pe.float32
    assert dict(rbm.named_parameters()).keys() == {"weight", "visible_bias", "hidden_bias"}
    assert float(rbm.visible_bias.abs().sum()) == 0 and float(rbm.hidden_bias.abs().sum()) == 0
    assert 0.005 < float(rbm.weight.std()) < 0.015  # N(0, 0.01^2)
    assert repr(rbm) == "RBM(n_visible=784, n_hidden=50)"


@pytest.mark.parametrize("n,n_visible,n_hidden", [(1, 1, 1), (7, 13, 5), (0, 4, 3)])
def test_free_energy_and_conditionals_match_numpy(n, n_visible, n_hidden):
    rbm = _rbm(n_visible, n_hidden)
    v = _binary(n, n_visible, 1)
    vt = pe.tensor(v)
    assert tuple(rbm.free_energy(vt).shape) == (n,)
    np.testing.assert_allclose(rbm.free_energy(vt).detach().numpy(), _free_energy_np(rbm, v), rtol=1e-12, atol=1e-12)
    w, b, c = _params(rbm)
    np.testing.assert_allclose(rbm.hidden_probs(vt).detach().numpy(), _sigmoid(v @ w.T + c), rtol=1e-12)
    np.testing.assert_allclose(rbm(vt).detach().numpy(), _sigmoid(v @ w.T + c), rtol=1e-12)
    h = _binary(n, n_hidden, 2)
    np.testing.assert_allclose(rbm.visible_probs(pe.tensor(h)).detach().numpy(), _sigmoid(h @ w + b), rtol=1e-12)


def test_free_energy_is_the_hidden_units_summed_out():
    """exp(-F(v)) = sum_h exp(-E(v, h)), E(v, h) = -v.b - h.c - h.W.v, by enumerating every h."""
    rbm = _rbm(4, 3, scale=1.0)
    w, b, c = _params(rbm)
    v, h = _all_states(4), _all_states(3)
    energy = -(v @ b)[:, None] - (h @ c)[None, :] - np.einsum("hj,ji,vi->vh", h, w, v)
    expected = -np.log(np.exp(-energy).sum(1))
    np.testing.assert_allclose(rbm.free_energy(pe.tensor(v)).detach().numpy(), expected, rtol=1e-10)


def test_free_energy_gradcheck_in_float64():
    rbm = _rbm(5, 3)
    v = pe.tensor(np.random.default_rng(3).uniform(size=(4, 5)), requires_grad=True)  # [0, 1] inputs too
    assert gradcheck(lambda x, *_: rbm.free_energy(x), (v, rbm.weight, rbm.visible_bias, rbm.hidden_bias))


def _closed_form_cd_gradient(rbm, v_data, v_model):
    """-(<p(h|v) v^T>_data - <p(h|v) v^T>_model) and the same for the biases: the CD update."""
    w, b, c = _params(rbm)
    hd, hm = _sigmoid(v_data @ w.T + c), _sigmoid(v_model @ w.T + c)
    gw = -(hd.T @ v_data / len(v_data) - hm.T @ v_model / len(v_model))
    return gw, -(v_data.mean(0) - v_model.mean(0)), -(hd.mean(0) - hm.mean(0))


def test_persistent_cd_gradient_is_the_closed_form_update_and_the_chains_advance():
    rbm = _rbm(6, 4)
    v = _binary(5, 6, 4)
    chains = pe.tensor(_binary(3, 6, 5))  # fewer fantasy particles than data rows
    pe.manual_seed(0)
    expected_chains = rbm.sample(chains.clone(), k=2).numpy()
    pe.manual_seed(0)
    loss = rbm.contrastive_divergence(pe.tensor(v), k=2, chains=chains)
    np.testing.assert_array_equal(chains.numpy(), expected_chains)  # overwritten with the new state
    v_model = chains.numpy()
    np.testing.assert_allclose(float(loss), _free_energy_np(rbm, v).mean() - _free_energy_np(rbm, v_model).mean(),
                               rtol=1e-12)
    loss.backward()
    for param, expected in zip((rbm.weight, rbm.visible_bias, rbm.hidden_bias),
                               _closed_form_cd_gradient(rbm, v, v_model)):
        np.testing.assert_allclose(param.grad.numpy(), expected, rtol=1e-10, atol=1e-12)


def test_cd_k_starts_its_chains_at_the_data():
    rbm = _rbm(6, 4)
    v = pe.tensor(_binary(8, 6, 6))
    pe.manual_seed(7)
    v_model = rbm.sample(v, k=3).numpy()
    pe.manual_seed(7)
    loss = rbm.contrastive_divergence(v, k=3)
    loss.backward()
    for param, expected in zip((rbm.weight, rbm.visible_bias, rbm.hidden_bias),
                               _closed_form_cd_gradient(rbm, v.numpy(), v_model)):
        np.testing.assert_allclose(param.grad.numpy(), expected, rtol=1e-10, atol=1e-12)
    assert v.grad is None and set(np.unique(v_model)) <= {0.0, 1.0}


def test_gibbs_sampling_reaches_the_models_distribution():
    """4000 chains of a 3-visible, 2-hidden RBM after 30 sweeps: the histogram of the 8 visible
    states is within sampling noise of p(v) = exp(-F(v)) / Z."""
    rbm = _rbm(3, 2, seed=1, scale=1.5)
    states = _all_states(3)
    p = np.exp(-_free_energy_np(rbm, states))
    p /= p.sum()
    pe.manual_seed(0)
    v = rbm.sample(pe.zeros(4000, 3, dtype=pe.float64), k=30).numpy()
    counts = np.array([(v == s).all(1).sum() for s in states]) / len(v)
    assert counts.sum() == 1  # every sample is a 0/1 state
    np.testing.assert_allclose(counts, p, atol=0.03)
    assert 0.5 * np.abs(counts - p).sum() < 0.04  # total variation


def test_pseudo_log_likelihood_is_n_visible_times_the_exact_conditional():
    rbm = _rbm(4, 3, scale=1.0)
    v = _all_states(4)
    index = np.arange(len(v)) % 4
    joint = np.exp(-_free_energy_np(rbm, v))  # unnormalised p(v)
    flipped = v.copy()
    flipped[np.arange(len(v)), index] = 1 - flipped[np.arange(len(v)), index]
    conditional = joint / (joint + np.exp(-_free_energy_np(rbm, flipped)))  # p(v_i | v_-i)
    got = rbm.pseudo_log_likelihood(pe.tensor(v), pe.tensor(index)).numpy()
    np.testing.assert_allclose(got, 4 * np.log(conditional), rtol=1e-10)
    # a random pixel per row: each value is one of the row's four possible ones
    pe.manual_seed(0)
    random = rbm.pseudo_log_likelihood(pe.tensor(v)).numpy()
    per_pixel = np.stack([rbm.pseudo_log_likelihood(pe.tensor(v), pe.full((len(v),), i, dtype=pe.int64)).numpy()
                          for i in range(4)], 1)
    assert np.isclose(random[:, None], per_pixel).any(1).all()


def test_pseudo_log_likelihood_does_not_overflow_for_large_weights():
    rbm = _rbm(5, 2, scale=300.0)
    out = rbm.pseudo_log_likelihood(pe.tensor(_binary(6, 5, 8)), pe.zeros(6, dtype=pe.int64)).numpy()
    assert np.isfinite(out).all() and (out <= 0).all()


def test_reconstruct_gives_probabilities_without_a_graph():
    rbm = _rbm(6, 4)
    recon = rbm.reconstruct(pe.tensor(_binary(5, 6, 9)))
    assert tuple(recon.shape) == (5, 6) and recon.grad_fn is None
    assert ((recon.numpy() > 0) & (recon.numpy() < 1)).all()


def test_float32_runs_and_matches_float64():
    rbm64 = _rbm(9, 4)
    rbm32 = RBM(9, 4)
    rbm32.load_state_dict({k: v.float() for k, v in rbm64.state_dict().items()})
    v = _binary(3, 9, 10)
    np.testing.assert_allclose(rbm32.free_energy(pe.tensor(v, dtype=pe.float32)).detach().numpy(),
                               _free_energy_np(rbm64, v), rtol=1e-5)


def test_matches_the_cpu_on_each_device(device):
    rbm = _rbm(7, 3, device=device)
    v = _binary(5, 7, 11)
    vt = pe.tensor(v).to(device)
    np.testing.assert_allclose(rbm.free_energy(vt).detach().cpu().numpy(), _free_energy_np(rbm, v), rtol=1e-12)
    index = pe.tensor(np.arange(5) % 7).to(device)
    cpu = _rbm(7, 3)
    np.testing.assert_allclose(rbm.pseudo_log_likelihood(vt, index).cpu().numpy(),
                               cpu.pseudo_log_likelihood(pe.tensor(v), index.cpu()).numpy(), rtol=1e-12)
    chains = pe.tensor(_binary(4, 7, 12)).to(device)
    loss = rbm.contrastive_divergence(vt, k=1, chains=chains)
    loss.backward()
    assert chains.device == vt.device and set(np.unique(chains.cpu().numpy())) <= {0.0, 1.0}
    for param, expected in zip((rbm.weight, rbm.visible_bias, rbm.hidden_bias),
                               _closed_form_cd_gradient(rbm, v, chains.cpu().numpy())):
        np.testing.assert_allclose(param.grad.cpu().numpy(), expected, rtol=1e-10, atol=1e-12)


def test_bad_input_is_a_clear_error():
    for n_visible, n_hidden in ((0, 3), (3, -1), (2.5, 3), (True, 3)):
        with pytest.raises(ValueError, match="must be a positive integer"):
            RBM(n_visible, n_hidden)
    rbm = RBM(6, 4)
    with pytest.raises(ValueError, match=r"expected v of shape \(N, 6\), got \(2, 5\)"):
        rbm.free_energy(pe.zeros(2, 5))
    with pytest.raises(ValueError, match=r"expected v of shape \(N, 6\), got \(6,\)"):
        rbm.hidden_probs(pe.zeros(6))
    with pytest.raises(ValueError, match=r"expected h of shape \(N, 4\), got \(2, 6\)"):
        rbm.visible_probs(pe.zeros(2, 6))
    with pytest.raises(TypeError, match="expected v of a floating dtype, got pyengine.int64"):
        rbm.free_energy(pe.zeros(2, 6, dtype=pe.int64))
    with pytest.raises(TypeError, match="expected v as a Tensor, got ndarray"):
        rbm.free_energy(np.zeros((2, 6)))
    with pytest.raises(ValueError, match=r"k \(the number of Gibbs steps\) must be an integer >= 1, got 0"):
        rbm.sample(pe.zeros(2, 6), k=0)
    with pytest.raises(ValueError, match=r"expected chains of shape \(N, 6\), got \(3, 5\)"):
        rbm.contrastive_divergence(pe.zeros(2, 6), chains=pe.zeros(3, 5))
    with pytest.raises(ValueError, match=r"expected index of shape \(2,\) and dtype int64, got \(3,\) pyengine.int64"):
        rbm.pseudo_log_likelihood(pe.zeros(2, 6), pe.zeros(3, dtype=pe.int64))


def test_dbn_classifier_starts_from_the_stack():
    stack = [_rbm(8, 5, seed=1), _rbm(5, 3, seed=2)]
    model = dbn_classifier(stack, 4)
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    for rbm, layer in zip(stack, (model[0], model[2])):
        np.testing.assert_array_equal(layer.weight.detach().numpy(), rbm.weight.detach().numpy())
        np.testing.assert_array_equal(layer.bias.detach().numpy(), rbm.hidden_bias.detach().numpy())
    v = pe.tensor(_binary(3, 8, 13))
    np.testing.assert_allclose(model[:4](v).detach().numpy(), stack[1](stack[0](v)).detach().numpy(), rtol=1e-12)
    assert tuple(model(v).shape) == (3, 4) and model[4].weight.dtype == pe.float64
    model(v).sum().backward()  # fine-tuning trains the copies, not the RBMs
    assert stack[0].weight.grad is None and model[0].weight.grad is not None


def test_sigmoid_mlp_and_stack_errors():
    model = sigmoid_mlp([784, 20, 10], 10)
    assert [type(m).__name__ for m in model] == ["Linear", "Sigmoid", "Linear", "Sigmoid", "Linear"]
    assert tuple(model(pe.zeros(2, 784)).shape) == (2, 10)
    with pytest.raises(ValueError, match="at least an input and one hidden size"):
        sigmoid_mlp([784], 10)
    with pytest.raises(ValueError, match="positive integers"):
        sigmoid_mlp([784, 0], 10)
    with pytest.raises(ValueError, match="does not chain: an RBM with n_hidden=5 is followed by one with n_visible=4"):
        dbn_classifier([RBM(8, 5), RBM(4, 3)], 10)
    with pytest.raises(TypeError, match="non-empty sequence of RBMs"):
        dbn_classifier([], 10)
