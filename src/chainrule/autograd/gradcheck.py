"""Checking backward formulas against finite differences: `numerical_grad`, `gradcheck`,
`gradgradcheck`.

The finite differences are the lecture's: nudge one input element by `eps`, see how the output
moves. Central differences, (f(x + eps) - f(x - eps)) / (2 eps), have error O(eps^2); forward
differences, (f(x + eps) - f(x)) / eps, only O(eps). Checks therefore run in float64.

Layout: a Jacobian for output `o` and input `x` is indexed `[o_index..., x_index...]` (shape
`o.shape + x.shape`) by `numerical_grad`; `gradcheck` prints PyTorch's layout, one row per input
element and one column per output element, so that its messages read like PyTorch's.
"""
from __future__ import annotations

import warnings

import numpy as np


class GradcheckError(RuntimeError):
    """Raised by `gradcheck`/`gradgradcheck` when analytical and numerical gradients differ."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _is_tensor(x):
    from ..tensor import Tensor

    return isinstance(x, Tensor)


def _is_float_tensor(x):
    return _is_tensor(x) and x._data.dtype.kind == "f"


def _output_arrays(fn, inputs):
    """Evaluate `fn` and copy the results (they may be views of the inputs). Grad mode stays
    on: gradgradcheck's function itself calls backward."""
    outputs = _as_tuple(fn(*inputs))
    return [np.array(o._data if _is_tensor(o) else o, dtype=np.float64, copy=True)
            for o in outputs]


def _numerical_jacobians(fn, inputs, index, eps, method="central"):
    """d(each output)/d(inputs[index]) by finite differences: a list of arrays, one per output,
    each of shape (inputs[index].numel(), output.numel())."""
    data = inputs[index]._data
    base = _output_arrays(fn, inputs) if method == "forward" else None
    columns = []
    for k in range(data.size):
        position = np.unravel_index(k, data.shape)
        original = data[position].copy()
        data[position] = original + eps
        plus = _output_arrays(fn, inputs)
        if method == "central":
            data[position] = original - eps
            minus = _output_arrays(fn, inputs)
            step = 2 * eps
        else:
            minus, step = base, eps
        data[position] = original
        columns.append([(p - m).reshape(-1) / step for p, m in zip(plus, minus)])
    n_outputs = len(columns[0]) if columns else len(_output_arrays(fn, inputs))
    jacobians = []
    for o in range(n_outputs):
        if columns:
            jacobians.append(np.stack([c[o] for c in columns]))
        else:
            size = _output_arrays(fn, inputs)[o].size
            jacobians.append(np.zeros((0, size)))
    return jacobians


def numerical_grad(fn, inputs, eps=1e-6, method="central"):
    """Finite-difference derivatives of `fn(*inputs)` with respect to each float tensor input.

    Returns a tuple with one entry per input: None for non-tensors and non-float tensors, else
    a float64 tensor of shape `output.shape + input.shape` whose entry [i..., j...] is
    d output[i...] / d input[j...]. For a scalar output this is simply the gradient (the input's
    shape); for a non-scalar output it is the full Jacobian. `fn` returns one tensor or number.
    method: "central" (f(x+eps) - f(x-eps)) / 2eps, or "forward" (f(x+eps) - f(x)) / eps.

        >>> w = chainrule.tensor([0.34, -1.11], dtype=chainrule.float64)
        >>> numerical_grad(lambda w: (w ** 2).sum(), w)
        (tensor([ 0.6800, -2.2200], dtype=torch.float64),)
    """
    from ..tensor import Tensor

    if method not in ("central", "forward"):
        raise ValueError(f"method must be 'central' or 'forward', got {method!r}")
    inputs = _as_tuple(inputs)
    work = [Tensor._make(np.array(x._data, dtype=np.float64, copy=True))
            if _is_float_tensor(x) else x for x in inputs]
    result = []
    for i, x in enumerate(inputs):
        if not _is_float_tensor(x):
            result.append(None)
            continue
        (jacobian,) = _numerical_jacobians(fn, work, i, eps, method)[:1]
        out_shape = _output_arrays(fn, work)[0].shape
        # (input.numel(), output.numel()) -> output.shape + input.shape
        full = jacobian.T.reshape(out_shape + x._data.shape)
        result.append(Tensor._make(np.ascontiguousarray(full)))
    return tuple(result)


def _analytical_jacobians(output, diff_inputs):
    """Jacobian of `output` w.r.t. each diff input by one backward per output element, in the
    layout (input.numel(), output.numel()). Also returns whether every grad had the right
    dtype and shape."""
    from .api import grad
    from ..tensor import Tensor

    out = output._data
    jacobians = [np.zeros((x._data.size, out.size)) for x in diff_inputs]
    types_ok = sizes_ok = True
    for j in range(out.size):
        seed = np.zeros(out.size, dtype=out.dtype)
        seed[j] = 1
        grads = grad((output,), diff_inputs, (Tensor._make(seed.reshape(out.shape)),),
                     retain_graph=True, allow_unused=True)
        for i, (g, x) in enumerate(zip(grads, diff_inputs)):
            if g is None:
                continue
            if g._data.dtype != x._data.dtype:
                types_ok = False
            if g._data.shape != x._data.shape:
                sizes_ok = False
                continue
            jacobians[i][:, j] = g._data.reshape(-1)
    return jacobians, types_ok, sizes_ok


def _first_mismatch(analytical, numerical, atol, rtol):
    """(input element, output element) of the largest violation of |a - n| <= atol + rtol|n|."""
    excess = np.abs(analytical - numerical) - (atol + rtol * np.abs(numerical))
    excess = np.where(np.isnan(analytical) != np.isnan(numerical), np.inf, excess)
    return np.unravel_index(int(np.nanargmax(excess)), excess.shape)


def _mismatch_message(o, i, analytical, numerical, in_shape, out_shape, atol, rtol):
    from ..tensor import Tensor

    r, c = _first_mismatch(analytical, numerical, atol, rtol)
    in_index = tuple(int(v) for v in np.unravel_index(r, in_shape))
    out_index = tuple(int(v) for v in np.unravel_index(c, out_shape))
    return (f"Jacobian mismatch for output {o} with respect to input {i},\n"
            f"numerical:{Tensor._make(numerical)!r}\n"
            f"analytical:{Tensor._make(analytical)!r}\n\n"
            f"The largest mismatch is for output {o} element {list(out_index)} with respect to "
            f"input {i} element {list(in_index)}: analytical {float(analytical[r, c])!r}, "
            f"numerical {float(numerical[r, c])!r} (atol={atol}, rtol={rtol}).\n")


def _check_inputs(inputs):
    any_requires_grad = False
    for idx, x in enumerate(inputs):
        if _is_tensor(x) and x._requires_grad:
            if x._data.dtype != np.float64:
                warnings.warn(
                    f"Input #{idx} requires gradient and is not a double precision floating "
                    "point or complex. This check will likely fail if all the inputs are not of "
                    "double precision floating point or complex. ", stacklevel=3)
            if x._data.size and any(st == 0 and sz > 1
                                    for st, sz in zip(x._data.strides, x._data.shape)):
                raise RuntimeError(
                    f"The {idx}th input has a dimension with stride 0. gradcheck only supports "
                    "inputs that are non-overlapping to be able to compute the numerical "
                    "gradients correctly. You should call .contiguous on the input before "
                    "passing it to gradcheck.")
            any_requires_grad = True
    if not any_requires_grad:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but "
                         "none of them have requires_grad=True.")


def _check_zero_grad_outputs(outputs, diff_inputs):
    """Zero output gradients must give zero input gradients of the inputs' dtype and size."""
    from .api import grad
    from ..tensor import Tensor

    seeds = tuple(Tensor._make(np.zeros_like(o._data)) for o in outputs)
    grads = grad(outputs, diff_inputs, seeds, retain_graph=True, allow_unused=True)
    for g, x in zip(grads, diff_inputs):
        if g is None:
            continue
        if np.any(g._data != 0):
            raise GradcheckError("backward not multiplied by grad_output")
        if g._data.dtype != x._data.dtype:
            raise GradcheckError("grad is incorrect type")
        if g._data.shape != x._data.shape:
            raise GradcheckError("grad is incorrect size")


def _check_reentrant(output, diff_inputs, first, nondet_tol):
    """Running the same backward twice must give the same gradients (up to nondet_tol)."""
    again, _, _ = _analytical_jacobians(output, diff_inputs)
    for a, b in zip(first, again):
        if a.size and np.max(np.abs(a - b)) > nondet_tol:
            raise GradcheckError(
                "Backward is not reentrant, i.e., running backward with same input and "
                "grad_output multiple times gives different values, although analytical "
                "gradient matches numerical gradient.The tolerance for nondeterminism was "
                f"{nondet_tol}.")


def _gradcheck(func, inputs, eps, atol, rtol, nondet_tol, check_undefined_grad,
               check_grad_dtypes):
    _check_inputs(inputs)
    diff_index = [i for i, x in enumerate(inputs) if _is_tensor(x) and x._requires_grad]
    diff_inputs = [inputs[i] for i in diff_index]
    outputs = _as_tuple(func(*inputs))
    float_outputs = [(o_idx, o) for o_idx, o in enumerate(outputs) if _is_float_tensor(o)]
    numerical = {i: _numerical_jacobians(func, inputs, i, eps) for i in diff_index}
    differentiable = []
    for o_idx, o in float_outputs:
        if not o._requires_grad:
            if any(np.any(numerical[i][o_idx] != 0) for i in diff_index):
                raise GradcheckError("Numerical gradient for function expected to be zero")
            continue
        differentiable.append(o)
        analytical, types_ok, sizes_ok = _analytical_jacobians(o, diff_inputs)
        if not types_ok and check_grad_dtypes:
            raise GradcheckError("Gradient has dtype mismatch")
        if not sizes_ok:
            raise GradcheckError("Analytical gradient has incorrect size")
        for k, i in enumerate(diff_index):
            a, n = analytical[k], numerical[i][o_idx]
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                raise GradcheckError(_mismatch_message(
                    o_idx, i, a, n, inputs[i]._data.shape, o._data.shape, atol, rtol))
        _check_reentrant(o, diff_inputs, analytical, nondet_tol)
    if differentiable and check_undefined_grad:
        _check_zero_grad_outputs(differentiable, diff_inputs)
    return True


def gradcheck(func, inputs, *, eps=1e-06, atol=1e-05, rtol=0.001, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False,
              check_batched_grad=False, check_batched_forward_grad=False,
              check_forward_ad=False, check_backward_ad=True, fast_mode=False, masked=None):
    """Check the gradients of `func(*inputs)` against central finite differences, as PyTorch.

    Every input tensor with requires_grad is perturbed element by element (use float64); the
    Jacobian from backward must satisfy |analytical - numerical| <= atol + rtol*|numerical|.
    On failure raises GradcheckError naming the output, the input, the element and both values
    (or returns False with raise_exception=False). Options about forward AD, batching, sparse
    and fast mode are accepted and ignored: chainrule has only dense reverse mode.

        >>> x = chainrule.randn(3, dtype=chainrule.float64, requires_grad=True)
        >>> gradcheck(chainrule.sin, (x,))
        True
    """
    inputs = _as_tuple(inputs)
    try:
        return _gradcheck(func, inputs, eps, atol, rtol, nondet_tol, check_undefined_grad,
                          check_grad_dtypes)
    except GradcheckError:
        if raise_exception:
            raise
        return False


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-06, atol=1e-05, rtol=0.001,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0,
                  check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
                  check_fwd_over_rev=False, check_rev_over_rev=True, fast_mode=False,
                  masked=False):
    """Check second derivatives: gradcheck of the function (inputs, grad_outputs) -> the input
    gradients computed with create_graph=True, which runs every backward formula in tensor mode.

    grad_outputs default to fixed pseudo-random float64 values in [-1, 1) that require grad.
    """
    from .api import grad
    from ..tensor import Tensor

    inputs = _as_tuple(inputs)
    diff_index = [i for i, x in enumerate(inputs) if _is_tensor(x) and x._requires_grad]
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        outputs = [o for o in _as_tuple(func(*inputs)) if _is_float_tensor(o) and o._requires_grad]
        grad_outputs = []
        for o in outputs:
            seed = Tensor._make(rng.uniform(-1.0, 1.0, o._data.shape).astype(o._data.dtype))
            seed._requires_grad = True
            grad_outputs.append(seed)
    grad_outputs = _as_tuple(grad_outputs)
    n_grad_outputs = len(grad_outputs)

    def first_derivatives(*args):
        input_args = args[:len(args) - n_grad_outputs]
        seeds = args[len(args) - n_grad_outputs:]
        outputs = [o for o in _as_tuple(func(*input_args))
                   if _is_float_tensor(o) and o._requires_grad]
        diff_inputs = [input_args[i] for i in diff_index]
        grads = grad(outputs, diff_inputs, seeds, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_derivatives, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, nondet_tol=nondet_tol,
                     check_undefined_grad=check_undefined_grad,
                     check_grad_dtypes=check_grad_dtypes)


__all__ = ["GradcheckError", "numerical_grad", "gradcheck", "gradgradcheck"]
