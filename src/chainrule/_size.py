"""Size: the shape of a tensor, a tuple that prints as PyTorch's."""

import numpy as np


class Size(tuple):
    """`torch.Size([2, 3])`; compares equal to plain tuples."""

    __slots__ = ()

    def __new__(cls, dims=()):
        return tuple.__new__(cls, (int(d) for d in dims))

    def __repr__(self):
        return "torch.Size([" + ", ".join(str(d) for d in self) + "])"

    __str__ = __repr__

    def numel(self):
        n = 1
        for d in self:
            n *= d
        return n

    def __getitem__(self, item):
        out = tuple.__getitem__(self, item)
        return Size(out) if isinstance(item, slice) else out

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))

    def __reduce__(self):
        return (Size, (tuple(self),))


class memory_format:
    """A tensor memory layout name (`chainrule.contiguous_format`...), as PyTorch exposes them."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"torch.{self.name}"

    def __reduce__(self):
        return (memory_format, (self.name,))


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")


def like_array(array, dtype, fmt=None):
    """An uninitialised array for `*_like(input)`: PyTorch's preserve_format keeps the input's
    layout (order of strides) unless it has broadcast (zero) strides; otherwise row-major."""
    if fmt is contiguous_format or array.flags.c_contiguous or any(
            st == 0 and n > 1 for st, n in zip(array.strides, array.shape)):
        return np.empty(array.shape, dtype)
    return np.empty_like(array, dtype=dtype, order="K")
