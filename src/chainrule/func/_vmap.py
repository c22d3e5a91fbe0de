"""vmap: map a function over a dimension of its inputs.

PyTorch runs the function once on "batched tensors" that carry the extra dimension. chainrule
runs it once per slice and stacks the results: the same values and gradients (slices are views
and stacking is differentiable, so gradients flow back through vmap), nested vmaps and the other
transforms compose, and only the speed differs.
"""
from __future__ import annotations

import functools

from ..tensor import Tensor
from ._pytree import tree_flatten, tree_unflatten, broadcast_prefix, spec_str

__all__ = ["vmap"]


def _name(func):
    if isinstance(func, functools.partial):
        return f"functools.partial({_name(func.func)}, ...)"
    return getattr(func, "__name__", repr(func))


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """`vmap(f)(*args)`: f applied to each slice of its inputs along `in_dims`, the results
    stacked along `out_dims`.

    in_dims: an int (every tensor argument is mapped over that dimension), or a tuple with one
    entry per argument, each an int, None (not mapped: the argument is passed whole to every
    call) or a nested tuple/list/dict matching that argument's structure. out_dims: where the
    mapped dimension goes in each output (an int, None for an output that does not depend on
    the slice, or a structure matching the outputs). randomness: 'error' (random numbers inside
    f are an error), 'same' (every slice sees the same random numbers) or 'different'.

    >>> import chainrule as torch
    >>> torch.vmap(torch.dot)(torch.ones(2, 3), torch.arange(6.0).reshape(2, 3))
    tensor([ 3., 12.])
    """
    if randomness not in ("error", "different", "same"):
        raise RuntimeError("Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")
    if not (chunk_size is None or chunk_size > 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")
    _check_out_dims(out_dims, func)

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        flat_args, args_spec, flat_dims, size = _batched_inputs(func, in_dims, args)
        results = [func(*tree_unflatten(_slice(flat_args, flat_dims, i), args_spec), **kwargs)
                   for i in _slices(size, randomness)]
        if size == 0:  # nothing to slice: call f once on zeros shaped like a slice, keep 0 of it
            zero = [_zero_slice(a, d) for a, d in zip(flat_args, flat_dims)]
            results = [func(*tree_unflatten(zero, args_spec), **kwargs)]
        return _stack_outputs(func, results, out_dims, size)

    return wrapped


# ---------------------------------------------------------------------------------------------
# Inputs.

def _batched_inputs(func, in_dims, args):
    """(flat args, their spec, the mapped dim of each (None: not mapped), the batch size)."""
    name = _name(func)
    if not isinstance(in_dims, (int, tuple)):
        raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): expected `in_dims` to "
                         "be int or a (potentially nested) tuple matching the structure of "
                         f"inputs, got: {type(in_dims)}.")
    if len(args) == 0:
        raise ValueError(f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add "
                         "inputs, or you are trying to vmap over a function with no inputs. The "
                         "latter is unsupported.")
    flat_args, args_spec = tree_flatten(args)
    flat_dims = broadcast_prefix(in_dims, args_spec)
    if flat_dims is None:
        raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): in_dims is not "
                         "compatible with the structure of `inputs`. in_dims has structure "
                         f"{spec_str(tree_flatten(in_dims)[1])} but inputs has structure "
                         f"{spec_str(args_spec)}.")
    where = f"vmap({name}, in_dims={in_dims}, ...)(<inputs>)"
    for k, (arg, dim) in enumerate(zip(flat_args, flat_dims)):
        if dim is None:
            continue
        if not isinstance(dim, int):
            raise ValueError(f"{where}: Got in_dim={dim} for an input but in_dim must be either "
                             "an integer dimension or None.")
        if not isinstance(arg, Tensor):
            raise ValueError(f"{where}: Got in_dim={dim} for an input but the input is of type "
                             f"{type(arg)}. We cannot vmap over non-Tensor arguments, please "
                             "use None as the respective in_dim")
        if not -arg.dim() <= dim < arg.dim():
            raise ValueError(f"{where}: Got in_dim={dim} for some input, but that input is a "
                             f"Tensor of dimensionality {arg.dim()} so expected in_dim to "
                             f"satisfy -{arg.dim()} <= in_dim < {arg.dim()}.")
        flat_dims[k] = dim % arg.dim()
    sizes = [a.shape[d] for a, d in zip(flat_args, flat_dims) if d is not None]
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")
    if any(s != sizes[0] for s in sizes):
        raise ValueError("vmap: Expected all tensors to have the same size in the mapped "
                         f"dimension, got sizes {sizes} for the mapped dimension")
    return flat_args, args_spec, flat_dims, sizes[0]


def _slice(flat_args, flat_dims, i):
    return [a if d is None else a.select(d, i) for a, d in zip(flat_args, flat_dims)]


def _zero_slice(arg, dim):
    if dim is None:
        return arg
    shape = arg.shape[:dim] + arg.shape[dim + 1:]
    return arg.detach().new_zeros(shape)


def _slices(size, randomness):
    """range(size), with the random stream handled between calls as `randomness` says:
    'same' rewinds it before every slice; 'error' fails if a slice drew from it."""
    from ..random import get_rng_state, set_rng_state

    if randomness == "different":
        yield from range(size)
        return
    start = get_rng_state()
    for i in range(size):
        if randomness == "same":
            set_rng_state(start)
        yield i
        if randomness == "error" and not bool((get_rng_state() == start).all()):
            set_rng_state(start)
            raise RuntimeError("vmap: called random operation while in randomness error mode. "
                               "Please either use the 'same' or 'different' randomness flags on "
                               "vmap or perform the randomness operation out of vmap")


# ---------------------------------------------------------------------------------------------
# Outputs.

def _check_out_dims(out_dims, func):
    ok = all(d is None or isinstance(d, int) for d in tree_flatten(out_dims)[0])
    if not ok:
        raise ValueError(f"vmap({_name(func)}, ..., out_dims={out_dims}): `out_dims` must be an "
                         "int, None or a python collection of ints representing where in the "
                         "outputs the vmapped dimension should appear.")


def _stack_outputs(func, results, out_dims, size):
    from ..ops import stack

    name = _name(func)
    flat0, spec = tree_flatten(results[0])
    if isinstance(results[0], Tensor) and isinstance(out_dims, tuple) and len(out_dims) == 1:
        out_dims = out_dims[0]  # PyTorch accepts out_dims=(d,) for a single tensor
    flat_dims = broadcast_prefix(out_dims, spec)
    if flat_dims is None:
        raise ValueError(f"vmap({name}, ..., out_dims={out_dims})(<inputs>): out_dims is not "
                         "compatible with the structure of `outputs`. out_dims has structure "
                         f"{spec_str(tree_flatten(out_dims)[1])} but outputs has structure "
                         f"{spec_str(spec)}.")
    columns = [tree_flatten(r)[0] for r in results]
    stacked = []
    for k, dim in enumerate(flat_dims):
        values = [col[k] for col in columns]
        if dim is None:
            if isinstance(values[0], Tensor) and any(
                    v.shape != values[0].shape or not bool((v == values[0]).all())
                    for v in values[1:]):
                raise ValueError(f"vmap({name}, ...): `{name}` can not return a BatchedTensor "
                                 "when out_dim is None")
            stacked.append(values[0])
            continue
        if not isinstance(values[0], Tensor):
            raise ValueError(f"vmap({name}, ...): `{name}` must only return Tensors, got type "
                             f"{type(values[0])}. Did you mean to set out_dims= to None for "
                             "output?")
        out = stack(values, dim=dim % (values[0].dim() + 1))
        if size == 0:
            out = out.narrow(dim % out.dim(), 0, 0)
        stacked.append(out)
    return tree_unflatten(stacked, spec)
