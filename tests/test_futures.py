"""pyengine.futures.Future against torch.futures.Future: completion, then-chains, errors and
their propagation through chains, done-callbacks, threads; and Work.get_future in a world of one
process (the multi-rank uses are in test_distributed_ddp_hooks.py)."""
import threading

import pytest

import pyengine as pe
from pyengine.futures import Future


def _libs():
    """(name, Future class) for pyengine and, where installed, torch: each test runs on both."""
    libs = [("pe", Future)]
    try:
        import torch
        libs.append(("torch", torch.futures.Future))
    except ImportError:
        pass
    return libs


LIBS = _libs()
both = pytest.mark.parametrize("name,F", LIBS, ids=[n for n, _ in LIBS])


@both
def test_set_result_then_wait_value_done(name, F):
    f = F()
    assert not f.done()
    f.set_result(3)
    assert f.done() and f.wait() == 3 and f.value() == 3
    assert f.wait() == 3  # waiting on a done future returns at once, again
    t = pe.ones(2) if name == "pe" else __import__("torch").ones(2)
    g = F()
    g.set_result(t)
    assert g.value() is t and g.wait() is t  # the object itself, not a copy


@both
def test_completes_once(name, F):
    f = F()
    f.set_result(1)
    with pytest.raises(RuntimeError, match="Future can only be marked completed once"):
        f.set_result(2)
    assert f.value() == 1
    with pytest.raises(RuntimeError, match="Future can only be marked completed once"):
        f.set_exception(ValueError("late"))
    if name == "pe":  # (torch's refused set_exception still replaces how value() reads: its bug)
        assert f.value() == 1


@both
def test_set_exception_raises_from_wait_and_value(name, F):
    f = F()
    f.set_exception(ValueError("boom"))
    assert f.done()
    with pytest.raises(ValueError, match="boom"):
        f.wait()
    with pytest.raises(ValueError, match="boom"):
        f.value()
    with pytest.raises(AssertionError, match="not an Exception"):
        F().set_exception(5)


@both
def test_then_chain_runs_on_completion_in_order(name, F):
    p = F()
    order = []
    c = p.then(lambda f: order.append("a") or f.value() * 2).then(lambda f: order.append("b") or f.value() + 1)
    assert not c.done() and order == []
    p.set_result(5)
    assert c.done() and c.wait() == 11 and order == ["a", "b"]
    # then on a completed future runs the callback at once
    assert p.then(lambda f: f.value() - 5).value() == 0


@both
def test_callback_error_completes_the_chained_future_with_it(name, F):
    p = F()
    p.set_result(1)
    c = p.then(lambda f: 1 / 0)
    assert c.done()
    with pytest.raises(RuntimeError, match="Got the following error when running the callback: ZeroDivisionError"):
        c.wait()
    # an error propagates down a chain through every callback that reads the value...
    failed = F()
    failed.set_exception(ValueError("boom"))
    chain = failed.then(lambda f: f.value() + 1).then(lambda f: f.value() + 1)
    with pytest.raises(RuntimeError, match="ValueError: boom"):
        chain.wait()
    # ...and stops at one that does not
    assert failed.then(lambda f: 7).wait() == 7


def test_callback_error_keeps_the_original_as_cause():
    failed = Future()
    failed.set_exception(KeyError("k"))
    with pytest.raises(RuntimeError) as info:
        failed.then(lambda f: f.value()).wait()
    assert isinstance(info.value.__cause__, KeyError)


@both
def test_add_done_callback(name, F):
    seen = []
    f = F()
    f.add_done_callback(lambda fut: seen.append(fut.value()))
    assert seen == []
    f.set_result(4)
    assert seen == [4]
    f.add_done_callback(lambda fut: seen.append(fut.value() + 1))  # already done: at once
    assert seen == [4, 5]


def test_add_done_callback_error_is_reported_not_raised():
    f = Future()
    f.add_done_callback(lambda fut: 1 / 0)
    with pytest.warns(RuntimeWarning, match="ZeroDivisionError"):
        f.set_result(1)
    assert f.wait() == 1


def test_value_of_a_pending_future_is_an_error():
    with pytest.raises(RuntimeError, match="not completed yet"):
        Future().value()
    with pytest.raises(TypeError, match="callable"):
        Future().then(5)


@both
def test_wait_blocks_until_another_thread_sets_the_result(name, F):
    f = F()
    chained = f.then(lambda fut: fut.value() * 10)
    threading.Timer(0.05, lambda: f.set_result(2)).start()
    assert chained.wait() == 20 and f.wait() == 2


def test_generic_alias_for_hook_annotations():
    assert Future[pe.Tensor] == Future[pe.Tensor]
    assert pe.futures.Future is Future


class _Request:
    """A stand-in for an MPI request: done after `polls` calls of Test(), or failing."""

    def __init__(self, polls, error=None):
        self.polls, self.error = polls, error

    def Test(self):  # noqa: N802 - mpi4py's name
        if self.error is not None:
            raise self.error
        self.polls -= 1
        return self.polls <= 0


def test_work_get_future_progresses_when_polled_or_waited():
    """Nothing completes a Work in the background: done() polls it once, wait() until it is done;
    the value is the list of the work's result tensors, and then() callbacks run on completion."""
    from pyengine.distributed import Work
    t = pe.tensor([1.0, 2.0])
    fut = Work("test", [_Request(3)], timeout=5, result=[t]).get_future()
    seen = []
    doubled = fut.then(lambda f: seen.append("cb") or f.value()[0] * 2)
    assert not fut.done() and not doubled.done() and seen == []  # polls 1 and 2
    assert doubled.wait().tolist() == [2.0, 4.0] and seen == ["cb"]
    assert fut.done() and fut.value()[0] is t
    # a chained future's done() drives the work too
    fut2 = Work("test", [_Request(2)], timeout=5, result=[t]).get_future()
    chained = fut2.then(lambda f: len(f.value()))
    assert not chained.done() and chained.done() and chained.value() == 1
    # a work without result tensors resolves to []
    assert Work("test", [_Request(1)], timeout=5).get_future().wait() == []


def test_work_get_future_carries_the_work_error():
    from pyengine.distributed import Work
    fut = Work("test", [_Request(1, error=OSError("link down"))], timeout=5).get_future()
    with pytest.raises(OSError, match="link down"):
        fut.wait()
    with pytest.raises(RuntimeError, match="OSError: link down"):
        fut.then(lambda f: f.value()).wait()
