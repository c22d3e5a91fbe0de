"""Public entry points of the engine: `backward` (fills .grad) and `grad` (returns gradients)."""
from __future__ import annotations

import warnings

import numpy as np

from .. import _errors
from . import engine
from . import graph
from .graph import edge, grad_accumulator


def _as_tuple(x):
    if x is None:
        return ()
    if isinstance(x, (tuple, list)):
        return tuple(x)
    return (x,)


def _root_grads(outputs, grad_outputs, create_graph):
    """One seed gradient per output: ones for scalars, else the user's (shape-checked)."""
    Tensor = graph.Tensor
    grads = []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if g is None:
            if out._data.size != 1:
                raise RuntimeError(_errors.SCALAR_GRAD)
            if out._data.dtype.kind != "f":
                raise RuntimeError("grad can be implicitly created only for real scalar outputs "
                                   f"but got {out.dtype}")
            data = np.ones(out._data.shape, dtype=out._data.dtype)
            grads.append(Tensor._make(data) if create_graph else data)
            continue
        if not isinstance(g, Tensor):
            from ..creation import tensor

            g = tensor(g, dtype=out.dtype)
        if g._data.shape != out._data.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{i}] has a shape of {_errors.size_str(g._data.shape)}"
                f" and output[{i}] has a shape of {_errors.size_str(out._data.shape)}.")
        if create_graph:
            grads.append(g)
        else:
            data = g._data
            grads.append(data if data.dtype == out._data.dtype else data.astype(out._data.dtype))
    return grads


def _roots(outputs):
    roots = []
    for i, out in enumerate(outputs):
        if not out._requires_grad:
            raise _errors.no_grad_fn(i)
        roots.append(edge(out))
    return roots


_create_graph_warned = False


def _warn_create_graph_cycle():
    """PyTorch warns once per process (TORCH_WARN_ONCE)."""
    global _create_graph_warned
    if not _create_graph_warned:
        _create_graph_warned = True
        warnings.warn(_errors.CREATE_GRAPH_CYCLE_WARNING, UserWarning, stacklevel=4)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             grad_variables=None, inputs=None):
    """Accumulate the gradients of `tensors` w.r.t. the graph's leaves into their `.grad`.

    With `inputs`, only those tensors (leaves or not) receive gradients.
    """
    outputs = _as_tuple(tensors)
    grad_tensors = _as_tuple(grad_tensors if grad_tensors is not None else grad_variables)
    if not grad_tensors:
        grad_tensors = (None,) * len(outputs)
    if len(grad_tensors) != len(outputs):
        raise RuntimeError(f"got {len(grad_tensors)} tensors and {len(outputs)} gradients")
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None and not _as_tuple(inputs):
        raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
    roots = _roots(outputs)
    seeds = _root_grads(outputs, grad_tensors, create_graph)
    if create_graph and inputs is None:
        _warn_create_graph_cycle()
    targets = capture = None
    inputs = _as_tuple(inputs)
    if inputs:
        targets, capture, non_leaves = set(), {}, []
        for t in inputs:
            if not t._requires_grad:
                raise RuntimeError("One of the differentiated Tensors does not require grad")
            if t._grad_fn is None:
                targets.add(grad_accumulator(t))
            elif (t._grad_fn, t._nr) not in capture:  # a tensor listed twice gets it once
                targets.add(t._grad_fn)
                capture[(t._grad_fn, t._nr)] = len(non_leaves)
                non_leaves.append(t)
    captured = engine.execute(roots, seeds, retain_graph=retain_graph, create_graph=create_graph,
                              targets=targets, capture=capture or None)
    if captured:
        Tensor = graph.Tensor
        for t, g in zip(non_leaves, captured):
            if g is None or t.retains_grad:  # retain_grad already stored it (once, as torch)
                continue
            if not create_graph:
                g = Tensor._make(np.array(g, copy=True))
            t._grad = g if t._grad is None else t._grad + g


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """d(outputs)/d(inputs), returned as a tuple; `.grad` fields are left untouched."""
    Tensor = graph.Tensor
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    if allow_unused is None:
        allow_unused = materialize_grads
    grad_outputs = _as_tuple(grad_outputs) or (None,) * len(outputs)
    if retain_graph is None:
        retain_graph = create_graph
    for t in inputs:
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    roots = _roots(outputs)
    seeds = _root_grads(outputs, grad_outputs, create_graph)
    capture, targets = {}, set()
    for i, t in enumerate(inputs):
        node = t._grad_fn if t._grad_fn is not None else grad_accumulator(t)
        key = (node, t._nr if t._grad_fn is not None else 0)
        capture.setdefault(key, len(capture))
        targets.add(node)
    slots = [capture[(t._grad_fn, t._nr) if t._grad_fn is not None else (grad_accumulator(t), 0)]
             for t in inputs]
    captured = engine.execute(roots, seeds, retain_graph=retain_graph, create_graph=create_graph,
                              targets=targets, capture=capture, accumulate=False)
    result = []
    for i, (t, slot) in enumerate(zip(inputs, slots)):
        g = captured[slot]
        if g is None:
            if materialize_grads:
                g = np.zeros(t._data.shape, t._data.dtype)
            elif not allow_unused:
                raise RuntimeError(f"The differentiated Tensor at index {i} appears to not have "
                                   "been used in the graph. Set allow_unused=True if this is the "
                                   "desired behavior.")
            else:
                result.append(None)
                continue
        if isinstance(g, Tensor):
            result.append(g)
        else:
            result.append(Tensor._make(np.array(g, copy=True)))
    return tuple(result)
