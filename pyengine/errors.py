"""pyengine's exception classes beside the builtin ones.

Where PyTorch raises RuntimeError for a bad shape or argument, pyengine raised ValueError (or
IndexError for indices); these classes are both at once, so code written for either library's
`except` clause works, and the messages stay pyengine's (naming what was expected and what came).
The native module raises them for its ValueError/IndexError; the Python layer raises them too.
"""
from ._C import ArgumentError, IndexRangeError

__all__ = ["ArgumentError", "IndexRangeError"]
