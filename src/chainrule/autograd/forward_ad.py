"""Forward-mode AD (`torch.autograd.forward_ad`): dual tensors carry a tangent through every op.

    with fwAD.dual_level():
        x = fwAD.make_dual(primal, tangent)
        y = f(x)
        jvp = fwAD.unpack_dual(y).tangent      # J_f(primal) @ tangent

No op has a forward (JVP) rule of its own. Each op already has a backward written in chainrule
ops, u -> J^T u, which is linear in u. So the tangent of an output is the gradient, with respect
to u, of <J^T u, t> (summed over the inputs that carry tangents t): J t, obtained by
differentiating the backward once more. While a dual level is open, `graph.record` hands ops on
dual tensors to `record` below, which builds the op's node even where no gradient is wanted (the
node is then only attached to the output if one is), with an edge for every dual input so that
the op saves what that input's derivative needs. The output's tangent is computed from that
node as soon as the op has finished saving: at the next recorded op, when read, or before a
backward pass.
"""
from __future__ import annotations

from collections import namedtuple

from . import graph, grad_mode

UnpackedDualTensor = namedtuple("UnpackedDualTensor", ["primal", "tangent"])

_level = None      # the open dual level (PyTorch supports one at a time), or None
_duals = []        # tensors given a tangent at this level, cleared when it closes
_pending = []      # (node, output tensors, dual inputs) whose tangents are still to compute

NO_LEVEL = ("Trying to create a dual Tensor for forward AD but no level exists, make sure to "
            "enter_dual_level() first.")


class _TangentSink(graph.Node):
    """Where a dual input that needs no gradient points, so that the op saves what its
    derivative needs; once the tangent is computed the edge is cut, before any backward."""

    __slots__ = ()

    def backward(self, m, g):
        return ()


_NO_EDGE = (None, 0)
_SINK = _TangentSink.__new__(_TangentSink)
_SINK.next_functions, _SINK._saved, _SINK._versions = (), (), None
_SINK._meta, _SINK._seq = (), -1
_SINK._hooks = _SINK._pre_hooks = _SINK._tensor_hooks = _SINK._metadata = None


# -- levels ------------------------------------------------------------------------------------
def enter_dual_level():
    global _level
    if _level is not None:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    _level = 0
    graph.forward_ad_record = record
    return _level


def exit_dual_level(*, level=None):
    global _level
    if _level is None or (level is not None and level != _level):
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that "
                           "was created. This is not supported.")
    for node, outs, _, wanted in _pending:  # tangents die with the level: no need to compute
        _detach_helper(node, outs, wanted)
    _pending.clear()
    for t in _duals:
        t._extra.__dict__.pop("tangent", None)
    _duals.clear()
    graph.forward_ad_record = None
    _level = None


class dual_level:
    """Context manager for a forward AD level: tangents exist only inside it."""

    def __enter__(self):
        return enter_dual_level()

    def __exit__(self, *exc):
        exit_dual_level()


# -- making and reading dual tensors -----------------------------------------------------------
def make_dual(tensor, tangent, *, level=None):
    """A view of `tensor` that carries `tangent` as its forward gradient."""
    if _level is None:
        raise RuntimeError(NO_LEVEL)
    if tensor.dtype.np.kind != "f":
        raise ValueError(f"Expected primal to be floating point or complex, but got: "
                         f"{tensor.dtype}")
    if tangent.dtype.np.kind != "f":
        raise ValueError(f"Expected tangent to be floating point or complex, but got: "
                         f"{tangent.dtype}")
    if tuple(tangent.shape) != tuple(tensor.shape):
        raise RuntimeError(
            "Trying to set a forward gradient that has a different size than that of the "
            f"original Tensor, this is not supported. Tensor is of size {list(tensor.shape)} "
            f"while the given forward gradient is of size {list(tangent.shape)}.")
    with _suspended():
        dual = tensor.view(tensor.shape)
    if tangent.dtype != tensor.dtype or tangent._data.strides != dual._data.strides:
        tangent = _like_layout(tangent, dual)
    _set_tangent(dual, tangent)
    return dual


def _like_layout(tangent, primal):
    """A copy of `tangent` with the primal's dtype and memory layout (PyTorch copies it then)."""
    import numpy as np

    data = np.empty_like(primal._data)
    data[...] = tangent._data
    return graph.Tensor._make(data, tangent._requires_grad)


def unpack_dual(tensor, *, level=None):
    """(primal, tangent): a view of the tensor without its tangent, and the tangent or None."""
    if _level is None or not isinstance(tensor, graph.Tensor):
        return UnpackedDualTensor(tensor, None)
    _resolve_pending()
    tangent = _tangent(tensor)
    if tangent is None:
        return UnpackedDualTensor(tensor, None)
    with _suspended():
        primal = tensor.view(tensor.shape)
    return UnpackedDualTensor(primal, tangent)


def _tangent(t):
    extra = t._extra
    return None if extra is None else extra.__dict__.get("tangent")


def _set_tangent(t, tangent):
    t._ensure_extra().__dict__["tangent"] = tangent
    _duals.append(t)


class _suspended:
    """Ops inside run without tangents (a custom Function's forward, unpacking)."""

    def __enter__(self):
        self.saved, graph.forward_ad_record = graph.forward_ad_record, None

    def __exit__(self, *exc):
        graph.forward_ad_record = self.saved


def tangent_for_repr(t):
    """The tangent `repr` shows, or None."""
    if _level is None:
        return None
    _resolve_pending()
    return _tangent(t)


def carry_tangent(new, t):
    """An in-place op wrote `new` into `t`: t's tangent becomes new's."""
    _resolve_pending()
    tangent = _tangent(new)
    if tangent is not None:
        # as PyTorch: a tangent t already had keeps its dtype; a first one is taken as it is
        if _tangent(t) is not None and tangent.dtype != t.dtype:
            tangent = tangent.to(t.dtype)
        _set_tangent(t, tangent)
    elif _tangent(t) is not None:
        t._extra.__dict__.pop("tangent")


# -- ops on dual tensors -------------------------------------------------------------------------
def is_dual_input(tensors):
    _resolve_pending()
    return any(t is not None and _tangent(t) is not None for t in tensors)


def record(node_cls, out, inputs, outs=None):
    """graph.record while a level is open (graph.record_multi passes `outs`); NOT_DUAL when no
    input carries a tangent, and the op is recorded as usual."""
    _resolve_pending()
    duals = [(i, t) for i, t in enumerate(inputs) if t is not None and _tangent(t) is not None]
    if not duals:
        return graph.NOT_DUAL
    grad_on = grad_mode.state.enabled
    edges, wanted = [], False
    for t in inputs:
        if t is not None and grad_on and (t._grad_fn is not None or t._requires_grad):
            wanted = True  # (a view made under no_grad requires grad with no edge, as in record)
            real = graph.edge(t)
        else:
            real = _NO_EDGE
        if real[0] is None and t is not None and _tangent(t) is not None:
            real = (_SINK, 0)
        edges.append(real)
    outs = [out] if outs is None else list(outs)
    node = graph.new_node(node_cls, edges, outs)
    # Ops finish configuring their node through `out._grad_fn` (`out._grad_fn.dim = ...`), so
    # the output holds the node even when no gradient is wanted; _resolve_pending takes it
    # back before anyone else can see it.
    for i, o in enumerate(outs):
        o._grad_fn, o._nr = node, i
        o._requires_grad = o._requires_grad or wanted
    if wanted and graph._tracer is not None and len(outs) == 1:
        graph._tracer(node, out, inputs)
    _pending.append((node, outs, duals, wanted))
    return node


def _resolve_pending():
    while _pending:
        node, outs, duals, wanted = _pending.pop(0)
        try:
            for o, tangent in zip(outs, _output_tangents(node, outs, duals, wanted)):
                if tangent is not None:
                    _set_tangent(o, tangent)
        finally:
            _detach_helper(node, outs, wanted)


def _detach_helper(node, outs, wanted):
    """The node built for a tangent leaves the outputs that wanted no gradient, and the sink
    edges leave a node that stays in the graph."""
    if not wanted:
        for o in outs:
            if o._grad_fn is node:
                o._grad_fn, o._nr = None, 0
    else:
        node.next_functions = tuple(_NO_EDGE if fn is _SINK else (fn, nr)
                                    for fn, nr in node.next_functions)


def _output_tangents(node, outs, duals, wanted):
    """J t for each output of `node`: d/du <J^T u, t> (see the module docstring). The tangents
    keep a graph (reverse-over-forward) when the op's inputs or the tangents require grad."""
    from .math import TENSOR_MATH
    from .api import grad
    from .. import zeros

    if not any(o._data.dtype.kind == "f" for o in outs):
        return [None] * len(outs)
    tangents = [_tangent(t) for _, t in duals]
    keep_graph = wanted or (grad_mode.state.enabled and any(t._requires_grad for t in tangents))
    with _suspended(), grad_mode.enable_grad():
        probes = [zeros(o.shape, dtype=o.dtype, requires_grad=True) for o in outs]
        vjps = node.backward(TENSOR_MATH, *probes)
        if not isinstance(vjps, (tuple, list)):
            vjps = (vjps,)
        total = None
        for (i, _), t in zip(duals, tangents):
            v = vjps[i] if i < len(vjps) else None
            if v is None or not getattr(v, "_requires_grad", False):
                continue
            term = (v * t).sum()
            total = term if total is None else total + term
        if total is None:
            return [zeros(o.shape, dtype=o.dtype) if o._data.dtype.kind == "f" else None
                    for o in outs]
        found = grad(total, probes, allow_unused=True, create_graph=keep_graph)
        if node.zero_tangent_where_zero:
            found = [g if g is None else g.masked_fill(o.detach() == 0, 0.0)
                     for o, g in zip(outs, found)]
    return [None if o._data.dtype.kind != "f" else
            (g if g is not None else zeros(o.shape, dtype=o.dtype)) for o, g in zip(outs, found)]
