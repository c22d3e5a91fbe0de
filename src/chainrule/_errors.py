"""Error messages in PyTorch's words, in one place."""
from __future__ import annotations


def size_str(shape) -> str:
    return "torch.Size([" + ", ".join(str(s) for s in shape) + "])"


def broadcastable_to(small, big) -> bool:
    if len(small) > len(big):
        return False
    for s, b in zip(reversed(small), reversed(big)):
        if s != b and s != 1:
            return False
    return True


def broadcast_shapes(a, b):
    """The broadcast shape of `a` and `b`, or PyTorch's error naming the mismatched dimension."""
    if a == b:
        return a
    n = max(len(a), len(b))
    a2 = (1,) * (n - len(a)) + tuple(a)
    b2 = (1,) * (n - len(b)) + tuple(b)
    out = []
    for i in range(n - 1, -1, -1):  # PyTorch reports the last mismatched dim
        x, y = a2[i], b2[i]
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            raise RuntimeError(
                f"The size of tensor a ({x}) must match the size of tensor b ({y}) "
                f"at non-singleton dimension {i}")
    return tuple(reversed(out))


def dim_out_of_range(dim, ndim):
    lo, hi = (-ndim, ndim - 1) if ndim > 0 else (-1, 0)
    return IndexError(
        f"Dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})")


def normalize_dim(dim, ndim) -> int:
    """Wrap a negative dim; 0-dim tensors accept dims -1 and 0, as in PyTorch."""
    n = ndim if ndim > 0 else 1
    if not -n <= dim < n:
        raise dim_out_of_range(dim, ndim)
    return dim + n if dim < 0 else dim


def normalize_dims(dims, ndim) -> tuple:
    if isinstance(dims, int):
        dims = (dims,)
    out = tuple(normalize_dim(d, ndim) for d in dims)
    if len(set(out)) != len(out):
        raise RuntimeError(f"dim {out[0]} appears multiple times in the list of dims")
    return out


LEAF_INPLACE = "a leaf Variable that requires grad is being used in an in-place operation."
VIEW_OF_LEAF_INPLACE = ("a view of a leaf Variable that requires grad is being used in an "
                        "in-place operation.")
NUMPY_REQUIRES_GRAD = ("Can't call numpy() on Tensor that requires grad. "
                       "Use tensor.detach().numpy() instead.")
SCALAR_GRAD = "grad can be implicitly created only for scalar outputs"
NON_LEAF_GRAD_WARNING = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad field "
    "to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you "
    "access the non-leaf Tensor by mistake, make sure you access the leaf Tensor instead. See "
    "github.com/pytorch/pytorch/pull/30531 for more information. (Triggered internally at "
    "/__w/pytorch/pytorch/build/aten/src/ATen/core/TensorBody.h:493.)"
)

CREATE_GRAPH_CYCLE_WARNING = (
    "Using backward() with create_graph=True will create a reference cycle between the "
    "parameter and its gradient which can cause a memory leak. We recommend using autograd.grad "
    "when creating the graph to avoid this. If you have to use this function, make sure to "
    "reset the .grad fields of your parameters to None after use to break the cycle and avoid "
    "the leak. (Triggered internally at "
    "/__w/pytorch/pytorch/torch/csrc/autograd/engine.cpp:1307.)"
)

FLOAT_OF_REQUIRES_GRAD_WARNING = (
    "Converting a tensor with requires_grad=True to a scalar may lead to unexpected behavior.\n"
    "Consider using tensor.detach() first. (Triggered internally at "
    "/__w/pytorch/pytorch/torch/csrc/autograd/generated/python_variable_methods.cpp:822.)"
)


def no_grad_fn(index):
    return RuntimeError(
        f"element {index} of tensors does not require grad and does not have a grad_fn")


# The same refusal, worded three ways by PyTorch: factories, the setter, requires_grad_().
REQUIRES_GRAD_FACTORY = "Only Tensors of floating point and complex dtype can require gradients"
REQUIRES_GRAD_SETTER = "only Tensors of floating point and complex dtype can require gradients"
REQUIRES_GRAD_METHOD = "only Tensors of floating point dtype can require gradients"


def requires_float(dtype=None):
    return RuntimeError(REQUIRES_GRAD_FACTORY)


SCALAR_TYPE_NAMES = {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int",
                     "bool": "Bool", "float16": "Half", "int16": "Short", "int8": "Char",
                     "uint8": "Byte"}
# The C++ element type names PyTorch prints in some messages.
CPP_TYPE_NAMES = {"float32": "float", "float64": "double", "int64": "long int", "int32": "int",
                  "bool": "bool", "float16": "c10::Half", "int16": "short int",
                  "int8": "signed char", "uint8": "unsigned char"}


def cast_error(result_dtype, out_dtype):
    return RuntimeError(f"result type {SCALAR_TYPE_NAMES[result_dtype.name]} can't be cast to "
                        f"the desired output type {SCALAR_TYPE_NAMES[out_dtype.name]}")


def grad_dtype_mismatch(grad_dtype, tensor_dtype):
    return RuntimeError(
        f"attempting to assign a gradient with dtype '{CPP_TYPE_NAMES[grad_dtype.name]}' to a "
        f"tensor with grad_dtype '{SCALAR_TYPE_NAMES[tensor_dtype.name]}'. The gradient must "
        "match the tensor's grad_dtype (defaults to the tensor's dtype). You can set the "
        "tensor's grad_dtype attribute with a specific dtype, or None to allow any dtype. Set "
        "grad_dtype with caution. Diverging the dtypes of a tensor and its gradient may break "
        "downstream systems that assume they match.")
