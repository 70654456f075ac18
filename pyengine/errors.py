"""pyengine's exception classes beside the builtin ones.

Where PyTorch raises RuntimeError for a bad shape, argument or dtype, pyengine raised ValueError
(IndexError for indices, TypeError for dtypes); these classes are both at once, so code written for either library's
`except` clause works, and the messages stay pyengine's (naming what was expected and what came).
The native module raises them for its ValueError/IndexError; the Python layer raises them too.
"""
from ._C import ArgumentError, DTypeError, IndexRangeError

__all__ = ["ArgumentError", "DTypeError", "IndexRangeError"]
