"""Differentiable ops: each file holds the Function classes (forward and backward side by side)
for one family, plus the functional API built on them. Names mirror csrc/ families."""
