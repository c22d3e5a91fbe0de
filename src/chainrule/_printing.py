"""Tensor repr, formatted exactly as PyTorch formats it (precision 4, width 80, summarized
beyond 1000 elements), including the `requires_grad=True` / `grad_fn=<...>` suffixes."""
from __future__ import annotations

import math

import numpy as np

from . import _dtype
from .autograd import graph


class _PrintOptions:
    precision = 4
    threshold = 1000
    edgeitems = 3
    linewidth = 80
    sci_mode = None


PRINT_OPTS = _PrintOptions()


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """As torch.set_printoptions."""
    if profile == "default":
        PRINT_OPTS.precision, PRINT_OPTS.threshold = 4, 1000
        PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 3, 80
    elif profile == "short":
        PRINT_OPTS.precision, PRINT_OPTS.threshold = 2, 1000
        PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 2, 80
    elif profile == "full":
        PRINT_OPTS.precision, PRINT_OPTS.threshold = 4, math.inf
        PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 3, 80
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions():
    return dict(precision=PRINT_OPTS.precision, threshold=PRINT_OPTS.threshold,
                edgeitems=PRINT_OPTS.edgeitems, linewidth=PRINT_OPTS.linewidth,
                sci_mode=PRINT_OPTS.sci_mode)


class _Formatter:
    """Chooses one width and style (integer-valued, fixed or scientific) for all elements.

    Follows torch/_tensor_str.py: the style is decided once from the nonzero finite values,
    and the width is then measured in that style (sci_mode from set_printoptions included).
    """

    def __init__(self, values: np.ndarray):
        self.floating = values.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.max_width = True, False, 1
        precision = PRINT_OPTS.precision
        flat = values.reshape(-1)
        if not self.floating:
            for v in flat.tolist():
                self.max_width = max(self.max_width, len(str(v)))
            return
        finite = flat[np.isfinite(flat) & (flat != 0)]
        if finite.size == 0:
            return
        absv = np.abs(finite.astype(np.float64))
        lo, hi = absv.min(), absv.max()
        vals = finite.tolist()
        self.int_mode = bool(np.all(finite == np.ceil(finite)))
        if PRINT_OPTS.sci_mode is None:
            with np.errstate(over="ignore"):  # float64 max / tiny: inf, as in PyTorch
                self.sci_mode = bool(hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4)
        else:
            self.sci_mode = PRINT_OPTS.sci_mode
        if self.sci_mode:
            fmt = f"{{:.{precision}e}}"
            self.max_width = max(self.max_width, max(len(fmt.format(v)) for v in vals))
        elif self.int_mode:
            # integer-valued floats print as "3." : one more character than "3"
            self.max_width = max(self.max_width, max(len(f"{v:.0f}") + 1 for v in vals))
        else:
            fmt = f"{{:.{precision}f}}"
            self.max_width = max(self.max_width, max(len(fmt.format(v)) for v in vals))

    def width(self):
        return self.max_width

    def format(self, value):
        precision = PRINT_OPTS.precision
        if self.floating:
            if self.sci_mode:
                ret = f"{{:{self.max_width}.{precision}e}}".format(value)
            elif self.int_mode:
                ret = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    ret += "."
            else:
                ret = f"{{:.{precision}f}}".format(value)
        else:
            ret = str(value)
        return (self.max_width - len(ret)) * " " + ret


def _summarized(x: np.ndarray) -> np.ndarray:
    e = PRINT_OPTS.edgeitems
    if x.ndim == 0:
        return x
    if x.ndim == 1:
        # x[-0:] is all of x: with edgeitems=0 PyTorch measures the whole row, so do we
        return np.concatenate((x[:e], x[-e:])) if x.shape[0] > 2 * e else x
    if not e:
        return x[(slice(0, 0),) * x.ndim]
    if x.shape[0] > 2 * e:
        rows = [x[i] for i in range(e)] + [x[i] for i in range(x.shape[0] - e, x.shape[0])]
    else:
        rows = list(x)
    return np.stack([_summarized(r) for r in rows])


def _vector_str(x, indent, summarize, fmt):
    element_length = fmt.width() + 2
    per_line = max(1, int(math.floor((PRINT_OPTS.linewidth - indent) / element_length)))
    e = PRINT_OPTS.edgeitems
    if summarize and not e:
        data = ["..."]
    elif summarize and x.shape[0] > 2 * e:
        data = ([fmt.format(v) for v in x[:e].tolist()] + [" ..."]
                + [fmt.format(v) for v in x[-e:].tolist()])
    else:
        data = [fmt.format(v) for v in x.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_str_with_formatter(x, indent, summarize, fmt):
    if x.ndim == 0:
        return fmt.format(x.item())
    if x.ndim == 1:
        return _vector_str(x, indent, summarize, fmt)
    e = PRINT_OPTS.edgeitems
    if summarize and x.shape[0] > 2 * e:
        slices = ([_tensor_str_with_formatter(x[i], indent + 1, summarize, fmt) for i in range(e)]
                  + ["..."]
                  + [_tensor_str_with_formatter(x[i], indent + 1, summarize, fmt)
                     for i in range(x.shape[0] - e, x.shape[0])])
    else:
        slices = [_tensor_str_with_formatter(x[i], indent + 1, summarize, fmt)
                  for i in range(x.shape[0])]
    return "[" + ("," + "\n" * (x.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def tensor_str(x: np.ndarray, indent: int) -> str:
    if x.size == 0:
        return "[]"
    summarize = x.size > PRINT_OPTS.threshold
    if x.dtype == np.float16:
        x = x.astype(np.float32)
    fmt = _Formatter(_summarized(x) if summarize else x)
    return _tensor_str_with_formatter(x, indent, summarize, fmt)


def _add_suffixes(tensor_str, suffixes, indent):
    parts = [tensor_str]
    last_line_len = len(tensor_str) - tensor_str.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def tensor_repr(t, prefix="tensor(", tensor_contents=None) -> str:
    tangent = None
    if graph.forward_ad_record is not None:
        from .autograd.forward_ad import tangent_for_repr

        tangent = tangent_for_repr(t)
    x = t._data
    indent = len(prefix)
    suffixes = []
    dtype = _dtype.from_numpy_dtype(x.dtype)
    default = dtype in (_dtype.get_default_dtype(), _dtype.int64, _dtype.bool_)
    if x.size == 0:
        if x.ndim != 1:
            suffixes.append("size=" + str(tuple(x.shape)))
        if dtype is not _dtype.get_default_dtype():
            suffixes.append("dtype=" + repr(dtype))
        body = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append("size=" + str(tuple(x.shape)))
        if not default:
            suffixes.append("dtype=" + repr(dtype))
        body = tensor_str(x, indent)
    if tensor_contents is not None:
        body = tensor_contents
    fn = t._grad_fn
    if fn is not None:
        suffixes.append(f"grad_fn=<{type(fn).__name__}>")
    elif t._requires_grad:
        suffixes.append("requires_grad=True")
    if tangent is not None:
        suffixes.append(f"tangent={tangent}")  # as torch: format(), so 0-d shows the number
    return _add_suffixes(prefix + body, suffixes, indent)
