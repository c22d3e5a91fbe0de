"""Calling a module with other tensors in place of its parameters and buffers."""
from __future__ import annotations

from ..tensor import Tensor

__all__ = ["functional_call", "stack_module_state"]

_MISSING = object()


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
                    tie_weights=True, strict=False):
    """`module(*args, **kwargs)` with the parameters and buffers named in the dict(s) (keys as in
    `named_parameters()`, e.g. "0.weight") replaced by the given tensors for the duration of the
    call; the module's own tensors are put back afterwards, even if the call raises.

    With tie_weights=True, a tensor given for one of several names sharing a parameter is used
    for all of them. With strict=True, the keys must be exactly the module's parameters and
    buffers. `args` that is not a tuple is a single argument.

    >>> import chainrule as torch
    >>> lin = torch.nn.Linear(2, 1)
    >>> torch.func.functional_call(lin, {"weight": torch.ones(1, 2), "bias": torch.zeros(1)},
    ...                            (torch.tensor([1.0, 2.0]),))
    tensor([3.])
    """
    if isinstance(parameter_and_buffer_dicts, dict):
        tensors = parameter_and_buffer_dicts
    elif isinstance(parameter_and_buffer_dicts, (tuple, list)):
        if not all(isinstance(d, dict) for d in parameter_and_buffer_dicts):
            raise ValueError("Expected all elements of parameter_and_buffer_dicts to be "
                             "dictionaries")
        keys = [k for d in parameter_and_buffer_dicts for k in d]
        repeated = list(dict.fromkeys(k for k in keys if keys.count(k) > 1))
        if repeated:
            raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of "
                             "functional call is ambiguous")
        tensors = {k: v for d in parameter_and_buffer_dicts for k, v in d.items()}
    else:
        raise ValueError("Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of "
                         f"dicts, but got {type(parameter_and_buffer_dicts)}")
    if kwargs is None:
        kwargs = {}
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    if tie_weights:
        tensors = _untie(module, tensors)
    if strict:
        _check_keys(module, tensors)
    originals = {}
    try:
        for name, value in tensors.items():
            originals[name] = _swap(module, name, value)
        return module(*args, **kwargs)
    finally:
        for name, value in reversed(list(originals.items())):
            _swap(module, name, value)


def _all_named_tensors(module):
    named = dict(module.named_parameters(remove_duplicate=False))
    named.update(module.named_buffers(remove_duplicate=False))
    return named


def _untie(module, tensors):
    """Give every name of a shared parameter/buffer the tensor given for any of its names."""
    groups = {}
    for name, t in _all_named_tensors(module).items():
        groups.setdefault(id(t), []).append(name)
    untied = dict(tensors)
    for names in groups.values():
        given = [n for n in names if n in tensors]
        if len(names) < 2 or not given:
            continue
        if len({id(tensors[n]) for n in given}) > 1:
            raise ValueError(f"functional_call got multiple values for keys {sorted(names)}, "
                             "which are tied. Consider using tie_weights=False")
        for n in names:
            untied[n] = tensors[given[0]]
    return untied


def _check_keys(module, tensors):
    expected = set(_all_named_tensors(module))
    unexpected = sorted(set(tensors) - expected)
    missing = sorted(expected - set(tensors))
    errors = []
    if unexpected:
        errors.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
    if missing:
        errors.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
    if errors:
        raise RuntimeError(f"Error(s) in reparametrizing for {module._get_name()}:\n\t"
                           + "\n\t".join(errors))


def _swap(module, name, value):
    """Put `value` at the dotted `name`, returning what was there (_MISSING if nothing was;
    swapping _MISSING back in removes the attribute)."""
    prefix, _, attr = name.rpartition(".")
    owner = module.get_submodule(prefix) if prefix else module
    if value is not _MISSING and value is not None and not isinstance(value, Tensor):
        raise TypeError(f"{value} is not an instance of torch.Tensor")
    for registry in (owner._parameters, owner._buffers):
        if attr in registry:
            old = registry[attr]
            if value is _MISSING:
                del registry[attr]
            else:
                registry[attr] = value  # a plain tensor may stand in for a Parameter here
            return old
    old = getattr(owner, attr, _MISSING)
    if value is _MISSING:
        delattr(owner, attr)
    else:
        object.__setattr__(owner, attr, value)
    return old


def stack_module_state(models):
    """(params, buffers): for models of one class, each parameter and buffer name mapped to the
    models' tensors stacked along a new first dimension. The stacked parameters are new leaves
    that require grad. With `vmap(functional_call...)` this runs an ensemble in one call."""
    models = list(models)
    if len(models) == 0:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or not any(m.training for m in models)):
        raise RuntimeError("stack_module_state: Expected all models to have the same "
                           "training/eval mode.")
    if not all(type(m) is type(models[0]) for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")
    all_params = [dict(m.named_parameters()) for m in models]
    all_buffers = [dict(m.named_buffers()) for m in models]
    params = {k: _stacked_leaf([p[k] for p in all_params], k) for k in all_params[0]}
    buffers = {k: _stacked_leaf([b[k] for b in all_buffers], k) for k in all_buffers[0]}
    return params, buffers


def _stacked_leaf(tensors, name):
    from ..ops import stack

    flags = {t.requires_grad for t in tensors}
    if len(flags) > 1:
        raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
    result = stack(tensors)
    if flags == {True}:
        result = result.detach().requires_grad_()
    return result
