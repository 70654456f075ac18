"""summary(model, input_shape): one forward pass on zeros, then a table of every leaf layer's
output shape and parameter count, with totals (like torchsummary / Keras' model.summary)."""
from collections import namedtuple

from ..autograd.grad_mode import no_grad
from ..creation import zeros
from ..tensor import Tensor

SummaryRow = namedtuple("SummaryRow", ["name", "layer", "output_shape", "params"])


class ModelSummary:
    def __init__(self, rows, total_params, trainable_params, input_shape):
        self.rows, self.total_params, self.trainable_params = rows, total_params, trainable_params
        self.input_shape = input_shape

    @property
    def non_trainable_params(self):
        return self.total_params - self.trainable_params

    def __str__(self):
        header = ("Layer (type)", "Output Shape", "Param #")
        lines = [(f"{r.name} ({r.layer})", str(r.output_shape), f"{r.params:,}") for r in self.rows]
        w0 = max([len(header[0])] + [len(a) for a, _, _ in lines]) + 2
        w1 = max([len(header[1])] + [len(b) for _, b, _ in lines]) + 2
        w2 = max([len(header[2])] + [len(c) for _, _, c in lines])
        rule = "=" * (w0 + w1 + w2)
        out = [rule, f"{header[0]:<{w0}}{header[1]:<{w1}}{header[2]:>{w2}}", rule]
        out += [f"{a:<{w0}}{b:<{w1}}{c:>{w2}}" for a, b, c in lines]
        out += [rule, f"Total params: {self.total_params:,}", f"Trainable params: {self.trainable_params:,}",
                f"Non-trainable params: {self.non_trainable_params:,}", rule]
        return "\n".join(out)

    __repr__ = __str__


def _shape_of(out, batch_size):
    """Output shape with the batch dim shown as -1; tuples of outputs give a list of shapes."""
    if isinstance(out, Tensor):
        shape = list(out.shape)
        if shape and shape[0] == batch_size:
            shape[0] = -1
        return shape
    if isinstance(out, (tuple, list)):
        return [_shape_of(o, batch_size) for o in out]
    return type(out).__name__


def summary(model, input_shape, batch_size=2, dtype=None, device=None, print_summary=True):
    """input_shape: one sample's shape (without the batch dim), e.g. (784,) or (1, 28, 28).

    Runs model(zeros(batch_size, *input_shape)) under no_grad in eval mode (restored after),
    records each leaf module's output shape and own parameter count, prints the table, and
    returns the ModelSummary."""
    if isinstance(input_shape, int):
        input_shape = (input_shape,)
    rows, handles = [], []

    def hook_for(name):
        def hook(module, inputs, output):
            n = sum(p.numel() for p in module.parameters(recurse=False))
            rows.append(SummaryRow(name, type(module).__name__, _shape_of(output, batch_size), n))
        return hook

    for name, m in model.named_modules():
        if not m._modules:  # leaves only (the model itself when it has no children)
            handles.append(m.register_forward_hook(hook_for(name or type(m).__name__)))
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        first = next(iter(model.parameters()), None)
        if dtype is None:
            dtype = first.dtype if first is not None else None
        if device is None:  # the input goes where the model is
            device = first.device if first is not None else None
        with no_grad():
            model(zeros(batch_size, *input_shape, dtype=dtype, device=device))
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes:
            m.__dict__["training"] = mode
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    result = ModelSummary(rows, total, trainable, tuple(input_shape))
    if print_summary:
        print(result)
    return result
