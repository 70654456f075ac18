"""Restricted Boltzmann machines and deep belief networks, written the way a course student writes
them in PyTorch: parameters, sampling with pe.bernoulli, and a loss whose gradient (through
autograd) is the contrastive-divergence update.

RBM: a Bernoulli-Bernoulli RBM with energy E(v, h) = -v.b - h.c - h.W.v, weight W of shape
(n_hidden, n_visible) (nn.Linear's layout, so a trained RBM initialises a Linear layer as is),
visible bias b and hidden bias c. Summing out h gives the free energy

    F(v) = -v.b - sum_j softplus(c_j + W_j.v),      p(v) = exp(-F(v)) / Z,

and the log-likelihood gradient is -dF(v_data)/dtheta + E_model[dF(v)/dtheta]. With v_model from
k Gibbs steps started at the data (CD-k) or from persistent fantasy chains (PCD), the gradient of
loss = mean F(v_data) - mean F(v_model) (v_model held fixed) is exactly the CD/PCD update, e.g.
dloss/dW = -(<p(h|v) v^T>_data - <p(h|v) v^T>_model): minimising it with SGD is CD/PCD training.

sigmoid_mlp / dbn_classifier: the classifier a deep belief network becomes - Linear+Sigmoid
layers of the RBM stack's sizes and a Linear output layer (logits for cross-entropy) - from
random initialisation, or with each hidden layer initialised from an RBM of a greedily pretrained
stack (weight W, bias c).
"""
from .. import dtypes as _dtypes
from ..autograd import no_grad
from ..creation import bernoulli, empty, randint, zeros
from ..nn import Linear, Module, Parameter, Sequential, Sigmoid, init
from ..nn import functional as F
from ..tensor import Tensor


def _check_size(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"RBM: {name} must be a positive integer, got {value!r}")


class RBM(Module):
    """A Bernoulli-Bernoulli restricted Boltzmann machine over (N, n_visible) 0/1 (or [0, 1])
    inputs. Parameters: weight (n_hidden, n_visible), drawn from N(0, init_std^2) as Hinton's
    practical guide suggests; visible_bias (n_visible,) and hidden_bias (n_hidden,), zero.
    forward(v) gives p(h = 1 | v), the features a stacked RBM or a classifier sees."""

    def __init__(self, n_visible, n_hidden, init_std=0.01, device=None, dtype=None):
        super().__init__()
        _check_size(n_visible, "n_visible")
        _check_size(n_hidden, "n_hidden")
        self.n_visible, self.n_hidden = n_visible, n_hidden
        self.weight = Parameter(empty(n_hidden, n_visible, dtype=dtype, device=device))
        self.visible_bias = Parameter(zeros(n_visible, dtype=dtype, device=device))
        self.hidden_bias = Parameter(zeros(n_hidden, dtype=dtype, device=device))
        with no_grad():
            init.normal_(self.weight, 0.0, init_std)

    def extra_repr(self):
        return f"n_visible={self.n_visible}, n_hidden={self.n_hidden}"

    def _check(self, x, width, what, who):
        if not isinstance(x, Tensor):
            raise TypeError(f"RBM.{who}: expected {what} as a Tensor, got {type(x).__name__}")
        if x.ndim != 2 or x.shape[1] != width:
            raise ValueError(f"RBM.{who}: expected {what} of shape (N, {width}), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise TypeError(f"RBM.{who}: expected {what} of a floating dtype, got {x.dtype}")

    def _hidden_logits(self, v):
        return F.linear(v, self.weight, self.hidden_bias)

    def hidden_probs(self, v):
        """p(h_j = 1 | v) = sigmoid(c_j + W_j.v), shape (N, n_hidden)."""
        self._check(v, self.n_visible, "v", "hidden_probs")
        return self._hidden_logits(v).sigmoid()

    def visible_probs(self, h):
        """p(v_i = 1 | h) = sigmoid(b_i + h.W[:, i]), shape (N, n_visible)."""
        self._check(h, self.n_hidden, "h", "visible_probs")
        return (h @ self.weight + self.visible_bias).sigmoid()

    def forward(self, v):
        return self.hidden_probs(v)

    def free_energy(self, v):
        """F(v) = -v.b - sum_j softplus(c_j + W_j.v), one value per row of v: shape (N,)."""
        self._check(v, self.n_visible, "v", "free_energy")
        return -(v @ self.visible_bias) - F.softplus(self._hidden_logits(v)).sum(1)

    def gibbs_step(self, v):
        """One block-Gibbs sweep v -> h ~ p(h | v) -> v' ~ p(v | h); returns the 0/1 sample v'."""
        h = bernoulli(self.hidden_probs(v))
        return bernoulli(self.visible_probs(h))

    def sample(self, v, k=1):
        """v after k Gibbs sweeps (no graph is recorded: samples are data, not functions of the
        parameters)."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"RBM.sample: k (the number of Gibbs steps) must be an integer >= 1, got {k!r}")
        self._check(v, self.n_visible, "v", "sample")
        with no_grad():
            for _ in range(k):
                v = self.gibbs_step(v)
        return v

    def contrastive_divergence(self, v, k=1, chains=None):
        """The CD-k loss mean F(v) - mean F(v_model): v_model is k Gibbs sweeps from the data v,
        or, for persistent CD, from `chains` (an (M, n_visible) tensor of fantasy particles,
        overwritten with their new state, so the next call continues the same Markov chains).
        Its gradient is the CD/PCD estimate of minus the log-likelihood gradient."""
        self._check(v, self.n_visible, "v", "contrastive_divergence")
        if chains is not None:
            self._check(chains, self.n_visible, "chains", "contrastive_divergence")
        v_model = self.sample(v if chains is None else chains, k)
        if chains is not None:
            with no_grad():
                chains.copy_(v_model)
        return self.free_energy(v).mean() - self.free_energy(v_model).mean()

    def reconstruct(self, v):
        """p(v' = 1 | h) for h ~ p(h | v): the one-Gibbs-step reconstruction of v (no graph)."""
        self._check(v, self.n_visible, "v", "reconstruct")
        with no_grad():
            return self.visible_probs(bernoulli(self.hidden_probs(v)))

    def pseudo_log_likelihood(self, v, index=None):
        """scikit-learn's BernoulliRBM.score_samples: per row, n_visible * log p(v_i | v_-i) for
        one visible unit i per row (uniformly random, or `index`, an (N,) int64 tensor), where
        log p(v_i | v_-i) = log sigmoid(F(v with v_i flipped) - F(v)). A stochastic estimate of
        the pseudo-log-likelihood sum_i log p(v_i | v_-i); shape (N,). Expects 0/1 rows."""
        self._check(v, self.n_visible, "v", "pseudo_log_likelihood")
        n = v.shape[0]
        if index is None:
            index = randint(0, self.n_visible, (n,), device=v.device)
        elif not isinstance(index, Tensor) or tuple(index.shape) != (n,) or index.dtype != _dtypes.int64:
            got = f"{tuple(index.shape)} {index.dtype}" if isinstance(index, Tensor) else type(index).__name__
            raise ValueError(f"RBM.pseudo_log_likelihood: expected index of shape ({n},) and dtype int64, got {got}")
        with no_grad():
            flip = F.one_hot(index, self.n_visible).to(v.dtype)
            flipped = v + flip * (1 - 2 * v)
            delta = self.free_energy(flipped) - self.free_energy(v)
            return -self.n_visible * F.softplus(-delta)  # n * log sigmoid(delta), without overflow


def _check_sizes(sizes, num_classes, who):
    if len(sizes) < 2:
        raise ValueError(f"{who}: expected at least an input and one hidden size, got {list(sizes)}")
    for size in list(sizes) + [num_classes]:
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise ValueError(f"{who}: sizes and num_classes must be positive integers, got sizes {list(sizes)}, "
                             f"num_classes {num_classes!r}")


def sigmoid_mlp(sizes, num_classes, device=None, dtype=None):
    """Linear(sizes[0], sizes[1]), Sigmoid, ..., Linear(sizes[-1], num_classes): the deep belief
    network's classifier, here from nn.Linear's random initialisation."""
    _check_sizes(sizes, num_classes, "sigmoid_mlp")
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [Linear(n_in, n_out, device=device, dtype=dtype), Sigmoid()]
    layers.append(Linear(sizes[-1], num_classes, device=device, dtype=dtype))
    return Sequential(*layers)


def dbn_classifier(rbms, num_classes):
    """sigmoid_mlp of the stack's sizes, each hidden Linear layer a copy of its RBM's weight and
    hidden bias (so layer l computes that RBM's p(h | v)); the output layer is left random.
    rbms: a greedily pretrained stack, rbms[l].n_hidden == rbms[l + 1].n_visible."""
    rbms = list(rbms)
    if not rbms or not all(isinstance(r, RBM) for r in rbms):
        got = [type(r).__name__ for r in rbms]
        raise TypeError(f"dbn_classifier: expected a non-empty sequence of RBMs, got {got}")
    for lower, upper in zip(rbms[:-1], rbms[1:]):
        if lower.n_hidden != upper.n_visible:
            raise ValueError(f"dbn_classifier: the stack does not chain: an RBM with n_hidden={lower.n_hidden} is "
                             f"followed by one with n_visible={upper.n_visible}")
    weight = rbms[0].weight
    model = sigmoid_mlp([rbms[0].n_visible] + [r.n_hidden for r in rbms], num_classes, device=weight.device,
                        dtype=weight.dtype)
    with no_grad():
        for rbm, layer in zip(rbms, model[0::2]):
            layer.weight.copy_(rbm.weight)
            layer.bias.copy_(rbm.hidden_bias)
    return model
