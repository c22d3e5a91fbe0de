"""chainrule.compile: trace a function once into a static graph, optimize it, replay it fast.

    @chainrule.compile
    def step(x, y):
        loss = ((x.mm(w1).clamp(min=0).mm(w2) - y) ** 2).sum()
        loss.backward()
        with chainrule.no_grad():
            w1 -= 1e-6 * w1.grad
            w2 -= 1e-6 * w2.grad
        w1.grad = w2.grad = None
        return loss

The pipeline, one module each: trace (tracer.py, lowering.py, autodiff.py) -> IR (ir.py) ->
passes (passes.py) -> code generation (codegen.py) -> runtime (runtime.py). The rules for Python
control flow inside a compiled function are in docs/compile.md.
"""
from __future__ import annotations

from .runtime import CompiledFunction
from .tracer import CompileError

__all__ = ["compile", "CompiledFunction", "CompileError"]


def compile(fn=None, *, cache_size=8, fuse=True, **torch_options):
    """Compile `fn` (or, called without it, return a decorator).

    cache_size: how many argument signatures keep their traces (least recently made evicted).
    fuse: fuse elementwise chains (turn off to compare). PyTorch's options (mode, fullgraph,
    dynamic, backend...) are accepted and ignored, so code written for torch.compile runs.
    """
    if fn is None:
        return lambda f: CompiledFunction(f, cache_size=cache_size, fuse=fuse)
    return CompiledFunction(fn, cache_size=cache_size, fuse=fuse)


# `chainrule.compile` names this function (the package is shadowed by it): keep the useful
# names reachable from it too.
compile.CompileError = CompileError
compile.CompiledFunction = CompiledFunction
