"""pyengine-gnn and its layers (pyengine.models.graph): graph convolution is the dense normalised
adjacency product, the mean aggregator a dense neighbour mean, global pooling a per-graph
mean/max, top-k pooling keeps the best-scoring nodes and the edges among them and lets the score
vector learn; both tasks learn (accuracy above chance) in a few epochs and the PNG is written;
bad arguments are usage errors and a missing networkx is a clear exit."""
import os
import sys

import numpy as np
import pytest

import pyengine as pe
from pyengine.models import graph as G

nx = pytest.importorskip("networkx")
from pyengine.examples import gnn  # noqa: E402


def random_graph(rng, n=9, p=0.35):
    """A random undirected graph (both directions listed) with an isolated last node; its dense adjacency."""
    a = np.triu(rng.random((n, n)) < p, 1)
    a[-1, :] = a[:, -1] = False
    a = a | a.T
    src, dst = np.nonzero(a)
    return pe.tensor(np.stack([src, dst]).astype(np.int64)), a.astype(np.float64)


def test_gcn_propagation_is_the_symmetric_normalised_adjacency_with_self_loops():
    rng = np.random.default_rng(0)
    edge_index, a = random_graph(rng)
    x = rng.normal(size=(a.shape[0], 4))
    conv = G.GCNConv(4, 3).double()
    got = conv(pe.tensor(x), edge_index).detach().numpy()
    a_hat = a + np.eye(a.shape[0])
    d = a_hat.sum(1) ** -0.5
    w, b = conv.lin.weight.detach().numpy(), conv.bias.detach().numpy()
    np.testing.assert_allclose(got, (d[:, None] * a_hat * d[None, :]) @ x @ w.T + b, rtol=1e-10, atol=1e-12)


def test_sage_mean_aggregation_is_the_dense_neighbour_mean_and_zero_without_neighbours():
    rng = np.random.default_rng(1)
    edge_index, a = random_graph(rng)
    x = rng.normal(size=(a.shape[0], 5))
    deg = a.sum(1, keepdims=True)
    expected = np.where(deg > 0, a @ x / np.maximum(deg, 1), 0)
    np.testing.assert_allclose(G.mean_aggregate(pe.tensor(x), edge_index).numpy(), expected, rtol=1e-10, atol=1e-12)
    conv = G.SAGEConv(5, 2).double()
    wl, bl, wr = (t.detach().numpy() for t in (conv.lin_l.weight, conv.lin_l.bias, conv.lin_r.weight))
    np.testing.assert_allclose(conv(pe.tensor(x), edge_index).detach().numpy(), expected @ wl.T + bl + x @ wr.T,
                               rtol=1e-10, atol=1e-12)


def test_global_pools_are_per_graph_mean_and_max_and_differentiable():
    rng = np.random.default_rng(2)
    batch = np.array([0, 0, 0, 1, 2, 2, 2, 2])
    x = rng.normal(size=(8, 3))
    xt = pe.tensor(x, requires_grad=True)
    mean, mx = G.global_mean_pool(xt, pe.tensor(batch)), G.global_max_pool(xt, pe.tensor(batch), 3)
    for g in range(3):
        np.testing.assert_allclose(mean.detach().numpy()[g], x[batch == g].mean(0), rtol=1e-12)
        np.testing.assert_allclose(mx.detach().numpy()[g], x[batch == g].max(0), rtol=1e-12)
    (mean.sum() + mx.sum()).backward()
    counts = np.bincount(batch)
    is_max = x == np.stack([x[batch == g].max(0) for g in range(3)])[batch]  # no ties in random data
    np.testing.assert_allclose(xt.grad.numpy(), 1 / counts[batch][:, None] + is_max, rtol=1e-12)


def test_the_layers_pass_gradcheck_in_float64():
    rng = np.random.default_rng(3)
    edge_index, _ = random_graph(rng, n=6, p=0.5)
    x = pe.tensor(rng.normal(size=(6, 3)), requires_grad=True)
    batch = pe.tensor([0, 0, 0, 1, 1, 1])
    for conv in (G.GCNConv(3, 2).double(), G.SAGEConv(3, 2).double()):
        assert pe.autograd.gradcheck(lambda t: conv(t, edge_index), (x,))
    assert pe.autograd.gradcheck(lambda t: G.global_max_pool(t, batch, 2) + G.global_mean_pool(t, batch, 2), (x,))


def test_topk_pooling_keeps_the_best_nodes_of_each_graph_and_their_edges():
    # two paths, 0-1-2-3 and 4-5-6: the score is the first feature
    edge_index = pe.tensor([[0, 1, 1, 2, 2, 3, 4, 5, 5, 6], [1, 0, 2, 1, 3, 2, 5, 4, 6, 5]])
    x = pe.tensor([[0.1, 1], [0.9, -2], [0.8, 3], [0.2, 1], [0.5, 2], [-0.3, 1], [0.4, 5]], dtype=pe.float64)
    pool = G.TopKPooling(2, ratio=0.5).double()
    with pe.no_grad():
        pool.weight.copy_(pe.tensor([1.0, 0.0], dtype=pe.float64))
    out, edges, batch, perm, score = pool(x, edge_index, pe.tensor([0, 0, 0, 0, 1, 1, 1]))
    assert perm.tolist() == [1, 2, 4, 6] and batch.tolist() == [0, 0, 1, 1]
    assert sorted(map(tuple, edges.numpy().T.tolist())) == [(0, 1), (1, 0)]  # only 1-2 survives, renumbered
    np.testing.assert_allclose(out.detach().numpy(), x.numpy()[[1, 2, 4, 6]] * np.tanh(x.numpy()[[1, 2, 4, 6], :1]))
    out.sum().backward()  # the kept features are gated by tanh(score): the score vector learns
    assert pool.weight.grad is not None and np.abs(pool.weight.grad.numpy()).sum() > 0


def test_both_tasks_learn_and_the_png_is_written(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    plot = str(tmp_path / "karate.png")
    # seeds 0-5 of these settings give 0.73-0.96 on the karate club and 0.83-1.0 on the families
    results = gnn.main(["--node-epochs", "100", "--graph-epochs", "10", "--graphs-per-family", "12",
                        "--batch-size", "6", "--hidden", "16", "--lr", "0.03", "--plot", plot])
    assert [r["task"] for r in results] == ["karate club (nodes)"] * 2 + ["graph families"] * 2
    for r in results:
        chance = 0.5 if r["task"].startswith("karate") else 1 / len(gnn.FAMILIES)
        assert r["accuracy"] > chance + 0.15, r
        assert r["losses"][-1] < r["losses"][0]
    assert os.path.getsize(plot) > 10_000
    out = capsys.readouterr().out
    assert out.index("accuracy") < out.index("saved to")  # the table first, then the figure


def test_graph_families_are_what_they_say():
    data = gnn.graph_families(nx, 3, np.random.default_rng(0))
    assert [label for _, _, label in data] == [c for c in range(len(gnn.FAMILIES)) for _ in range(3)]
    for edge_index, x, label in data:
        n, e = x.shape[0], edge_index.shape[1] // 2
        degree = np.asarray(x.numpy()).argmax(1)
        assert np.bincount(edge_index.numpy()[0], minlength=n).clip(max=gnn.MAX_DEGREE).tolist() == degree.tolist()
        family = gnn.FAMILIES[label]
        if family == "cycle":
            assert e == n and set(degree) == {2}
        elif family == "star":
            assert e == n - 1 and sorted(degree)[:-1] == [1] * (n - 1)
        elif family == "complete":
            assert e == n * (n - 1) // 2
        elif family == "tree":
            assert e == n - 1
    x, edges, batch, labels = gnn.collate(data[:3])
    sizes = [d[1].shape[0] for d in data[:3]]
    assert batch.tolist() == sum(([i] * s for i, s in enumerate(sizes)), [])
    assert int(edges.max().item()) == sum(sizes) - 1 and labels.tolist() == [0, 0, 0]


def test_missing_networkx_is_a_clear_exit(monkeypatch):
    monkeypatch.setitem(sys.modules, "networkx", None)
    with pytest.raises(SystemExit, match="pip install networkx"):
        gnn.main(["--plot", ""])


@pytest.mark.parametrize("argv, message", [
    (["--node-epochs", "0"], "argument --node-epochs: must be >= 1, got 0"),
    (["--graphs-per-family", "1"], "argument --graphs-per-family: must be >= 2, got 1"),
    (["--labels-per-class", "17"], "argument --labels-per-class: must be <= 16"),
    (["--lr", "nan"], "argument --lr: must be > 0, got nan"),
    (["--models", "gat"], "unknown model(s) 'gat'"),
])
def test_bad_arguments_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        gnn.main(argv)
    assert info.value.code == 2 and message in capsys.readouterr().err


def test_help_version_and_console_entry_point(monkeypatch, capsys):
    with pytest.raises(SystemExit) as info:
        gnn.main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out == f"pyengine-gnn (pyengine {pe.__version__})\n"
    with pytest.raises(SystemExit):
        gnn.main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "usage: pyengine-gnn" in out and "(default: 200)" in out
    assert " ".join(gnn.__doc__.strip().split("\n\n")[0].split()) in out
    monkeypatch.setattr(sys, "argv", ["pyengine-gnn", "--models", "sage", "--node-epochs", "2", "--graph-epochs", "1",
                                      "--graphs-per-family", "2", "--plot", ""])
    assert gnn.cli() is None


@pytest.mark.parametrize("kind", ["gcn", "sage"])
def test_a_batch_runs_forward_and_backward_on_the_device_and_matches_the_cpu(kind, device):
    rng = np.random.default_rng(4)
    edge_index = pe.tensor([[0, 1, 1, 2, 3, 4, 4, 5], [1, 0, 2, 1, 4, 3, 5, 4]])
    x = rng.normal(size=(6, 3)).astype(np.float32)
    batch = pe.tensor([0, 0, 0, 1, 1, 1])
    outputs, grads = [], []
    for where in ("cpu", device):
        pe.manual_seed(0)
        model = gnn.GraphClassifier(kind, 3, 4, 2).to(where)
        xt = pe.tensor(x, device=where, requires_grad=True)
        out = model(xt, edge_index.to(where), batch.to(where), 2)
        out.sum().backward()
        assert out.device == xt.grad.device == pe.device(where)
        outputs.append(out.detach().cpu().numpy())
        grads.append(xt.grad.cpu().numpy())
    np.testing.assert_allclose(outputs[1], outputs[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-5, atol=1e-6)
