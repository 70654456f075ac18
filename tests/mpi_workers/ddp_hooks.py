"""DistributedDataParallel's communication hooks and gradient_as_bucket_view against one process
(the comparison ddp_train.py makes for the default path: 3 SGD-momentum steps of an MLP).
Usage: ddp_hooks.py OUT_DIR MODE [DEVICE]
MODE: allreduce | fp16 | bf16 | fp16_wrapper (the built-in hooks) | custom (a hook of its own
that checks its GradBucket, counts its calls and chains then()) | views | views_none (
gradient_as_bucket_view, zero_grad keeping / dropping the views) | views_fp16 (both) | errors.
DEVICE: cpu (default) | cuda (the DDP model on the GPU; the reference stays on the CPU)."""
import sys

import pyengine as pe
import pyengine.distributed as dist
from pyengine import nn
from pyengine.distributed.algorithms.ddp_comm_hooks import default_hooks
from pyengine.futures import Future
from _common import out_dir, report, start
from _ddp_models import PER_RANK, batch, loss_fn, max_diff, rank_model, reference_model, reference_step, sgd, share

rank, world = start()
mode = sys.argv[2]
device = sys.argv[3] if len(sys.argv) > 3 else "cpu"
CAP_MB = 0.0002  # several buckets for the MLP
HOOKS = {"allreduce": default_hooks.allreduce_hook, "fp16": default_hooks.fp16_compress_hook,
         "bf16": default_hooks.bf16_compress_hook, "views_fp16": default_hooks.fp16_compress_hook,
         "fp16_wrapper": default_hooks.fp16_compress_wrapper(default_hooks.allreduce_hook)}
SIXTEEN_BIT = {"fp16": pe.float16, "bf16": pe.bfloat16, "views_fp16": pe.float16, "fp16_wrapper": pe.float16}


def ddp_of(model, **kwargs):
    return nn.parallel.DistributedDataParallel(model, bucket_cap_mb=CAP_MB, **kwargs)


def inside(t, flat):
    """t's memory lies in flat's."""
    lo, hi = flat.data_ptr(), flat.data_ptr() + flat.numel() * flat.element_size()
    return lo <= t.data_ptr() and t.data_ptr() + t.numel() * t.element_size() <= hi


def grads_are_bucket_views(ddp):
    """Every .grad lies in its bucket's flat tensor, at its own slot."""
    return all(p.grad is not None and inside(p.grad, b.flat) and p.grad.data_ptr() == slot.data_ptr()
               for b in ddp._reducer.buckets for p, slot in zip(b.params, b.slots))


class CountingHook:
    """A hook of its own: averages with the public all_reduce and two then() callbacks, and checks
    the GradBucket it is given (indices in order each backward, views of the buffer, the
    parameters in it, is_last on the last one only)."""

    def __init__(self, params):
        self.params = {id(p) for p in params}
        self.calls, self.thens, self.problems = [], 0, []

    def __call__(self, state, bucket):
        self.calls.append(bucket.index())
        buf = bucket.buffer()
        grads, params = bucket.gradients(), bucket.parameters()
        if state != "my-state":
            self.problems.append(f"state {state!r}")
        if [tuple(g.shape) for g in grads] != [tuple(p.shape) for p in params]:
            self.problems.append(f"bucket {bucket.index()}: gradients' shapes differ from the parameters'")
        if not all(inside(g, buf) for g in grads) or buf.numel() != sum(p.numel() for p in params):
            self.problems.append(f"bucket {bucket.index()}: gradients are not the buffer's views")
        if not all(id(p) in self.params for p in params):
            self.problems.append(f"bucket {bucket.index()}: a parameter not of the model")
        buf.div_(dist.get_world_size())
        fut = dist.all_reduce(buf, async_op=True).get_future()

        def count(f):
            self.thens += 1
            return f.value()
        return fut.then(lambda f: f.value()[0]).then(count).then(lambda f: f.value())


def train(ddp, local, opt, zero_grad, after_backward=None):
    """3 steps of DDP beside the reference: (max parameter difference, reference's parameters)."""
    reference, ref_opt = reference_model("mlp")
    for step in range(3):
        x, y = batch("mlp", step, PER_RANK * world)
        zero_grad(step)
        loss_fn(ddp(x[share(rank)].to(device)), y[share(rank)].to(device)).backward()
        if after_backward is not None:
            after_backward(step)
        opt.step()
        reference_step(reference, ref_opt, x, y)
    return max_diff(local.parameters(), reference.parameters())


def run_training():
    local = rank_model("mlp", rank).to(device)
    views = mode.startswith("views")
    custom = CountingHook(local.parameters()) if mode == "custom" else None
    hooked_before_last_grad = []
    if custom is not None:
        # The first layer's weight gets its gradient last; a hook registered before DDP's sees
        # how many buckets this backward had handed to the communication hook by then.
        next(local.parameters()).register_post_accumulate_grad_hook(
            lambda p: hooked_before_last_grad.append(len(custom.calls) % len(ddp._reducer.buckets)))
    ddp = ddp_of(local, gradient_as_bucket_view=views)
    opt = sgd(ddp.parameters())
    result = {"buckets": len(ddp._reducer.buckets)}
    if custom is not None:
        ddp.register_comm_hook("my-state", custom)
    elif mode in HOOKS:
        ddp.register_comm_hook(state=None, hook=HOOKS[mode])
    checks = {"views": [], "kept": [], "sixteen_bit": []}

    def zero_grad(step):
        before = [p.grad.data_ptr() if p.grad is not None else None for p in local.parameters()]
        if mode == "views_none":
            opt.zero_grad(set_to_none=True)  # drops the views: DDP makes them again in backward
        elif step == 2:
            ddp.zero_grad(set_to_none=False)  # Module.zero_grad keeps them too
        else:
            opt.zero_grad(set_to_none=False)
        if views and step > 0:
            after = [p.grad.data_ptr() if p.grad is not None else None for p in local.parameters()]
            checks["kept"].append(after == before if mode != "views_none" else all(a is None for a in after))
            checks["zeroed"] = all(float(p.grad.abs().max()) == 0 for p in local.parameters()) \
                if mode != "views_none" else True

    def after_backward(step):
        if views:
            checks["views"].append(grads_are_bucket_views(ddp))
        if mode in SIXTEEN_BIT:  # the averages went through 16 bits: each is a 16-bit number
            dt = SIXTEEN_BIT[mode]
            checks["sixteen_bit"].append(all(pe.equal(p.grad.to(dt).to(pe.float32), p.grad)
                                             for p in local.parameters()))
    result["diff"] = train(ddp, local, opt, zero_grad, after_backward)
    result.update(checks)
    if views:  # the same steps on the default path: bit for bit the same parameters
        plain = rank_model("mlp", rank).to(device)
        plain_ddp = ddp_of(plain)
        plain_opt = sgd(plain_ddp.parameters())
        train(plain_ddp, plain, plain_opt, lambda step: plain_opt.zero_grad())
        result["diff_vs_default"] = max_diff(local.parameters(), plain.parameters())
    if custom is not None:
        result.update(calls=custom.calls, thens=custom.thens, problems=custom.problems,
                      hooked_before_last_grad=hooked_before_last_grad)
    return result


def expect(errors, name, exc, fn, match):
    try:
        fn()
    except exc as e:
        errors[name] = match in str(e) or f"wrong message: {e}"
    except Exception as e:  # noqa: BLE001 - reported to the test
        errors[name] = f"raised {type(e).__name__}: {e}"
    else:
        errors[name] = "did not raise"


def backward_once(ddp):
    x, y = batch("mlp", 0, PER_RANK * world)
    loss_fn(ddp(x[share(rank)]), y[share(rank)]).backward()


def run_errors():
    errors = {}
    ddp = ddp_of(rank_model("mlp", rank))
    ddp.register_comm_hook(None, default_hooks.allreduce_hook)
    expect(errors, "twice", RuntimeError, lambda: ddp.register_comm_hook(None, default_hooks.allreduce_hook),
           "register_comm_hook or register_builtin_comm_hook can only be called once")

    ddp = ddp_of(rank_model("mlp", rank))
    backward_once(ddp)
    expect(errors, "after_backward", RuntimeError, lambda: ddp.register_comm_hook(None, default_hooks.allreduce_hook),
           "must be called before the first backward pass")
    expect(errors, "not_callable", TypeError, lambda: ddp.register_comm_hook(None, 3),
           "Communication hook must be callable")

    def annotated(state, bucket: int):
        return None
    expect(errors, "bucket_annotation", ValueError, lambda: ddp_of(rank_model("mlp", rank)).register_comm_hook(
        None, annotated), "bucket annotation should be GradBucket")

    def returns_int(state, bucket):
        return 5
    ddp = ddp_of(rank_model("mlp", rank))
    ddp.register_comm_hook(None, returns_int)
    expect(errors, "not_a_future", RuntimeError, lambda: backward_once(ddp),
           "DDP communication hook's callback must return a pyengine.futures.Future object, but got builtins.int")

    def wrong_size(state, bucket):
        fut = Future()
        fut.set_result(pe.zeros(3))
        return fut
    ddp = ddp_of(rank_model("mlp", rank))
    ddp.register_comm_hook(None, wrong_size)
    expect(errors, "wrong_size", RuntimeError, lambda: backward_once(ddp),
           "must resolve to the bucket's reduced flat tensor")

    def failing(state, bucket):
        return dist.all_reduce(bucket.buffer(), async_op=True).get_future().then(lambda f: 1 / 0)
    ddp = ddp_of(rank_model("mlp", rank))
    ddp.register_comm_hook(None, failing)
    expect(errors, "hook_future_fails", RuntimeError, lambda: backward_once(ddp), "ZeroDivisionError")

    # after all that, a fresh DDP with a hook still trains in step with the others
    ddp = ddp_of(rank_model("mlp", rank))
    ddp.register_comm_hook(None, default_hooks.allreduce_hook)
    backward_once(ddp)
    w = next(ddp.parameters()).grad
    gathered = [pe.zeros_like(w) for _ in range(world)]
    dist.all_gather(gathered, w)
    errors["still_in_step"] = all(pe.equal(gathered[0], g) for g in gathered)
    return {"errors": errors}


result = run_errors() if mode == "errors" else run_training()
dist.destroy_process_group()
report(out_dir(), rank, result)
