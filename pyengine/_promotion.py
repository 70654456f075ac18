"""PyTorch's type-promotion functions: promote_types, result_type, can_cast. The table itself
lives once, in csrc/core/dtype.h (promote_types) and csrc/ops/elementwise.cpp (result_type)."""
from . import _C
from .dtypes import _BY_NAME, to_dtype
from .tensor import Tensor


def promote_types(type1, type2):
    """The smallest dtype both `type1` and `type2` convert to without losing their kind."""
    return _BY_NAME[_C.promote_types(to_dtype(type1).name, to_dtype(type2).name)]


def result_type(tensor1, tensor2):
    """The dtype an arithmetic op on the two operands (tensors or Python numbers) returns."""
    operands = [a._impl if isinstance(a, Tensor) else a for a in (tensor1, tensor2)]
    return _BY_NAME[_C.result_type(*operands)]


def can_cast(from_, to):
    """Whether PyTorch's casting rules allow an op's `from_` result into an `out` of `to`: no
    floating result into an integer or bool, no numeric result into a bool."""
    src, dst = to_dtype(from_), to_dtype(to)
    if src.is_floating_point and not dst.is_floating_point:
        return False
    return not (src.name != "bool" and dst.name == "bool")
