"""Size: the shape of a tensor, a tuple that prints as PyTorch's."""


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
