"""chainrule: reverse-mode automatic differentiation over NumPy with PyTorch's API.

    import chainrule as torch
    w = torch.tensor([1.0], requires_grad=True)
    loss = (w * 2.0 - 4.0) ** 2
    loss.backward()
    w.grad            # tensor([-8.])
"""
from __future__ import annotations

__version__ = "0.1.0"

import warnings as _warnings

# PyTorch computes inf/nan silently; NumPy warns. Silence NumPy's floating-point warnings raised
# from chainrule's own modules only (user code keeps its NumPy warnings).
_warnings.filterwarnings("ignore", message=r".*encountered in", category=RuntimeWarning,
                         module=r"chainrule(\.|$)")
_warnings.filterwarnings("ignore", message=r"Mean of empty slice|Degrees of freedom",
                         category=RuntimeWarning, module=r"chainrule(\.|$)")

from . import _dtype
from ._dtype import (float32, float64, float16, int64, int32, int16, int8, uint8,  # noqa: F401
                     get_default_dtype, set_default_dtype, dtype)
from ._size import Size  # noqa: F401
from .tensor import Tensor, device  # noqa: F401
from . import autograd  # noqa: F401
from .autograd import (no_grad, enable_grad, set_grad_enabled, inference_mode,  # noqa: F401
                       is_grad_enabled, is_inference_mode_enabled)
from . import ops as _ops
from .ops import *  # noqa: F401,F403
from .ops.shape import diagonal_ as diagonal  # noqa: F401
from .ops.pointwise import clamp as clip  # noqa: F401
from .creation import (tensor, as_tensor, asarray, from_numpy, zeros, ones, empty, full,  # noqa
                       eye, zeros_like, ones_like, empty_like, full_like, arange, linspace,
                       logspace, meshgrid, FloatTensor, DoubleTensor, LongTensor, IntTensor,
                       BoolTensor, ByteTensor, HalfTensor)
from .creation import range_ as range  # noqa: F401
from .random import (manual_seed, seed, initial_seed, get_rng_state, set_rng_state,  # noqa
                     Generator, default_generator, rand, randn, randint, randperm, rand_like,
                     randn_like, randint_like, normal, bernoulli, multinomial)
from ._printing import set_printoptions, get_printoptions  # noqa: F401
from . import return_types  # noqa: F401
from . import nn, optim, utils, cuda, backends, testing  # noqa: F401
from .serialization import save, load  # noqa: F401
from .autograd.math import TENSOR_MATH as _TENSOR_MATH

bool = _dtype.bool_
float = float32
double = float64
half = float16
long = int64
int = int32
short = int16
cfloat = None
strided = "torch.strided"
from ._size import (memory_format, contiguous_format, preserve_format,  # noqa: E402,F401
                    channels_last, channels_last_3d)
inf = __import__("math").inf
nan = __import__("math").nan
pi = __import__("math").pi
e = __import__("math").e

_TENSOR_MATH.bind()
autograd.diagnose.set_leak_warning(True)  # warns once about `total_loss += loss`


def is_tensor(obj):
    return isinstance(obj, Tensor)


def is_floating_point(t):
    return t.is_floating_point()


def numel(t):
    return t.numel()


def result_type(a, b):
    return _dtype.result_type(a, b)


def promote_types(a, b):
    return _dtype.promote(a, b)


def can_cast(from_, to):
    return _dtype._category(from_) <= _dtype._category(to)




from .compile import compile  # noqa: E402,F811  (tracing compiler: see compile/__init__.py)

# Functions PyTorch scripts use beyond the core ops (see _extras.py).
from . import _extras  # noqa: E402
from ._extras import (set_default_device, get_default_device, set_num_threads,  # noqa: E402,F401
                      get_num_threads, set_num_interop_threads, get_num_interop_threads)

for _name in ["matmul", "mm", "bmm", "mv", "dot", "outer", "sum", "mean", "prod", "exp", "log",
              "sqrt", "abs", "sigmoid", "tanh", "clamp", "neg", "sin", "cos", "maximum",
              "minimum", "eq", "ne", "lt", "le", "gt", "ge", "floor", "ceil", "round",
              "remainder", "floor_divide", "cumsum", "gather", "index_select", "where",
              "argmax", "argmin", "sort", "topk", "std", "var", "logical_and", "logical_or",
              "logical_not", "cat", "stack", "addmm", "relu"]:
    _fn = globals().get(_name)
    if _fn is not None and "out" not in getattr(getattr(_fn, "__code__", None), "co_varnames", ()):
        globals()[_name] = _extras.with_out(_fn)
del _name, _fn

for _name in _extras.ALIASED_REDUCTIONS:
    if _name in globals():
        globals()[_name] = _extras.with_numpy_aliases(globals()[_name])
    if _name in _ops.METHODS:
        setattr(Tensor, _name, _extras.with_numpy_aliases(_ops.METHODS[_name]))
del _name
from . import accelerator  # noqa: E402,F401

# Linear algebra, special functions and dtype limits (see linalg.py, special.py, _info.py).
from . import linalg, special  # noqa: E402,F401
from .linalg import cholesky_solve, cholesky_inverse, triangular_solve  # noqa: E402,F401
from . import distributions  # noqa: E402,F401
from ._info import finfo, iinfo  # noqa: E402,F401
from .creation import tril_indices, triu_indices  # noqa: E402,F401
from .ops.linalg import svd_legacy as svd, qr_legacy as qr  # noqa: E402,F401,F811
from .ops.pointwise import positive, fix, isreal  # noqa: E402,F401
from .nn.functional import (dropout, layer_norm, conv1d, conv2d, embedding,  # noqa: E402,F401
                            threshold)
del eigh, eigvalsh, svdvals, inv, solve, pinv, svd_legacy, qr_legacy  # torch.linalg only  # noqa: F821


def detach(t):
    return t.detach()


def is_nonzero(t):
    return t.is_nonzero()


def is_complex(t):
    return False


def is_storage(obj):
    return False


def conj(t):
    return t


absolute = abs  # noqa: F821
negative = neg  # noqa: F821
subtract, multiply, divide = sub, mul, div  # noqa: F821


from . import func  # noqa: E402,F401  (torch.func: grad, vmap, jacrev... see func/__init__.py)
vmap = func.vmap

from . import _compat  # noqa: E402  (aliases and settings PyTorch has; see _compat.py)
_compat.install(globals(), Tensor)
