"""GradBucket: what a DDP communication hook is given - one bucket of gradients (PyTorch's
torch.distributed.GradBucket)."""


class GradBucket:
    """One bucket of DistributedDataParallel's gradients, handed to the communication hook.

    buffer() is the bucket's flat tensor: its parameters' gradients one after another (in the
    order of parameters()); gradients() are views of it in the parameters' shapes. The hook's
    Future must resolve to the reduced (averaged) flat tensor - the buffer itself, reduced in
    place, or a new tensor of its size; DDP copies that into the gradients at the end of backward."""

    def __init__(self, index, buffer, gradients, parameters, is_last):
        self._index = index
        self._buffer = buffer
        self._gradients = gradients
        self._parameters = parameters
        self._is_last = is_last

    def index(self):
        """This bucket's index: 0 holds the last parameters, whose gradients backward gives first."""
        return self._index

    def buffer(self):
        """The flat tensor of this bucket's gradients (or what set_buffer put in its place)."""
        return self._buffer

    def gradients(self):
        """The bucket's gradients, one per parameter: views of the flat tensor."""
        return list(self._gradients)

    def parameters(self):
        """The parameters whose gradients this bucket holds."""
        return list(self._parameters)

    def is_last(self):
        """True for the last bucket of the iteration to be reduced (the one holding the first
        parameters)."""
        return self._is_last

    def set_buffer(self, buffer):
        """Replace the tensor buffer() returns, for the hooks that reduce another tensor than the
        flat gradients (fp16_compress_wrapper's half-precision copy). DDP writes back what the
        hook's future resolves to, not this buffer."""
        from ...tensor import Tensor
        if not isinstance(buffer, Tensor):
            raise TypeError(f"GradBucket.set_buffer: buffer must be a pyengine Tensor, got {type(buffer).__name__}")
        self._buffer = buffer

    def __repr__(self):
        return (f"GradBucket(index={self._index}, {len(self._parameters)} parameters, "
                f"{self._buffer.numel()} elements, is_last={self._is_last})")
