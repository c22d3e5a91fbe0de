"""Tensor: a NumPy array plus the autograd fields. Operators and methods delegate to `ops`,
which installs them (see ops/__init__.py); this file holds only state and the protocol."""
from __future__ import annotations

import warnings
import weakref

import numpy as np

from . import _dtype, _errors
from ._size import Size
from .autograd import grad_mode
from .autograd.graph import grad_accumulator, stale_view_error

_grad_state = grad_mode.state


class _Extra:
    """Rarely used per-tensor state, kept out of the hot path."""

    __slots__ = ("hooks", "post_acc_hooks", "retains_grad", "base", "view_fn", "name",
                 "is_param_like", "__dict__")

    def __init__(self):
        self.hooks = self.post_acc_hooks = self.base = self.view_fn = self.name = None
        self.retains_grad = False


_DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu", "meta", "hip", "xla", "ipu", "mtia", "hpu",
                 "privateuseone")


class device:
    """A device name as PyTorch spells it (`device("cuda:0")` can be made and compared), but
    tensors live only on the CPU: asking for another device in an op is a clear error."""

    __slots__ = ("type", "index")

    def __init__(self, type="cpu", index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        elif isinstance(type, int):
            raise RuntimeError("chainrule has no accelerator: device index "
                               f"{type} does not exist. The only device is 'cpu'.")
        else:
            name, _, number = str(type).partition(":")
            if name not in _DEVICE_TYPES:
                raise RuntimeError(
                    f"Expected one of {', '.join(_DEVICE_TYPES)} device type at start of "
                    f"device string: {type}")
            if number:
                if index is not None:
                    raise RuntimeError("type (string) must not include an index because index "
                                       f"was passed explicitly: {type}")
                index = int(number)
            type = name
        self.type, self.index = type, index

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        # as in PyTorch, a device never equals a string
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self.type, self.index))


def _check_device(dev):
    """Accept None, "cpu", "cpu:0" or a cpu device; refuse every other device clearly."""
    if dev is None:
        return "cpu"
    name = dev.type if isinstance(dev, device) else str(dev)
    if name.split(":")[0] == "cpu":
        return "cpu"
    raise RuntimeError(
        f"chainrule runs on the CPU only: device '{dev}' is not available. "
        "The only device is 'cpu' (tensors live in NumPy arrays).")


CPU = device("cpu")
_float_of_requires_grad_warned = False


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    `data` is the value, `grad` the gradient that backward accumulates, `grad_fn` the node that
    produced it (None for leaves). Create tensors with `chainrule.tensor(...)`.
    """

    __slots__ = ("_data", "_grad", "_grad_fn", "_requires_grad", "_vc", "_nr", "_acc", "_extra",
                 "__weakref__")
    __array_priority__ = 1000  # NumPy defers to our operators: `np_array * t` gives a Tensor

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def _make(cls, data, requires_grad=False, vc=None):
        t = object.__new__(cls)
        t._data = data
        t._grad = t._grad_fn = t._acc = t._extra = None
        t._requires_grad = requires_grad
        t._vc = [0] if vc is None else vc
        t._nr = 0
        return t

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, device=None, dtype=None):
        """Legacy constructor: `Tensor([1., 2.])` copies data as the default float dtype,
        `Tensor(2, 3)` / `Tensor(size)` allocate, `Tensor(t)` aliases `t`."""
        _check_device(device)
        default_np = (_dtype.as_dtype(dtype) if dtype is not None else
                      _dtype.get_default_dtype()).np
        self._grad = self._grad_fn = self._acc = self._extra = None
        self._requires_grad = False
        self._nr = 0
        self._vc = [0]
        if len(args) == 1 and isinstance(args[0], Tensor):
            self._data, self._vc = args[0]._data, args[0]._vc  # an alias, as in PyTorch
            return
        if len(args) == 1 and not isinstance(args[0], (int, np.integer, Size)):
            src = args[0]
            if isinstance(src, str):
                raise TypeError("new(): invalid data type 'str'")
            if not isinstance(src, (list, tuple, np.ndarray)):
                raise TypeError(f"new(): data must be a sequence (got {type(src).__name__})")
            data = np.array(src, dtype=default_np)
        else:
            shape = args[0] if len(args) == 1 and isinstance(args[0], tuple) else args
            # PyTorch leaves the memory uninitialized; zeros are a valid choice of garbage
            data = np.zeros(tuple(int(s) for s in shape) if args else (0,), dtype=default_np)
        self._data = data

    def new(self, *args, device=None):
        """Legacy `x.new(...)`: the legacy constructor, with x's dtype."""
        return type(self)(*args, device=device, dtype=self.dtype)

    def _ensure_extra(self) -> _Extra:
        if self._extra is None:
            self._extra = _Extra()
        return self._extra

    # -- value ---------------------------------------------------------------------------------
    @property
    def data(self):
        """The value without history. Shares memory but not the version counter (as PyTorch)."""
        return Tensor._make(self._data)

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(value).__name__}")
        old, self._data = self._data, value._data
        if self._acc is not None and (old.dtype, old.shape) != (value._data.dtype,
                                                                value._data.shape):
            self._acc = None  # a graph still alive keeps the old sink; new graphs get a fresh one

    @property
    def shape(self):
        return Size(self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_errors.normalize_dim(dim, self._data.ndim)]

    @property
    def dtype(self):
        return _dtype._FROM_NP[self._data.dtype]

    @property
    def device(self):
        return CPU

    @property
    def is_cuda(self):
        return False

    @property
    def layout(self):
        return "torch.strided"

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    ndimension = dim

    def numel(self):
        return self._data.size

    nelement = numel

    def element_size(self):
        return self._data.itemsize

    def is_floating_point(self):
        return self._data.dtype.kind == "f"

    def is_complex(self):
        return False

    def is_contiguous(self, memory_format=None):
        return self._data.flags.c_contiguous

    def data_ptr(self):
        return self._data.__array_interface__["data"][0]

    def stride(self, dim=None):
        strides = tuple(s // self._data.itemsize for s in self._data.strides)
        return strides if dim is None else strides[_errors.normalize_dim(dim, self._data.ndim)]

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.reshape(()).item()

    def tolist(self):
        return self._data.tolist()

    def numpy(self, *, force=False):
        if self._requires_grad and not force:
            raise RuntimeError(_errors.NUMPY_REQUIRES_GRAD)
        return self._data

    def __array__(self, dtype=None, copy=None):
        if self._requires_grad:
            raise RuntimeError(_errors.NUMPY_REQUIRES_GRAD)
        return self._data if dtype is None else self._data.astype(dtype)

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def _python_scalar(self):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self._data.reshape(()).item()

    def __float__(self):
        global _float_of_requires_grad_warned
        if self._requires_grad and _grad_state.enabled and not _float_of_requires_grad_warned:
            _float_of_requires_grad_warned = True  # PyTorch warns once per process
            warnings.warn(_errors.FLOAT_OF_REQUIRES_GRAD_WARNING, UserWarning, stacklevel=2)
        return float(self._python_scalar())

    def __int__(self):
        return int(self._python_scalar())

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            amount = "no values" if self._data.size == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {amount} is ambiguous")
        return bool(self._data.reshape(()))

    def __complex__(self):
        return complex(self.item())

    def __hash__(self):
        return id(self)

    def __format__(self, spec):
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __repr__(self, *, tensor_contents=None):
        from ._printing import tensor_repr

        # PyTorch prints subclasses under their own name; Parameter prints as a plain tensor
        kind = type(self)
        plain = kind is Tensor or kind.__name__ == "Parameter"
        prefix = "tensor(" if plain else f"{kind.__name__}("
        return tensor_repr(self, prefix=prefix, tensor_contents=tensor_contents)

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        return (_rebuild, (self._data.copy(), self._requires_grad and self.is_leaf))

    def __deepcopy__(self, memo):
        if not self.is_leaf:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment.")
        new = type(self)._make(self._data.copy(), self._requires_grad)
        if type(self) is not Tensor:
            new = _copy_subclass(self, new)
        if self._grad is not None:
            new._grad = Tensor._make(self._grad._data.copy())
        memo[id(self)] = new
        return new

    # -- autograd fields -----------------------------------------------------------------------
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        self._set_requires_grad(flag, _errors.REQUIRES_GRAD_SETTER)

    def requires_grad_(self, requires_grad=True):
        """Set requires_grad in place (leaves only) and return self."""
        return self._set_requires_grad(requires_grad, _errors.REQUIRES_GRAD_METHOD)

    def _set_requires_grad(self, requires_grad, int_dtype_message):
        """PyTorch words the integer-dtype refusal differently for the setter, the method and
        factories (`tensor(..., requires_grad=True)`), so the caller passes its message."""
        if self._grad_fn is not None:
            if not requires_grad:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want to "
                    "use a computed variable in a subgraph that doesn't require differentiation "
                    "use var_no_grad = var.detach().")
            return self
        if requires_grad and self._data.dtype.kind != "f":
            raise RuntimeError(int_dtype_message)
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def grad_fn(self):
        if _graph.forward_ad_record is not None:
            _settle_forward_ad()
        if self._grad_fn is None and self._requires_grad and self._extra is not None:
            stale_view_error(self._extra, self._vc[0])
        return self._grad_fn

    @property
    def _base(self):
        """The tensor this one is a view of (through any chain of views), or None."""
        return self._extra.base if self._extra is not None else None

    def _is_view(self):
        return self._base is not None

    @property
    def is_leaf(self):
        if _graph.forward_ad_record is not None:
            _settle_forward_ad()
        if self._grad_fn is None and self._requires_grad and self._extra is not None:
            stale_view_error(self._extra, self._vc[0])
        return self._grad_fn is None

    @property
    def output_nr(self):
        return self._nr

    @property
    def _version(self):
        return self._vc[0]

    @property
    def grad(self):
        if self._grad_fn is not None and self._grad is None and not self.retains_grad:
            warnings.warn(_errors.NON_LEAF_GRAD_WARNING, UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(
                    f"assigned grad expected to be a Tensor or None but got grad of type "
                    f"{type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise RuntimeError(
                    f"attempting to assign a gradient of size '{list(value._data.shape)}' to a "
                    f"tensor of size '{list(self._data.shape)}'. Please ensure that the gradient "
                    "and the tensor are the same size")
            if value._data.dtype != self._data.dtype:
                raise RuntimeError(_errors.grad_dtype_mismatch(value.dtype, self.dtype))
        self._grad = value

    @grad.deleter
    def grad(self):
        self._grad = None

    @property
    def retains_grad(self):
        return self._extra is not None and self._extra.retains_grad

    def retain_grad(self):
        """Keep `.grad` for this non-leaf tensor after backward (no-op on leaves)."""
        if self._grad_fn is None:
            if not self._requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        extra = self._ensure_extra()
        if extra.retains_grad:
            return
        extra.retains_grad = True
        node = self._grad_fn
        if node._tensor_hooks is None:
            node._tensor_hooks = []
        node._tensor_hooks.append((self._nr, weakref.ref(self), True))

    def register_hook(self, hook):
        """hook(grad) -> Tensor or None runs when this tensor's gradient is computed."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        from .autograd.graph import _RemovableHandle

        if self._grad_fn is None:
            extra = self._ensure_extra()
            if extra.hooks is None:
                extra.hooks = []
            extra.hooks.append(hook)
            grad_accumulator(self)  # keep the node alive with the tensor's graph uses
            return _RemovableHandle(extra.hooks, hook)
        node = self._grad_fn
        if node._tensor_hooks is None:
            node._tensor_hooks = []
        entry = (self._nr, hook, False)
        node._tensor_hooks.append(entry)
        return _RemovableHandle(node._tensor_hooks, entry)

    def register_post_accumulate_grad_hook(self, hook):
        """hook(tensor) runs after a backward has accumulated into this leaf's `.grad`."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        from .autograd.graph import _RemovableHandle

        extra = self._ensure_extra()
        if extra.post_acc_hooks is None:
            extra.post_acc_hooks = []
        extra.post_acc_hooks.append(hook)
        return _RemovableHandle(extra.post_acc_hooks, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` (see autograd.backward)."""
        data = self._data
        if (gradient is None and inputs is None and not create_graph and data.size == 1
                and self._grad_fn is not None and data.dtype.kind == "f"):
            # `loss.backward()`, the call every training step makes: seed with 1 directly.
            _engine.execute([(self._grad_fn, self._nr)], [np.ones(data.shape, data.dtype)],
                            retain_graph=bool(retain_graph), create_graph=False)
            return
        from .autograd import backward

        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def detach(self):
        """Same values and memory, cut from the graph (shares the version counter)."""
        out = Tensor._make(self._data, vc=self._vc)
        return out

    def detach_(self):
        if self._extra is not None and self._extra.base is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self._grad_fn = None
        self._requires_grad = False
        self._nr = 0
        return self

    # -- device and dtype conversion (the differentiable cast lives in ops) ------------------------
    def cpu(self):
        return self

    def cuda(self, *args, **kwargs):
        _check_device("cuda")

    def is_inference(self):
        return False

    def type(self, dtype=None):
        if dtype is None:
            return "torch." + self.dtype._torch_name
        if isinstance(dtype, str):
            name = dtype.rsplit(".", 1)[-1]
            dtype = next(d for d in _dtype.ALL if d._torch_name == name)
        return self.to(dtype)


def _rebuild(data, requires_grad):
    return Tensor._make(data, requires_grad)


def _copy_subclass(src, new):
    new.__dict__.update(getattr(src, "__dict__", {}))
    return new


from .autograd import engine as _engine, graph as _graph  # noqa: E402

_graph.Tensor = Tensor  # the engine makes `.grad` tensors (see autograd/graph.py)


def _settle_forward_ad():
    """Finish the tangents still being computed, which detaches their helper nodes."""
    from .autograd.forward_ad import _resolve_pending

    _resolve_pending()
