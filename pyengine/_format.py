"""PyTorch-style repr: tensor([[1., 2.], [3., 4.]], requires_grad=True), shaped by
set_printoptions (precision, threshold, edgeitems, linewidth, profile, sci_mode) as PyTorch's."""
import math

import numpy as np

_PREFIX = "tensor("
# PyTorch's profiles; set_printoptions(profile=...) starts from one, then applies the other arguments.
_PROFILES = {
    "default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
    "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
    "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80),
}
PRINT_OPTS = dict(_PROFILES["default"], sci_mode=None)


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    """How tensors print: `precision` digits after the point, summarised ("...") beyond
    `threshold` elements showing `edgeitems` at each end, lines wrapped at `linewidth`;
    `profile` ("default", "short", "full") sets all four first; `sci_mode` True/False forces
    scientific notation on/off, None (the default) chooses as PyTorch does."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of {sorted(_PROFILES)}, got {profile!r}")
        PRINT_OPTS.update(_PROFILES[profile])
    for name, value in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                        ("linewidth", linewidth)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or \
                    (name != "threshold" and not float(value).is_integer()):
                raise ValueError(f"set_printoptions: {name} must be a non-negative "
                                 f"{'number' if name == 'threshold' else 'int'}, got {value!r}")
            PRINT_OPTS[name] = value if name == "threshold" else int(value)
    if sci_mode is not None and not isinstance(sci_mode, bool):
        raise ValueError(f"set_printoptions: sci_mode must be True, False or None, got {sci_mode!r}")
    PRINT_OPTS["sci_mode"] = sci_mode  # always set, as PyTorch's: omitting it means automatic


def get_printoptions():
    """The current print options (a copy), as set_printoptions takes them."""
    return dict(PRINT_OPTS)


class _Formatter:
    """PyTorch's element formatter (torch/_tensor_str.py): one width for every element; floats
    print in scientific notation when the nonzero finite magnitudes span more than 1000x, pass
    1e8 or fall under 1e-4 (sci_mode True/False overrides the choice), else as integers with a
    point when all are integral, else fixed with `precision` digits."""

    def __init__(self, a, opts):
        self.precision = opts["precision"]
        self.floating = a.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.max_width = True, False, 1
        flat = a.reshape(-1)
        if not self.floating:
            self.max_width = max([len(_plain(v)) for v in flat.tolist()], default=1)
        else:
            values = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
            if values.size:
                magnitudes = np.abs(values)
                lo, hi = magnitudes.min(), magnitudes.max()
                self.int_mode = bool(np.all(values == np.ceil(values)))
                automatic = bool(hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4)
                self.sci_mode = automatic if opts["sci_mode"] is None else opts["sci_mode"]
                if self.sci_mode:
                    fmt = f"{{:.{self.precision}e}}"
                    self.max_width = max(len(fmt.format(v)) for v in values.tolist())
                elif self.int_mode:
                    self.max_width = max(len(f"{v:.0f}") + 1 for v in values.tolist())
                else:
                    fmt = f"{{:.{self.precision}f}}"
                    self.max_width = max(len(fmt.format(v)) for v in values.tolist())

    def format(self, value):
        if not self.floating:
            text = _plain(value)
        elif self.sci_mode:
            text = f"{{:{self.max_width}.{self.precision}e}}".format(value)
        elif self.int_mode:
            text = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        else:
            text = f"{{:.{self.precision}f}}".format(value)
        return " " * (self.max_width - len(text)) + text


def _plain(v):
    return str(v)


def _summarized(a, edge):
    """The elements a summarised print shows (the formatter's width comes from these only)."""
    if a.ndim == 0:
        return a
    if a.ndim == 1:
        return np.concatenate([a[:edge], a[-edge:]]) if a.shape[0] > 2 * edge else a
    if not edge:
        return a[:0]
    rows = list(range(edge)) + list(range(a.shape[0] - edge, a.shape[0])) if a.shape[0] > 2 * edge \
        else range(a.shape[0])
    return np.stack([_summarized(a[i], edge) for i in rows])


def _vector_str(a, indent, summarize, fmt, opts):
    edge = opts["edgeitems"]
    per_line = max(1, int(math.floor((opts["linewidth"] - indent) / (fmt.max_width + 2))))
    if summarize and not edge:
        data = ["..."]
    elif summarize and a.shape[0] > 2 * edge:
        data = [fmt.format(v) for v in a[:edge].tolist()] + [" ..."] + [fmt.format(v) for v in a[-edge:].tolist()]
    else:
        data = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested_str(a, indent, summarize, fmt, opts):
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector_str(a, indent, summarize, fmt, opts)
    edge = opts["edgeitems"]
    if summarize and a.shape[0] > 2 * edge:
        rows = [_nested_str(a[i], indent + 1, summarize, fmt, opts) for i in range(edge)] + ["..."] + \
               [_nested_str(a[i], indent + 1, summarize, fmt, opts) for i in range(a.shape[0] - edge, a.shape[0])]
    else:
        rows = [_nested_str(a[i], indent + 1, summarize, fmt, opts) for i in range(a.shape[0])]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _array_str(a):
    """The body of a tensor's repr, laid out as PyTorch's (_tensor_str) under PRINT_OPTS."""
    if a.size == 0:
        return "[]"
    opts = PRINT_OPTS
    summarize = a.size > opts["threshold"]
    fmt = _Formatter(_summarized(a, opts["edgeitems"]) if summarize else a, opts)
    return _nested_str(a, len(_PREFIX), summarize, fmt, opts)


def _add_suffixes(text, suffixes, indent):
    """PyTorch's layout of ", dtype=..." and the like: on the last line while it fits linewidth."""
    parts = [text]
    last_line = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line + len(suffix) + 2 > PRINT_OPTS["linewidth"]:
            parts.append(",\n" + " " * indent + suffix)
            last_line = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line += len(suffix) + 2
    return "".join(parts) + ")"


def format_tensor(t):
    # bfloat16 has no NumPy type: shown through float32, which holds every bfloat16 exactly
    a = (t.detach().float() if t._impl.dtype == "bfloat16" else t.detach()).numpy(force=True)
    suffixes = []
    if t._impl.device != "cpu":
        suffixes.append(f"device='{t._impl.device}'")
    name = t._impl.dtype
    if (a.size == 0 and a.ndim != 1) or (a.size and not PRINT_OPTS["edgeitems"]):
        suffixes.append(f"size={tuple(a.shape)}")
    if name not in ("float32", "int64", "bool") or (a.size == 0 and name != "float32"):
        suffixes.append(f"dtype=pyengine.{name}")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(_PREFIX + _array_str(a), suffixes, len(_PREFIX))
