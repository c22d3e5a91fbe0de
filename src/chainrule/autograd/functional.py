"""`torch.autograd.functional`: vjp, jvp, jacobian, hessian, vhp and hvp of a Python function.

Everything here is built on the public engine entry point `autograd.grad`:

- vjp(f, x, v)       one backward pass seeded with v:                  v^T J
- jvp(f, x, v)       the double-backward trick: g -> J^T g is linear in g, so differentiating
                     it with respect to g, seeded with v, gives        J v
- jacobian(f, x)     one backward pass per output element (one row of J each)
- hessian(f, x)      the jacobian of the function x -> grad f(x), built with create_graph
- vhp(f, x, v)       v^T H: backward through the gradient, seeded with v
- hvp(f, x, v)       H v: the double-backward trick applied to the gradient

As in PyTorch, the inputs are replaced by fresh tensors before `f` sees them (a detached copy
that requires grad, or a differentiable view when create_graph=True and the input requires
grad), so that tensors the function captures by closure are not confused with the inputs; the
results are detached unless create_graph=True; an input that the outputs do not depend on gets
zeros (or an error with strict=True); and the nesting of the returned tuples follows whether
the inputs and the outputs were given as tuples. chainrule has no forward-mode AD:
strategy="forward-mode" (which PyTorch only supports with vectorize=True) is computed in reverse
mode, which gives the same Jacobian.
"""
from __future__ import annotations

from . import grad_mode
from .api import grad as _grad

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


def _tensor_type():
    from ..tensor import Tensor

    return Tensor


# ---------------------------------------------------------------------------------------------
# Helpers: packing, fresh inputs, checks.


def _pack(value, what, fn_name):
    """(whether `value` was a tuple, a tuple of tensors); PyTorch's TypeError otherwise."""
    Tensor = _tensor_type()
    was_tuple = isinstance(value, tuple)
    items = value if was_tuple else (value,)
    for i, item in enumerate(items):
        if not isinstance(item, Tensor):
            where = f"value at index {i}" if was_tuple else f"given {what}"
            raise TypeError(f"The {what} given to {fn_name} must be either a Tensor or a tuple "
                            f"of Tensors but the {where} has type {type(item)}.")
    return was_tuple, items


def _unpack(result, was_tuple):
    return result if was_tuple else result[0]


def _unpack2(result, outer_was_tuple, inner_was_tuple):
    """Undo two levels of packing: result[outer][inner]."""
    if not inner_was_tuple:
        result = tuple(row[0] for row in result)
    return result if outer_was_tuple else result[0]


def _fresh(tensors, create_graph, need_graph):
    """New tensor objects standing in for `tensors`: a differentiable view when the caller wants
    a graph back to them, else a detached copy (requiring grad if we differentiate w.r.t. it)."""
    fresh = []
    for t in tensors:
        if create_graph and t.requires_grad:
            fresh.append(t.view_as(t))
        else:
            fresh.append(t.detach().requires_grad_(need_graph))
    return tuple(fresh)


def _finish(values, create_graph):
    """Detach the results (at any nesting depth) unless the caller asked for a graph."""
    if create_graph:
        return values
    Tensor = _tensor_type()
    if isinstance(values, Tensor):
        return values.detach()
    return tuple(_finish(v, create_graph) for v in values)


def _check_v(v, reference, reference_was_tuple):
    if len(v) != len(reference):
        if reference_was_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(reference)} "
                               f"but got {len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for i, (a, b) in enumerate(zip(v, reference)):
        if a.size() != b.size():
            where = f"Entry {i} in " if reference_was_tuple else ""
            raise RuntimeError(f"{where}v has invalid size: should be {b.size()} but got "
                               f"{a.size()}.")


def _prepare_v(v, reference, reference_was_tuple, fn_name, create_graph, none_message):
    if v is None:
        if len(reference) != 1 or reference[0].nelement() != 1:
            raise RuntimeError(none_message)
        return None
    _, v = _pack(v, "v", fn_name)
    v = _fresh(v, create_graph, need_graph=False)
    _check_v(v, reference, reference_was_tuple)
    return v


_V_OUTPUT = ("The vector v can only be None if the user-provided function returns a single "
             "Tensor with a single element.")
_V_INPUT_JVP = ("The vector v can only be None if the input to the user-provided function is a "
                "single Tensor with a single element.")
_V_INPUT_HP = _V_INPUT_JVP


def _strict_check(tensors, kind, strict):
    """With strict=True, every tensor must exist and require grad (PyTorch's messages)."""
    if not strict:
        return
    for i, t in enumerate(tensors):
        if t is None:
            raise RuntimeError(f"The output of the user-provided function is independent of "
                               f"input {i}. This is not allowed in strict mode.")
        if t.requires_grad:
            continue
        if kind == "outputs":
            raise RuntimeError(f"Output {i} of the user-provided function does not require "
                               "gradients. The outputs must be computed in a differentiable "
                               "manner from the input when running in strict mode.")
        if kind == "grad_inputs":
            raise RuntimeError(f"The gradient with respect to input {i} is independent of the "
                               "inputs of the user-provided function. This is not allowed in "
                               "strict mode.")
        if kind == "jacobian":
            raise RuntimeError("While computing the hessian, found that the jacobian of the "
                               f"user-provided function with respect to input {i} is "
                               "independent of the input. This is not allowed in strict mode. "
                               "You should ensure that your function is twice differentiable "
                               "and that the jacobian depends on the inputs (this would be "
                               "violated by a linear function for example).")
        raise RuntimeError(f"The hessian of the user-provided function with respect to input "
                           f"{i} is independent of the input. This is not allowed in strict "
                           "mode. You should ensure that your function is thrice "
                           "differentiable and that the hessian depends on the inputs.")


def _grads(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """autograd.grad over the outputs that exist and require grad; None for unused inputs.
    With no such output, the engine is not run at all."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    kept = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not kept:
        return (None,) * len(inputs)
    return _grad(tuple(o for o, _ in kept), inputs, tuple(g for _, g in kept),
                 retain_graph=retain_graph, create_graph=create_graph, allow_unused=True)


_NONE_MESSAGES = {
    "back": "The output of the user-provided function is independent of input {i}. This is not "
            "allowed in strict mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the "
                  "grad_outputs when using the double backward trick to compute forward mode "
                  "gradients. This is not allowed in strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {i}. "
                   "This is not allowed in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry "
                         "{i} in the grad_jacobian. This is not allowed in strict mode as it "
                         "prevents from using the double backward trick to replace forward "
                         "mode AD.",
}


def _zeros_for_missing(grads, references, strict, create_graph, stage):
    """Replace a missing gradient by zeros shaped like its reference (or fail with strict)."""
    from ..creation import zeros_like

    result = []
    for i, g in enumerate(grads):
        if g is None:
            if strict:
                raise RuntimeError(_NONE_MESSAGES[stage].format(i=i))
            g = zeros_like(references[i])
        elif strict and create_graph and not g.requires_grad:
            what = "hessian" if stage.startswith("double") else "jacobian"
            raise RuntimeError(f"The {what} of the user-provided function is independent of "
                               f"input {i}. This is not allowed in strict mode when "
                               "create_graph=True.")
        result.append(g)
    return tuple(result)


def _single_scalar_output(outputs, outputs_were_tuple, fn_name):
    if outputs_were_tuple:
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outputs[0].nelement() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {fn_name} should "
                           "contain a single element")


# ---------------------------------------------------------------------------------------------
# Public API.


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the vector-Jacobian product, one backward pass seeded with v.

    v may be omitted when func returns a single one-element tensor. The products have the
    inputs' shapes; an input the outputs do not depend on gets zeros (an error if strict).
    """
    with grad_mode.enable_grad():
        inputs_were_tuple, inputs = _pack(inputs, "inputs", "vjp")
        inputs = _fresh(inputs, create_graph, need_graph=True)
        outputs = func(*inputs)
        outputs_were_tuple, outputs = _pack(outputs, "outputs of the user-provided function",
                                            "vjp")
        _strict_check(outputs, "outputs", strict)
        v = _prepare_v(v, outputs, outputs_were_tuple, "vjp", create_graph, _V_OUTPUT)
    with grad_mode.set_grad_enabled(True if create_graph else grad_mode.is_grad_enabled()):
        products = _grads(outputs, inputs, v, create_graph=create_graph)
        products = _zeros_for_missing(products, inputs, strict, create_graph, "back")
    return (_unpack(_finish(outputs, create_graph), outputs_were_tuple),
            _unpack(_finish(products, create_graph), inputs_were_tuple))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v): the Jacobian-vector product by the double-backward trick.

    u -> J^T u is linear in u; differentiating J^T u with respect to u, seeded with v, gives J v
    (chainrule has no forward mode). v has the inputs' shapes and may be omitted for a single
    one-element input; the products have the outputs' shapes.
    """
    from ..creation import zeros_like

    with grad_mode.enable_grad():
        inputs_were_tuple, inputs = _pack(inputs, "inputs", "jvp")
        inputs = _fresh(inputs, create_graph, need_graph=True)
        v = _prepare_v(v, inputs, inputs_were_tuple, "jvp", create_graph, _V_INPUT_JVP)
        outputs = func(*inputs)
        outputs_were_tuple, outputs = _pack(outputs, "outputs of the user-provided function",
                                            "jvp")
        _strict_check(outputs, "outputs", strict)
        # Any finite seed will do: J^T u is linear in u, so u drops out of the second pass.
        dummies = tuple(zeros_like(o, requires_grad=True) for o in outputs)
        transposed = _grads(outputs, inputs, dummies, create_graph=True)
        _strict_check(transposed, "grad_inputs", strict)
    with grad_mode.set_grad_enabled(True if create_graph else grad_mode.is_grad_enabled()):
        products = _grads(transposed, dummies, v, create_graph=create_graph)
        products = _zeros_for_missing(products, outputs, strict, create_graph, "back_trick")
    return (_unpack(_finish(outputs, create_graph), outputs_were_tuple),
            _unpack(_finish(products, create_graph), outputs_were_tuple))


_STRATEGY_MESSAGE = ('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If '
                     'your function has more outputs than inputs, "forward-mode" tends to be '
                     'more performant. Otherwise, prefer to use "reverse-mode".')


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """The Jacobian of func at inputs, one backward pass per output element.

    For one input and one output, a tensor of shape output.shape + input.shape; for tuples,
    result[i][j] is d output i / d input j (a tuple level is dropped for a lone tensor).
    vectorize=True is accepted and computes the same thing row by row. strategy="forward-mode"
    needs vectorize=True (as in PyTorch) and is computed in reverse mode.
    """
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError(_STRATEGY_MESSAGE)
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError(
                "torch.autograd.functional.jacobian: `create_graph=True` and "
                '`strategy="forward-mode"` are not supported together (yet). Please either set '
                '`create_graph=False` or `strategy="reverse-mode"`.')
        return _jacobian_forward_mode(func, inputs, strict, vectorize)
    with grad_mode.enable_grad():
        inputs_were_tuple, inputs = _pack(inputs, "inputs", "jacobian")
        inputs = _fresh(inputs, create_graph, need_graph=True)
        outputs = func(*inputs)
        outputs_were_tuple, outputs = _pack(outputs, "outputs of the user-provided function",
                                            "jacobian")
        _strict_check(outputs, "outputs", strict)
        if vectorize and strict:
            raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and "
                               "`vectorized=True` are not supported together. Please either "
                               "set `strict=False` or `vectorize=False`.")
        result = _jacobian_rows(outputs, inputs, create_graph, strict)
        result = _finish(result, create_graph)
    return _unpack2(result, outputs_were_tuple, inputs_were_tuple)


def _jacobian_rows(outputs, inputs, create_graph, strict):
    """((d out_i / d in_j for j) for i), each of shape out_i.shape + in_j.shape."""
    from ..creation import zeros_like, zeros
    from ..ops.shape import stack

    result = []
    for i, out in enumerate(outputs):
        rows = [[] for _ in inputs]
        n = out.nelement()
        for k in range(n):
            seed = None
            if out.requires_grad:
                # The k-th row of the Jacobian: backward seeded with the k-th unit vector.
                seed = zeros(n, dtype=out.dtype)
                seed[k] = 1
                seed = seed.view(out.shape)
            grads = _grads((out,), inputs, (seed,), create_graph=create_graph,
                           retain_graph=True)
            for j, g in enumerate(grads):
                if g is None:
                    if strict:
                        raise RuntimeError(f"Output {i} of the user-provided function is "
                                           f"independent of input {j}. This is not allowed in "
                                           "strict mode.")
                    g = zeros_like(inputs[j])
                elif strict and create_graph and not g.requires_grad:
                    raise RuntimeError("The jacobian of the user-provided function is "
                                       f"independent of input {i}. This is not allowed in "
                                       "strict mode when create_graph=True.")
                rows[j].append(g)
        per_input = []
        for j, inp in enumerate(inputs):
            shape = tuple(out.shape) + tuple(inp.shape)
            if rows[j]:
                per_input.append(stack(rows[j], 0).view(shape))
            else:  # an output with no elements
                per_input.append(zeros(shape, dtype=inp.dtype))
        result.append(tuple(per_input))
    return tuple(result)


def _jacobian_forward_mode(func, inputs, strict, vectorize, _keep_graph=False):
    """strategy="forward-mode": PyTorch's checks and result layout (lists, transposed loops),
    the values computed in reverse mode. Results keep a graph when an input requires grad, as
    forward-mode tangents do."""
    if strict:
        raise RuntimeError('torch.autograd.functional.jacobian: `strict=True` and '
                           '`strategy="forward-mode"` are not supported together (yet). Please '
                           'either set `strict=False` or `strategy="reverse-mode"`.')
    inputs_were_tuple, inputs = _pack(inputs, "inputs", "jacobian")
    if not vectorize:
        raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse "
                                  "Hessian isonly implemented for `vectorize=True`.")
    keep = _keep_graph or any(t.requires_grad for t in inputs)
    with grad_mode.enable_grad():
        work = _fresh(inputs, keep, need_graph=True)
        outputs_were_tuple, outputs = _pack(func(*work), "outputs", None)
        result = [_one_tangent(row) for row in _jacobian_rows(outputs, work, keep, False)]
        result = [list(row) for row in _finish(tuple(result), keep)]
    if not inputs_were_tuple:
        result = tuple(row[0] for row in result)
    return result if outputs_were_tuple else result[0]


def _one_tangent(blocks):
    """Forward mode computes all of an output's blocks as one tangent, split by input; so they
    share requires_grad. Rebuild them that way from the reverse-mode blocks."""
    from ..ops.shape import cat

    if len(blocks) < 2 or not any(b.requires_grad for b in blocks):
        return blocks
    parts = cat([b.reshape(-1) for b in blocks]).split([b.nelement() for b in blocks])
    return tuple(p.view(b.shape) for p, b in zip(parts, blocks))


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar function: the Jacobian of its gradient.

    For one input, a tensor of shape input.shape + input.shape; for a tuple of inputs,
    result[i][j] is d^2 f / d in_i d in_j.
    """
    inputs_were_tuple, inputs = _pack(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def scalar_func(*args):
        out = func(*args)
        out_was_tuple, packed = _pack(out, "outputs of the user-provided function", "hessian")
        _strict_check(packed, "outputs", strict)
        _single_scalar_output(packed, out_was_tuple, "hessian")
        return out.squeeze()

    def gradient(*args):
        if outer_jacobian_strategy == "forward-mode":
            args = tuple(t.requires_grad_(True) for t in args)
        jac = jacobian(scalar_func, args, create_graph=True)
        _strict_check(jac, "jacobian", strict)
        return jac

    if outer_jacobian_strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError(
                "torch.autograd.functional.jacobian: `create_graph=True` and "
                '`strategy="forward-mode"` are not supported together (yet). Please either set '
                '`create_graph=False` or `strategy="reverse-mode"`.')
        result = _jacobian_forward_mode(gradient, inputs, strict, vectorize, _keep_graph=True)
    else:
        result = jacobian(gradient, inputs, create_graph=create_graph, strict=strict,
                          vectorize=vectorize)
    return _unpack2(result, inputs_were_tuple, inputs_were_tuple)


def _hessian_setup(func, inputs, v, create_graph, strict, fn_name):
    """Shared first half of vhp/hvp: fresh inputs, checked v, outputs and the gradient (with a
    graph, to be differentiated once more)."""
    inputs_were_tuple, inputs = _pack(inputs, "inputs", fn_name)
    inputs = _fresh(inputs, create_graph, need_graph=True)
    v = _prepare_v(v, inputs, inputs_were_tuple, fn_name, create_graph, _V_INPUT_HP)
    outputs = func(*inputs)
    outputs_were_tuple, outputs = _pack(outputs, "outputs of the user-provided function",
                                        fn_name)
    _strict_check(outputs, "outputs", strict)
    _single_scalar_output(outputs, outputs_were_tuple, fn_name)
    gradient = _grads(outputs, inputs, create_graph=True)
    _strict_check(gradient, "jacobian", strict)
    return inputs_were_tuple, inputs, v, outputs_were_tuple, outputs, gradient


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H) for a scalar function: backward through the gradient, seeded
    with v."""
    with grad_mode.enable_grad():
        inputs_were_tuple, inputs, v, outputs_were_tuple, outputs, gradient = _hessian_setup(
            func, inputs, v, create_graph, strict, "vhp")
    with grad_mode.set_grad_enabled(True if create_graph else grad_mode.is_grad_enabled()):
        products = _grads(gradient, inputs, v, create_graph=create_graph)
        products = _zeros_for_missing(products, inputs, strict, create_graph, "double_back")
    return (_unpack(_finish(outputs, create_graph), outputs_were_tuple),
            _unpack(_finish(products, create_graph), inputs_were_tuple))


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v) for a scalar function, by the double-backward trick on the gradient
    (equal to vhp for a twice continuously differentiable function, H being symmetric)."""
    from ..creation import zeros_like

    with grad_mode.enable_grad():
        inputs_were_tuple, inputs, v, outputs_were_tuple, outputs, gradient = _hessian_setup(
            func, inputs, v, create_graph, strict, "hvp")
        dummies = tuple(zeros_like(t, requires_grad=True) for t in inputs)
        transposed = _grads(gradient, inputs, dummies, create_graph=True)
        _strict_check(gradient, "hessian", strict)
    with grad_mode.set_grad_enabled(True if create_graph else grad_mode.is_grad_enabled()):
        products = _grads(transposed, dummies, v, create_graph=create_graph)
        products = _zeros_for_missing(products, inputs, strict, create_graph,
                                      "double_back_trick")
    return (_unpack(_finish(outputs, create_graph), outputs_were_tuple),
            _unpack(_finish(products, create_graph), inputs_were_tuple))
