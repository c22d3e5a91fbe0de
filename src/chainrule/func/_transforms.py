"""grad, grad_and_value, vjp, jvp, jacrev, jacfwd and hessian as function transforms.

Note [Levels without wrappers]
PyTorch gives each transform a level and wraps tensors so that an inner transform's graph is
invisible to outer ones. chainrule has one tape, so a transform instead:
  1. replaces each differentiated input x by a fresh tensor: a view of x when x is itself being
     differentiated (it requires grad and grad mode is on), so the graph reaches back to x; else
     a detached copy that requires grad;
  2. runs the function with grad enabled (a transform ignores an enclosing no_grad);
  3. asks whether the output's graph reaches any leaf other than its own fresh ones: an input
     of an enclosing transform, or a parameter captured by closure. Only then is an enclosing
     level watching, and the gradients are computed with create_graph=True so that it can
     differentiate them (grad(grad(f)) gives second derivatives); otherwise results are
     detached, so they do not require grad, as in PyTorch.
Because step 1 gives each level its own tensor, an inner derivative never mixes with a value
of the same tensor captured from an outer level (no perturbation confusion).
"""
from __future__ import annotations

import contextlib
import functools
import weakref

from ..autograd.api import grad as _autograd_grad
from ..autograd.grad_mode import enable_grad, is_grad_enabled
from ..autograd.graph import AccumulateGrad
from ..tensor import Tensor
from ._pytree import tree_flatten, tree_unflatten, num_leaves, spec_str

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian"]


# ---------------------------------------------------------------------------------------------
# Argument handling.

def _check_argnums(argnums, num_args):
    """The argnums as a tuple of non-negative ints (PyTorch's messages on bad ones)."""
    if isinstance(argnums, tuple):
        if len(argnums) == 0:
            raise RuntimeError("argnums must be non-empty")
        if len(set(argnums)) != len(argnums):
            raise RuntimeError(f"argnums elements must be unique, got {argnums}")
        return tuple(_wrap_argnum(a, num_args) for a in argnums)
    if isinstance(argnums, int):
        return (_wrap_argnum(argnums, num_args),)
    raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")


def _wrap_argnum(argnum, num_args):
    if not isinstance(argnum, int):
        raise RuntimeError(f"argnum must be int, got: {type(argnum)}")
    if -num_args <= argnum < num_args:
        return argnum % num_args
    raise RuntimeError(f"Got argnum={argnum}, but only {num_args} positional inputs")


def _fresh(x, outer):
    """The stand-in for one differentiated input (step 1 of Note [Levels without wrappers])."""
    if not isinstance(x, Tensor):
        raise ValueError(f"Thing passed to transform API must be Tensor, got {type(x)}")
    if outer and x.requires_grad:
        return x.view_as(x)
    leaf = x.detach().requires_grad_()
    _FRESH[id(leaf)] = leaf
    return leaf


class _Inputs:
    """The differentiated arguments replaced by fresh tensors; `flat` lists them all."""

    def __init__(self, args, argnums, outer):
        self.args = list(args)
        self.specs, self.flat = [], []
        for i in argnums:
            leaves, spec = tree_flatten(args[i])
            fresh = [_fresh(x, outer) for x in leaves]
            self.args[i] = tree_unflatten(fresh, spec)
            self.specs.append(spec)
            self.flat.extend(fresh)

    def regroup(self, flat_values, as_tuple):
        """Per-input values back in the arguments' structure (a tuple when argnums was)."""
        out, start = [], 0
        for spec in self.specs:
            n = num_leaves(spec)
            out.append(tree_unflatten(flat_values[start:start + n], spec))
            start += n
        return tuple(out) if as_tuple else out[0]


# Every fresh leaf made by a transform, and those of the transforms still running. A leaf of a
# transform that has returned belongs to no level any more: reaching it means nothing.
_FRESH = weakref.WeakValueDictionary()
_ACTIVE = []


@contextlib.contextmanager
def _level(inputs):
    ids = {id(t) for t in inputs.flat if t.grad_fn is None}
    _ACTIVE.append(ids)
    try:
        yield
    finally:
        _ACTIVE.remove(ids)


def _watched(leaf, own):
    """Whether an enclosing level (a user's leaf or a running transform) watches this leaf."""
    if id(leaf) in own or not leaf.requires_grad:
        return False
    if _FRESH.get(id(leaf)) is leaf:
        return any(id(leaf) in ids for ids in _ACTIVE)
    return True


def _reaches_outside(tensors, fresh):
    """Whether the graph of `tensors` reaches a watched leaf other than the `fresh` ones
    (step 3 of Note [Levels without wrappers])."""
    own = {id(t) for t in fresh if t.grad_fn is None}
    tensors = [t for t in tensors if isinstance(t, Tensor)]
    if any(t.grad_fn is None and _watched(t, own) for t in tensors):
        return True
    seen, stack = set(), [t.grad_fn for t in tensors if t.grad_fn is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, AccumulateGrad):
            if _watched(node.variable, own):
                return True
            continue
        stack.extend(n for n, _ in node.next_functions if n is not None)
    return False


def _detach_tree(tree, keep):
    if keep:
        return tree
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([x.detach() if isinstance(x, Tensor) else x for x in leaves], spec)


def _split_aux(output, has_aux, api):
    if not has_aux:
        return output, None
    if not (isinstance(output, tuple) and len(output) == 2):
        raise RuntimeError(f"{api}: output of function f should be a tuple: (output, aux) "
                           "if has_aux is True")
    for leaf in tree_flatten(output[1])[0]:
        if not isinstance(leaf, Tensor):
            raise RuntimeError(f"Expected tensors, got unsupported type {type(leaf)}")
    return output


def _grads(outputs, inputs, cotangents, create_graph, retain_graph=None):
    """autograd.grad over the outputs that require grad; zeros for inputs they do not reach."""
    pairs = [(o, c) for o, c in zip(outputs, cotangents) if o.requires_grad]
    if pairs:
        found = _autograd_grad([o for o, _ in pairs], inputs, [c for _, c in pairs],
                               retain_graph=retain_graph, create_graph=create_graph,
                               allow_unused=True)
    else:
        found = (None,) * len(inputs)
    return [x.detach().new_zeros(x.shape) if g is None else g for g, x in zip(found, inputs)]


# ---------------------------------------------------------------------------------------------
# grad and grad_and_value.

def grad_and_value(func, argnums=0, has_aux=False):
    """Like `grad`, but the transformed function returns (gradient, value of func); with
    has_aux=True, (gradient, (value, aux))."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        argnums_t = _check_argnums(argnums, len(args))
        outer = is_grad_enabled()
        with enable_grad():
            inputs = _Inputs(args, argnums_t, outer)
            with _level(inputs):
                output = func(*inputs.args, **kwargs)
            output, aux = _split_aux(output, has_aux, "grad_and_value(f)(*args)")
            if not isinstance(output, Tensor):
                raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a "
                                   f"Tensor, got {type(output)}")
            if output.dim() != 0:
                raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a "
                                   f"scalar Tensor, got tensor with {output.dim()} dims. Maybe "
                                   "you wanted to use the vjp or jacrev APIs instead?")
            keep = outer and _reaches_outside([output] + tree_flatten(aux)[0], inputs.flat)
            grads = _grads([output], inputs.flat, [None], create_graph=keep)
        grads = inputs.regroup(grads, isinstance(argnums, tuple))
        value = _detach_tree(output, keep)
        if has_aux:
            return grads, (value, _detach_tree(aux, keep))
        return grads, value

    return wrapper


def grad(func, argnums=0, has_aux=False):
    """`grad(f)(*args)`: the gradient of a function returning a scalar tensor, with respect to
    argument `argnums` (an int, or a tuple of ints to get a tuple of gradients; an argument may be
    a tuple, list or dict of tensors, and its gradient has the same structure).

    Transforms compose: `grad(grad(f))` is the second derivative and `vmap(grad(f))` gives
    per-sample gradients. With has_aux=True, f returns (output, aux) and grad returns
    (gradient, aux).

    >>> import chainrule as torch
    >>> torch.func.grad(lambda x: x.sin().sum())(torch.tensor([0.0, 1.0]))
    tensor([1.0000, 0.5403])
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        grads, value = grad_and_value(func, argnums, has_aux)(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads

    return wrapper


# ---------------------------------------------------------------------------------------------
# vjp and jvp.

def _check_outputs(flat, api):
    if len(flat) < 1 or (len(flat) == 1 and flat[0] is None):
        raise RuntimeError(f"{api}: Expected f to be a function that has non-empty output "
                           f"(got output = {flat})")
    for o in flat:
        if not isinstance(o, Tensor):
            raise RuntimeError(f"{api}: expected f(*primals) to return only tensors, got "
                               f"unsupported type {type(o)}")


def vjp(func, *primals, has_aux=False):
    """(func(*primals), vjp_fn[, aux]): vjp_fn(cotangents) returns, as a tuple with one entry per
    primal, the cotangents pulled back through func (v^T J). vjp_fn can be called many times.

    >>> import chainrule as torch
    >>> out, vjp_fn = torch.func.vjp(torch.sin, torch.tensor([0.0, 1.0]))
    >>> vjp_fn(torch.ones(2))
    (tensor([1.0000, 0.5403]),)
    """
    outer = is_grad_enabled()
    with enable_grad():
        inputs = _Inputs(primals, range(len(primals)), outer)
        with _level(inputs):
            output = func(*inputs.args)
        output, aux = _split_aux(output, has_aux, "vjp(f, *primals)")
        flat_out, out_spec = tree_flatten(output)
        _check_outputs(flat_out, "vjp(f, *primals)")
        for o in flat_out:
            if not o.is_floating_point():
                raise RuntimeError("vjp(f, ...): All outputs of f must be floating-point or "
                                   f"complex Tensors, got Tensor with dtype {o.dtype}")
        keep = outer and _reaches_outside(flat_out + tree_flatten(aux)[0], inputs.flat)

    def vjp_fn(cotangents, retain_graph=True, create_graph=None):
        flat_cot, cot_spec = tree_flatten(cotangents)
        if cot_spec != out_spec:
            raise RuntimeError("Expected pytree structure of cotangents to be the same as pytree "
                               "structure of outputs to the function. cotangents: "
                               f"{spec_str(cot_spec)}, primal output: {spec_str(out_spec)}")
        if create_graph is None:
            create_graph = is_grad_enabled() and (
                keep or any(isinstance(c, Tensor) and c.requires_grad for c in flat_cot))
        with enable_grad():
            grads = _grads(flat_out, inputs.flat, flat_cot, create_graph, retain_graph)
        return tuple(inputs.regroup(grads, True))

    result = (_detach_tree(output, keep), vjp_fn)
    return result + (_detach_tree(aux, keep),) if has_aux else result


_JVP = "jvp(f, primals, tangents)"


def _check_tensor_list(flat, argname):
    if len(flat) == 0:
        raise RuntimeError(f"{_JVP}: Expected {argname} to contain at least one Tensor.")
    for x in flat:
        if not isinstance(x, Tensor):
            raise RuntimeError(f"{_JVP}: Expected {argname} to only contain Tensors, got "
                               f"{type(x)}")


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """(func(*primals), J @ tangents[, aux]): the Jacobian-vector product of func at primals.

    chainrule has no forward mode; J t is computed with the double-vjp trick: u -> J^T u is
    linear in u, so its vjp with cotangent t is J t.

    >>> import chainrule as torch
    >>> torch.func.jvp(torch.sin, (torch.tensor([0.0]),), (torch.tensor([2.0]),))
    (tensor([0.]), tensor([2.]))
    """
    if not isinstance(primals, tuple):
        raise RuntimeError(f"{_JVP}: Expected primals to be a tuple. E.g. it should be valid to "
                           "call f(*primals).")
    flat_p, p_spec = tree_flatten(primals)
    flat_t, t_spec = tree_flatten(tangents)
    if p_spec != t_spec:
        raise RuntimeError(f"{_JVP}: Expected primals and tangents to have the same python "
                           "structure. For example, if primals is a tuple of 3 tensors, "
                           "tangents also must be. Got primals with structure "
                           f"{spec_str(p_spec)} and tangents with structure {spec_str(t_spec)}")
    _check_tensor_list(flat_p, "primals")
    _check_tensor_list(flat_t, "tangents")
    for p, t in zip(flat_p, flat_t):
        if p.shape != t.shape:
            raise RuntimeError("Trying to set a forward gradient that has a different size than "
                               "that of the original Tensor, this is not supported. Tensor is "
                               f"of size {list(p.shape)} while the given forward gradient is of "
                               f"size {list(t.shape)}.")
    outer = is_grad_enabled()
    with enable_grad():
        inputs = _Inputs(primals, range(len(primals)), outer)
        with _level(inputs):
            output = func(*inputs.args)
        output, aux = _split_aux(output, has_aux, _JVP)
        flat_out, out_spec = tree_flatten(output)
        for o in flat_out:
            if not isinstance(o, Tensor):
                raise RuntimeError(f"{_JVP}: expected f(*primals) to return only tensors, got "
                                   f"unsupported type {type(o)}")
        keep = outer and (_reaches_outside(flat_out + tree_flatten(aux)[0], inputs.flat)
                          or any(t.requires_grad for t in flat_t))
        # u is a dummy cotangent: J^T u is linear in u, and d(t . J^T u)/du = J t.
        dummies = [o.detach().new_zeros(o.shape).requires_grad_() for o in flat_out]
        pulled = _grads(flat_out, inputs.flat, dummies, create_graph=True, retain_graph=True)
        tangents_out = _grads(pulled, dummies, flat_t, create_graph=keep)
    result = (_detach_tree(output, keep), tree_unflatten(tangents_out, out_spec))
    return result + (_detach_tree(aux, keep),) if has_aux else result


# ---------------------------------------------------------------------------------------------
# Jacobians and the Hessian.

def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None, _preallocate_and_copy=False):
    """`jacrev(f)(*args)`: the Jacobian of f with respect to argument `argnums`, one backward pass
    per output element. Each output of f (which may be a tuple, list or dict of tensors) gets a
    Jacobian of shape output.shape + input.shape; with a tuple `argnums`, a tuple of them.

    >>> import chainrule as torch
    >>> torch.func.jacrev(torch.sin)(torch.tensor([0.0, 1.0]))
    tensor([[1.0000, 0.0000],
            [0.0000, 0.5403]])
    """
    if not (chunk_size is None or chunk_size > 0):
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")
    return _jacobian(func, argnums, has_aux, "vjp(f, *primals)")


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """`jacfwd(f)(*args)`: the same Jacobian as `jacrev` (chainrule computes it in reverse mode:
    the numbers are those of forward mode, the cost is one backward pass per output element)."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError("Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")
    return _jacobian(func, argnums, has_aux, _JVP)


def _jacobian(func, argnums, has_aux, api):
    @functools.wraps(func)
    def wrapper(*args):
        argnums_t = _check_argnums(argnums, len(args))
        outer = is_grad_enabled()
        with enable_grad():
            inputs = _Inputs(args, argnums_t, outer)
            with _level(inputs):
                output = func(*inputs.args)
            output, aux = _split_aux(output, has_aux, api)
            flat_out, out_spec = tree_flatten(output)
            _check_outputs(flat_out, api)
            keep = outer and _reaches_outside(flat_out + tree_flatten(aux)[0], inputs.flat)
            jacobians = [_jacobian_of(o, inputs.flat, keep) for o in flat_out]
        per_output = [inputs.regroup(j, isinstance(argnums, tuple)) for j in jacobians]
        jac = tree_unflatten(per_output, out_spec)
        return (jac, _detach_tree(aux, keep)) if has_aux else jac

    return wrapper


def _jacobian_of(output, inputs, keep):
    """[d output / d x for x in inputs], each of shape output.shape + x.shape."""
    from ..ops import stack

    n = output.numel()
    rows = [[] for _ in inputs]
    for i in range(n):
        seed = output.detach().new_zeros(n)
        seed[i] = 1.0
        for row, g in zip(rows, _grads([output], inputs, [seed.reshape(output.shape)],
                                       create_graph=keep, retain_graph=True)):
            row.append(g)
    result = []
    for x, row in zip(inputs, rows):
        if n == 0:
            result.append(x.detach().new_zeros(tuple(output.shape) + tuple(x.shape)))
        else:
            result.append(stack(row).reshape(tuple(output.shape) + tuple(x.shape)))
    return result


def hessian(func, argnums=0):
    """`hessian(f)(*args)`: the matrix of second derivatives of f, as jacfwd(jacrev(f)); for an
    input of shape S and a scalar output it has shape S + S."""
    return jacfwd(jacrev(func, argnums), argnums)
