"""Optimizers inside a compiled function.

`opt.step()` is not lowered op by op: it is recorded as one impure node (`optim_step`) that, on
every compiled call, hands the gradients the kernel computed to the parameters' `.grad` and runs
the optimizer's own `step()`. So any optimizer works, with its exact arithmetic, its state
(created on its first step: that call's trace is single-use, see runtime.build) and its current
hyperparameters (an lr scheduler changing `group["lr"]` between calls is seen). Parameters read
after the step read their updated memory. `zero_grad()` is traced through `.grad` (guards and
effects, as any `.grad` access).
"""
from __future__ import annotations

import types

import numpy as np

from ..autograd import grad_mode
from ..tensor import Tensor
from .ir import Node
from .tracer import CompileError, active

_make = Tensor._make


class StepRunner:
    """The run-time body of an `optim_step` node (its `fn` attribute)."""

    __slots__ = ("optimizer", "step", "params", "__name__")

    def __init__(self, optimizer, step, params):
        self.optimizer, self.step, self.params = optimizer, step, params
        self.__name__ = f"{type(optimizer).__name__}.step"

    def __call__(self, *grads):
        for p, g in zip(self.params, grads):
            if p._grad is None:
                p._grad = _make(np.array(g, copy=True))
            elif p._grad._data is not g:
                np.copyto(p._grad._data, g)
        self.step(self.optimizer)
        return tuple(p._data for p in self.params)


def optim_step(*grads, fn):
    return fn(*grads)


def _traced_step(orig):
    def step(self, closure=None):
        tr = active()
        if tr is None or tr.depth:
            return orig(self, closure)
        if closure is not None:
            raise CompileError("optimizer.step(closure) inside a compiled function is not "
                               "supported; compute the loss in the compiled function and call "
                               "step() without a closure")
        params, grads = [], []
        for group in self.param_groups:
            for p in group["params"]:
                tr.tensor_node(p)
                info = tr.touched.get(id(p))
                if info is not None:
                    info.guard_grad = True  # the step updates only parameters with a .grad
                if p._grad is not None:
                    params.append(p)
                    grads.append(tr.val(p.grad))
        tr.depth += 1
        try:
            with grad_mode.no_grad():
                result = orig(self, None)
        finally:
            tr.depth -= 1
        runner = StepRunner(self, orig, params)
        node = Node("optim_step", tuple(grads), {"fn": runner}, None, None, None,
                    runner.__name__)
        tr.graph.nodes.append(node)
        for i, p in enumerate(params):
            value = p._data.copy()
            item = Node("tuple_get", (node,), {"index": i}, value.shape, value.dtype, value,
                        runner.__name__)
            tr.graph.nodes.append(item)
            tr.env[id(p._data)] = item
            tr.arrays[id(p._data)] = p._data
            tr.versions[id(p._vc)] = (p._vc, p._vc[0])
        return result

    step.__name__ = "step"
    step.__wrapped__ = orig
    return step


def _traced_zero_grad(orig):
    def zero_grad(self, set_to_none=True):
        tr = active()
        if tr is None or tr.depth:
            return orig(self, set_to_none)
        for group in self.param_groups:
            for p in group["params"]:
                tr.tensor_node(p)
                info = tr.touched.get(id(p))
                if info is not None:
                    info.guard_grad = True
                g = p.grad  # traced: reads (and guards) the .grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    with grad_mode.no_grad():
                        g.zero_()

    zero_grad.__name__ = "zero_grad"
    zero_grad.__wrapped__ = orig
    return zero_grad


def _step_template(self, closure=None, *, _chainrule_compile_hook):
    return _chainrule_compile_hook(self, closure)


def _zero_grad_template(self, set_to_none=True, *, _chainrule_compile_hook):
    return _chainrule_compile_hook(self, set_to_none)


def install():
    """Trace every optimizer's `step` and `zero_grad` (while a trace runs). Returns an undo.

    References to these functions are saved elsewhere (lr schedulers wrap `optimizer.step`
    with the function they found on the class), so, as for `Tensor._make`, the function
    objects' code is swapped rather than the class attributes; functions with a closure
    (`super()`) keep their code and are replaced on their class instead."""
    from ..optim.optimizer import Optimizer

    undo = []
    classes, stack = [Optimizer], [Optimizer]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in classes:
                classes.append(sub)
                stack.append(sub)
    for cls in classes:
        for name, template, traced in (("step", _step_template, _traced_step),
                                       ("zero_grad", _zero_grad_template, _traced_zero_grad)):
            fn = vars(cls).get(name)
            if not isinstance(fn, types.FunctionType):
                continue
            if fn.__closure__ is None:
                original = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__,
                                              fn.__defaults__, None)
                code, kwdefaults = fn.__code__, fn.__kwdefaults__
                fn.__code__ = template.__code__
                fn.__kwdefaults__ = {"_chainrule_compile_hook": traced(original)}
                undo.append(lambda fn=fn, code=code, kw=kwdefaults: (
                    setattr(fn, "__code__", code), setattr(fn, "__kwdefaults__", kw)))
            else:
                setattr(cls, name, traced(fn))
                undo.append(lambda cls=cls, name=name, fn=fn: setattr(cls, name, fn))

    def restore():
        while undo:
            undo.pop()()

    return restore
