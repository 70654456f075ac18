"""PyTorch's built-in DDP communication hooks, written as PyTorch writes them: on the public
all_reduce, its Work's future, and a then() callback.

    ddp.register_comm_hook(state=None, hook=default_hooks.fp16_compress_hook)

state is the process group (None: the default group). Each hook divides by the world size
before the sum (the average cannot overflow in 16 bits where the sum might)."""
from ... import all_reduce, get_world_size
from ....dtypes import bfloat16, float16

__all__ = ["allreduce_hook", "bf16_compress_hook", "bf16_compress_wrapper", "fp16_compress_hook",
           "fp16_compress_wrapper"]


def _allreduce_fut(process_group, tensor):
    """Average `tensor` across the group's ranks in place: a Future of the tensor."""
    tensor.div_(get_world_size(process_group))
    fut = all_reduce(tensor, group=process_group, async_op=True).get_future()
    return fut.then(lambda fut: fut.value()[0])


def allreduce_hook(process_group, bucket):
    """The bucket averaged by all_reduce: the same result as DDP without a hook (a starting point
    for hooks that log or change it)."""
    return _allreduce_fut(process_group, bucket.buffer())


def _compress_hook(dtype, process_group, bucket):
    buffer = bucket.buffer()
    compressed = buffer.to(dtype).div_(get_world_size(process_group))

    def decompress(fut):
        buffer.copy_(fut.value()[0])  # back into the bucket, in place: no second full-size tensor
        return buffer
    return all_reduce(compressed, group=process_group, async_op=True).get_future().then(decompress)


def fp16_compress_hook(process_group, bucket):
    """All-reduce the bucket as float16 (half the bytes), divided by the world size first, and
    cast the average back into the bucket's dtype."""
    return _compress_hook(float16, process_group, bucket)


def bf16_compress_hook(process_group, bucket):
    """All-reduce the bucket as bfloat16 (float32's range, 8 bits of precision), divided by the
    world size first, and cast the average back into the bucket's dtype."""
    return _compress_hook(bfloat16, process_group, bucket)


def _compress_wrapper(dtype, hook):
    def wrapper_hook(hook_state, bucket):
        buffer = bucket.buffer()
        bucket.set_buffer(buffer.to(dtype))
        fut = hook(hook_state, bucket)

        def decompress(fut):
            buffer.copy_(fut.value())
            return buffer
        return fut.then(decompress)
    return wrapper_hook


def fp16_compress_wrapper(hook):
    """A hook that runs `hook` on a float16 copy of the bucket and casts its result back:
    fp16_compress_wrapper(allreduce_hook) is fp16_compress_hook."""
    wrapped = _compress_wrapper(float16, hook)
    wrapped.__name__ = wrapped.__qualname__ = "fp16_compress_wrapper_hook"
    return wrapped


def bf16_compress_wrapper(hook):
    """A hook that runs `hook` on a bfloat16 copy of the bucket and casts its result back:
    bf16_compress_wrapper(allreduce_hook) is bf16_compress_hook."""
    wrapped = _compress_wrapper(bfloat16, hook)
    wrapped.__name__ = wrapped.__qualname__ = "bf16_compress_wrapper_hook"
    return wrapped
