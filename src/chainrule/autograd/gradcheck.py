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
    return [np.array(o._data if _is_tensor(o) else o, copy=True) for o in outputs]


def _difference_dtype(array):
    return array.dtype if array.dtype.kind == "f" else np.dtype(np.float64)


def _check_same_dtype_and_shape(a, b, eps, position=None):
    where = f"on index {position} " if position is not None else ""
    if a.shape != b.shape:
        raise AssertionError(f"Expected `func` to return outputs with the same shape when "
                             f"inputs are perturbed {where}by {eps}, but got: shapes "
                             f"{_size_str(a.shape)} and {_size_str(b.shape)}.")
    if a.dtype != b.dtype:
        raise AssertionError(f"Expected `func` to return outputs with the same dtype when "
                             f"inputs are perturbed {where}by {eps}, but got: dtypes "
                             f"{_dtype_str(a.dtype)} and {_dtype_str(b.dtype)}.")


def _size_str(shape):
    from .._errors import size_str

    return size_str(shape)


def _dtype_str(dtype):
    from .._dtype import from_numpy_dtype

    return str(from_numpy_dtype(dtype))


def _central_difference(fn, inputs, data, position, step, eps, where=None):
    """Outputs' change when data[position] moves from -step to +step, divided by 2 eps, one
    flat array per output. As PyTorch: f(x - step) is evaluated first, in the output's dtype."""
    original = data[position].copy()
    data[position] = original - step
    minus = _output_arrays(fn, inputs)
    data[position] = original + step
    plus = _output_arrays(fn, inputs)
    data[position] = original
    columns = []
    for a, b in zip(minus, plus):
        _check_same_dtype_and_shape(a, b, eps, where)
        dtype = _difference_dtype(a)
        columns.append(((b.astype(dtype) - a.astype(dtype)) / (2 * eps)).reshape(-1))
    return columns


def _numerical_jacobians(fn, inputs, index, eps, method="central"):
    """d(each output)/d(inputs[index]) by finite differences, one input element at a time: a
    list of arrays, one per output, each of shape (inputs[index].numel(), output.numel())."""
    data = inputs[index]._data
    base = _output_arrays(fn, inputs) if method == "forward" else None
    columns = []
    for k in range(data.size):
        position = np.unravel_index(k, data.shape)
        if method == "central":
            where = tuple(int(p) for p in position)
            columns.append(_central_difference(fn, inputs, data, position, eps, eps, where))
            continue
        original = data[position].copy()
        data[position] = original + eps
        plus = _output_arrays(fn, inputs)
        data[position] = original
        columns.append([((p.astype(np.float64) - m.astype(np.float64)) / eps).reshape(-1)
                        for p, m in zip(plus, base)])
    if columns:
        return [np.stack([c[o] for c in columns]) for o in range(len(columns[0]))]
    return [np.zeros((0, a.size), _difference_dtype(a)) for a in _output_arrays(fn, inputs)]


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



# ---------------------------------------------------------------------------------------------
# gradcheck: PyTorch's checks, in PyTorch's order.
#
# Note [gradcheck's sequence of calls]
# A custom Function that prints from forward or backward prints the same lines under chainrule's
# gradcheck as under PyTorch's, because the function and the backward passes are run in the
# same order and number:
#   1. func(*inputs) once; the outputs that require grad are the differentiable outputs.
#   2. Slow mode: central differences for every element of every input that requires grad,
#      f(x - eps) before f(x + eps). Then, per differentiable output, the Jacobian by one
#      backward per output element, computed twice (the second time checks that backward is
#      reentrant), then dtype, size and reentrancy checks, then the comparison with numerical.
#      Fast mode: random unit vectors u (per input) and v (per output) from a fresh Generator;
#      numerical J u by one central difference along u per input, analytical v^T J by two
#      backward passes per output; v^T J u compared (a failure reruns the slow computations to
#      print the full Jacobians).
#   3. check_batched_grad: per output, two backward passes with randn_like seeds, then one more
#      standing for PyTorch's vmapped pass (chainrule has no vmap: it is compared with the
#      first).
#   4. One backward with zero output gradients (that frees the graph): the input gradients must
#      be zero, of the inputs' dtype and size.
#   5. check_undefined_grad: func is called again, and once more per output if there are
#      several; then one backward of each with zero output gradients (PyTorch passes undefined
#      gradients, which a custom Function sees as zeros unless it turned off
#      materialize_grads).


FAILED_NONDET_MSG = """\n
NOTE: If your op relies on non-deterministic operations i.e., it is listed here:
https://pytorch.org/docs/stable/generated/torch.use_deterministic_algorithms.html
this failure might be expected.

If you are adding a new operator, please file an issue and then use one of the
workarounds. The workaround depends on how your test invokes gradcheck/gradgradcheck.
If the test
- manually invokes gradcheck/gradgradcheck, then call gradcheck/gradgradcheck
  with `nondet_tol=<tol>` as a keyword argument.
- is OpInfo-based (e.g., in test_ops_gradients.py), then modify the OpInfo for the test
  to have `gradcheck_nondet_tol=<tol>`.
- is a Module test (e.g., in common_nn.py), then modify the corresponding
  module_test entry to have `gradcheck_nondet_tol=<tol>`
"""

FAILED_BATCHED_GRAD_MSG = """
gradcheck or gradgradcheck failed while testing batched gradient computation.
This could have been invoked in a number of ways (via a test that calls
gradcheck/gradgradcheck directly or via an autogenerated test).

If you are adding a new operator, please file an issue and then use one of the
workarounds. The workaround depends on how your test invokes gradcheck/gradgradcheck.
If the test
- manually invokes gradcheck/gradgradcheck, then call gradcheck/gradgradcheck
  with `check_batched_grad=False` as a keyword argument.
- is OpInfo-based (e.g., in test_ops_gradients.py), then modify the OpInfo for the test
  to have `check_batched_grad=False` and/or `check_batched_gradgrad=False`.
""".strip()

FAST_FAIL_SLOW_OK_MSG = """
Fast gradcheck failed but element-wise differences are small. This means that the
test might've passed in slow_mode!

If you are adding a new operator, please file an issue and then use one of the
workarounds. The workaround depends on how your test invokes gradcheck/gradgradcheck:

If the test
- manually invokes gradcheck/gradgradcheck, then call gradcheck/gradgradcheck
  with `fast_mode=False` as a keyword argument.
- is OpInfo-based (e.g., in test_ops_gradients.py), then modify the OpInfo for the test
  to have `gradcheck_fast_mode=False`
- is a Module test (e.g., in common_nn.py), then modify the corresponding
  module_test entry to have `gradcheck_fast_mode=False`
""".strip()


def _vjp(output, diff_inputs, seed, retain_graph=True):
    """Input gradients (arrays, or None when unused) of one backward seeded with `seed`."""
    from .api import grad
    from ..tensor import Tensor

    grads = grad((output,), diff_inputs, (Tensor._make(seed),), retain_graph=retain_graph,
                 allow_unused=True)
    return [None if g is None else np.array(g._data, copy=True) for g in grads]


def _stack_columns(rows, diff_inputs, n_columns):
    """rows[c][i]: column c of input i's Jacobian -> (jacobians of the inputs' dtypes, whether
    the grads had the right sizes, whether they had the right dtypes)."""
    jacobians = [np.zeros((x._data.size, n_columns), dtype=x._data.dtype) for x in diff_inputs]
    sizes_ok = types_ok = True
    for c, row in enumerate(rows):
        for i, (g, x) in enumerate(zip(row, diff_inputs)):
            if g is None:
                continue
            if g.shape != x._data.shape:
                sizes_ok = False
            elif g.dtype != x._data.dtype:
                types_ok = False
            if g.size == x._data.size:
                jacobians[i][:, c] = g.reshape(-1)
    return jacobians, sizes_ok, types_ok


def _analytical_jacobians(output, diff_inputs, nondet_tol, check_grad_dtypes, seeds):
    """The Jacobian rows for `seeds` (one-hot vectors in slow mode, v in fast mode), computed
    twice; PyTorch's dtype, size and reentrancy checks. Returns the first computation, one
    array (input.numel(), len(seeds)) per diff input."""
    first = [_vjp(output, diff_inputs, s) for s in seeds]
    second = [_vjp(output, diff_inputs, s) for s in seeds]
    jacobians, sizes_ok, types_ok = _stack_columns(first, diff_inputs, len(seeds))
    again, _, _ = _stack_columns(second, diff_inputs, len(seeds))
    reentrant = all(a.size == 0 or np.max(np.abs(a - b)) <= nondet_tol
                    for a, b in zip(jacobians, again))
    if not types_ok and check_grad_dtypes:
        raise GradcheckError("Gradient has dtype mismatch")
    if not sizes_ok:
        raise GradcheckError("Analytical gradient has incorrect size")
    if not reentrant:
        raise GradcheckError(
            "Backward is not reentrant, i.e., running backward with same input and "
            "grad_output multiple times gives different values, although analytical "
            "gradient matches numerical gradient."
            f"The tolerance for nondeterminism was {nondet_tol}." + FAILED_NONDET_MSG)
    return jacobians


def _one_hot_seeds(output):
    data = output._data
    seeds = []
    for j in range(data.size):
        seed = np.zeros(data.size, dtype=data.dtype)
        seed[j] = 1
        seeds.append(seed.reshape(data.shape))
    return seeds


def _allclose(a, n, rtol, atol):
    dtype = np.promote_types(a.dtype, n.dtype)
    return np.allclose(a.astype(dtype), n.astype(dtype), rtol=rtol, atol=atol)


def _first_mismatch(analytical, numerical, atol, rtol):
    """(input element, output element) of the largest violation of |a - n| <= atol + rtol|n|."""
    analytical = analytical.astype(np.float64)
    numerical = numerical.astype(np.float64)
    excess = np.abs(analytical - numerical) - (atol + rtol * np.abs(numerical))
    excess = np.where(np.isnan(analytical) != np.isnan(numerical), np.inf, excess)
    return np.unravel_index(int(np.nanargmax(excess)), excess.shape)


def _mismatch_message(o, i, analytical, numerical, in_shape, out_shape, atol, rtol):
    """PyTorch's message (o, i: positions among the differentiable outputs and inputs), then
    the element that is most off."""
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


def _differentiable_outputs(func_out):
    return [o for o in _as_tuple(func_out) if _is_tensor(o) and o._requires_grad]


def _slow_gradcheck(func, func_out, inputs, diff_index, outputs, eps, rtol, atol,
                    check_grad_dtypes, nondet_tol):
    diff_inputs = [inputs[i] for i in diff_index]
    numerical = [_numerical_jacobians(func, inputs, i, eps) for i in diff_index]
    func_out = _as_tuple(func_out)
    if not outputs:
        if any(np.any(j != 0) for per_input in numerical for j in per_input):
            raise GradcheckError("Numerical gradient for function expected to be zero")
        return True
    # PyTorch skips outputs without a graph; a float one that does depend on the input has
    # most likely dropped its graph by mistake, so chainrule says so (a warning: the check
    # still passes, as in PyTorch).
    for o_idx, o in enumerate(func_out):
        if _is_float_tensor(o) and not o._requires_grad:
            if any(np.any(per_input[o_idx] != 0) for per_input in numerical):
                warnings.warn(f"gradcheck: output {o_idx} does not require grad, but its "
                              "numerical gradient is not zero: did the function detach it?",
                              UserWarning, stacklevel=3)
    kept = [k for k, o in enumerate(func_out) if _is_tensor(o) and o._requires_grad]
    for j, o in enumerate(outputs):
        analytical = _analytical_jacobians(o, diff_inputs, nondet_tol, check_grad_dtypes,
                                           _one_hot_seeds(o))
        for k, (a, per_input) in enumerate(zip(analytical, numerical)):
            n = per_input[kept[j]]
            if not _allclose(a, n, rtol, atol):
                raise GradcheckError(_mismatch_message(
                    j, k, a, n, diff_inputs[k]._data.shape, o._data.shape, atol, rtol))
    return True


def _random_unit_vector(x, generator):
    """PyTorch's: rand(numel) from the generator, cast to x's dtype, divided by its norm."""
    from ..random import rand

    vec = rand(x._data.size, generator=generator)._data.astype(x._data.dtype)
    return vec / np.sqrt(np.dot(vec, vec))


def _numerical_jvps(func, inputs, index, u, eps):
    """(f(x + eps u) - f(x - eps u)) / 2 eps for every output, flattened."""
    data = inputs[index]._data
    step = u.reshape(data.shape) * eps
    return _central_difference(func, inputs, data, Ellipsis, step, eps)


def _dot(a, b):
    if a.shape != b.shape:
        raise RuntimeError(f"The size of tensor a ({a.size}) must match the size of tensor b "
                           f"({b.size}) at non-singleton dimension 0")
    dtype = np.promote_types(a.dtype, b.dtype)
    return (a.astype(dtype) * b.astype(dtype)).sum()


def _fast_gradcheck(func, func_out, inputs, diff_index, outputs, eps, rtol, atol,
                    check_grad_dtypes, nondet_tol):
    from ..random import Generator

    generator = Generator()
    diff_inputs = [inputs[i] for i in diff_index]
    all_u = [_random_unit_vector(x, generator) for x in diff_inputs]
    all_v = [_random_unit_vector(o, generator) for o in outputs]
    float_out = [k for k, o in enumerate(_as_tuple(func_out)) if _is_float_tensor(o)]
    numerical = []
    for i, u in zip(diff_index, all_u):
        jvps = _numerical_jvps(func, inputs, i, u, eps)
        # As PyTorch, the v of the k-th differentiable output meets the k-th float output.
        numerical.append([_dot(v, jvps[k]) for v, k in zip(all_v, float_out)])
    if not outputs:
        for i, u in zip(diff_index, all_u):
            for jvp in _numerical_jvps(func, inputs, i, u, eps):
                if jvp.size and np.max(np.abs(jvp)) > nondet_tol:
                    raise GradcheckError("Numerical gradient for function expected to be zero")
    analytical = []
    for o, v in zip(outputs, all_v):
        vjps = _analytical_jacobians(o, diff_inputs, nondet_tol, check_grad_dtypes,
                                     [v.reshape(o._data.shape)])
        analytical.append([_dot(vj[:, 0], u) for vj, u in zip(vjps, all_u)])
    for i, per_input in enumerate(numerical):
        for j, n in enumerate(per_input):
            a = analytical[j][i]
            scaled_atol = atol * float(all_u[i].sum()) * float(all_v[j].sum())
            if not _allclose(np.asarray(a), np.asarray(n), rtol, scaled_atol):
                raise GradcheckError(
                    f"Jacobian mismatch for output {j:d} with respect to input {i:d},\n"
                    f"numerical:{float(n)}\nanalytical:{float(a)}\n"
                    + _slow_mode_report(func, inputs, diff_index, outputs, i, j, eps, rtol,
                                        atol))
    return True


def _slow_mode_report(func, inputs, diff_index, outputs, i, j, eps, rtol, atol):
    """Fast mode failed: the full Jacobians, as PyTorch recomputes them for its message."""
    from ..tensor import Tensor

    numerical = [_numerical_jacobians(func, inputs, k, eps) for k in diff_index][i][j]
    diff_inputs = [inputs[k] for k in diff_index]
    analytical = _analytical_jacobians(outputs[j], diff_inputs, float("inf"), False,
                                       _one_hot_seeds(outputs[j]))[i]
    dtype = np.promote_types(numerical.dtype, analytical.dtype)
    max_diff = np.max(np.abs(numerical.astype(dtype) - analytical.astype(dtype)))
    message = (
        "\nThe above quantities relating the numerical and analytical jacobians are computed \n"
        "in fast mode. See: https://github.com/pytorch/pytorch/issues/53876 for more "
        "background \nabout fast mode. Below, we recompute numerical and analytical jacobians "
        "in slow mode:\n\n"
        f"Numerical:\n {Tensor._make(numerical)!r}\n"
        f"Analytical:\n{Tensor._make(analytical)!r}\n\n"
        f"The max per-element difference (slow mode) is: {float(max_diff)}.\n")
    if _allclose(analytical, numerical, rtol, atol):
        message += FAST_FAIL_SLOW_OK_MSG
    return message


def _check_batched_grad(output, output_idx, diff_inputs):
    """PyTorch compares two backward passes with one vmapped pass over both seeds. chainrule
    has no vmap: the third pass is a plain backward with the first seed."""
    from ..random import randn_like
    from ..tensor import Tensor

    def vjp(seed):
        grads = _vjp(output, diff_inputs, seed._data)
        return [np.zeros(x._data.shape, x._data.dtype) if g is None else g
                for g, x in zip(grads, diff_inputs)]

    seeds = [randn_like(output) for _ in range(2)]
    expected = [vjp(s) for s in seeds]
    result = vjp(seeds[0])
    for input_idx, (res, exp) in enumerate(zip(result, expected[0])):
        if not np.allclose(res, exp, rtol=1e-5, atol=1e-8):
            got = Tensor._make(np.stack([res, expected[1][input_idx]]))
            want = Tensor._make(np.stack([exp, expected[1][input_idx]]))
            raise GradcheckError(f"For output {output_idx} and input {input_idx}:\n\n"
                                 f"{FAILED_BATCHED_GRAD_MSG}\n\nGot:\n{got}\n\nExpected:\n{want}")


def _zero_seeds(outputs):
    from ..tensor import Tensor

    return tuple(Tensor._make(np.zeros_like(o._data)) for o in outputs)


def _check_backward_mul_by_grad_output(outputs, diff_inputs):
    """Zero output gradients must give zero input gradients of the inputs' dtype and size."""
    from .api import grad

    if not outputs:
        return
    grads = grad(tuple(outputs), diff_inputs, _zero_seeds(outputs), allow_unused=True)
    for g, x in zip(grads, diff_inputs):
        if g is None:
            continue
        if np.any(g._data != 0):
            raise GradcheckError("backward not multiplied by grad_output")
        if g._data.dtype != x._data.dtype:
            raise GradcheckError("grad is incorrect type")
        if g._data.shape != x._data.shape:
            raise GradcheckError("grad is incorrect size")


def _warn_undefined_grad():
    warnings.warn('Backwards compatibility: New undefined gradient support checking feature is '
                  'enabled by default, but it may break existing callers of this function. If '
                  'this is true for you, you can call this function with '
                  '"check_undefined_grad=False" to disable the feature', stacklevel=3)


def _check_undefined_grad(func, inputs, n_outputs, diff_inputs):
    """Backward with undefined (here: zero) output gradients, for all outputs at once and, with
    several outputs, for each in turn; every function call happens before the backwards."""
    from .api import grad

    to_check = [_differentiable_outputs(func(*inputs))]
    if len(to_check[0]) > 1:
        for _ in range(n_outputs):
            to_check.append(_differentiable_outputs(func(*inputs)))
    for outputs in to_check:
        if not outputs:
            continue
        try:
            grads = grad(tuple(outputs), diff_inputs, _zero_seeds(outputs), allow_unused=True)
        except RuntimeError as e:
            _warn_undefined_grad()
            raise GradcheckError(
                "Expected backward function to handle undefined output grads. Please look at "
                '"Notes about undefined output gradients" in "tools/autograd/derivatives.yaml"'
            ) from e
        for g in grads:
            if g is not None and np.any(g._data != 0):
                _warn_undefined_grad()
                raise GradcheckError(
                    "Expected all input grads to be undefined or zero when all output grads "
                    'are undefined or zero. Please look at "Notes about undefined output '
                    'gradients" in "tools/autograd/derivatives.yaml"')


def _gradcheck(func, inputs, eps, atol, rtol, nondet_tol, check_undefined_grad,
               check_grad_dtypes, check_batched_grad, check_backward_ad, fast_mode):
    """See Note [gradcheck's sequence of calls]."""
    _check_inputs(inputs)
    func_out = func(*inputs)
    outputs = _differentiable_outputs(func_out)
    diff_index = [i for i, x in enumerate(inputs) if _is_tensor(x) and x._requires_grad]
    diff_inputs = [inputs[i] for i in diff_index]
    if not check_backward_ad:
        return True
    check = _fast_gradcheck if fast_mode else _slow_gradcheck
    check(func, func_out, inputs, diff_index, outputs, eps, rtol, atol, check_grad_dtypes,
          nondet_tol)
    if check_batched_grad:
        for j, o in enumerate(outputs):
            _check_batched_grad(o, j, diff_inputs)
    _check_backward_mul_by_grad_output(outputs, diff_inputs)
    if check_undefined_grad:
        _check_undefined_grad(func, inputs, len(outputs), diff_inputs)
    return True


def gradcheck(func, inputs, *, eps=1e-06, atol=1e-05, rtol=0.001, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False,
              check_batched_grad=False, check_batched_forward_grad=False,
              check_forward_ad=False, check_backward_ad=True, fast_mode=False, masked=None):
    """Check the gradients of `func(*inputs)` against central finite differences, as PyTorch.

    Every input tensor with requires_grad is perturbed element by element (use float64); the
    Jacobian from backward must satisfy |analytical - numerical| <= atol + rtol*|numerical|.
    On failure raises GradcheckError naming the output, the input, the element and both values
    (or returns False with raise_exception=False). Backward is run as often and in the same
    order as by PyTorch (Note [gradcheck's sequence of calls]), fast_mode included. chainrule
    has only dense reverse mode: the forward-AD and sparse options are accepted and ignored,
    and check_batched_grad runs its backward passes without vmap.

        >>> x = chainrule.randn(3, dtype=chainrule.float64, requires_grad=True)
        >>> gradcheck(chainrule.sin, (x,))
        True
    """
    if not (check_forward_ad or check_backward_ad):
        raise AssertionError(
            "Expected at least one of check_forward_ad or check_backward_ad to be True")
    if check_batched_grad and not check_backward_ad:
        raise AssertionError(
            "Setting check_batched_grad=True requires check_backward_ad to be True")
    if check_batched_forward_grad and not check_forward_ad:
        raise AssertionError(
            "Setting check_batched_forward_grad=True requires check_forward_ad to be True")
    inputs = _as_tuple(inputs)
    try:
        return _gradcheck(func, inputs, eps, atol, rtol, nondet_tol, check_undefined_grad,
                          check_grad_dtypes, check_batched_grad, check_backward_ad, fast_mode)
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

    grad_outputs default, as PyTorch's, to `testing.make_tensor(..., low=-1, high=1,
    requires_grad=True)` drawn from the global random stream.
    """
    from .api import grad
    from ..testing import make_tensor
    from .. import _dtype

    if not (check_fwd_over_rev or check_rev_over_rev):
        raise AssertionError(
            "Expected at least one of check_fwd_over_rev or check_rev_over_rev to be True")
    if check_undefined_grad and not check_rev_over_rev:
        raise AssertionError(
            "Setting check_undefined_grad=True requires check_rev_over_rev to be True")
    if check_batched_grad and not check_rev_over_rev:
        raise AssertionError(
            "Setting check_batched_grad=True requires check_rev_over_rev to be True")
    inputs = _as_tuple(inputs)
    if grad_outputs is None:
        outputs = _differentiable_outputs(func(*inputs))
        grad_outputs = tuple(
            make_tensor(tuple(o.shape), dtype=o.dtype if o._data.dtype.kind == "f"
                        else _dtype.float64, low=-1, high=1, requires_grad=True,
                        noncontiguous=gen_non_contig_grad_outputs)
            for o in outputs)
    grad_outputs = _as_tuple(grad_outputs)
    n_grad_outputs = len(grad_outputs)
    diff_index = [i for i, x in enumerate(inputs) if _is_tensor(x) and x._requires_grad]

    def first_derivatives(*args):
        input_args = args[:len(args) - n_grad_outputs]
        seeds = args[len(args) - n_grad_outputs:]
        outputs = _differentiable_outputs(func(*input_args))
        diff_inputs = [input_args[i] for i in diff_index]
        grads = grad(outputs, diff_inputs, seeds, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_derivatives, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, nondet_tol=nondet_tol,
                     check_undefined_grad=check_undefined_grad,
                     check_grad_dtypes=check_grad_dtypes, check_batched_grad=check_batched_grad,
                     fast_mode=fast_mode, check_forward_ad=check_fwd_over_rev,
                     check_backward_ad=check_rev_over_rev, masked=masked)


__all__ = ["GradcheckError", "numerical_grad", "gradcheck", "gradgradcheck"]
