"""`autograd.Function`: user-defined ops with a hand-written backward (the seeds' MyReLU).

`MyFn.apply(*args)` runs `forward` without recording, then attaches a `<Name>Backward` node
whose backward calls the user's `backward(ctx, *grads)` with tensors. The engine treats it like
any built-in node.
"""
from __future__ import annotations

from . import grad_mode
from . import graph
from .graph import Node, edge, _next_seq


class FunctionCtx:
    """The `ctx` of forward/backward; arbitrary attributes may be stored on it."""

    def save_for_backward(self, *tensors):
        for t in tensors:
            if t is not None and not hasattr(t, "_data"):
                raise TypeError("save_for_backward can only save variables, but argument "
                                f"{tensors.index(t)} is of type {type(t).__name__}")
        self._to_save = tensors

    def save_for_forward(self, *tensors):
        self._saved_for_forward = tensors

    def mark_non_differentiable(self, *tensors):
        self._non_differentiable = {id(t) for t in tensors}

    def mark_dirty(self, *tensors):
        self._dirty = {id(t) for t in tensors}

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)


class BackwardCFunction(Node, FunctionCtx):
    """The node (and ctx) of one call of a custom Function."""

    _forward_cls = None
    needs_input_grad = ()  # set per call (shadows Node's derived property)

    def __repr__(self):
        return f"<torch.autograd.function.{type(self).__name__} object at {hex(id(self))}>"

    @property
    def saved_tensors(self):
        from .math import TENSOR_MATH

        return tuple(self.saved(TENSOR_MATH))

    @property
    def saved_variables(self):
        return self.saved_tensors

    def save(self, *values):
        Node.save(self, *values)

    def backward(self, m, *grads):
        Tensor = graph.Tensor
        if self.materialize_grads:
            grads = [g if g is not None else m.zeros(*self._meta[i]) for i, g in enumerate(grads)]
        grads = tuple(m.to_tensor(g) if g is not None else None for g in grads)
        result = self._forward_cls.backward(self, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        n_inputs = len(self.next_functions)
        if len(result) < n_inputs:
            raise RuntimeError(f"function {type(self).__name__} returned an incorrect number of "
                               f"gradients (expected {n_inputs}, got {len(result)})")
        result = result[:n_inputs] if all(r is None for r in result[n_inputs:]) else result
        if len(result) != n_inputs:
            raise RuntimeError(f"function {type(self).__name__} returned an incorrect number of "
                               f"gradients (expected {n_inputs}, got {len(result)})")
        out = []
        for i, g in enumerate(result):
            if g is None or self.next_functions[i][0] is None:
                out.append(None)
            elif not isinstance(g, Tensor):
                raise TypeError(f"function {type(self).__name__} returned a gradient of type "
                                f"{type(g).__name__} at index {i}; expected a Tensor or None")
            else:
                out.append(m.from_tensor(g))
        return tuple(out)


class FunctionMeta(type):
    """Gives every Function subclass its own node class, named `<Name>Backward`."""

    def __init__(cls, name, bases, attrs):
        super().__init__(name, bases, attrs)
        cls._backward_cls = type(name + "Backward", (BackwardCFunction,),
                                 {"_forward_cls": cls, "__module__": "torch.autograd.function"})


class Function(metaclass=FunctionMeta):
    """Subclass with static `forward(ctx, *args)` and `backward(ctx, *grads)`, call `.apply`."""

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        raise RuntimeError("Legacy autograd function with non-static forward method is "
                           "deprecated. Please use new-style autograd function with static "
                           "forward method. (Example: "
                           "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward mode AD.")

    vjp = backward

    @staticmethod
    def jvp(ctx, *grad_inputs):
        raise NotImplementedError("You must implement the jvp function for custom "
                                  "autograd.Function to use it with forward mode AD.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        Tensor = graph.Tensor
        ctx = cls._backward_cls.__new__(cls._backward_cls)
        ctx.materialize_grads = True
        ctx._to_save = None
        ctx._non_differentiable = set()
        ctx._dirty = set()
        tensor_args = [a for a in args if isinstance(a, Tensor)]
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        uses_setup_context = cls.setup_context is not Function.setup_context
        tangents = _input_tangents(args) if graph.forward_ad_record is not None else None
        if tangents is not None and cls.jvp is Function.jvp:
            Function.jvp(ctx)
        with grad_mode.no_grad(), _forward_ad_suspended(tangents):
            if uses_setup_context:
                output = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, output)
            else:
                output = cls.forward(ctx, *args, **kwargs)
        if tangents is not None:
            _set_output_tangents(cls, ctx, output, tangents)
        outputs = output if isinstance(output, tuple) else (output,)
        if not (grad_mode.state.enabled and any(t._requires_grad for t in tensor_args)):
            for o in outputs:
                if isinstance(o, Tensor) and id(o) in ctx._dirty:
                    o._vc[0] += 1
            return output
        ctx.next_functions = tuple(edge(a) if isinstance(a, Tensor) else (None, 0) for a in args)
        ctx._saved, ctx._versions = (), None
        ctx._seq = _next_seq()
        ctx._hooks = ctx._pre_hooks = ctx._tensor_hooks = ctx._metadata = None
        wrapped = []
        inputs_by_id = {id(a) for a in tensor_args}
        for i, o in enumerate(outputs):
            if not isinstance(o, Tensor):
                wrapped.append(o)
                continue
            if id(o) in inputs_by_id and id(o) not in ctx._dirty:
                o = Tensor._make(o._data, vc=o._vc)  # an input returned as is: a new alias
            if id(o) in ctx._dirty:
                o._vc[0] += 1
            if id(outputs[i]) in ctx._non_differentiable or o._data.dtype.kind != "f":
                o._requires_grad = False
            else:
                o._grad_fn, o._nr, o._requires_grad = ctx, i, True
            wrapped.append(o)
        ctx._meta = tuple((o._data.shape, o._data.dtype) if isinstance(o, Tensor) else ((), None)
                          for o in wrapped)
        if len(wrapped) > 1:
            ctx.n_outputs = len(wrapped)
        if ctx._to_save is not None:
            Node.save(ctx, *[_saved_value(t, wrapped, ctx) for t in ctx._to_save])
            ctx._to_save = None  # the node owns them now, and frees them after backward
        return tuple(wrapped) if isinstance(output, tuple) else wrapped[0]


# -- forward mode (see forward_ad.py): a custom Function's outputs get their tangents from its
# `jvp(ctx, *input_tangents)`; its forward runs without tangents.
def _input_tangents(args):
    from . import forward_ad

    Tensor = graph.Tensor
    if not forward_ad.is_dual_input([a for a in args if isinstance(a, Tensor)]):
        return None
    return [forward_ad._tangent(a) if isinstance(a, Tensor) else None for a in args]


def _forward_ad_suspended(tangents):
    from contextlib import nullcontext
    from . import forward_ad

    return nullcontext() if tangents is None else forward_ad._suspended()


def _set_output_tangents(cls, ctx, output, tangents):
    from . import forward_ad

    saved = tuple(getattr(ctx, "_saved_for_forward", None) or ctx._to_save or ())
    ctx._saved, ctx._versions = saved, [None] * len(saved)  # what ctx.saved_tensors reads
    try:
        with forward_ad._suspended():
            result = cls.jvp(ctx, *tangents)
    finally:
        ctx._saved, ctx._versions = (), None
    outputs = output if isinstance(output, tuple) else (output,)
    results = result if isinstance(result, tuple) else (result,)
    for o, t in zip(outputs, results):
        if isinstance(o, graph.Tensor) and t is not None:
            forward_ad._set_tangent(o, t)


def _saved_value(t, outputs, node):
    """Outputs are saved without a reference cycle (see graph.SavedOutput)."""
    from .graph import SavedOutput

    for o in outputs:
        if o is t and getattr(o, "_grad_fn", None) is node:
            return SavedOutput(o)
    return t


class InplaceFunction(Function):
    def __init__(self, inplace=False):
        self.inplace = inplace


class NestedIOFunction(Function):
    pass


def once_differentiable(fn):
    return fn

