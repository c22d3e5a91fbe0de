"""The backward pass.

Note [Execution order]
Every node gets a sequence number when it is created, and a node is always created after the
nodes of its inputs. So visiting the reachable nodes in decreasing sequence number is a
topological order: each node runs after every node that consumes its output. No recursion and
no dependency counting is needed, the order is deterministic, and it is exactly the reverse of
the forward order, which is what a learner expects to see.
"""
from __future__ import annotations

import operator

import numpy as np

from . import grad_mode
from . import graph
from .graph import AccumulateGrad
from .math import ARRAY_MATH, TENSOR_MATH
from .. import _errors

# Observers see every executed node: fn(node, grad_outputs, grad_inputs). Used by the explainer.
_observers: list = []
# Set by anomaly mode: fn(node, grad_inputs) raises on NaN/inf.
anomaly_check = None


def _collect(roots):
    """All nodes reachable from `roots`, in execution order. See Note [Execution order]."""
    order = [fn for fn in roots if fn is not None]
    seen = set(order)
    stack = list(order)
    while stack:
        for fn, _ in stack.pop().next_functions:
            if fn is not None and fn not in seen:
                seen.add(fn)
                order.append(fn)
                stack.append(fn)
    order.sort(key=_seq_of, reverse=True)
    return order


_seq_of = operator.attrgetter("_seq")


def _needed(order, targets):
    """Nodes that lie on a path to one of `targets` (visited leaves-first)."""
    needed = set()
    for node in reversed(order):
        if node in targets:
            needed.add(node)
            continue
        for fn, _ in node.next_functions:
            if fn in needed:
                needed.add(node)
                break
    return needed


def execute(roots, root_grads, *, retain_graph, create_graph, targets=None, capture=None,
            accumulate=True):
    """Run backward from `roots` (a list of (node, nr)) seeded with `root_grads`.

    targets: nodes whose paths to the roots are the only ones run (None: run everything).
    capture: {(node, nr): slot}; gradients arriving there are collected and returned.
    accumulate: whether leaves' AccumulateGrad nodes add into `.grad` (False for autograd.grad).
    """
    if graph.forward_ad_record is not None:  # tangents first: backward frees what they need
        from .forward_ad import _resolve_pending
        _resolve_pending()
    m = TENSOR_MATH if create_graph else ARRAY_MATH
    order = _collect([fn for fn, _ in roots])
    needed = None if targets is None else _needed(order, targets)
    captured = None if capture is None else [None] * len(capture)
    buffers = {}
    delivered = set()  # ids of gradient objects already handed to a .grad (see _store_grad)
    for (fn, nr), g in zip(roots, root_grads):
        delivered.add(id(g))
        _add_to_buffer(buffers, fn, nr, g)
    # Anything beyond "run backward, pass gradients on" takes the general path.
    # (Captures at leaves only are taken by the AccumulateGrad branch below.)
    leaf_capture = capture is not None and all(type(fn) is AccumulateGrad for fn, _ in capture)
    general = (needed is not None or (capture is not None and not leaf_capture)
               or bool(_observers) or anomaly_check is not None)
    tensor_mode = create_graph
    pop = buffers.pop

    prev_mode = grad_mode.state.enabled
    grad_mode.state.enabled = create_graph
    try:
        for node in order:
            grads = pop(node, None)
            if grads is None:
                continue
            # Note [Gradient buffers]: a single-output node's buffer is the gradient itself,
            # a multi-output node's is a list with one slot per output.
            if type(node) is AccumulateGrad:
                grads = [grads]
                if node._tensor_hooks is not None:
                    grads = _run_tensor_hooks(node, grads, m)
                if capture is not None:
                    _capture(capture, captured, node, grads)
                if accumulate and (needed is None or node in needed):
                    _accumulate(node.variable, grads[0], m, delivered)
                continue
            if (general or node._tensor_hooks is not None or node._pre_hooks is not None
                    or node._hooks is not None or node.n_outputs != 1):
                if node.n_outputs == 1:
                    grads = [grads]
                grad_inputs = _run_general(node, grads, m, needed, capture, captured)
                if grad_inputs is None:
                    continue
            else:
                grad_inputs = node.backward(m, grads)
                if type(grad_inputs) is not tuple:
                    grad_inputs = (grad_inputs,)
            if not retain_graph:
                node._saved = None
            next_functions = node.next_functions
            if len(grad_inputs) != len(next_functions):
                raise RuntimeError(
                    f"function {node.name()} returned an incorrect number of gradients "
                    f"(expected {len(next_functions)}, got {len(grad_inputs)})")
            i = 0
            for g in grad_inputs:
                fn, nr = next_functions[i]
                i += 1
                if fn is None or g is None:
                    continue
                shape, dtype = fn._meta[nr]
                arr = g._data if tensor_mode else g
                if arr.shape != shape or arr.dtype is not dtype:
                    g = _validate(node, i - 1, g, shape, dtype, m)
                if fn.n_outputs == 1:
                    prev = buffers.get(fn)
                    buffers[fn] = g if prev is None else prev + g  # forks add up
                else:
                    _add_to_buffer(buffers, fn, nr, g)
    finally:
        grad_mode.state.enabled = prev_mode
    return captured


def _capture(capture, captured, node, grads):
    for nr, g in enumerate(grads):
        slot = capture.get((node, nr))
        if slot is not None and g is not None:
            captured[slot] = g if captured[slot] is None else captured[slot] + g


def _run_general(node, grads, m, needed, capture, captured):
    """One node's backward with hooks, capture, pruning and observers. None: skip the node."""
    if needed is not None and node not in needed:
        return None
    if node._tensor_hooks is not None:
        grads = _run_tensor_hooks(node, grads, m)
    if capture is not None:
        _capture(capture, captured, node, grads)
        if not any(fn in needed for fn, _ in node.next_functions):
            return None  # a captured endpoint: nothing below it is wanted
    if node._pre_hooks is not None:
        grads = _run_node_pre_hooks(node, grads, m)
    if node.n_outputs > 1:
        grads = [g if g is not None else m.zeros(*node._meta[i]) for i, g in enumerate(grads)]
    grad_inputs = node.backward(m, *grads)
    if type(grad_inputs) is not tuple:
        grad_inputs = (grad_inputs,) if len(node.next_functions) == 1 else tuple(grad_inputs)
    if node._hooks is not None:
        grad_inputs = _run_node_hooks(node, grad_inputs, grads, m)
    if anomaly_check is not None:
        anomaly_check(node, grad_inputs)
    for observer in _observers:
        observer(node, grads, grad_inputs)
    return grad_inputs


def _add_to_buffer(buffers, fn, nr, g):
    """Add `g` to output `nr`'s gradient in `fn`'s buffer. See Note [Gradient buffers]."""
    if fn.n_outputs == 1:
        prev = buffers.get(fn)
        buffers[fn] = g if prev is None else prev + g
        return
    buf = buffers.get(fn)
    if buf is None:
        buf = buffers[fn] = [None] * fn.n_outputs
        buf[nr] = g
    elif buf[nr] is None:
        buf[nr] = g
    else:
        buf[nr] = buf[nr] + g  # gradients add at fork branches


def _validate(node, index, g, shape, dtype, m):
    """Reduce a broadcast gradient to the input's shape and cast it to the input's dtype.

    This is the one place where broadcasting is undone (Note [Broadcasting in backward]).
    """
    arr = g._data if m.tensor_mode else g
    if arr.shape != shape:
        if not _errors.broadcastable_to(shape, g.shape):
            raise RuntimeError(
                f"Function {node.name()} returned an invalid gradient at index {index} - got "
                f"{list(arr.shape)} but expected shape compatible with {list(shape)}")
        g = m.sum_to(g, shape)
        arr = g._data if m.tensor_mode else g
    if arr.dtype != dtype:
        g = m.cast(g, dtype)
    return g


def _accumulate(variable, g, m, delivered):
    hooks = variable._extra.hooks if variable._extra is not None else None
    if hooks:
        for hook in list(hooks):
            new = hook(m.to_tensor(g))
            if new is not None:
                g = m.from_tensor(new)
    _store_grad(variable, g, m, delivered)
    if variable._extra is not None and variable._extra.post_acc_hooks:
        for hook in list(variable._extra.post_acc_hooks):
            if hook(variable) is not None:
                raise RuntimeError("Tensor post accumulate grad hooks should return None.")


def _store_grad(variable, g, m, delivered):
    """`variable.grad += g`, in place when no graph is built (as PyTorch does).

    Gradients pass through add/view nodes unchanged, so one array can reach two leaves; the
    first keeps it and the others get copies, so that `a.grad.zero_()` never touches `b.grad`.
    """
    Tensor = graph.Tensor
    current = variable._grad
    if m is ARRAY_MATH:
        if current is None:
            if id(g) in delivered or g.base is not None or not isinstance(g, np.ndarray):
                g = np.array(g, copy=True, order="C")
            elif not g.flags.c_contiguous and variable._data.flags.c_contiguous:
                # The grad takes the parameter's layout (PyTorch's layout contract): a
                # column-major grad would make every optimizer pass stride across memory.
                g = np.ascontiguousarray(g)
            delivered.add(id(g))
            variable._grad = Tensor._make(g)
        else:
            np.add(current._data, g, out=current._data, casting="unsafe")
            current._vc[0] += 1
    else:
        if current is None:
            if id(g) in delivered:
                g = g.clone()
            delivered.add(id(g))
            variable._grad = g
        else:
            variable._grad = current + g


def _run_tensor_hooks(node, grads, m):
    grads = list(grads)
    retains = []
    for nr, fn, is_retain in list(node._tensor_hooks):
        if grads[nr] is None:
            continue
        if is_retain:
            retains.append((nr, fn))
            continue
        new = fn(m.to_tensor(grads[nr]))
        if new is not None:
            grads[nr] = m.from_tensor(new)
    for nr, ref in retains:  # retain_grad sees the gradient after the other hooks
        tensor = ref()
        if tensor is not None:
            g = grads[nr]
            if m is ARRAY_MATH:
                g = np.array(g, copy=True)
                if tensor._grad is None:
                    tensor._grad = m.to_tensor(g)
                else:
                    tensor._grad = m.to_tensor(tensor._grad._data + g)
            else:
                tensor._grad = g if tensor._grad is None else tensor._grad + g
    return grads


def _run_node_pre_hooks(node, grads, m):
    for hook in list(node._pre_hooks):
        new = hook(tuple(m.to_tensor(g) if g is not None else None for g in grads))
        if new is not None:
            grads = [m.from_tensor(g) if g is not None else None for g in new]
    return grads


def _run_node_hooks(node, grad_inputs, grads, m):
    as_tensors = lambda gs: tuple(m.to_tensor(g) if g is not None else None for g in gs)  # noqa
    for hook in list(node._hooks):
        new = hook(as_tensors(grad_inputs), as_tensors(grads))
        if new is not None:
            grad_inputs = tuple(m.from_tensor(g) if g is not None else None for g in new)
    return grad_inputs
