"""Error messages users meet in lecture code, in PyTorch's words (torch is the oracle)."""
import numpy as np
import pytest
import torch

import chainrule as cr

EXPRESSIONS = [
    # dtype mismatches in matrix products, reported by the kernel torch dispatches to
    "lib.ones(2, dtype=lib.float64) @ lib.ones(1, dtype=lib.float32)",
    "lib.addmm(lib.zeros(2, 2, dtype=lib.float64), lib.ones(2, 3), lib.ones(2, 3))",
    'lib.ones(2,2,dtype=lib.float32).mv(lib.ones(2,dtype=lib.float64))',
    'lib.ones(2,2,dtype=lib.float64).mv(lib.ones(2,dtype=lib.float32))',
    'lib.ones(2,2,dtype=lib.float32) @ lib.ones(2,dtype=lib.float64)',
    'lib.ones(2,dtype=lib.float32) @ lib.ones(2,2,dtype=lib.float64)',
    'lib.ones(2,dtype=lib.float64) @ lib.ones(2,2,dtype=lib.float32)',
    'lib.ones(2,dtype=lib.float32) @ lib.ones(2,dtype=lib.float64)',
    'lib.ones(1,2,2,dtype=lib.float32) @ lib.ones(1,2,2,dtype=lib.float64)',
    'lib.ones(3,2,2,dtype=lib.float32) @ lib.ones(2,dtype=lib.float64)',
    'lib.ones(3,2,2,dtype=lib.float32) @ lib.ones(2,2,dtype=lib.float64)',
    'lib.ones(2,dtype=lib.float32) @ lib.ones(3,2,2,dtype=lib.float64)',
    'lib.ones(2,2,dtype=lib.int64).mv(lib.ones(2))',
    'lib.ones(2,2).mm(lib.ones(2,2,dtype=lib.int64))',
    'lib.ones(2,2,dtype=lib.float32) @ lib.ones(3,2,2,dtype=lib.float64)',
    'lib.ones(3,2,2,dtype=lib.float32,requires_grad=True) @ lib.ones(2,2,dtype=lib.float64)',
    'lib.dot(lib.ones(2,dtype=lib.float32), lib.ones(2,dtype=lib.float64))',
    'lib.bmm(lib.ones(1,2,2,dtype=lib.float64), lib.ones(1,2,2,dtype=lib.float32))',
    'lib.addmm(lib.zeros(2,2), lib.ones(2,2,dtype=lib.float32), lib.ones(2,2,dtype=lib.float64))',
    'lib.addmm(lib.zeros(2,2,dtype=lib.float64), lib.ones(2,2,dtype=lib.float32), lib.ones(2,2,dtype=lib.float32))',
    'lib.addmm(lib.zeros(4), lib.randn(2,3,dtype=lib.float64), lib.randn(3,4))',
    'lib.nn.Linear(2, 2)(lib.ones(3, 2, dtype=lib.float64))',
    'lib.nn.Linear(2, 2)(lib.ones(4, 3, 2, dtype=lib.float64))',
    'lib.nn.Linear(2, 2, bias=False)(lib.ones(3, 2, dtype=lib.float64))',
    'lib.ones(2,2,2,dtype=lib.float32) @ lib.ones(1,2,2,dtype=lib.float64, requires_grad=True)',
    # found by running people's scripts: dtype names, integer division, masks, kernels
    "lib.ones(2, 2, dtype=lib.int64) @ lib.ones(2, 2)",
    "lib.ones(2, 2, dtype=lib.int32).mm(lib.ones(2, 2))",
    "lib.ones(2, 2, dtype=lib.float64).mm(lib.ones(2, 2))",
    "lib.tensor([1]) // 0",
    "lib.tensor([1]) % 0",
    "lib.tensor([1]) // lib.tensor([0])",
    "lib.tensor([1, 2]).div(0, rounding_mode='floor')",
    "lib.tensor([1, 2]).div(0, rounding_mode='trunc')",
    "lib.tensor([1]).remainder(lib.tensor([0]))",
    "5 // lib.tensor([0])",
    "lib.ones(3, 2).masked_fill(lib.ones(2, 3) > 0, 1)",
    "lib.ones(2, 3).masked_fill(lib.ones(2) > 0, 1)",
    "lib.softmax(lib.tensor([1, 2]), 0)",
    "lib.log_softmax(lib.tensor([1, 2]), 0)",
    "lib.nn.functional.cross_entropy(lib.ones(2, 3), lib.tensor([0, 3]))",
    # shapes and broadcasting
    "lib.ones(2, 3) + lib.ones(4)",
    "lib.ones(2, 3) * lib.ones(3, 2)",
    "lib.ones(2, 3).mm(lib.ones(2, 3))",
    "lib.ones(2, 3) @ lib.ones(2)",
    "lib.ones(3).mm(lib.ones(3, 2))",
    "lib.ones(2, 3).view(4)",
    "lib.ones(2, 3).reshape(5)",
    "lib.ones(2, 3).expand(3, 3)",
    "lib.cat([lib.ones(2, 3), lib.ones(2, 2)])",
    "lib.stack([lib.ones(2), lib.ones(3)])",
    # dims and indices
    "lib.ones(2, 3).sum(2)",
    "lib.ones(2, 3).sum(-3)",
    "lib.ones(2, 3).size(2)",
    "lib.ones(2, 3).transpose(0, 2)",
    "lib.ones(2, 3)[2]",
    "lib.ones(2, 3)[0, 3]",
    "lib.ones(2, 3)[0, 0, 0]",
    "lib.ones(3)[lib.tensor([0.0])]",
    "lib.ones(2).unsqueeze(3)",
    "lib.tensor(1.0)[0]",
    # conversions
    "lib.ones(2).item()",
    "float(lib.ones(2))",
    "bool(lib.ones(2))",
    "len(lib.tensor(1.0))",
    "lib.ones(2, requires_grad=True).numpy()",
    "lib.tensor([1, 2]).requires_grad_()",
    # autograd
    "lib.ones(2, requires_grad=True).backward()",
    "(lib.ones(2) * 2).sum().backward()",
    "(lib.ones(2, requires_grad=True) * 2).backward(lib.ones(3))",
    "lib.ones(2, requires_grad=True).add_(1)",
    "lib.ones(2, requires_grad=True)[0].add_(1)",
    "lib.autograd.grad(lib.ones(2, requires_grad=True).sum(), lib.ones(2))",
    # dtypes
    "lib.tensor([True]) - lib.tensor([True])",
    "lib.tensor([1]) - lib.tensor([True])",
    "lib.ones(2, dtype=lib.int64).add_(0.5)",
    "lib.ones(2).mm(lib.ones(2, 2, dtype=lib.float64).t())",
    "lib.ones(2, 2).mm(lib.ones(2, 2, dtype=lib.float64))",
    # creation
    "lib.tensor([[1, 2], [3]])",
    "lib.zeros(-1)",
    "lib.arange(0, 5, 0)",
    "lib.ones(2).to(lib.int64).mean()",
]


def error_of(expression, lib):
    try:
        eval(expression, {"lib": lib, "np": np})
    except Exception as err:  # compared below
        return type(err).__name__, str(err)
    return None


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_error_matches_torch(expression):
    theirs = error_of(expression, torch)
    assert theirs is not None, "torch accepts this expression: the table is wrong"
    assert error_of(expression, cr) == theirs


def test_non_cpu_devices_name_the_available_one():
    for make in (lambda: cr.ones(2, device="cuda"), lambda: cr.ones(2).to("mps"),
                 lambda: cr.ones(2).cuda(), lambda: cr.tensor([1.0], device=cr.device("cuda", 0))):
        with pytest.raises(RuntimeError) as err:
            make()
        assert "not available" in str(err.value) and "'cpu'" in str(err.value)
    assert cr.device("cuda").type == "cuda"  # naming a device is fine, as in PyTorch
