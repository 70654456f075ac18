"""The fused embedding_bag kernels (_C.embedding_bag_forward / _backward) against NumPy: edge sizes
(empty bags, D = 1, odd D, padding_idx, duplicates, entries in no bag), thread-count independence
of the CPU kernels, cpu/cuda parity, and the op layer's checks."""
import numpy as np
import pytest

import pyengine as pe
from pyengine import _C


def _np_forward(w, idx, off, last, psw, mode, pad):
    n = len(idx)
    ends = list(off[1:]) + ([] if last else [n])
    bags = len(ends)
    out = np.zeros((bags, w.shape[1]), w.dtype)
    arg = np.full((bags, w.shape[1]), -1, np.int64)
    for b in range(bags):
        es = [e for e in range(off[b], ends[b]) if idx[e] != pad]
        if not es:
            continue
        rows = w[idx[es]] * (psw[es][:, None] if psw is not None else 1)
        if mode == "max":
            k = np.argmax(rows, axis=0)  # first maximum
            out[b], arg[b] = rows[k, np.arange(w.shape[1])], idx[es][k]
        else:
            out[b] = rows.sum(0) / (len(es) if mode == "mean" else 1)
    return out, arg


def _np_backward(g, w, idx, off, last, psw, mode, pad, arg):
    n = len(idx)
    ends = list(off[1:]) + ([] if last else [n])
    gw = np.zeros_like(w)
    gpsw = np.zeros(n, w.dtype)
    for b in range(len(ends)):
        es = [e for e in range(off[b], ends[b]) if idx[e] != pad]
        if mode == "max":
            for d in range(w.shape[1]):
                if arg[b, d] >= 0:
                    gw[arg[b, d], d] += g[b, d]
            continue
        for e in es:
            f = (psw[e] if psw is not None else 1) / (len(es) if mode == "mean" else 1)
            gw[idx[e]] += f * g[b]
            gpsw[e] = g[b] @ w[idx[e]]
    return gw, gpsw


def _t(a, device):
    return _C.to_device(_C.from_numpy(np.ascontiguousarray(a)), device) if device != "cpu" else \
        _C.from_numpy(np.ascontiguousarray(a))


def _host(impl):
    from pyengine.tensor import _wrap
    return _wrap(impl)._host_array()


# (V, D, indices, offsets, include_last_offset): empty bags first / inside / last, D = 1, odd D,
# duplicates inside a bag and across bags, entries past the last offset.
CASES = [
    (7, 1, [1, 2, 6, 1, 3, 2, 2, 0, 5], [0, 0, 4, 4], False),
    (7, 5, [1, 2, 6, 1, 3, 2, 2, 0, 5], [0, 3, 3, 9], True),
    (5, 3, [4, 4, 4, 1, 1, 0], [0, 2, 5], True),  # entry 5 is in no bag
    (3, 17, [2, 2, 2, 2], [0, 0, 0, 4], False),
    (4, 2, [], [0, 0], False),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("pad", [-1, 2])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_kernels_match_numpy(device, dtype, mode, pad, case):
    V, D, idx, off, last = CASES[case]
    rng = np.random.default_rng(case)
    w = rng.standard_normal((V, D)).astype(dtype)
    w[1, 0] = w[4 % V, 0]  # ties: the first maximum wins
    idx, off = np.array(idx, np.int64), np.array(off, np.int64)
    psw = rng.standard_normal(len(idx)).astype(dtype) if mode == "sum" else None
    tol = 1e-5 if dtype == "float32" else 1e-12
    out, arg = _C.embedding_bag_forward(_t(w, device), _t(idx, device), _t(off, device), last,
                                        None if psw is None else _t(psw, device), mode, pad)
    want, want_arg = _np_forward(w, idx, off, last, psw, mode, pad)
    np.testing.assert_allclose(_host(out), want, rtol=tol, atol=tol)
    if mode == "max":
        np.testing.assert_array_equal(_host(arg), want_arg)
    else:
        assert arg is None
    g = rng.standard_normal(want.shape).astype(dtype)
    gw, gpsw = _C.embedding_bag_backward(_t(g, device), _t(idx, device), _t(off, device), last,
                                         None if psw is None else _t(psw, device), mode, pad, arg, V, False,
                                         None if psw is None else _t(w, device))
    want_gw, want_gpsw = _np_backward(g, w, idx, off, last, psw, mode, pad, want_arg)
    np.testing.assert_allclose(_host(gw), want_gw, rtol=tol, atol=tol)
    if psw is None:
        assert gpsw is None
    else:
        np.testing.assert_allclose(_host(gpsw), want_gpsw, rtol=tol, atol=tol)


def test_max_propagates_nan(device):
    w = np.array([[1.0, 5.0], [np.nan, 2.0], [3.0, np.nan]])
    out, arg = _C.embedding_bag_forward(_t(w, device), _t(np.array([0, 1, 2]), device),
                                        _t(np.array([0]), device), False, None, "max", -1)
    got = _host(out)
    assert np.isnan(got[0, 0]) and np.isnan(got[0, 1])
    np.testing.assert_array_equal(_host(arg), [[1, 2]])


def test_scale_grad_by_freq_divides_by_row_count(device):
    w = np.zeros((3, 2))
    idx, off = np.array([1, 1, 2, 1]), np.array([0, 2])
    g = np.array([[1.0, 2.0], [4.0, 8.0]])
    gw, _ = _C.embedding_bag_backward(_t(g, device), _t(idx, device), _t(off, device), False, None, "sum", -1,
                                      None, 3, True)
    np.testing.assert_allclose(_host(gw), [[0, 0], [(2 * g[0, 0] + g[1, 0]) / 3, (2 * g[0, 1] + g[1, 1]) / 3],
                                           g[1]])


def test_cpu_results_do_not_depend_on_threads():
    """Big enough for parallel_for to split the work: 1 and 2 threads must agree bit for bit."""
    rng = np.random.default_rng(0)
    V, D, n, bags = 300, 33, 6000, 120
    w = rng.standard_normal((V, D)).astype(np.float32)
    idx = rng.integers(0, 40, n)  # few rows: many duplicates to accumulate
    off = np.sort(rng.integers(0, n, bags))
    off[0] = 0
    psw = rng.standard_normal(n).astype(np.float32)
    g = rng.standard_normal((bags, D)).astype(np.float32)
    results = []
    before = pe.get_num_threads()
    try:
        for threads in (1, 2):
            pe.set_num_threads(threads)
            r = []
            for mode in ("sum", "mean", "max"):
                p = _C.from_numpy(psw) if mode == "sum" else None
                out, arg = _C.embedding_bag_forward(_C.from_numpy(w), _C.from_numpy(idx), _C.from_numpy(off), False,
                                                    p, mode, 3)
                gw, gp = _C.embedding_bag_backward(_C.from_numpy(g), _C.from_numpy(idx), _C.from_numpy(off), False,
                                                   p, mode, 3, arg, V, mode == "mean",
                                                   _C.from_numpy(w) if p is not None else None)
                r += [_host(out), _host(gw)] + ([_host(gp)] if gp is not None else [])
            results.append(r)
    finally:
        pe.set_num_threads(before)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_device_parity_bigger(device):
    if device == "cpu":
        pytest.skip("compares cuda with cpu")
    rng = np.random.default_rng(1)
    w = rng.standard_normal((50, 70))
    idx, off = rng.integers(0, 50, 90), np.array([0, 10, 10, 45, 80])
    g = rng.standard_normal((5, 70))
    for mode in ("sum", "mean", "max"):
        res = []
        for dev in ("cpu", device):
            out, arg = _C.embedding_bag_forward(_t(w, dev), _t(idx, dev), _t(off, dev), False, None, mode, 0)
            gw, _ = _C.embedding_bag_backward(_t(g, dev), _t(idx, dev), _t(off, dev), False, None, mode, 0, arg,
                                              50, False)
            res.append((_host(out), _host(gw)))
        np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-12, atol=1e-12)


def test_op_layer_checks(device):
    w = _t(np.zeros((7, 2)), device)
    i = lambda a: _t(np.array(a, np.int64), device)  # noqa: E731
    with pytest.raises(IndexError, match="index 12 is out of range for an embedding table of 7 rows"):
        _C.embedding_bag_forward(w, i([1, 12]), i([0]), False, None, "sum", -1)
    with pytest.raises(RuntimeError, match="offsets\\[0\\] has to be 0"):
        _C.embedding_bag_forward(w, i([1, 2]), i([1]), False, None, "sum", -1)
    with pytest.raises(RuntimeError, match="can not be greater than input's length 2 but got offsets\\[-1\\] of 3"):
        _C.embedding_bag_forward(w, i([1, 2]), i([0, 3]), False, None, "sum", -1)
    with pytest.raises(ValueError, match="non-decreasing, got offsets\\[2\\] = 2 > offsets\\[3\\] = 1"):
        _C.embedding_bag_forward(w, i([1, 2]), i([0, 0, 2, 1]), False, None, "sum", -1)
    with pytest.raises(ValueError, match="mode has to be one of sum, mean or max"):
        _C.embedding_bag_forward(w, i([1]), i([0]), False, None, "min", -1)
    with pytest.raises(ValueError, match="padding_idx"):
        _C.embedding_bag_forward(w, i([1]), i([0]), False, None, "sum", 7)
    with pytest.raises(ValueError, match="per_sample_weights is only supported for mode='sum'"):
        _C.embedding_bag_forward(w, i([1]), i([0]), False, _t(np.ones(1), device), "max", -1)
    with pytest.raises(ValueError, match="expected grad of 1 bags"):
        _C.embedding_bag_backward(_t(np.zeros((2, 2)), device), i([1]), i([0]), False, None, "sum", -1, None, 7,
                                  False)
    with pytest.raises(IndexError, match="max_indices value 9"):
        _C.embedding_bag_backward(_t(np.zeros((1, 2)), device), i([1]), i([0]), False, None, "max", -1,
                                  i([[9, 0]]), 7, False)
