"""DistributedDataParallel on 2 and 3 MPI ranks: training with DDP gives the parameters one
process gets training on the concatenated batches (tests/mpi_workers/ddp_train.py trains both on
every rank), for an MLP and a CNN; no_sync accumulation; BatchNorm buffers from rank 0; unused
parameters; and, in one process, the autograd hooks DDP is built on."""
import pytest

import pyengine as pe
from mpi_launch import run_ranks

TOL = 1e-5


@pytest.mark.parametrize("world", [2, 3])
@pytest.mark.parametrize("model", ["mlp", "cnn"])
@pytest.mark.parametrize("mode", ["plain", "no_sync"])
def test_ddp_equals_one_process_on_the_whole_batch(tmp_path, world, model, mode):
    reports = run_ranks(world, "ddp_train.py", tmp_path, model, mode)
    for rank, r in enumerate(reports):
        assert (r["before_diff"] > 0) == (rank > 0), r  # each rank built its own weights...
        assert r["start_diff"] == 0, r                   # ...and DDP replaced them with rank 0's
        assert r["diff"] < TOL, (rank, r)
        assert r["keys"] == ["module.0.weight", "module.0.bias"]
        if mode == "no_sync":  # the accumulating backward passes did not communicate
            assert r["local_only"] == [True] * 3, r
        else:  # buckets started while backward was still computing earlier layers' gradients
            assert r["buckets"] >= 2 and len(r["started_before_last_grad"]) == 3, r
            assert all(0 < n < r["buckets"] for n in r["started_before_last_grad"]), r


def test_batchnorm_buffers_come_from_rank0(tmp_path):
    reports = run_ranks(2, "ddp_train.py", tmp_path, "bn", "plain")
    for r in reports:
        assert r["bn_buffers_equal_rank0"] and r["bn_tracked"] == 4, r


def test_find_unused_parameters(tmp_path):
    reports = run_ranks(2, "ddp_train.py", tmp_path, "mlp", "unused")
    for r in reports:
        assert r["diff"] < TOL and r["unused_grad_is_none"], r


# ------------------------------------------------------------------ the autograd hooks under DDP
def test_post_accumulate_grad_hook_sees_the_accumulated_grad():
    w = pe.ones(3, requires_grad=True)
    seen = []
    handle = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.tolist()))
    (w * 2).sum().backward()
    (w * 3).sum().backward()
    assert seen == [[2.0] * 3, [5.0] * 3]
    handle.remove()
    (w * 3).sum().backward()
    assert len(seen) == 2


def test_post_accumulate_grad_hook_rules_match_torch():
    torch = pytest.importorskip("torch")
    for lib in (pe, torch):
        x = lib.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="post accumulate grad hooks cannot be registered on non-leaf"):
            (x * 2).register_post_accumulate_grad_hook(lambda t: None)
        with pytest.raises(RuntimeError, match="doesn't require gradient"):
            lib.ones(2).register_post_accumulate_grad_hook(lambda t: None)
    # the same calls, the same number of times, as torch
    calls = {}
    for name, lib in (("pe", pe), ("torch", torch)):
        a, b = lib.ones(2, requires_grad=True), lib.ones(2, requires_grad=True)
        calls[name] = []
        a.register_post_accumulate_grad_hook(lambda t, n=name: calls[n].append("a"))
        b.register_post_accumulate_grad_hook(lambda t, n=name: calls[n].append("b"))
        (a * b + a).sum().backward()
    assert sorted(calls["pe"]) == sorted(calls["torch"]) == ["a", "b"]


def test_queued_callback_runs_after_backward():
    from pyengine.autograd.engine import queue_callback
    with pytest.raises(RuntimeError, match="no backward pass is running"):
        queue_callback(lambda: None)
    w = pe.ones(2, requires_grad=True)
    order = []

    def hook(grad):
        order.append("hook")
        queue_callback(lambda: order.append(("end", w.grad.tolist())))
    w.register_hook(hook)
    (w * 4).sum().backward()
    assert order == ["hook", ("end", [4.0, 4.0])]


def test_ddp_needs_a_process_group():
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        pe.nn.parallel.DistributedDataParallel(pe.nn.Linear(2, 2))
