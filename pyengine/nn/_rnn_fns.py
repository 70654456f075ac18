"""One recurrent layer in one direction over a whole sequence: the autograd op nn.RNN, nn.LSTM,
nn.GRU and the three cells are built on.

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

One graph node per call: the forward is one `_C.rnn_layer_forward` (the whole sequence loop in
C++ on either device, fused step kernels, GEMMs) that also returns the per-step values its
backward reads, and the backward is one `_C.rnn_layer_backward` (backward through time in C++,
weight gradients of all steps in one GEMM each).
"""
from .. import _C
from .. import autograd as _autograd
from ..autograd.grad_mode import enable_grad as _enable_grad
from ..autograd.grad_mode import state as _grad_state
from ..creation import zeros as _zeros
from ..ops._util import Op
from ..ops.shape import cat as _cat
from ..ops.shape import stack as _stack
from ..tensor import _wrap


def _impl(t):
    return None if t is None else t._impl


class RnnLayerFn(Op):
    @staticmethod
    def forward(ctx, mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes, reverse):
        y, h_n, c_n, gates, c, h_pre = _C.rnn_layer_forward(mode, x._impl, h0._impl, _impl(c0), w_ih._impl,
                                                            w_hh._impl, _impl(b_ih), _impl(b_hh), _impl(w_hr),
                                                            batch_sizes, reverse, ctx is not None)
        if ctx is not None:
            ctx.save_for_backward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr)
            ctx.mode, ctx.batch_sizes, ctx.reverse = mode, batch_sizes, reverse
            ctx.forward_values = (y, gates, c, h_pre)
        return y, h_n, c_n

    @staticmethod
    def backward(ctx, dy, dh_n, dc_n):
        x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr = ctx.saved_tensors
        need = ctx.needs_input_grad
        if _grad_state.enabled:  # create_graph: gradients that are themselves differentiable
            grads = _graph_gradients(ctx.mode, (x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr), need[1:9],
                                     ctx.batch_sizes, ctx.reverse, (dy, dh_n, dc_n))
            return (None,) + grads + (None, None)
        grads = _C.rnn_layer_backward(ctx.mode, x._impl, h0._impl, _impl(c0), w_ih._impl, w_hh._impl, _impl(b_ih),
                                      _impl(b_hh), _impl(w_hr), ctx.batch_sizes, ctx.reverse, *ctx.forward_values,
                                      _impl(dy), _impl(dh_n), _impl(dc_n), need[1])
        gx, gh0, gc0, gw_ih, gw_hh, gb_ih, gb_hh, gw_hr = (None if g is None else _wrap(g) for g in grads)
        return (None, gx, gh0, gc0, gw_ih, gw_hh, gb_ih, gb_hh, gw_hr, None, None)


class RnnBidirectionalFn(Op):
    """Both directions of a layer in one node: the two step loops run side by side on the CPU.
    Arguments: mode, x, the forward direction's (h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr), the
    reverse direction's, batch_sizes. Outputs: y, h_n, c_n of the forward, then of the reverse."""

    @staticmethod
    def forward(ctx, mode, x, *rest):
        fwd, rev, batch_sizes = rest[:7], rest[7:14], rest[14]
        out_f, out_r = _C.rnn_bidirectional_forward(mode, x._impl, tuple(_impl(t) for t in fwd),
                                                    tuple(_impl(t) for t in rev), batch_sizes, ctx is not None)
        if ctx is not None:
            ctx.save_for_backward(x, *fwd, *rev)
            ctx.mode, ctx.batch_sizes = mode, batch_sizes
            ctx.forward_values = (out_f[:1] + out_f[3:], out_r[:1] + out_r[3:])  # (y, gates, c, h_pre)
        return out_f[:3] + out_r[:3]

    @staticmethod
    def backward(ctx, dy_f, dh_f, dc_f, dy_r, dh_r, dc_r):
        saved = ctx.saved_tensors
        x, fwd, rev = saved[0], saved[1:8], saved[8:15]
        if _grad_state.enabled:  # create_graph: each direction as rnn_layer does it, dx summed
            need = ctx.needs_input_grad
            gf = _graph_gradients(ctx.mode, (x,) + fwd, (need[1],) + need[2:9], ctx.batch_sizes, False,
                                  (dy_f, dh_f, dc_f))
            gr = _graph_gradients(ctx.mode, (x,) + rev, (need[1],) + need[9:16], ctx.batch_sizes, True,
                                  (dy_r, dh_r, dc_r))
            dx = gf[0] if gr[0] is None else gr[0] if gf[0] is None else gf[0] + gr[0]
            return (None, dx) + gf[1:] + gr[1:] + (None,)
        vf, vr = ctx.forward_values
        dx, gf, gr = _C.rnn_bidirectional_backward(
            ctx.mode, x._impl, tuple(_impl(t) for t in fwd), tuple(_impl(t) for t in rev), ctx.batch_sizes,
            vf + (_impl(dy_f), _impl(dh_f), _impl(dc_f)), vr + (_impl(dy_r), _impl(dh_r), _impl(dc_r)),
            ctx.needs_input_grad[1])
        wrap = lambda g: None if g is None else _wrap(g)  # noqa: E731
        return (None, wrap(dx)) + tuple(wrap(g) for g in gf) + tuple(wrap(g) for g in gr) + (None,)


# ---------------------------------------------------------------- double backward
# The fused kernels' gradients are not themselves recorded, so a backward with create_graph=True
# recomputes the layer step by step with differentiable Tensor ops (the same math as
# math/rnn_math.h) and differentiates that: slow, but only second-order uses pay for it.
def _graph_step(mode, xt, h, c, w_ih, w_hh, b_ih, b_hh, w_hr):
    gi, gh = xt.matmul(w_ih.t()), h.matmul(w_hh.t())
    gi = gi if b_ih is None else gi + b_ih
    gh = gh if b_hh is None else gh + b_hh
    if mode in ("rnn_tanh", "rnn_relu"):
        pre = gi + gh
        return (pre.tanh() if mode == "rnn_tanh" else pre.relu()), None
    if mode == "lstm":
        i, f, g, o = (gi + gh).chunk(4, 1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h = o.sigmoid() * c.tanh()
        return (h if w_hr is None else h.matmul(w_hr.t())), c
    r_i, z_i, n_i = gi.chunk(3, 1)
    r_h, z_h, n_h = gh.chunk(3, 1)
    r, z = (r_i + r_h).sigmoid(), (z_i + z_h).sigmoid()
    n = (n_i + r * n_h).tanh()
    return (1 - z) * n + z * h, None


def _graph_layer(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes, reverse):
    """rnn_layer's forward with Tensor ops, one step at a time (rows outside a step keep their state)."""
    T, B = x.shape[0], x.shape[1]
    sizes = batch_sizes or [B] * T
    h, c, ys = h0, c0, [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        n = sizes[t]
        h_new, c_new = _graph_step(mode, x[t, :n], h[:n], None if c is None else c[:n], w_ih, w_hh, b_ih, b_hh, w_hr)
        pad = _zeros(B - n, h_new.shape[1], dtype=x.dtype, device=x.device)
        ys[t] = h_new if n == B else _cat([h_new, pad], 0)
        h = h_new if n == B else _cat([h_new, h[n:]], 0)
        if c is not None:
            c = c_new if n == B else _cat([c_new, c[n:]], 0)
    return _stack(ys, 0), h, c


def _graph_gradients(mode, inputs, need, batch_sizes, reverse, grads):
    """Differentiable gradients of rnn_layer's inputs (x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr)
    given those of its outputs (y, h_n, c_n); None where not needed."""
    with _enable_grad():
        outs = _graph_layer(mode, *inputs, batch_sizes, reverse)
        pairs = [(o, g) for o, g in zip(outs, grads) if o is not None and g is not None]
        wrt = [t for t, n in zip(inputs, need) if n and t is not None]
        found = _autograd.grad([o for o, _ in pairs], wrt, [g for _, g in pairs], create_graph=True,
                               allow_unused=True) if pairs and wrt else []
    found = iter(found)
    return tuple(next(found) if n and t is not None else None for t, n in zip(inputs, need))


def rnn_layer(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr=None, batch_sizes=None, reverse=False):
    """One layer in one direction over the whole sequence (see the module docstring)."""
    sizes = [] if batch_sizes is None else [int(n) for n in batch_sizes]
    return RnnLayerFn.apply(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, sizes, bool(reverse))


def rnn_bidirectional_layer(mode, x, forward, reverse, batch_sizes=None):
    """Both directions of a layer over the same input, side by side on the CPU. forward and
    reverse are each (h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr) as rnn_layer takes them. Returns
    ((y, h_n, c_n) forward, (y, h_n, c_n) reverse), the same values as two rnn_layer calls."""
    sizes = [] if batch_sizes is None else [int(n) for n in batch_sizes]
    out = RnnBidirectionalFn.apply(mode, x, *forward, *reverse, sizes)
    return out[:3], out[3:]
