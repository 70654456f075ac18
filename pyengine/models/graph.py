"""Message-passing graph layers built on pyengine's scatter/segment ops (index_select gathers the
messages along the edges, index_add / scatter_reduce sum or average them at their targets).

A graph is given by node features x (N, F) and an edge list `edge_index` (2, E) of int64: row 0
holds each edge's source, row 1 its target (an undirected graph lists both directions). A batch
of graphs is one big disconnected graph plus `batch` (N,), the graph each node belongs to, with
the nodes of one graph contiguous and graphs numbered 0, 1, ... in order.
"""
import math

import numpy as np

import pyengine as pe
from pyengine import nn


def _rows(index, columns):
    """An (E,) index repeated over `columns`, as scatter_reduce's (E, columns) index along dim 0."""
    return index.unsqueeze(1).expand(index.shape[0], columns).contiguous()


def gcn_norm(edge_index, num_nodes, dtype=pe.float32):
    """Kipf & Welling's propagation weights: the edges with a self-loop added at every node, and
    each edge's weight 1 / sqrt(deg(source) deg(target)), degrees counted with the self-loops.
    Summing weight * x[source] at each target is D^-1/2 (A + I) D^-1/2 x."""
    loops = pe.arange(num_nodes, device=edge_index.device).unsqueeze(0).expand(2, num_nodes)
    edge_index = pe.cat([edge_index, loops], dim=1)
    source, target = edge_index[0], edge_index[1]
    ones = pe.ones(edge_index.shape[1], dtype=dtype, device=edge_index.device)
    degree = pe.zeros(num_nodes, dtype=dtype, device=edge_index.device).index_add_(0, target, ones)
    inv_sqrt = degree ** -0.5
    return edge_index, inv_sqrt.index_select(0, source) * inv_sqrt.index_select(0, target)


def propagate(x, edge_index, weight=None):
    """sum over edges (s -> t) of weight * x[s], collected at each target t: (N, F)."""
    source, target = edge_index[0], edge_index[1]
    messages = x.index_select(0, source)
    if weight is not None:
        messages = messages * weight.unsqueeze(1)
    return pe.index_add(pe.zeros_like(x), 0, target, messages)


def mean_aggregate(x, edge_index):
    """The mean of x[s] over each target t's incoming edges (s -> t); 0 where a node has none."""
    source, target = edge_index[0], edge_index[1]
    return pe.scatter_reduce(pe.zeros_like(x), 0, _rows(target, x.shape[1]), x.index_select(0, source),
                             "mean", include_self=False)


class GCNConv(nn.Module):
    """Graph convolution (Kipf & Welling 2017): D^-1/2 (A + I) D^-1/2 x W + b."""

    def __init__(self, in_channels, out_channels, bias=True):
        super().__init__()
        self.lin = nn.Linear(in_channels, out_channels, bias=False)
        self.bias = nn.Parameter(pe.zeros(out_channels)) if bias else None

    def forward(self, x, edge_index):
        edge_index, weight = gcn_norm(edge_index, x.shape[0], dtype=x.dtype)
        out = propagate(self.lin(x), edge_index, weight)
        return out + self.bias if self.bias is not None else out


class SAGEConv(nn.Module):
    """GraphSAGE with the mean aggregator (Hamilton et al. 2017): W_l mean_{s->t} x_s + W_r x_t."""

    def __init__(self, in_channels, out_channels, bias=True):
        super().__init__()
        self.lin_l = nn.Linear(in_channels, out_channels, bias=bias)  # the neighbours' mean
        self.lin_r = nn.Linear(in_channels, out_channels, bias=False)  # the node itself

    def forward(self, x, edge_index):
        return self.lin_l(mean_aggregate(x, edge_index)) + self.lin_r(x)


def _segment_pool(x, batch, num_graphs, reduce):
    if num_graphs is None:
        num_graphs = int(batch.max().item()) + 1 if batch.shape[0] else 0
    out = pe.zeros(num_graphs, x.shape[1], dtype=x.dtype, device=x.device)
    return pe.scatter_reduce(out, 0, _rows(batch, x.shape[1]), x, reduce, include_self=False)


def global_mean_pool(x, batch, num_graphs=None):
    """(num_graphs, F): the mean of each graph's node features."""
    return _segment_pool(x, batch, num_graphs, "mean")


def global_max_pool(x, batch, num_graphs=None):
    """(num_graphs, F): the feature-wise maximum over each graph's nodes."""
    return _segment_pool(x, batch, num_graphs, "amax")


class TopKPooling(nn.Module):
    """Top-k pooling (Gao & Ji 2019; Cangea et al. 2018): score each node by its projection on a
    learned vector p, keep the ceil(ratio * n) best-scoring nodes of every graph, gate their
    features by tanh(score) (which is how p learns) and keep the edges between kept nodes.
    forward returns (x, edge_index, batch, kept node indices, their scores)."""

    def __init__(self, in_channels, ratio=0.5):
        super().__init__()
        if not 0 < ratio <= 1:
            raise ValueError(f"TopKPooling: ratio must be in (0, 1], got {ratio}")
        self.ratio = ratio
        self.weight = nn.Parameter(pe.empty(in_channels))
        nn.init.uniform_(self.weight, -1 / math.sqrt(in_channels), 1 / math.sqrt(in_channels))

    def forward(self, x, edge_index, batch):
        score = pe.tanh((x @ self.weight) / self.weight.norm())
        counts = np.bincount(batch.cpu().numpy(), minlength=1) if batch.shape[0] else np.zeros(0, np.int64)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        kept = []
        for start, n in zip(starts, counts):
            if n:
                k = math.ceil(self.ratio * n)
                kept.append(pe.topk(score[start:start + n].detach(), k).indices + int(start))
        perm = pe.cat(kept) if kept else pe.zeros(0, dtype=pe.int64, device=x.device)
        kept_score = score.index_select(0, perm)
        x = x.index_select(0, perm) * kept_score.unsqueeze(1)
        # renumber the edges: old node -> its place in perm, -1 where dropped
        new_id = np.full(score.shape[0], -1, dtype=np.int64)
        new_id[perm.cpu().numpy()] = np.arange(perm.shape[0])
        edges = new_id[edge_index.cpu().numpy()]
        edges = edges[:, (edges >= 0).all(0)]
        return (x, pe.tensor(edges, dtype=pe.int64, device=x.device), batch.index_select(0, perm), perm,
                kept_score)
