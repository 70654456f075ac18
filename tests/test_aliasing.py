"""Writes that alias (issue 12): NumPy views of tensors that require grad are refused like PyTorch;
in-place writes into expanded (self-overlapping) views are refused on every write path; a copy
whose source overlaps its destination reads the source as it was."""
import warnings

import numpy as np
import pytest

import pyengine as pe

REFUSED = "more than one element of the written-to tensor refers to a single memory location"


# ----- NumPy views of tensors that require grad -----
def test_numpy_and_array_of_requires_grad_tensor_raise_like_torch():
    torch = pytest.importorskip("torch")
    p = pe.ones(3, requires_grad=True)
    tp = torch.ones(3, requires_grad=True)
    for convert in (lambda t: t.numpy(), np.asarray, np.array, lambda t: np.asarray(t, dtype=np.float64)):
        with warnings.catch_warnings(), pytest.raises(RuntimeError) as theirs:
            warnings.simplefilter("ignore", DeprecationWarning)  # torch's __array__ lacks copy=
            convert(tp)
        with pytest.raises(RuntimeError) as ours:
            convert(p)
        assert str(ours.value) == str(theirs.value)
    np.testing.assert_array_equal(p.detach(), np.ones(3))  # nothing was written through


def test_requires_grad_views_and_outputs_are_refused_too():
    p = pe.ones(2, 3, requires_grad=True)
    for t in (p[0], p * 2, p.t()):
        with pytest.raises(RuntimeError, match=r"Use tensor.detach\(\).numpy\(\) instead"):
            np.asarray(t)


def test_detached_force_and_no_grad_conversions_still_work(device):
    p = pe.arange(6.0, device=device).reshape(2, 3).requires_grad_()
    np.testing.assert_array_equal(np.asarray(p.detach()), np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(p.numpy(force=True), np.arange(6.0).reshape(2, 3))
    with pe.no_grad():
        np.testing.assert_array_equal(np.asarray(p * 1), np.arange(6.0).reshape(2, 3))
    assert p.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]] and float(p[0, 1]) == 1.0
    assert "tensor(" in repr(p) and "requires_grad=True" in repr(p)
    assert pe.tensor(p).tolist() == p.tolist() and pe.tensor([p[0], p[1]]).shape == (2, 3)


def test_writing_through_a_detached_array_is_what_torch_does():
    """detach() shares memory in both libraries, so the documented way still writes through."""
    p = pe.zeros(3, requires_grad=True)
    np.asarray(p.detach())[1] = 5.0
    assert p.tolist() == [0.0, 5.0, 0.0]


# ----- in-place writes into expanded views -----
def _expanded(device):
    return pe.zeros(1, 3, device=device).expand(2, 3)


REFUSING_WRITES = {
    "copy_": lambda e: e.copy_(pe.ones(2, 3, device=e.device)),
    "copy_ broadcast": lambda e: e.copy_(pe.tensor(1.0, device=e.device)),
    "copy_ from another device": lambda e: e.copy_(pe.ones(2, 3)),
    "add_": lambda e: e.add_(1.0),
    "sub_": lambda e: e.sub_(pe.ones(2, 3, device=e.device)),
    "mul_": lambda e: e.mul_(2.0),
    "div_": lambda e: e.div_(2.0),
    "pow_": lambda e: e.pow_(2.0),
    "exp_": lambda e: e.exp_(),
    "relu_": lambda e: e.relu_(),
    "clamp_": lambda e: e.clamp_(0.0, 1.0),
    "add out=": lambda e: pe.add(pe.ones(2, 3, device=e.device), 1.0, out=e),
    "setitem tensor": lambda e: e.__setitem__(slice(None), pe.ones(3, device=e.device)),
    "index_put_": lambda e: e.index_put_((pe.tensor([0], device=e.device),), pe.tensor(1.0, device=e.device)),
    "scatter_add_": lambda e: e.scatter_add_(1, pe.zeros(2, 3, dtype=pe.int64, device=e.device),
                                             pe.ones(2, 3, device=e.device)),
    "uniform_": lambda e: e.uniform_(),
    "normal_": lambda e: e.normal_(),
    "bernoulli_": lambda e: e.bernoulli_(),
    "masked_fill_": lambda e: e.masked_fill_(pe.ones(2, 3, dtype=pe.bool, device=e.device), 1.0),
}


@pytest.mark.parametrize("name", list(REFUSING_WRITES))
def test_write_into_expanded_view_is_refused(device, name):
    e = _expanded(device)
    with pytest.raises(RuntimeError, match=rf"{REFUSED} \(shape \(2, 3\), strides \(0, 1\): dimension 0 has "
                                           rf"stride 0\)\. Please clone\(\) the tensor"):
        REFUSING_WRITES[name](e)
    assert e.tolist() == [[0.0] * 3] * 2  # nothing written


@pytest.mark.parametrize("name", ["copy_", "add_", "uniform_", "scatter_add_", "exp_"])
def test_torch_refuses_the_same_writes(name):
    torch = pytest.importorskip("torch")
    e = torch.zeros(1, 3).expand(2, 3)
    ops = {"copy_": lambda: e.copy_(torch.ones(2, 3)), "add_": lambda: e.add_(1.0), "uniform_": e.uniform_,
           "scatter_add_": lambda: e.scatter_add_(1, torch.zeros(2, 3, dtype=torch.long), torch.ones(2, 3)),
           "exp_": e.exp_}
    with pytest.raises(RuntimeError, match=REFUSED):
        ops[name]()


def test_writes_torch_allows_on_expanded_views(device):
    """fill_/zero_ store one value everywhere (well defined; PyTorch allows them); views whose
    stride-0 dims have size 1, and indexing a single row, are ordinary writes."""
    e = _expanded(device)
    assert e.fill_(2.0).tolist() == [[2.0] * 3] * 2
    assert e.zero_().tolist() == [[0.0] * 3] * 2
    assert pe.zeros(1, 3, device=device).expand(1, 3).add_(1.0).tolist() == [[1.0] * 3]
    e[0] = 4.0
    assert e.tolist() == [[4.0] * 3] * 2


# ----- copies whose source overlaps the destination -----
OVERLAPPING_COPIES = {
    "shift right": (lambda x: x[1:], lambda x: x[:-1]),
    "shift left": (lambda x: x[:-1], lambda x: x[1:]),
    "transpose": (lambda x: x.view(3, 3), lambda x: x.view(3, 3).t()),
    "reverse halves": (lambda x: x[:6].view(2, 3), lambda x: x[3:].view(2, 3)),
    "strided into contiguous": (lambda x: x[:4], lambda x: x[::2][:4]),
}


@pytest.mark.parametrize("name", list(OVERLAPPING_COPIES))
def test_copy_from_overlapping_source_reads_it_first(device, name):
    dst_of, src_of = OVERLAPPING_COPIES[name]
    base = np.arange(9.0)
    expected = base.copy()
    dst_view = dst_of(pe.tensor(expected))  # the same geometry on a NumPy copy gives the offsets
    a = expected.copy()
    np_dst = np.lib.stride_tricks.as_strided(a[dst_view.storage_offset():], dst_view.shape,
                                              [s * 8 for s in dst_view.stride()])
    src_view = src_of(pe.tensor(base))
    np_src = np.lib.stride_tricks.as_strided(base[src_view.storage_offset():], src_view.shape,
                                              [s * 8 for s in src_view.stride()]).copy()
    np_dst[...] = np_src

    x = pe.tensor(base, device=device)
    dst_of(x).copy_(src_of(x))
    np.testing.assert_array_equal(x.cpu().numpy(), a)


def test_overlapping_copy_matches_torch_where_torch_computes_it():
    """PyTorch refuses copies whose source partly overlaps the destination; where its operands
    merely interleave it computes them, and so do we, the same way."""
    torch = pytest.importorskip("torch")
    t = torch.arange(6.0)
    t[::2].copy_(t[1::2])
    x = pe.arange(6.0)
    x[::2].copy_(x[1::2])
    assert x.tolist() == t.tolist()
