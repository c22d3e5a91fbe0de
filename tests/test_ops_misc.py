"""What the op table cannot reach with random inputs, each compared with real PyTorch: the
subgradient and tie choices exactly at the kink, repeated indices, bool masks, setitem in the
graph, comparison results, and error messages (broadcasting, matmul shapes, indexing)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule


def run_both(code):
    """Run `code` (which sets `result`) with mod = torch and mod = chainrule."""
    results = []
    for mod in (torch, chainrule):
        scope = {"mod": mod, "F": mod.nn.functional}
        exec(code, scope)
        results.append(scope["result"])
    return results


def assert_same(ours, theirs):
    """Equal structure; tensors equal in dtype and (to float rounding) in value."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, chainrule.Tensor)
        assert str(ours.dtype) == str(theirs.dtype)
        np.testing.assert_allclose(ours.tolist(), theirs.tolist(), rtol=1e-6)
    elif isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            assert_same(o, t)
    else:
        assert ours == theirs


def tolist(value):
    if isinstance(value, (torch.Tensor, chainrule.Tensor)):
        return value.tolist()
    if isinstance(value, (tuple, list)):
        return [tolist(v) for v in value]
    return value


def grad_of(expression, values, extra=""):
    """Code: x = tensor(values); y = expression; y.sum().backward(); result = x.grad."""
    return (f"x = mod.tensor({values}, requires_grad=True)\n{extra}\n"
            f"y = {expression}\ny.sum().backward()\nresult = (y, x.grad)")


# -- subgradients and ties, exactly at the kink -------------------------------------------------
AT_THE_KINK = {
    "relu_at_0": grad_of("x.relu()", [-1.0, 0.0, 2.0, 0.0]),
    "F.relu_at_0": grad_of("F.relu(x)", [0.0, 1.0]),
    "leaky_relu_at_0": grad_of("F.leaky_relu(x, 0.1)", [-1.0, 0.0, 2.0]),
    "elu_at_0": grad_of("F.elu(x)", [-1.0, 0.0, 2.0], "x = x.double().detach().requires_grad_()"),
    "abs_at_0": grad_of("x.abs()", [-1.0, 0.0, 2.0]),
    "sign": grad_of("x.sign()", [-1.5, 0.0, 2.0]),
    "clamp_at_both_bounds": grad_of("x.clamp(0, 1)", [-1.0, 0.0, 0.5, 1.0, 2.0]),
    "clamp_min0_at_0": grad_of("mod.clamp(x, min=0)", [-1.0, 0.0, 2.0]),
    "clamp_max_at_bound": grad_of("x.clamp(max=1.0)", [1.0, 2.0, 0.0]),
    "clamp_tensor_bounds_at_bounds": (
        "x = mod.tensor([0., 1., 2., 0.5], requires_grad=True)\n"
        "lo = mod.tensor([0., 0., 0., 1.], requires_grad=True)\n"
        "hi = mod.tensor([1., 1., 1., 0.], requires_grad=True)\n"
        "mod.clamp(x, lo, hi).sum().backward()\nresult = (x.grad, lo.grad, hi.grad)"),
    "max_all_tie_shares": grad_of("x.max()", [1.0, 3.0, 3.0, 0.0]),
    "min_all_tie_shares": grad_of("x.min()", [1.0, 0.0, 3.0, 0.0]),
    "max_dim_tie_first_index": (
        "x = mod.tensor([[1., 3., 3.], [2., 2., 0.]], requires_grad=True)\n"
        "v, i = x.max(1)\nv.sum().backward()\nresult = (v, i, x.grad)"),
    "min_dim_keepdim_tie": (
        "x = mod.tensor([[1., 1., 3.], [0., 2., 0.]], requires_grad=True)\n"
        "v, i = x.min(dim=1, keepdim=True)\nv.sum().backward()\nresult = (v, i, x.grad)"),
    "amax_tie_shares": grad_of("x.amax(1)", [[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]),
    "amin_all_tie_shares": grad_of("x.amin()", [[1.0, 3.0, 1.0], [2.0, 1.0, 2.0]]),
    "median_tie_shares": grad_of("x.median()", [1.0, 2.0, 2.0, 3.0]),
    "maximum_tie_halves": (
        "a = mod.tensor([1., 2., 3.], requires_grad=True)\n"
        "b = mod.tensor([1., 0., 3.], requires_grad=True)\n"
        "mod.maximum(a, b).sum().backward()\nresult = (a.grad, b.grad)"),
    "minimum_tie_halves": (
        "a = mod.tensor([1., 2., 3.], requires_grad=True)\n"
        "b = mod.tensor([1., 0., 3.], requires_grad=True)\n"
        "mod.minimum(a, b).sum().backward()\nresult = (a.grad, b.grad)"),
    "sqrt_at_0_is_inf": grad_of("x.sqrt()", [0.0, 4.0]),
    "norm_of_zeros_is_0": grad_of("x.norm()", [0.0, 0.0]),
    "std_of_constant_is_0": grad_of("x.std()", [1.0, 1.0, 1.0]),
    "pow_tensor_at_0": (
        "x = mod.tensor([0., 2., 0.], requires_grad=True)\n"
        "e = mod.tensor([2., 0., 0.], requires_grad=True)\n"
        "(x ** e).sum().backward()\nresult = (x.grad, e.grad)"),
    "prod_with_zeros": grad_of("x.prod(1)", [[0.0, 2.0, 3.0], [0.0, 0.0, 1.0]]),
    "prod_all_one_zero": grad_of("x.prod()", [0.0, 2.0, 3.0]),
    "where_at_0": grad_of("mod.where(x > 0, x, -x)", [0.0, -1.0, 1.0]),
}


@pytest.mark.parametrize("name", AT_THE_KINK)
def test_subgradient_and_tie_choices_match_torch(name):
    theirs, ours = run_both(AT_THE_KINK[name])
    assert_same(ours, theirs)


# -- indexing and setitem -------------------------------------------------------------------
INDEXING = {
    "repeated_int_list_accumulates": grad_of("x[[0, 0, 2, 0]]", [1.0, 2.0, 3.0]),
    "repeated_long_tensor_accumulates": grad_of(
        "x[mod.tensor([[1, 1], [1, 0]])] * mod.tensor([[1., 2.], [3., 4.]])", [1.0, 2.0, 3.0]),
    "repeated_rows_and_cols": grad_of("x[[0, 0, 1], [1, 1, 1]]", [[1.0, 2.0], [3.0, 4.0]]),
    "index_select_repeats": grad_of("x.index_select(0, mod.tensor([2, 2, 2]))", [1.0, 2.0, 3.0]),
    "gather_repeats": grad_of("x.gather(1, mod.tensor([[0, 0], [1, 1]]))",
                              [[1.0, 2.0], [3.0, 4.0]]),
    "bool_mask_from_comparison": grad_of("x[x > 0] * mod.tensor([2., 3.])",
                                         [[1.0, -2.0], [3.0, -4.0]]),
    "bool_mask_rows": grad_of("x[mod.tensor([True, False, True])]",
                              [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]),
    "bool_mask_all_false": grad_of("x[x > 10]", [1.0, 2.0]),
    "mask_and_int": grad_of("x[0, mod.tensor([True, False])]", [[1.0, 2.0], [3.0, 4.0]]),
}


@pytest.mark.parametrize("name", INDEXING)
def test_indexing_gradients_match_torch(name):
    theirs, ours = run_both(INDEXING[name])
    assert tolist(ours) == tolist(theirs)


SETITEM = {
    "int": "y[1] = v",
    "slice": "y[1:] = v",
    "index_array": "y[[0, 2]] = v",
    "bool_mask_scalar": "y[y < 2] = 0.0",
    "bool_mask_tensor_value": "y[y > 1] = v",
    "everything_0d_value": "y[:] = v",
    "everything_number": "y[...] = 0.5",
    "everything_vector": "y[:] = v * mod.tensor([1., 2., 3.])",
    "none": "y[None] = v",
}


@pytest.mark.parametrize("name", SETITEM)
def test_setitem_is_recorded_in_the_graph_like_torch(name):
    code = (f"x = mod.tensor([1., 2., 3.], requires_grad=True)\n"
            f"v = mod.tensor(5., requires_grad=True)\n"
            f"y = x * 1\n{SETITEM[name]}\n(y * mod.tensor([1., 2., 3.])).sum().backward()\n"
            f"result = (type(y.grad_fn).__name__, y, x.grad, v.grad)")
    theirs, ours = run_both(code)
    assert ours[0] == theirs[0]
    assert tolist(ours[1:]) == tolist(theirs[1:])


def test_setitem_on_a_leaf_that_requires_grad_is_refused_like_torch():
    for mod in (torch, chainrule):
        leaf = mod.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            leaf[0] = 2.0


# -- comparisons -------------------------------------------------------------------------------
def test_comparisons_return_bool_tensors_without_a_graph():
    code = ("a = mod.tensor([1., 2.], requires_grad=True)\n"
            "result = [(str(t.dtype), t.requires_grad, t.grad_fn is None, t.tolist())\n"
            "          for t in (a > 1, a <= 1, a == 2, a != 2, a >= mod.tensor([1., 3.]),\n"
            "                    mod.tensor([1, 2]) < 1.5, 2 < a, a.eq(1), a.lt(a))]")
    theirs, ours = run_both(code)
    assert ours == theirs
    assert all(dtype == "torch.bool" for dtype, *_ in ours)


# -- errors in PyTorch's words --------------------------------------------------------------
ERRORS = {
    "add_broadcast": "mod.ones(2, 3) + mod.ones(4)",
    "mul_broadcast": "mod.ones(2, 3) * mod.ones(3, 2)",
    "sub_broadcast_scalar_side": "mod.ones(5, 1, 4) - mod.ones(3, 2)",
    "div_broadcast": "mod.ones(3) / mod.ones(2)",
    "maximum_broadcast": "mod.maximum(mod.ones(5), mod.ones(3))",
    "where_broadcast": "mod.where(mod.ones(2) > 0, mod.ones(3), mod.ones(2))",
    "compare_broadcast": "mod.ones(2) < mod.ones(3)",
    "pow_broadcast": "mod.ones(2) ** mod.ones(3)",
    "matmul_shapes": "mod.ones(64, 1000) @ mod.ones(100, 10)",
    "mm_shapes": "mod.mm(mod.ones(2, 3), mod.ones(4, 5))",
    "matrix_vector": "mod.ones(2, 3) @ mod.ones(4)",
    "vector_matrix": "mod.ones(3) @ mod.ones(4, 2)",
    "dot_sizes": "mod.ones(3) @ mod.ones(4)",
    "batched_inner_sizes": "mod.ones(2, 3, 4) @ mod.ones(2, 5, 6)",
    "bmm_batch_sizes": "mod.bmm(mod.ones(2, 3, 4), mod.ones(3, 4, 6))",
    "matmul_0d": "mod.ones(()) @ mod.ones(3)",
    "matmul_dtypes": "mod.ones(2, 2) @ mod.ones(2, 2, dtype=mod.float64)",
    "index_out_of_range": "mod.ones(3)[5]",
    "index_out_of_range_dim1": "mod.ones(2, 3)[1, 3]",
    "too_many_indices": "mod.ones(3)[0, 0]",
    "index_array_out_of_range": "mod.ones(3)[[0, 3]]",
    "float_index": "mod.ones(3)[1.5]",
    "float_tensor_index": "mod.ones(3)[mod.tensor([0., 1.])]",
    "mask_shape": "mod.ones(3)[mod.tensor([True, False])]",
    "mask_shape_2d": "mod.ones(2, 3)[mod.tensor([[True, False], [True, True]])]",
    "dim_out_of_range": "mod.ones(2, 3).sum(2)",
    "setitem_shape": "mod.ones(2, 3).__setitem__(0, mod.ones(2))",
    "setitem_index_shape": "mod.ones(2, 3).__setitem__([0, 1], mod.ones(2))",
    "cat_sizes": "mod.cat([mod.ones(2, 3), mod.ones(2, 4)])",
    "stack_sizes": "mod.stack([mod.ones(2, 3), mod.ones(2, 4)])",
    "view_size": "mod.ones(2, 3).view(4)",
    "expand_size": "mod.ones(2, 3).expand(4, 3)",
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_match_torch(name):
    raised = []
    for mod in (torch, chainrule):
        with pytest.raises(Exception) as info:
            eval(ERRORS[name], {"mod": mod})
        raised.append(info.value)
    theirs, ours = raised
    assert type(ours) is type(theirs), f"{type(ours).__name__}: {ours}"
    assert str(ours) == str(theirs)


def test_matmul_error_names_both_shapes_as_in_the_lecture():
    with pytest.raises(RuntimeError, match=r"^mat1 and mat2 shapes cannot be multiplied "
                                           r"\(64x1000 and 100x10\)$"):
        chainrule.randn(64, 1000) @ chainrule.randn(100, 10)


def test_broadcast_tensors_returns_inputs_already_of_the_broadcast_shape():
    import torch

    for lib in (torch, chainrule):
        a, b = lib.ones(2, 3), lib.ones(2, 3, requires_grad=True)
        x, y = lib.broadcast_tensors(a, b)
        assert x is a and y is b
        x, y = lib.broadcast_tensors(lib.ones(1, 3), b)
        assert x.shape == (2, 3) and y is b


def test_normal_with_zero_dim_tensor_arguments_is_zero_dim():
    import torch

    for lib in (torch, chainrule):
        lib.manual_seed(0)
        m, s = lib.tensor(0.5, dtype=lib.float64), lib.tensor(2.0, dtype=lib.float64)
        assert lib.normal(m, s).shape == () and lib.normal(m, 1.0).shape == ()
    torch.manual_seed(3)
    chainrule.manual_seed(3)
    assert chainrule.normal(chainrule.tensor(0.5), chainrule.tensor(2.0)).item() == \
        torch.normal(torch.tensor(0.5), torch.tensor(2.0)).item()


@pytest.mark.parametrize("make", [lambda L, t: t.norm(p=0), lambda L, t: L.linalg.vector_norm(t, ord=0),
                                  lambda L, t: t.norm(p=0, dim=1, keepdim=True),
                                  lambda L, t: L.linalg.vector_norm(t, ord=0, dim=1)])
def test_zero_norm_counts_nonzeros_and_has_no_gradient(make):
    import torch

    results = []
    for L in (torch, chainrule):
        x = L.tensor([[0., 2., -3.], [1., 0., 0.]], requires_grad=True)
        y = make(L, x)
        y.sum().backward()
        results.append((y.tolist(), type(y.grad_fn).__name__, x.grad))
    assert results[0][:2] == results[1][:2] and results[0][2] is None and results[1][2] is None


def test_parameter_given_new_dtype_gets_gradients_of_that_dtype_with_an_old_graph_alive():
    import torch

    for L in (torch, chainrule):
        lin = L.nn.Linear(2, 2)
        keep = lin(L.ones(1, 2))  # noqa: F841 - the old graph holds the old accumulator
        lin.double()
        lin(L.ones(1, 2, dtype=L.float64)).sum().backward()
        assert str(lin.weight.grad.dtype).endswith("float64")
