"""One recurrent layer in one direction over a whole sequence: the autograd op nn.RNN, nn.LSTM,
nn.GRU and the three cells are built on.

CONTRACT (stable; the body is being replaced by the fused native kernel):

    rnn_layer(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr=None, batch_sizes=None, reverse=False)
        -> (y, h_n, c_n)

mode         "rnn_tanh" | "rnn_relu" | "lstm" | "gru"
x            (T, B, I) time-major, float32/float64, any device
h0           (B, P) where P = proj size if w_hr is given else H
c0           (B, H) for "lstm", else None
w_ih         (G*H, I), w_hh (G*H, P); b_ih, b_hh (G*H,) or None; G = 1 / 4 (i, f, g, o) / 3 (r, z, n)
w_hr         (P, H) LSTM projection or None
batch_sizes  None, or a tuple of T non-increasing ints with batch_sizes[0] == B: row b takes part
             in step t iff b < batch_sizes[t] (PackedSequence order). A row not taking part keeps
             its state and gets zeros in y.
reverse      run t = T-1 .. 0 (each row starts at its own last step with h0)
returns      y (T, B, P), h_n (B, P) = each row's state after its last step, c_n (B, H) or None.
Differentiable with respect to x, h0, c0 and every weight.
"""
from .. import _C  # noqa: F401  (the native kernel lands here)
from .. import ops as _ops  # noqa: F401
import pyengine as pe


def _step(mode, xt, h, c, w_ih, w_hh, b_ih, b_hh, w_hr):
    gi = pe.matmul(xt, w_ih.t())
    gh = pe.matmul(h, w_hh.t())
    if b_ih is not None:
        gi = gi + b_ih
    if b_hh is not None:
        gh = gh + b_hh
    if mode == "rnn_tanh":
        return pe.tanh(gi + gh), None
    if mode == "rnn_relu":
        return pe.relu(gi + gh), None
    if mode == "lstm":
        i, f, g, o = (gi + gh).chunk(4, 1)
        c2 = pe.sigmoid(f) * c + pe.sigmoid(i) * pe.tanh(g)
        h2 = pe.sigmoid(o) * pe.tanh(c2)
        if w_hr is not None:
            h2 = pe.matmul(h2, w_hr.t())
        return h2, c2
    r_i, z_i, n_i = gi.chunk(3, 1)
    r_h, z_h, n_h = gh.chunk(3, 1)
    r = pe.sigmoid(r_i + r_h)
    z = pe.sigmoid(z_i + z_h)
    n = pe.tanh(n_i + r * n_h)
    return (1 - z) * n + z * h, None


def rnn_layer(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr=None, batch_sizes=None, reverse=False):
    """TEMPORARY pure-Python body with the final contract (see the module docstring)."""
    T, B = x.shape[0], x.shape[1]
    sizes = tuple(batch_sizes) if batch_sizes is not None else (B,) * T
    h, c = h0, c0
    ys = [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        n = sizes[t]
        h_new, c_new = _step(mode, x[t, :n], h[:n], None if c is None else c[:n], w_ih, w_hh, b_ih, b_hh, w_hr)
        ys[t] = h_new if n == B else pe.cat([h_new, pe.zeros(B - n, h_new.shape[1], dtype=x.dtype,
                                                                   device=x.device)], 0)
        h = h_new if n == B else pe.cat([h_new, h[n:]], 0)
        if c is not None:
            c = c_new if n == B else pe.cat([c_new, c[n:]], 0)
    return pe.stack(ys, 0), h, c
