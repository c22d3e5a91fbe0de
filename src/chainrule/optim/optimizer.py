"""The Optimizer base: parameter groups, per-parameter state, zero_grad, state dicts.

Note [Optimizer arithmetic]
Subclasses update `param._data` (the NumPy array) in place, in the same order of operations as
PyTorch's single-tensor (foreach=False) implementations, which is what PyTorch runs on the CPU
by default. Python scalars meet float32 arrays as float32 (NumPy's weak scalars, like
PyTorch's), so float32 trajectories track PyTorch's closely and float64 ones agree to rounding.
Each write bumps the parameter's version counter, as an in-place op would.
"""
from __future__ import annotations

import copy
from collections import defaultdict
from itertools import chain

import numpy as np

from ..autograd import grad_mode
from ..tensor import Tensor


class _RequiredParameter:
    """Marks an option with no default (SGD's lr in old PyTorch)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()

_SET_OF_PARAMS = ("optimizer parameters need to be organized in ordered collections, but the "
                  "ordering of tensors in sets will change between runs. Please use a list "
                  "instead.")


def _typename(obj):
    if isinstance(obj, Tensor):
        return "torch." + {"float32": "FloatTensor", "float64": "DoubleTensor",
                           "int64": "LongTensor", "int32": "IntTensor",
                           "bool": "BoolTensor"}.get(str(obj._data.dtype), "Tensor")
    module = type(obj).__module__
    name = type(obj).__qualname__
    return name if module == "builtins" else f"{module}.{name}"



# Each hyperparameter's check and PyTorch's message for it, in one place.
_NONNEGATIVE = {"lr": "Invalid learning rate: {}", "eps": "Invalid epsilon value: {}",
                "weight_decay": "Invalid weight_decay value: {}",
                "momentum": "Invalid momentum value: {}", "alpha": "Invalid alpha value: {}",
                "lr_decay": "Invalid lr_decay value: {}",
                "initial_accumulator_value": "Invalid initial_accumulator_value value: {}",
                "momentum_decay": "Invalid momentum_decay value: {}"}


def check_options(**options):
    """Raise PyTorch's ValueError for the first invalid hyperparameter, in the order given
    (each optimizer checks its own in torch's order)."""
    for name, value in options.items():
        if name == "betas":
            for i, beta in enumerate(value):
                if not 0.0 <= beta < 1.0:
                    raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        elif name == "etas":
            if not 0.0 < value[0] < 1.0 < value[1]:
                raise ValueError(f"Invalid eta values: {value[0]}, {value[1]}")
        elif name == "rho":
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Invalid rho value: {value}")
        elif not 0.0 <= value:
            raise ValueError(_NONNEGATIVE[name].format(value))


class Optimizer:
    """Base class: holds `param_groups` (list of dicts: params + options) and `state`.

    Subclasses give `defaults` (the options every group gets unless it sets its own) and
    implement `step`.
    """

    def __init__(self, params, defaults):
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + _typename(params))
        self.state = defaultdict(dict)
        self.param_groups = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(dict(group))

    # -- groups --------------------------------------------------------------------------------
    def add_param_group(self, param_group):
        """Add a group of parameters with its own options (missing options take defaults)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError(_SET_OF_PARAMS)
        else:
            param_group["params"] = list(params)

        names = [p[0] for p in param_group["params"] if isinstance(p, tuple)]
        param_group["params"] = [p[1] if isinstance(p, tuple) else p
                                 for p in param_group["params"]]
        if names:
            if len(names) != len(param_group["params"]):
                raise ValueError("all optimizer params should be with/without names. Some param "
                                 "names are missing")
            param_group["param_names"] = names

        for param in param_group["params"]:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(param))
            if not (param.is_leaf or param.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)

        existing = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in existing for p in param_group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # -- gradients -----------------------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        """Forget the gradients: set `.grad` to None (default) or fill it with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p._grad is None:
                    continue
                if set_to_none:
                    p._grad = None
                else:
                    if p._grad._grad_fn is not None:
                        p._grad.detach_()
                    else:
                        p._grad.requires_grad_(False)
                    p._grad._data[...] = 0
                    p._grad._vc[0] += 1

    def step(self, closure=None):
        raise NotImplementedError

    def _scratch(self, like, count):
        cache = self.__dict__.setdefault("_scratch_cache", {})
        return _scratch_arrays(cache, like, count)

    def _chunk_scratch(self, dtype, count):
        """`count` reusable 1-D arrays of one chunk (Note [Chunked updates]) of `dtype`."""
        cache = self.__dict__.setdefault("_scratch_cache", {})
        key = ("chunk", dtype)
        arrays = cache.get(key)
        if arrays is None or len(arrays) < count:
            size = max(CHUNK_BYTES // np.dtype(dtype).itemsize, 1)
            arrays = cache[key] = [np.empty(size, dtype=dtype) for _ in range(count)]
        return arrays[:count]

    def _run_closure(self, closure):
        if closure is None:
            return None
        with grad_mode.enable_grad():
            return closure()

    # -- state dicts ---------------------------------------------------------------------------
    def state_dict(self):
        """{'state': {index: {...}}, 'param_groups': [{options..., 'params': [indices]}]}.

        Parameters are numbered in the order the groups list them, as PyTorch does.
        """
        index_of = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index_of.setdefault(id(p), len(index_of))
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {(index_of[id(k)] if isinstance(k, Tensor) else k): v
                 for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore options and per-parameter state saved by `state_dict()` (copies tensors)."""
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        groups = self.param_groups
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        id_map = dict(zip(chain.from_iterable(s["params"] for s in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))
        state = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key in id_map:
                param = id_map[key]
                state[param] = {k: _cast_state(param, k, v) for k, v in value.items()}
            else:
                state[key] = copy.deepcopy(value)
        new_groups = []
        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
            new_groups.append(saved)
        self.state = state
        self.param_groups = new_groups

    # -- printing ------------------------------------------------------------------------------
    def __repr__(self):
        text = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += "\n"
            text += f"Parameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        text += ")"
        return text

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state,
                "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)


def _cast_state(param, key, value):
    """A private copy of a saved state value; float tensors take the parameter's dtype
    ('step' keeps its own, as in PyTorch)."""
    if isinstance(value, Tensor):
        data = value._data
        if key != "step" and param._data.dtype.kind == "f" and data.dtype.kind == "f":
            data = data.astype(param._data.dtype)
        return Tensor._make(np.array(data, copy=True))
    if isinstance(value, dict):
        return {k: _cast_state(param, k, v) for k, v in value.items()}
    return copy.deepcopy(value)


def _check_value(name, value, lower=0.0, text=None):
    if not lower <= value:
        raise ValueError(f"Invalid {text or name} value: {value}")


# Note [Chunked updates]
# An optimizer update is a chain of a dozen elementwise NumPy passes over arrays of the
# parameter's size. Run over a whole 1M-element parameter, each pass streams every operand
# through memory; run over slices of CHUNK_BYTES per operand, the operands of one slice stay in
# the L2 cache for the whole chain (about 1.6x faster on the 784-1024-1024-10 MLP's Adam step).
# Each element still sees the same operations in the same order, so results are unchanged.
CHUNK_BYTES = 1 << 18


def flat_views(*arrays):
    """1-D views of C-contiguous arrays (None if one is not: the caller works on whole arrays).
    None entries pass through."""
    out = []
    for a in arrays:
        if a is None:
            out.append(None)
        elif a.flags.c_contiguous:
            out.append(a.reshape(-1))
        else:
            return None
    return out


def chunk_bounds(size, itemsize):
    """(start, stop) pairs covering range(size) in slices of about CHUNK_BYTES."""
    step = max(CHUNK_BYTES // itemsize, 1)
    return [(start, min(start + step, size)) for start in range(0, size, step)]


def _scratch_arrays(cache, like, count):
    """`count` reusable arrays shaped like `like` (not part of the optimizer's state)."""
    key = (like.shape, like.dtype)
    arrays = cache.get(key)
    if arrays is None or len(arrays) < count:
        arrays = cache[key] = [np.empty_like(like) for _ in range(count)]
    return arrays[:count]


def state_tensor(array):
    """Wrap a state buffer as a chainrule tensor (the optimizer mutates the array in place)."""
    return Tensor._make(array)


def step_tensor(value=0.0):
    """PyTorch keeps the step count as a 0-d float32 tensor (float64 under a float64 default)."""
    from .. import _dtype

    dtype = np.float64 if _dtype.get_default_dtype().np == np.float64 else np.float32
    return Tensor._make(np.array(value, dtype=dtype))


def grads_of(group):
    """(param, grad array) for the parameters in the group that have a gradient."""
    out = []
    for p in group["params"]:
        if p._grad is not None:
            out.append((p, p._grad._data))
    return out
