"""Composite ops shown as one node, as PyTorch shows its fused kernels.

`F.layer_norm` is a handful of chainrule ops, but PyTorch's graph has one node for it,
NativeLayerNormBackward0, and learners see that name in reprs and drawings. `composite` runs
the ops on aliases of the inputs (same memory and version counter, no history) and hangs the
small graph they build under one node with PyTorch's name. Its backward runs that inner graph;
under create_graph it recomputes the ops on the real inputs, so higher derivatives connect.
"""
from __future__ import annotations

from . import engine, grad_mode, graph
from .graph import (FREED_MESSAGE, Node, _check_version, grad_accumulator, needs_grad, record,
                    zeros_for)

# Set by chainrule.compile: while it traces, composites run their ops in the open so that the
# trace sees them.
passthrough = None


class CompositeNode(Node):
    """One node for a sub-graph; `_saved` is (*inputs, (fn, args, inner inputs, inner output))."""

    __slots__ = ()

    def backward(self, m, *grads):
        saved = self._saved
        if saved is None:
            raise RuntimeError(FREED_MESSAGE)
        *inputs, (fn, args, inner_inputs, inner_out) = saved
        for value, expected in zip(inputs, self._versions):
            _check_version(value, expected, self)
        wanted = [i for i, (edge_fn, _) in enumerate(self.next_functions) if edge_fn is not None]
        if m.tensor_mode:
            from .api import grad

            with grad_mode.enable_grad():
                out = fn(*inputs, *args)
            found = grad(out, [inputs[i] for i in wanted], grads[0], create_graph=True,
                         allow_unused=True)
        else:
            sinks = [grad_accumulator(inner_inputs[i]) for i in wanted]
            # the inner graph ends at the aliases: everything in it leads to a wanted one
            found = engine.execute(
                [(inner_out._grad_fn, inner_out._nr)], [grads[0]], retain_graph=True,
                create_graph=False, capture={(sink, 0): k for k, sink in enumerate(sinks)},
                accumulate=False)
        result = [None] * len(inputs)
        for i, g in zip(wanted, found):
            result[i] = g if g is not None else zeros_for(*self.next_functions[i], m)
        return tuple(result)


_classes: dict = {}


def _node_class(name):
    cls = _classes.get(name)
    if cls is None:
        cls = _classes[name] = type(name, (CompositeNode,), {"__slots__": ()})
    return cls


def composite(name, fn, inputs, *args):
    """`fn(*inputs, *args)`, recorded as one node called `name` when a gradient is needed.

    `inputs` are the tensors (or None) gradients flow to; `args` are passed through as is."""
    if not needs_grad(*inputs) or (passthrough is not None and passthrough()):
        return fn(*inputs, *args)
    Tensor = graph.Tensor
    aliases = [None if t is None else Tensor._make(t._data, t._requires_grad, t._vc)
               for t in inputs]
    inner_out = fn(*aliases, *args)
    if inner_out._grad_fn is None:  # nothing differentiable inside (e.g. integer output)
        return inner_out
    out = Tensor._make(inner_out._data)
    node = record(_node_class(name), out, inputs)
    node._saved = (*inputs, (fn, args, aliases, inner_out))
    node._versions = [None if t is None else t._vc[0] for t in inputs]
    return out
