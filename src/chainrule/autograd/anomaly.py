"""Anomaly detection: name the backward node that produced NaN or inf, and where its forward ran.

    with torch.autograd.detect_anomaly():
        loss = (x.sqrt() * 0).sum()     # sqrt'(0) = inf, and inf * 0 = nan
        loss.backward()                 # RuntimeError: Function 'SqrtBackward0' returned nan ...

While enabled, every recorded node keeps the stack of the forward call that created it
(`node.metadata["traceback_"]`, as in PyTorch), and the engine checks each node's gradients.
"""
from __future__ import annotations

import os
import traceback
import warnings

import numpy as np

from . import engine, graph

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_enabled = False
_check_nan = True
_prev_tracer = None


def is_anomaly_enabled() -> bool:
    return _enabled


def is_anomaly_check_nan_enabled() -> bool:
    return _check_nan


def _user_stack():
    """The forward call's stack, without chainrule's own frames (the learner's code only)."""
    frames = traceback.extract_stack()[:-2]
    outside = [f for f in frames if not os.path.abspath(f.filename).startswith(_PACKAGE_DIR)]
    return traceback.format_list(outside or frames)


def _remember_forward(node, out, inputs):
    if _prev_tracer is not None:
        _prev_tracer(node, out, inputs)
    if _enabled:
        node.metadata["traceback_"] = _user_stack()


def _check_gradients(node, grad_inputs):
    if not _check_nan:
        return
    for i, g in enumerate(grad_inputs):
        if g is None:
            continue
        data = np.asarray(getattr(g, "_data", g))
        if data.dtype.kind not in "fc" or np.all(np.isfinite(data)):
            continue
        what = "nan" if np.isnan(data).any() else "inf"
        trace = (node._metadata or {}).get("traceback_")
        where = ("The forward call that created it:\n" + "".join(trace).rstrip()) if trace else \
            "It was created before anomaly detection was enabled, so its forward call is unknown."
        raise RuntimeError(
            f"Function '{node.name()}' returned {what} values in its {i}th output.\n{where}\n"
            f"Its rule: {(type(node).__doc__ or '').strip().splitlines()[0] if type(node).__doc__ else '?'}")


def _set(mode, check_nan):
    global _enabled, _check_nan, _prev_tracer
    mode = bool(mode)
    _check_nan = bool(check_nan)
    if mode and not _enabled:
        _prev_tracer = graph.set_tracer(_remember_forward)
        engine.anomaly_check = _check_gradients
    elif not mode and _enabled:
        if graph._tracer is _remember_forward:  # else a later tracer wraps ours: it goes inert
            graph.set_tracer(_prev_tracer)
            _prev_tracer = None
        engine.anomaly_check = None
    _enabled = mode


class set_detect_anomaly:
    """Turn anomaly detection on or off; as a context manager, restore the previous state on exit.

    set_detect_anomaly(True) checks every backward node's gradients for NaN (and inf) when
    check_nan is True, and records where each forward op was called.
    """

    def __init__(self, mode: bool, check_nan: bool = True):
        self.prev = (_enabled, _check_nan)
        _set(mode, check_nan)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _set(*self.prev)
        return False


class detect_anomaly:
    """Context manager (or decorator) that enables anomaly detection inside its block."""

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime "
                      "and should only be enabled for debugging.", stacklevel=2)

    def __enter__(self):
        self.prev = (_enabled, _check_nan)
        _set(True, self.check_nan)
        return self

    def __exit__(self, *exc):
        _set(*self.prev)
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)
        return wrapper


__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
           "is_anomaly_check_nan_enabled"]
