"""Top-level functions that PyTorch scripts use and the core modules do not define.

Everything here is built from existing ops (so gradients come for free) or is plain
bookkeeping; `chainrule/__init__.py` re-exports it. Checked against PyTorch by the scripts in
tests/scripts/ (tests/test_pytorch_scripts.py) and by tests/test_extras.py.
"""
from __future__ import annotations

import functools

import numpy as np

from .tensor import Tensor, _check_device
from .autograd import grad_mode


# -- `out=` for the functions tutorials call with it -------------------------------------------
def _store_out(result, out):
    """Write `result` into `out` as PyTorch's `out=` does (resizing `out` if its shape differs)."""
    if isinstance(out, (tuple, list)):
        for r, o in zip(result, out):
            _store_out(r, o)
        return out
    with grad_mode.no_grad():
        if tuple(out.shape) == tuple(result.shape):
            out.copy_(result)
        else:
            out._data = np.array(result._data, dtype=out._data.dtype)
            out._vc[0] += 1
    return out


def with_out(fn):
    """`fn` with an `out=` keyword (the result is computed, then copied into `out`).

    The op is looked up in its module at call time, so that the compile tracer, which swaps
    module attributes, still sees `torch.sum(x)` called through this wrapper."""
    import sys

    module, name = sys.modules.get(fn.__module__), fn.__name__
    if getattr(module, name, None) is not fn:
        module, name = None, None

    @functools.wraps(fn)
    def call(*args, out=None, **kwargs):
        op = fn if module is None else getattr(module, name)
        result = op(*args, **kwargs)
        return result if out is None else _store_out(result, out)

    call.__wrapped_for_out__ = fn
    return call


# -- devices -----------------------------------------------------------------------------------
_default_device = "cpu"


def set_default_device(device):
    """Only the CPU exists; `set_default_device("cpu")` (and None) are accepted."""
    global _default_device
    _check_device(device)
    _default_device = "cpu"


def get_default_device():
    from .tensor import device

    return device("cpu")


# -- NumPy-style keyword aliases (`x.sum(axis=0, keepdims=True)`), which PyTorch accepts -------
_ALIASES = {"axis": "dim", "keepdims": "keepdim", "x1": "input", "x2": "other"}


# -- threads ----------------------------------------------------------------------------------
_interop_threads = None


def _check_thread_count(fn, n):
    if not isinstance(n, int) or isinstance(n, bool):
        raise RuntimeError(f"{fn} expects an int, but got {type(n).__name__}")
    if n <= 0:
        raise RuntimeError(f"{fn} expects a positive integer")


def set_num_threads(n):
    """torch.set_num_threads: the count sums are split over (so float32 sums keep matching torch
    bit for bit) and, when threadpoolctl is installed, NumPy's BLAS threads."""
    from .ops import _cascade_sum

    _check_thread_count("set_num_threads", n)
    _cascade_sum.set_num_threads(n)
    try:
        import threadpoolctl
    except ImportError:
        return
    threadpoolctl.threadpool_limits(n, user_api="blas")


def get_num_threads():
    from .ops import _cascade_sum

    return _cascade_sum.NUM_THREADS


def set_num_interop_threads(n):
    global _interop_threads
    _check_thread_count("set_num_interop_threads", n)
    if _interop_threads is not None:
        raise RuntimeError("Error: cannot set number of interop threads after parallel work has "
                           "started or set_num_interop_threads called")
    _interop_threads = int(n)


def get_num_interop_threads():
    from .ops import _cascade_sum

    return _interop_threads or _cascade_sum.NUM_THREADS


def with_numpy_aliases(fn):
    """`fn` accepting `axis=` for `dim=` and `keepdims=` for `keepdim=`; the op is looked up in
    its module at call time (see `with_out`)."""
    import sys

    target = getattr(fn, "__wrapped_for_out__", fn)
    module, name = sys.modules.get(target.__module__), target.__name__
    if getattr(module, name, None) is not target or target is not fn:
        module = None

    @functools.wraps(fn)
    def call(*args, **kwargs):
        if kwargs:
            for alias in ("axis", "keepdims"):
                if alias in kwargs:
                    kwargs[_ALIASES[alias]] = kwargs.pop(alias)
        op = fn if module is None else getattr(module, name)
        return op(*args, **kwargs)

    return call


ALIASED_REDUCTIONS = ["sum", "mean", "std", "var", "prod", "max", "min", "amax", "amin",
                      "argmax", "argmin", "all", "any", "logsumexp", "median", "nansum",
                      "cumsum", "softmax", "log_softmax", "norm", "count_nonzero", "squeeze",
                      "unsqueeze", "flip", "cat", "concat", "concatenate", "stack"]
