"""The functional autograd API (PyTorch's torch.autograd.functional): vjp, jvp, jacobian, hessian,
vhp, hvp on a function of Tensors, with PyTorch's signatures, defaults and tuple handling.

Reverse mode throughout, as PyTorch does it: jvp by the double-backward trick (the vjp is linear
in its cotangent, so differentiating it with respect to the cotangent gives J v), jacobian row by
row, hessian as the jacobian of the jacobian. jacobian(strategy="forward-mode") runs forward_ad
column by column instead. `vectorize=True` is accepted and runs the same loop.
"""
from . import forward_ad as _fwd
from .grad_mode import enable_grad

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


def _Tensor():
    from ..tensor import Tensor
    return Tensor


def _as_tuple(x, arg_name, fn_name):
    """(was it a tuple, the Tensors as a tuple), checking every entry is a Tensor."""
    Tensor = _Tensor()
    is_tuple = isinstance(x, tuple)
    items = x if is_tuple else (x,)
    for i, el in enumerate(items):
        if not isinstance(el, Tensor):
            if is_tuple:
                raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of Tensors but "
                                f"the value at index {i} has type {type(el).__name__}.")
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of Tensors but the "
                            f"given {arg_name} has type {type(el).__name__}.")
    return is_tuple, items


def _unpack(res, is_tuple):
    """res (a tuple, or a tuple of tuples for two flags) shaped as the caller's tuple-ness."""
    if isinstance(is_tuple, tuple):
        outer, inner = is_tuple
        if not inner:
            res = tuple(r[0] for r in res)
        return res if outer else res[0]
    return res if is_tuple else res[0]


def _prep(inputs, create_graph):
    """Inputs that require grad: differentiable views of them (create_graph, so the result stays
    connected to the caller's graph) or detached leaves."""
    return tuple(x.view_as(x) if create_graph and x.requires_grad else x.detach().requires_grad_(True)
                 for x in inputs)


def _post(ts, create_graph):
    return tuple(None if t is None else (t if create_graph else t.detach()) for t in ts)


def _validate_v(v, other, is_other_tuple):
    if len(other) != len(v):
        if is_other_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(other)} but got {len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for i, (el_v, el) in enumerate(zip(v, other)):
        if tuple(el_v.shape) != tuple(el.shape):
            prefix = f"Entry {i} in " if is_other_tuple else ""
            raise RuntimeError(f"{prefix}v has invalid size: should be {tuple(el.shape)} but got {tuple(el_v.shape)}.")


def _grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """autograd.grad over the outputs that require grad; None for each input none of them reach."""
    from . import grad
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs or (None,) * len(outputs))
             if o is not None and o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    return grad([o for o, _ in pairs], list(inputs), [g for _, g in pairs] if grad_outputs else None,
                retain_graph=create_graph if retain_graph is None else retain_graph,
                create_graph=create_graph, allow_unused=True)


def _fill_zeros(grads, refs, strict, what):
    """Zeros where a gradient is None (that entry does not depend on it); in strict mode an error."""
    from ..creation import zeros_like
    out = []
    for i, (g, ref) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                raise RuntimeError(f"The {what} of the user-provided function is independent of input {i}. This is "
                                   "not allowed in strict mode.")
            g = zeros_like(ref)
        out.append(g)
    return tuple(out)


def _check_outputs(outputs, strict):
    if strict:
        for i, o in enumerate(outputs):
            if not o.requires_grad:
                raise RuntimeError(f"Output {i} of the user-provided function does not require gradients. The outputs "
                                   "must be computed in a differentiable manner from the input when running in "
                                   "strict mode.")


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the vector-Jacobian product at `inputs`."""
    with enable_grad():
        is_in_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _prep(inputs, create_graph)
        is_out_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", "vjp")
        _check_outputs(outputs, strict)
        if v is not None:
            _, v = _as_tuple(v, "v", "vjp")
            _validate_v(v, outputs, is_out_tuple)
        elif len(outputs) != 1 or outputs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the user-provided function returns a single Tensor "
                               "with a single element.")
        grads = _grad(outputs, inputs, v, create_graph)
        result = _fill_zeros(_post(grads, create_graph), inputs, strict, "output")
    return _unpack(_post(outputs, create_graph), is_out_tuple), _unpack(result, is_in_tuple)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v): the Jacobian-vector product at `inputs` (by double backward)."""
    from ..creation import zeros_like
    with enable_grad():
        is_in_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _prep(inputs, create_graph)
        if v is not None:
            _, v = _as_tuple(v, "v", "jvp")
            _validate_v(v, inputs, is_in_tuple)
        elif len(inputs) != 1 or inputs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the input to the user-provided function is a single "
                               "Tensor with a single element.")
        is_out_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", "jvp")
        _check_outputs(outputs, strict)
        # u -> u^T J is linear in u; its gradient with respect to u along v is J v.
        cotangents = tuple(zeros_like(o).requires_grad_(True) for o in outputs)
        vjps = _grad(outputs, inputs, cotangents, create_graph=True)
        used = [(g, vi) for g, vi in zip(vjps, v if v is not None else (None,)) if g is not None]
        if used:
            jv = _grad([g for g, _ in used], cotangents, [vi for _, vi in used] if v is not None else None,
                       create_graph)
        else:
            jv = (None,) * len(outputs)
        result = _fill_zeros(_post(jv, create_graph), outputs, strict, "output")
    return _unpack(_post(outputs, create_graph), is_out_tuple), _unpack(result, is_out_tuple)


def _basis(t, flat_index):
    """A tensor shaped like t: 1 at flat position `flat_index`, 0 elsewhere."""
    from ..creation import zeros
    e = zeros(t.numel(), dtype=t.dtype, device=t.device)
    e[flat_index] = 1.0
    return e.reshape(tuple(t.shape))


def _stack_rows(rows, out_shape, in_shape, ref):
    """Per output element a gradient of the input's shape -> a (*out_shape, *in_shape) tensor."""
    from .. import stack
    from ..creation import zeros
    if not rows:
        return zeros(tuple(out_shape) + tuple(in_shape), dtype=ref.dtype, device=ref.device)
    return stack(rows).reshape(tuple(out_shape) + tuple(in_shape))


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """The Jacobian of func at inputs: for output i and input j, a tensor of shape
    (*output_i.shape, *input_j.shape), nested as the tuple-ness of inputs and outputs."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
                             'function has more outputs than inputs, "forward-mode" tends to be more performant. '
                             'Otherwise, prefer to use "reverse-mode".')
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError('torch.autograd.functional.jacobian: `create_graph=True` and '
                                      '`strategy="forward-mode"` are not supported together (yet). Please either set '
                                      '`create_graph=False` or `strategy="reverse-mode"`.')
        return _jacfwd(func, inputs, strict)
    with enable_grad():
        is_in_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _prep(inputs, create_graph)
        is_out_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", "jacobian")
        _check_outputs(outputs, strict)
        per_output = []
        for i, out in enumerate(outputs):
            rows = [[] for _ in inputs]
            for k in range(out.numel()):
                grads = _grad((out,), inputs, (_basis(out, k),), create_graph, retain_graph=True)
                for j, (g, x) in enumerate(zip(grads, inputs)):
                    if g is None:
                        if strict:
                            raise RuntimeError(f"Output {i} of the user-provided function is independent of input "
                                               f"{j}. This is not allowed in strict mode.")
                        from ..creation import zeros_like
                        g = zeros_like(x)
                    rows[j].append(g if create_graph else g.detach())
            per_output.append(tuple(_stack_rows(r, out.shape, x.shape, x) for r, x in zip(rows, inputs)))
    return _unpack(tuple(per_output), (is_out_tuple, is_in_tuple))


def _jacfwd(func, inputs, strict):
    """jacobian by forward-mode AD: one dual pass per input element gives one column."""
    if strict:
        raise RuntimeError('torch.autograd.functional.jacobian: `strict=True` and `strategy="forward-mode"` are '
                           'not supported together (yet). Please either set `strict=False` or '
                           '`strategy="reverse-mode"`.')
    from .. import stack
    from ..creation import zeros_like
    is_in_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
    columns = None  # [output][input] -> list of tangents, one per input element
    out_tuple = None
    for j, x in enumerate(inputs):
        for k in range(x.numel()):
            with _fwd.dual_level():
                args = tuple(_fwd.make_dual(a, _basis(a, k)) if i == j else a for i, a in enumerate(inputs))
                out_tuple, outputs = _as_tuple(func(*args), "outputs of the user-provided function", "jacobian")
                tangents = [_fwd.unpack_dual(o).tangent for o in outputs]
                primals = [_fwd.unpack_dual(o).primal for o in outputs]
            if columns is None:
                columns = [[[] for _ in inputs] for _ in outputs]
            for i, (t, o) in enumerate(zip(tangents, primals)):
                columns[i][j].append((zeros_like(o) if t is None else t).detach())
    if columns is None:  # every input is empty: run once for the output shapes
        out_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", "jacobian")
        columns = [[[] for _ in inputs] for _ in outputs]
    else:
        outputs = primals
    result = []
    for i, o in enumerate(outputs):
        row = []
        for j, x in enumerate(inputs):
            cols = columns[i][j]
            shape = tuple(o.shape) + tuple(x.shape)
            if cols:
                row.append(stack(cols, dim=-1).reshape(shape) if o.ndim else stack(cols).reshape(shape))
            else:
                from ..creation import zeros
                row.append(zeros(shape, dtype=o.dtype, device=o.device))
        result.append(tuple(row))
    return _unpack(tuple(result), (out_tuple, is_in_tuple))


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """The Hessian of scalar func at inputs: for inputs i, j a tensor of shape
    (*input_i.shape, *input_j.shape) (a tuple of tuples for tuple inputs)."""
    is_in_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def single_output(*inp):
        out = func(*inp)
        is_out_tuple, t_out = _as_tuple(out, "outputs of the user-provided function", "hessian")
        _check_outputs(t_out, strict)
        if is_out_tuple:
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if out.numel() != 1:
            raise RuntimeError("The Tensor returned by the function given to hessian should contain a single element")
        return out.reshape(())

    def jac_func(*inp):
        if outer_jacobian_strategy == "forward-mode":
            # reverse mode inside the outer dual level: a dual input keeps its tangent (so it is
            # made to require grad in place); the others are detached, not changed
            inp = tuple(t if t.requires_grad else
                        (t.requires_grad_(True) if _fwd.unpack_dual(t).tangent is not None
                         else t.detach().requires_grad_(True)) for t in inp)
        return jacobian(single_output, inp, create_graph=True)

    res = jacobian(jac_func, inputs, create_graph=create_graph, strict=strict, vectorize=vectorize,
                   strategy=outer_jacobian_strategy)
    return _unpack(res, (is_in_tuple, is_in_tuple))


def _scalar_grad(func, inputs, v, create_graph, strict, fn_name):
    """Shared by vhp/hvp: (inputs, output, first gradients with a graph, v) after the checks."""
    is_in_tuple, inputs = _as_tuple(inputs, "inputs", fn_name)
    inputs = _prep(inputs, create_graph)
    if v is not None:
        _, v = _as_tuple(v, "v", fn_name)
        _validate_v(v, inputs, is_in_tuple)
    elif len(inputs) != 1 or inputs[0].numel() != 1:
        raise RuntimeError("The vector v can only be None if the input to the user-provided function is a single "
                           "Tensor with a single element.")
    is_out_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", fn_name)
    _check_outputs(outputs, strict)
    if is_out_tuple:
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outputs[0].numel() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {fn_name} should contain a single element")
    jac = _grad(outputs, inputs, create_graph=True)
    return is_in_tuple, inputs, outputs, jac, v


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H): the vector-Hessian product of scalar func at inputs."""
    with enable_grad():
        is_in_tuple, inputs, outputs, jac, v = _scalar_grad(func, inputs, v, create_graph, strict, "vhp")
        used = [(g, vi) for g, vi in zip(jac, v if v is not None else (None,) * len(jac)) if g is not None]
        res = (_grad([g for g, _ in used], inputs, [vi for _, vi in used] if v is not None else None, create_graph)
               if used else (None,) * len(inputs))
        res = _fill_zeros(_post(res, create_graph), inputs, strict, "hessian")
    return _post(outputs, create_graph)[0], _unpack(res, is_in_tuple)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v): the Hessian-vector product of scalar func at inputs (by double
    backward through the vhp, as PyTorch does, so it does not assume H symmetric)."""
    from ..creation import zeros_like
    with enable_grad():
        is_in_tuple, inputs, outputs, jac, v = _scalar_grad(func, inputs, v, create_graph, strict, "hvp")
        grad_jac = tuple(zeros_like(x).requires_grad_(True) for x in inputs)
        used = [(g, u) for g, u in zip(jac, grad_jac) if g is not None]
        double_back = (_grad([g for g, _ in used], inputs, [u for _, u in used], create_graph=True)
                       if used else (None,) * len(inputs))
        pairs = [(d, vi) for d, vi in zip(double_back, v if v is not None else (None,) * len(inputs)) if d is not None]
        res = (_grad([d for d, _ in pairs], grad_jac, [vi for _, vi in pairs] if v is not None else None,
                     create_graph) if pairs else (None,) * len(inputs))
        res = _fill_zeros(_post(res, create_graph), inputs, strict, "hessian")
    return _post(outputs, create_graph)[0], _unpack(res, is_in_tuple)
