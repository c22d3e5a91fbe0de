"""Named result tuples (`torch.return_types.max(values=..., indices=...)`)."""
import collections

_cache = {}


def make_return_type(name, fields):
    """A namedtuple class that prints as PyTorch's structseq results."""
    key = (name, tuple(fields))
    if key in _cache:
        return _cache[key]
    base = collections.namedtuple(name, fields)

    def __repr__(self):
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(self._fields, self))
        return f"torch.return_types.{name}(\n{body})"

    cls = type(name, (base,), {"__slots__": (), "__repr__": __repr__, "__str__": __repr__})
    cls.__module__ = "torch.return_types"
    _cache[key] = cls
    globals()[name] = cls
    return cls
