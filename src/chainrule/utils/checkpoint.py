"""Activation checkpointing: keep a function's inputs instead of its intermediate values, and
recompute those values during backward (less memory, one more forward).

Two variants, as in PyTorch:
- use_reentrant=True: the function runs under no_grad inside a custom autograd Function whose
  backward reruns it with grad and calls `backward` on the rerun ("reentrant": backward inside
  backward). Gradients reach the inputs, and parameters the function uses get their `.grad`.
- use_reentrant=False: the function runs normally, but every tensor its ops save for backward is
  replaced by a ticket (saved_tensors_hooks); the first ticket redeemed during backward reruns
  the function with the same inputs and random state and hands out the recomputed tensors.
  This works with autograd.grad and keyword arguments too.
Either way the random state of the first run is restored for the rerun, so dropout draws the
same mask and the gradients equal those of the function without checkpointing.
"""
from __future__ import annotations

import contextlib
import warnings

from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad, no_grad
from ..autograd.graph import saved_tensors_hooks
from ..tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointError"]

_WARNING = ("torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. "
            "Starting in PyTorch 2.9, calling checkpoint without use_reentrant will raise an "
            "exception. use_reentrant=False is recommended, but if you need to preserve the "
            "current default behavior, you can pass use_reentrant=True. Refer to docs for more "
            "details on the differences between the two variants.")
_SEQUENTIAL_WARNING = (
    "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be passed "
    "explicitly. In version 2.9 we will raise an exception if use_reentrant is not passed. "
    "use_reentrant=False is recommended, but if you need to preserve the current default "
    "behavior, you can pass use_reentrant=True. Refer to docs for more details on the "
    "differences between the two variants.")


class CheckpointError(RuntimeError):
    """The recomputation did not save what the first run saved."""


def noop_context_fn():
    return contextlib.nullcontext(), contextlib.nullcontext()


def checkpoint(function, *args, use_reentrant=None, context_fn=noop_context_fn,
               determinism_check="default", debug=False, preserve_rng_state=True, **kwargs):
    """`function(*args, **kwargs)`, without keeping its intermediate values for backward: they are
    recomputed when backward needs them. Gradients are those of the plain call.

    Pass use_reentrant explicitly (PyTorch warns otherwise and uses True); False is
    recommended. preserve_rng_state=False skips restoring the random state for the rerun.

    >>> import chainrule as torch
    >>> from chainrule.utils.checkpoint import checkpoint
    >>> x = torch.tensor([1.0, 2.0], requires_grad=True)
    >>> checkpoint(lambda t: (t.sin() * t).sum(), x, use_reentrant=False).backward()
    >>> x.grad
    tensor([1.3818, 0.0770])
    """
    if use_reentrant is None:
        warnings.warn(_WARNING, stacklevel=2)
        use_reentrant = True
    if use_reentrant:
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when "
                             "use_reentrant=False.")
        return _ReentrantCheckpoint.apply(function, preserve_rng_state, *args)
    if determinism_check not in ("default", "none"):
        raise ValueError("determinism_check should be one of ['default', 'none'], but got "
                         f"{determinism_check}")
    forward_context, recompute_context = context_fn()
    frame = _Frame(function, args, kwargs, preserve_rng_state, recompute_context,
                   check=determinism_check == "default")
    with saved_tensors_hooks(frame.pack, frame.unpack), forward_context:
        return function(*args, **kwargs)


# ---------------------------------------------------------------------------------------------
# Shared: rerunning with the first run's random state.

class _RandomState:
    """The random state at the first run, to be put in force for the rerun only."""

    def __init__(self, preserve):
        from ..random import get_rng_state

        self.state = get_rng_state() if preserve else None

    @contextlib.contextmanager
    def restored(self):
        from ..random import get_rng_state, set_rng_state

        if self.state is None:
            yield
            return
        outside = get_rng_state()
        set_rng_state(self.state)
        try:
            yield
        finally:
            set_rng_state(outside)


def _detached(args):
    """The arguments cut from their history, each tensor requiring grad as before."""
    return tuple(a.detach().requires_grad_(a.requires_grad) if isinstance(a, Tensor) else a
                 for a in args)


# ---------------------------------------------------------------------------------------------
# use_reentrant=True.

class _ReentrantCheckpoint(Function):
    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        if not any(isinstance(a, Tensor) and a.requires_grad for a in args):
            warnings.warn("None of the inputs have requires_grad=True. Gradients will be None")
        ctx.run_function = run_function
        ctx.random_state = _RandomState(preserve_rng_state)
        ctx.args = [None if isinstance(a, Tensor) else a for a in args]
        ctx.tensor_indices = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.save_for_backward(*(args[i] for i in ctx.tensor_indices))
        with no_grad():
            return run_function(*args)

    @staticmethod
    def backward(ctx, *grads):
        args = list(ctx.args)
        for i, t in zip(ctx.tensor_indices, ctx.saved_tensors):
            args[i] = t
        with ctx.random_state.restored():
            inputs = _detached(args)
            with enable_grad():
                outputs = ctx.run_function(*inputs)
        if isinstance(outputs, Tensor):
            outputs = (outputs,)
        pairs = [(o, g) for o, g in zip(outputs, grads)
                 if isinstance(o, Tensor) and o.requires_grad]
        if not pairs:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not "
                               "necessary")
        from ..autograd.api import backward

        backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None) + tuple(a.grad if isinstance(a, Tensor) else None for a in inputs)


# ---------------------------------------------------------------------------------------------
# use_reentrant=False.

class _Frame:
    """One checkpointed call: the tickets handed out for saved tensors, and the recomputed
    tensors once backward has asked for one. A ticket is redeemed once; a second backward
    (retain_graph=True) finds the tensors gone and recomputes again."""

    def __init__(self, function, args, kwargs, preserve, recompute_context, check):
        self.function, self.args, self.kwargs = function, args, kwargs
        self.random_state = _RandomState(preserve)
        self.recompute_context, self.check = recompute_context, check
        self.metadata = []       # (shape, dtype) of each saved tensor, by ticket
        self.recomputed = {}

    def pack(self, tensor):
        self.metadata.append((tuple(tensor.shape), tensor.dtype))
        return len(self.metadata) - 1

    def unpack(self, ticket):
        if ticket not in self.recomputed:
            self._recompute()
        return self.recomputed.pop(ticket)

    def _recompute(self):
        saved = []

        def keep(tensor):
            saved.append(tensor)
            return len(saved) - 1

        with self.random_state.restored():
            inputs = _detached(self.args)
            with enable_grad(), saved_tensors_hooks(keep, saved.__getitem__), \
                    self.recompute_context:
                self.function(*inputs, **self.kwargs)
        if self.check:
            self._check(saved)
        self.recomputed = dict(enumerate(saved))

    def _check(self, saved):
        if len(saved) != len(self.metadata):
            raise CheckpointError(
                "torch.utils.checkpoint: A different number of tensors was saved during the "
                f"original forward and recomputation.\nNumber of tensors saved during forward: "
                f"{len(self.metadata)}\nNumber of tensors saved during recomputation: "
                f"{len(saved)}")
        for i, (t, (shape, dtype)) in enumerate(zip(saved, self.metadata)):
            if (tuple(t.shape), t.dtype) != (shape, dtype):
                raise CheckpointError(
                    "torch.utils.checkpoint: Recomputed values for the following tensors have "
                    f"different metadata than during the forward pass.\ntensor at position {i}:"
                    f"\nsaved metadata: {{'shape': {shape}, 'dtype': {dtype}}}\nrecomputed "
                    f"metadata: {{'shape': {tuple(t.shape)}, 'dtype': {t.dtype}}}")


# ---------------------------------------------------------------------------------------------

def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run `functions` (an nn.Sequential or a list of modules/functions) one after the other on
    `input`, in `segments` chunks; every chunk but the last is checkpointed.

    >>> import chainrule as torch
    >>> from chainrule.utils.checkpoint import checkpoint_sequential
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Tanh(), torch.nn.Linear(2, 1))
    >>> out = checkpoint_sequential(net, 2, torch.ones(1, 2), use_reentrant=False)
    """
    from ..nn import Sequential

    if use_reentrant is None:
        warnings.warn(_SEQUENTIAL_WARNING, stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if isinstance(functions, Sequential):
        functions = list(functions.children())

    def run(start, end):
        def forward(x):
            for j in range(start, end + 1):
                x = functions[j](x)
            return x
        return forward

    size = len(functions) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return run(end + 1, len(functions) - 1)(input)
