"""`Parameter`: a tensor that a Module registers as a learnable weight when assigned to it;
`Buffer`, its non-learned counterpart; and the uninitialized placeholders of lazy modules."""
from __future__ import annotations

import weakref

import numpy as np

from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf tensor that `Module` registers in `parameters()` when assigned as an attribute.

    It shares memory with `data` and requires grad by default::

        >>> w = nn.Parameter(torch.ones(2))
        >>> w
        Parameter containing:
        tensor([1., 1.], requires_grad=True)
    """

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            from ..creation import empty

            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): argument 'data' must be Tensor, not "
                            f"{type(data).__name__}")
        if requires_grad and not data.is_floating_point():
            raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                               "gradients")
        return cls._make(data._data, bool(requires_grad), vc=data._vc)

    def __init__(self, data=None, requires_grad=True):
        pass  # everything is done in __new__ (Tensor.__init__ is the legacy constructor)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self._data.copy(), self._requires_grad))


def _rebuild_parameter(data, requires_grad):
    return Parameter(Tensor._make(data), requires_grad)


class Buffer(Tensor):
    """A tensor that a Module registers as a buffer (state, not learned) when assigned to it.

    PyTorch returns a plain tensor marked as a buffer; chainrule's tensors have no room for the
    mark, so this is a Tensor subclass carrying `persistent` (whether state_dict saves it).

        >>> m = nn.Module(); m.steps = nn.Buffer(torch.zeros(1)); list(m.buffers())
        [tensor([0.])]
    """

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            from ..creation import empty

            data = empty(0)
        buf = cls._make(data._data, data._requires_grad)
        buf.persistent = persistent
        return buf

    def __init__(self, data=None, *, persistent=True):
        pass

    def __repr__(self, *, tensor_contents=None):  # printed as the plain tensor PyTorch returns
        from .._printing import tensor_repr

        return tensor_repr(self, prefix="tensor(", tensor_contents=tensor_contents)


class UninitializedTensorMixin:
    """A placeholder whose shape a lazy module learns at its first forward; `materialize`
    then turns it, in place, into a `cls_to_become` of that shape."""

    __slots__ = ()

    def materialize(self, shape, device=None, dtype=None):
        np_dtype = self._data.dtype if dtype is None else dtype.np
        self._data = np.empty(tuple(shape), dtype=np_dtype)
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error usually "
            "happens in `load_state_dict` when trying to load an uninitialized parameter into "
            "an initialized one. Call `forward` to initialize the parameters before accessing "
            "their attributes.")

    def share_memory_(self):
        raise RuntimeError(
            "Can't share memory on an uninitialized parameter or buffer. Call `forward` to "
            "initialize the parameters before calling `module.share_memory()`.")

    def __repr__(self):
        return f"<{type(self).__name__}>"

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        return (type(self), (self._requires_grad,))

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = type(self)(self._requires_grad, dtype=self.dtype)
        return memo[id(self)]


def is_lazy(param):
    """Whether `param` is an UninitializedParameter or UninitializedBuffer."""
    return isinstance(param, UninitializedTensorMixin)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A Parameter of a shape still unknown (a lazy module's weight before its first forward).

        >>> nn.UninitializedParameter()
        <UninitializedParameter>
    """

    cls_to_become = Parameter

    def __new__(cls, requires_grad=True, device=None, dtype=None):
        from ..creation import empty

        return cls._make(empty(0, dtype=dtype)._data, bool(requires_grad))

    def __init__(self, requires_grad=True, device=None, dtype=None):
        pass


# UninitializedBuffer has no instance dict, so that `materialize` can turn it into a plain
# Tensor; its non-default persistence is kept here instead, keyed by id.
_NON_PERSISTENT = {}


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer of a shape still unknown (a lazy BatchNorm's running_mean before its first
    forward); materialized into a plain Tensor."""

    __slots__ = ()
    cls_to_become = Tensor

    def __new__(cls, requires_grad=False, device=None, dtype=None, persistent=True):
        from ..creation import empty

        buf = cls._make(empty(0, dtype=dtype)._data, bool(requires_grad))
        if not persistent:
            _NON_PERSISTENT[id(buf)] = True
            weakref.finalize(buf, _NON_PERSISTENT.pop, id(buf), None)
        return buf

    def __init__(self, requires_grad=False, device=None, dtype=None, persistent=True):
        pass

    @property
    def persistent(self):
        return id(self) not in _NON_PERSISTENT
