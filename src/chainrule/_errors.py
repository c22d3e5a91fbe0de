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
    for i, (x, y) in enumerate(zip(a2, b2)):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            raise RuntimeError(
                f"The size of tensor a ({x}) must match the size of tensor b ({y}) "
                f"at non-singleton dimension {i}")
    return tuple(out)


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


def no_grad_fn(index):
    return RuntimeError(
        f"element {index} of tensors does not require grad and does not have a grad_fn")


def requires_float(dtype):
    return RuntimeError("Only Tensors of floating point and complex dtype can require gradients")


def cast_error(result_dtype, out_dtype):
    names = {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int",
             "bool": "Bool", "float16": "Half", "int16": "Short", "int8": "Char",
             "uint8": "Byte"}
    return RuntimeError(f"result type {names[result_dtype.name]} can't be cast to the desired "
                        f"output type {names[out_dtype.name]}")
