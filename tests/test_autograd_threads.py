"""Autograd from several Python threads at once (issue 12): gradient accumulation into shared
leaves, hooks, retain_grad and graph bookkeeping are thread-safe; grad mode is per thread.

The kernels release the GIL, so threads really overlap inside them. Data are integer-valued
float64, so every gradient is exact and the accumulated .grad must equal N * M times one pass's
gradient to the last bit: a lost contribution cannot hide in rounding. Each hammer repeats a few
rounds with a short GIL switch interval, which made the unlocked accumulation fail reliably.
"""
import sys
import threading

import numpy as np
import pytest

import pyengine as pe
import pyengine.nn as nn
import pyengine.nn.functional as F
from _child_python import popen_python

THREADS = 4
ROUNDS = 3


@pytest.fixture(autouse=True)
def _fast_switching():
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # interleave Python code between threads as often as possible
    yield
    sys.setswitchinterval(old)


def run_threads(work, n=THREADS):
    """Runs work(i) in n threads started together; re-raises the first exception any of them hit."""
    errors = []
    start = threading.Barrier(n)

    def body(i):
        try:
            start.wait()
            work(i)
        except BaseException as e:  # noqa: BLE001 - reported in the main thread
            errors.append(e)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def integer_init(module, seed):
    """Small integer-valued float64 parameters, so every product and sum below is exact."""
    rng = np.random.default_rng(seed)
    with pe.no_grad():
        for p in module.parameters():
            p.copy_(pe.tensor(rng.integers(-3, 4, size=tuple(p.shape)).astype(np.float64)))
    return module


def grads_of(params):
    return [p.grad.detach().numpy().copy() for p in params]


def assert_grads_scaled(params, single, factor):
    for p, g in zip(params, single):
        np.testing.assert_array_equal(p.grad.detach().numpy(), g * factor)


class Net(nn.Module):
    """An embedding, a conv and two Linear layers: every parameter kind a model shares."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(50, 16, dtype=pe.float64)
        self.conv = nn.Conv1d(16, 32, 3, padding=1, dtype=pe.float64)
        self.fc1 = nn.Linear(32 * 12, 384, dtype=pe.float64)
        self.fc2 = nn.Linear(384, 8, dtype=pe.float64)

    def forward(self, idx):
        h = self.emb(idx).transpose(1, 2)          # (B, 16, 12)
        h = self.conv(h).flatten(1)                # (B, 384)
        return self.fc2(self.fc1(h))


def test_shared_model_forward_backward_accumulates_every_thread():
    idx = pe.tensor(np.random.default_rng(0).integers(0, 50, size=(4, 12)))
    for r in range(ROUNDS):
        net = integer_init(Net(), seed=r)
        params = list(net.parameters())
        net(idx).sum().backward()
        single = grads_of(params)
        net.zero_grad(set_to_none=True)
        iters = 8

        def work(_):
            for _ in range(iters):
                net(idx).sum().backward()

        run_threads(work)
        assert_grads_scaled(params, single, THREADS * iters)


def test_shared_leaves_different_graphs(device):
    """Each thread builds its own graph (its own input) into the same leaves."""
    n = 384 if device == "cpu" else 64  # the emulated GPU runs kernels on CPU threads: keep it small
    w = pe.zeros(n, n, dtype=pe.float64, device=device, requires_grad=True)
    b = pe.zeros(n, dtype=pe.float64, device=device, requires_grad=True)
    for _ in range(ROUNDS):
        w.grad = b.grad = None
        iters = 10

        def work(i):
            x = pe.full((2, n), float(i + 1), dtype=pe.float64, device=device)
            for _ in range(iters):
                (x @ w + b).sum().backward()

        run_threads(work)
        # d/dw of sum(x @ w + b) = column sums of x, broadcast: thread i contributes 2 * (i + 1).
        total = 2 * sum(range(1, THREADS + 1)) * iters
        np.testing.assert_array_equal(w.grad.cpu().numpy(), np.full((n, n), float(total)))
        np.testing.assert_array_equal(b.grad.cpu().numpy(), np.full(n, 2.0 * THREADS * iters))


def test_concurrent_backward_through_one_shared_graph_with_retain_graph():
    w = pe.tensor(np.arange(-8.0, 8.0).reshape(4, 4) % 5, requires_grad=True)
    x = pe.tensor(np.arange(300 * 4, dtype=np.float64).reshape(300, 4) % 7, requires_grad=True)
    h = (x @ w).relu()
    loss = (h * h).sum() + h.sum()  # one graph, shared by every thread
    h.retain_grad()
    loss.backward(retain_graph=True)
    single = grads_of([w, x, h])
    for _ in range(ROUNDS):
        w.grad = x.grad = h.grad = None
        iters = 10

        def work(_):
            for _ in range(iters):
                loss.backward(retain_graph=True)

        run_threads(work)
        assert_grads_scaled([w, x, h], single, THREADS * iters)


def test_shared_graph_without_retain_graph_fails_cleanly():
    """Without retain_graph a second pass over a freed shared graph must say so (PyTorch's
    error), never fail on a half-released node; the first pass's gradient is complete."""
    for _ in range(ROUNDS * 3):
        w = pe.ones(256, 256, dtype=pe.float64, requires_grad=True)
        loss = ((pe.ones(8, 256, dtype=pe.float64) @ w) * 2.0).sum() * 3.0
        outcomes = []

        def work(_):
            try:
                loss.backward()
                outcomes.append("ok")
            except RuntimeError as e:
                outcomes.append("freed" if "backward through the graph a second time" in str(e) else repr(e))

        run_threads(work)
        assert outcomes.count("ok") >= 1 and set(outcomes) <= {"ok", "freed"}, outcomes
        np.testing.assert_array_equal(w.grad.numpy(), np.full((256, 256), 48.0 * outcomes.count("ok")),
                                      err_msg=str(outcomes))


def test_hooks_and_retain_grad_registered_from_threads():
    """Hook lists and the one AccumulateGrad node per leaf are made safely under contention."""
    for _ in range(ROUNDS):
        x = pe.ones(3, dtype=pe.float64, requires_grad=True)
        y = x * 2.0
        calls = []
        per_thread = 50

        def work(i):
            for k in range(per_thread):
                x.register_hook(lambda g, tag=(i, k): calls.append(tag))
                y.register_hook(lambda g, tag=(i, k, "y"): calls.append(tag))
                y.retain_grad()
                x._accumulator()

        run_threads(work)
        y.sum().backward()
        assert len(calls) == 2 * THREADS * per_thread  # no registration lost
        np.testing.assert_array_equal(y.grad.numpy(), np.ones(3))  # retained once, not per thread
        np.testing.assert_array_equal(x.grad.numpy(), np.full(3, 2.0))


def test_hook_removal_while_backward_runs_elsewhere():
    x = pe.ones(64, dtype=pe.float64, requires_grad=True)
    stop = threading.Event()

    def churn():
        while not stop.is_set():
            handle = x.register_hook(lambda g: None)
            handle.remove()

    t = threading.Thread(target=churn)
    t.start()
    try:
        for _ in range(300):
            (x * 3.0).sum().backward()
    finally:
        stop.set()
        t.join()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(64, 900.0))
    assert not x._hooks


def test_grad_mode_is_per_thread():
    """no_grad (and set_grad_enabled) in one thread never changes what another thread records."""
    w = pe.ones(64, 64, dtype=pe.float64, requires_grad=True)
    x = pe.ones(4, 64, dtype=pe.float64)
    seen = {}

    def work(i):
        recorded = []
        for k in range(40):
            if i % 2:
                with pe.no_grad():
                    y = x @ w
                    recorded.append((y.requires_grad, pe.is_grad_enabled()))
            else:
                with pe.set_grad_enabled(True):
                    y = x @ w
                    recorded.append((y.requires_grad, pe.is_grad_enabled()))
        seen[i] = recorded

    for _ in range(ROUNDS):
        run_threads(work)
        for i, recorded in seen.items():
            expected = (False, False) if i % 2 else (True, True)
            assert all(r == expected for r in recorded), (i, recorded)
    assert pe.is_grad_enabled()


def test_grad_mode_set_in_a_thread_does_not_leak():
    flags = []

    def off():
        pe.set_grad_enabled(False)  # the function form: stays off in this thread only
        flags.append(pe.is_grad_enabled())

    t = threading.Thread(target=off)
    t.start()
    t.join()
    assert flags == [False]
    assert pe.is_grad_enabled()
    w = pe.ones(2, requires_grad=True)
    assert (w * 2).requires_grad


def test_functional_ops_and_autograd_grad_from_threads():
    """autograd.grad (nothing accumulated) from threads returns each thread's own gradient."""
    w = pe.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    results = {}

    def work(i):
        x = pe.full((5, 3), float(i), dtype=pe.float64)
        out = []
        for _ in range(30):
            (g,) = pe.autograd.grad(F.linear(x, w.t()).sum(), [w])
            out.append(g.numpy().copy())
        results[i] = out

    run_threads(work)
    for i, out in results.items():
        for g in out:
            np.testing.assert_array_equal(g, np.full((3, 4), 5.0 * i))
    assert w.grad is None


# ----- interpreter exit while daemon threads are inside kernels -----
_EXIT_SCRIPT = r"""
import sys, threading, time
import pyengine as pe
import pyengine.nn as nn
import pyengine.nn.functional as F

dev = sys.argv[1]

def matmuls():  # big enough that the OpenMP threads are busy too
    a = pe.randn(384, 384, device=dev)
    while True:
        a @ a

def convs():
    x, k = pe.randn(4, 8, 32, 32, device=dev), pe.randn(8, 8, 3, 3, device=dev)
    while True:
        F.conv2d(x, k, padding=1)

def training():
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 14 * 14, 10)).to(dev)
    x = pe.randn(8, 3, 16, 16, device=dev)
    while True:
        m(x).sum().backward()

for work in (matmuls, convs, training, matmuls):
    threading.Thread(target=work, daemon=True).start()
time.sleep(0.05)
print("main thread exits")
"""


def test_daemon_threads_in_kernels_do_not_abort_interpreter_exit(device):
    """A daemon thread returning from a kernel (GIL released) while the interpreter finalizes
    used to be ended by CPython with pthread_exit through pybind11's noexcept GIL guard:
    std::terminate, "terminate called without an active exception", exit code 134."""
    import os
    import subprocess

    procs = [popen_python(["-c", _EXIT_SCRIPT, device], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    for p in procs:
        try:
            out, err = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            pytest.fail(f"interpreter exit hung; stderr: {err[-2000:]}")
        assert p.returncode == 0 and "main thread exits" in out, (p.returncode, err[-2000:])
        assert "terminate called" not in err and "Aborted" not in err, err[-2000:]

