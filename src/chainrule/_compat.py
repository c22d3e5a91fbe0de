"""PyTorch names that are aliases, trivial forms or settings of what chainrule already has.

`install(namespace, Tensor)` adds them to the `chainrule` namespace and to Tensor. Nothing here
computes anything new; each entry says which existing op it stands for. Checked against torch
by tests/test_compat_names.py.
"""
from __future__ import annotations

import warnings

import numpy as np

# torch.X(input, ...) that are nn.functional.X with the same arguments
FUNCTIONAL = ("max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "adaptive_avg_pool1d",
              "adaptive_max_pool1d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "pixel_shuffle", "pixel_unshuffle", "pdist",
              "cosine_similarity", "pairwise_distance", "prelu", "selu", "celu", "rrelu",
              "hardshrink", "bilinear", "rms_norm", "alpha_dropout", "feature_alpha_dropout",
              "group_norm")
ALIASES = {"greater": "gt", "greater_equal": "ge", "less": "lt", "less_equal": "le",
           "not_equal": "ne", "trapz": "trapezoid", "ger": "outer", "vdot": "dot",
           "split_with_sizes": "split", "unsafe_split": "split", "unsafe_chunk": "chunk",
           "unsafe_split_with_sizes": "split"}
# in-place metadata changes, and the name PyTorch gives the node of the in-place form
INPLACE_VIEWS = {"unsqueeze_": ("unsqueeze", "UnsqueezeBackward1"),
                 "t_": ("t", "TBackward1"), "transpose_": ("transpose", "TransposeBackward1"),
                 "swapaxes_": ("transpose", "TransposeBackward1"),
                 "swapdims_": ("transpose", "TransposeBackward1")}

INPLACE_FUNCTIONS = (
    "abs_ acos_ acosh_ addmv_ arccos_ arccosh_ arcsin_ arcsinh_ arctan_ arctanh_ asin_ asinh_ "
    "atan_ atanh_ ceil_ clamp_ clamp_max_ clamp_min_ clip_ cos_ cosh_ deg2rad_ detach_ erf_ "
    "erfc_ exp2_ exp_ expm1_ fill_ fix_ floor_ frac_ gcd_ i0_ index_put_ lcm_ ldexp_ log10_ "
    "log1p_ log2_ log_ logit_ nan_to_num_ neg_ negative_ rad2deg_ reciprocal_ relu_ resize_as_ "
    "round_ rsqrt_ sigmoid_ sin_ sinc_ sinh_ sqrt_ square_ tan_ tanh_ trunc_ xlogy_ "
    "zero_").split()

_settings = {"matmul_precision": "highest", "deterministic_debug_mode": 0, "warn_always": False}


def install(ns, Tensor):
    from .nn import functional as F

    for name in FUNCTIONAL:
        if hasattr(F, name):
            ns.setdefault(name, getattr(F, name))
    for name, target in ALIASES.items():
        if target in ns:
            ns.setdefault(name, ns[target])
        if hasattr(Tensor, target) and not hasattr(Tensor, name):
            setattr(Tensor, name, getattr(Tensor, target))
    for name in ("greater", "greater_equal", "less", "less_equal", "not_equal"):
        inplace = getattr(Tensor, ALIASES[name] + "_", None)
        if inplace is not None and not hasattr(Tensor, name + "_"):
            setattr(Tensor, name + "_", inplace)
    for method in INPLACE_FUNCTIONS:  # torch.exp_(t) is t.exp_()
        if hasattr(Tensor, method) and method not in ns:
            ns[method] = _calling(method)
    for name, (view, node_name) in INPLACE_VIEWS.items():
        setattr(Tensor, name, _inplace_view(view, node_name))
    Tensor.squeeze_ = _inplace_squeeze
    for name, value in _module_functions().items():
        ns.setdefault(name, value)
    ns["use_deterministic_algorithms"] = use_deterministic_algorithms
    for name, value in _tensor_methods().items():
        if not hasattr(Tensor, name):
            setattr(Tensor, name, value)


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Recorded for the getters; NumPy's CPU kernels are deterministic anyway."""
    _settings["deterministic"], _settings["deterministic_warn_only"] = bool(mode), warn_only


def _calling(method):
    def fn(input, *args, **kwargs):
        return getattr(input, method)(*args, **kwargs)

    fn.__name__ = method
    return fn


def _rename_node(t, node_name):
    node = t._grad_fn
    if node is not None and type(node).__name__ != node_name:
        node.__class__ = _renamed(type(node), node_name)


_RENAMED = {}


def _renamed(cls, name):
    """A subclass of `cls` named `name` (the in-place form's node: same backward)."""
    key = (cls, name)
    if key not in _RENAMED:
        _RENAMED[key] = type(name, (cls,), {"__slots__": ()})
    return _RENAMED[key]


def _inplace_view(view, node_name):
    def fn(self, *args, **kwargs):
        from .ops.inplace import check_inplace

        check_inplace(self, overlap=False)
        new = getattr(type(self), view)(self, *args, **kwargs)
        self._data = new._data
        if new._grad_fn is not None:
            self._grad_fn, self._nr = new._grad_fn, new._nr
            _rename_node(self, node_name)
        self._vc[0] += 1
        return self

    fn.__name__ = view + "_"
    return fn


def _inplace_squeeze(self, dim=None):
    node_name = "SqueezeBackward3" if dim is None else "SqueezeBackward4"
    fn = _inplace_view("squeeze", node_name)
    return fn(self) if dim is None else fn(self, dim)


# -- functions ------------------------------------------------------------------------------
def _module_functions():
    from . import creation, _dtype
    from .autograd import anomaly

    def trapezoid(y, x=None, *, dx=None, dim=-1):
        """The trapezoid rule along `dim`, with sample points `x` or spacing `dx` (default 1)."""
        n = y.shape[dim]
        lo, hi = y.narrow(dim, 0, n - 1), y.narrow(dim, 1, n - 1)
        if x is not None:
            step = x.diff(dim=dim) if x.dim() > 1 else x.diff()
            return ((lo + hi) * step).sum(dim) / 2
        return (lo + hi).sum(dim) * ((1.0 if dx is None else dx) / 2)

    def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
        n = y.shape[dim]
        lo, hi = y.narrow(dim, 0, n - 1), y.narrow(dim, 1, n - 1)
        if x is not None:
            step = x.diff(dim=dim) if x.dim() > 1 else x.diff()
            return ((lo + hi) * step / 2).cumsum(dim)
        return ((lo + hi) * ((1.0 if dx is None else dx) / 2)).cumsum(dim)

    def gradient(input, *, spacing=1, dim=None, edge_order=1):
        """Central differences inside, one-sided (first or second order) at the edges, on a
        uniform grid: the finite differences of the lectures, along each dim."""
        from .ops.shape import cat

        dims = range(input.dim()) if dim is None else ([dim] if isinstance(dim, int) else dim)
        out = []
        for k, d in enumerate(dims):
            h = spacing[k] if isinstance(spacing, (list, tuple)) else spacing
            if hasattr(h, "dim") and h.dim() > 0:
                raise NotImplementedError("torch.gradient with coordinate tensors as spacing")
            h = float(h)
            n = input.shape[d]
            if n < edge_order + 1:
                raise RuntimeError("torch.gradient expected each dimension size to be at least "
                                   "edge_order+1")
            at = lambda i, m=1: input.narrow(d, i % n, m)  # noqa: E731
            inner = (input.narrow(d, 2, n - 2) - input.narrow(d, 0, n - 2)) / (2 * h)
            if edge_order == 1:
                first, last = (at(1) - at(0)) / h, (at(-1) - at(-2)) / h
            else:
                first = (at(0) * -3 + at(1) * 4 - at(2)) / (2 * h)
                last = (at(-1) * 3 - at(-2) * 4 + at(-3)) / (2 * h)
            out.append(cat([first, inner, last], d))
        return tuple(out)

    def unravel_index(indices, shape):
        idx = indices._data if hasattr(indices, "_data") else np.asarray(indices)
        return tuple(creation.tensor(np.asarray(a, dtype=np.int64))
                     for a in np.unravel_index(idx, tuple(shape)))

    def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False, **kwargs):
        return creation.tensor(float(s), dtype=dtype or _dtype.get_default_dtype(),
                               requires_grad=requires_grad)

    def real(input):
        return input  # real tensors are their own real part (PyTorch returns the input)

    def imag(input):
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")

    def typename(obj):
        if hasattr(obj, "_data") and hasattr(obj, "type"):
            return obj.type()
        return type(obj).__name__ if type(obj).__module__ == "builtins" else \
            f"{type(obj).__module__}.{type(obj).__qualname__}"

    def set_default_tensor_type(t):
        warnings.warn("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please "
                      "use torch.set_default_dtype() and torch.set_default_device() as "
                      "alternatives.", UserWarning, stacklevel=2)
        name = t if isinstance(t, str) else getattr(t, "__name__", str(t))
        kinds = {"FloatTensor": "float32", "DoubleTensor": "float64", "HalfTensor": "float16"}
        kind = next((v for k, v in kinds.items() if name.endswith(k)), None)
        if kind is None:
            raise TypeError("only floating-point types are supported as the default type")
        _dtype.set_default_dtype(_dtype.as_dtype(kind))

    def set_float32_matmul_precision(precision):
        if precision not in ("highest", "high", "medium"):
            raise RuntimeError(f"Invalid precision value: {precision}")
        _settings["matmul_precision"] = precision  # NumPy's float32 matmul is always "highest"

    def set_deterministic_debug_mode(mode):
        names = {"default": 0, "warn": 1, "error": 2}
        _settings["deterministic_debug_mode"] = names.get(mode, mode)

    def set_warn_always(b):
        _settings["warn_always"] = bool(b)

    def is_same_size(a, b):
        return tuple(a.shape) == tuple(b.shape)

    return {
        "trapezoid": trapezoid, "trapz": trapezoid, "cumulative_trapezoid": cumulative_trapezoid,
        "gradient": gradient, "unravel_index": unravel_index, "scalar_tensor": scalar_tensor,
        "real": real, "imag": imag, "resolve_conj": real, "resolve_neg": real,
        "conj_physical": real, "is_conj": lambda t: False, "is_neg": lambda t: False,
        "is_signed": lambda t: t.is_signed(), "is_inference": lambda t: t.is_inference(),
        "is_same_size": is_same_size, "get_device": lambda t: -1, "typename": typename,
        "set_default_tensor_type": set_default_tensor_type,
        "set_float32_matmul_precision": set_float32_matmul_precision,
        "get_float32_matmul_precision": lambda: _settings["matmul_precision"],
        "set_deterministic_debug_mode": set_deterministic_debug_mode,
        "get_deterministic_debug_mode": lambda: _settings["deterministic_debug_mode"],
        "set_warn_always": set_warn_always,
        "is_warn_always_enabled": lambda: _settings["warn_always"],
        "set_flush_denormal": lambda mode: False,  # NumPy cannot set it: "not supported"
        "are_deterministic_algorithms_enabled": lambda: _settings.get("deterministic", False),
        "is_deterministic_algorithms_warn_only_enabled":
            lambda: _settings.get("deterministic_warn_only", False),
        "is_anomaly_enabled": anomaly.is_anomaly_enabled,
        "is_anomaly_check_nan_enabled": anomaly.is_anomaly_check_nan_enabled,
        "set_anomaly_enabled": anomaly.set_detect_anomaly,
    }


def _tensor_methods():
    def untyped_storage(self):
        return UntypedStorage(self, typed=False)

    def storage(self):
        warnings.warn("TypedStorage is deprecated. It will be removed in the future and "
                      "UntypedStorage will be the only storage class. This should only matter "
                      "to you if you are using storages directly.  To access UntypedStorage "
                      "directly, use tensor.untyped_storage() instead of tensor.storage()",
                      UserWarning, stacklevel=2)
        return TypedStorage(self, typed=True)

    def dim_order(self, *, ambiguity_check=False):
        strides = self._data.strides
        return tuple(sorted(range(self._data.ndim), key=lambda d: -strides[d]))

    def resize_(self, *sizes, memory_format=None):
        if self._requires_grad:
            raise RuntimeError("cannot resize variables that require grad")
        shape = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) \
            else tuple(sizes)
        flat = self._data.reshape(-1)
        data = np.zeros(int(np.prod(shape)), self._data.dtype)
        data[:min(flat.size, data.size)] = flat[:data.size]
        self._data = data.reshape(shape)
        self._vc[0] += 1
        return self

    def resize_as_(self, other, memory_format=None):
        return resize_(self, tuple(other.shape))

    def new_empty_strided(self, size, stride, *, dtype=None, device=None, requires_grad=False,
                          **kwargs):
        return self.new_empty(size, dtype=dtype, requires_grad=requires_grad)

    methods = {"untyped_storage": untyped_storage, "storage": storage, "dim_order": dim_order,
               "resize_": resize_, "resize_as_": resize_as_,
               "new_empty_strided": new_empty_strided,
               "get_device": lambda self: -1,
               "is_same_size": lambda self, other: tuple(self.shape) == tuple(other.shape),
               "const_data_ptr": lambda self: self.data_ptr()}
    for flag in ("is_xpu", "is_mps", "is_ipu", "is_xla", "is_mtia", "is_vulkan", "is_maia",
                 "is_sparse_csr"):
        methods[flag] = property(lambda self: False)
    from . import linalg
    methods["cholesky_solve"] = lambda self, L, upper=False: linalg.cholesky_solve(self, L, upper)
    methods["cholesky_inverse"] = lambda self, upper=False: linalg.cholesky_inverse(self, upper)
    methods["triangular_solve"] = lambda self, A, upper=True, transpose=False, \
        unitriangular=False: linalg.triangular_solve(self, A, upper, transpose, unitriangular)
    return methods


class _Storage:
    """What `t.untyped_storage()` / `t.storage()` show: the memory a tensor and its views share
    (the NumPy buffer at the root of the view chain)."""

    def __init__(self, tensor, typed):
        root = tensor._data
        while isinstance(root.base, np.ndarray):
            root = root.base
        self._root, self._typed, self._dtype = root, typed, tensor.dtype

    def data_ptr(self):
        return self._root.__array_interface__["data"][0]

    def nbytes(self):
        return self._root.nbytes

    def element_size(self):
        return self._root.itemsize if self._typed else 1

    def size(self):
        return self._root.size if self._typed else self._root.nbytes

    def __len__(self):
        return self.size()

    def tolist(self):
        return self._root.reshape(-1).tolist() if self._typed else \
            list(self._root.reshape(-1).view(np.uint8))

    def __getitem__(self, i):
        return self.tolist()[i]

    def __iter__(self):
        return iter(self.tolist())

    @property
    def dtype(self):
        return self._dtype if self._typed else None

    @property
    def device(self):
        from .tensor import device

        return device("cpu")

    def __repr__(self):
        kind = (f"torch.storage.TypedStorage(dtype={self._dtype}, device=cpu)" if self._typed
                else "torch.storage.UntypedStorage(device=cpu)")
        body = "\n".join(f" {v}" for v in self.tolist())
        return f"{body}\n[{kind} of size {self.size()}]"


class TypedStorage(_Storage):
    pass


class UntypedStorage(_Storage):
    pass
