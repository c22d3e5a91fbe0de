"""Lazy modules: `LazyLinear`, `LazyConv1d`... infer their input size (in_features, in_channels,
num_features) from the first input they see, then become the ordinary class.

Until that first forward their weights are `UninitializedParameter`s. Initialisation happens
then, so with a seeded generator the weights are those PyTorch draws at the same moment.

    >>> fc = nn.LazyLinear(3)
    >>> fc.weight
    <UninitializedParameter>
    >>> fc(torch.ones(2, 5)).shape, type(fc).__name__, fc.in_features
    (torch.Size([2, 3]), 'Linear', 5)
"""
from __future__ import annotations

from ...autograd import grad_mode
from .. import conv, spatial
from ..parameter import UninitializedBuffer, UninitializedParameter, is_lazy
from .linear import Linear
from .normalization import BatchNorm1d

__all__ = ["LazyModuleMixin", "LazyLinear", "LazyConv1d", "LazyConv2d", "LazyConv3d",
           "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d",
           "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm1d",
           "LazyInstanceNorm2d", "LazyInstanceNorm3d"]


class LazyModuleMixin:
    """Put first among the bases of a module whose `initialize_parameters(*inputs)` materializes
    its uninitialized parameters; `cls_to_become` is the class it turns into afterwards."""

    cls_to_become = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._load_hook = self._register_load_state_dict_pre_hook(self._lazy_load_hook)
        self._initialize_hook = self.register_forward_pre_hook(self._infer_parameters,
                                                               with_kwargs=True)

    def _register_load_state_dict_pre_hook(self, hook):
        from .module import RemovableHandle

        handle = RemovableHandle(self._load_state_dict_pre_hooks)
        self._load_state_dict_pre_hooks[handle.id] = hook
        return handle

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        # uninitialized entries are saved as they are (detaching would give a 0-size tensor)
        named = list(self._parameters.items()) + [
            (k, v) for k, v in self._buffers.items() if k not in self._non_persistent_buffers_set]
        for name, value in named:
            if value is not None:
                destination[prefix + name] = (value if keep_vars or is_lazy(value)
                                              else value.detach())

    def _lazy_load_hook(self, state_dict, prefix, local_metadata, strict, missing_keys,
                        unexpected_keys, error_msgs):
        """Give uninitialized entries the shape of the loaded tensors (values copied next)."""
        for name, value in list(self._parameters.items()) + list(self._buffers.items()):
            key = prefix + name
            if key in state_dict and value is not None and is_lazy(value):
                loaded = state_dict[key]
                if not is_lazy(loaded):
                    with grad_mode.no_grad():
                        value.materialize(loaded.shape)

    def initialize_parameters(self, *args, **kwargs):
        raise NotImplementedError(
            f"initialize_parameters is not implemented for {self.__class__.__name__}")

    def has_uninitialized_params(self):
        values = list(self._parameters.values()) + list(self._buffers.values())
        return any(is_lazy(v) for v in values)

    def _infer_parameters(self, module, args, kwargs=None):
        """The forward pre-hook: initialize from the first input, then become cls_to_become."""
        module.initialize_parameters(*args, **(kwargs or {}))
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {self._get_name()} has not been fully initialized")
        module._initialize_hook.remove()
        module._load_hook.remove()
        del module._initialize_hook, module._load_hook
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become


class LazyLinear(LazyModuleMixin, Linear):
    """`Linear` whose in_features is input.shape[-1] at the first forward."""

    cls_to_become = Linear

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        super().__init__(0, 0, False, device, dtype)  # no bias yet: it would be replaced
        self.weight = UninitializedParameter(dtype=dtype)
        self.out_features = out_features
        if bias:
            self.bias = UninitializedParameter(dtype=dtype)

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs):
        if self.has_uninitialized_params():
            with grad_mode.no_grad():
                self.in_features = input.shape[-1]
                self.weight.materialize((self.out_features, self.in_features))
                if self.bias is not None:
                    self.bias.materialize((self.out_features,))
                self.reset_parameters()
        if self.in_features == 0:  # parameters loaded from a state_dict: take their size
            if input.shape[-1] != self.weight.shape[-1]:
                raise AssertionError(
                    f"The in_features inferred from input: {input.shape[-1]} is not equal to "
                    f"in_features from self.weight: {self.weight.shape[-1]}")
            self.in_features = input.shape[-1]


# -- convolutions -------------------------------------------------------------------------------
class _LazyConvMixin(LazyModuleMixin):
    """in_channels is the input's channel count at the first forward."""

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False,
                         padding_mode, device, dtype)
        self._lazy_weights(out_channels, bias, dtype)

    def _lazy_weights(self, out_channels, bias, dtype):
        self.weight = UninitializedParameter(dtype=dtype)
        self.out_channels = out_channels
        if bias:
            self.bias = UninitializedParameter(dtype=dtype)

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs):
        if not self.has_uninitialized_params():
            return
        n = self._n
        if input.dim() not in (n + 1, n + 2):
            raise RuntimeError(f"Expected {n + 1}D (unbatched) or {n + 2}D (batched) input to "
                               f"{type(self).__name__}, but got input of size: {input.shape}")
        self.in_channels = input.shape[1] if input.dim() == n + 2 else input.shape[0]
        if self.in_channels % self.groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if self.transposed:
            shape = (self.in_channels, self.out_channels // self.groups)
        else:
            shape = (self.out_channels, self.in_channels // self.groups)
        with grad_mode.no_grad():
            self.weight.materialize(shape + tuple(self.kernel_size))
            if self.bias is not None:
                self.bias.materialize((self.out_channels,))
            self.reset_parameters()


class _LazyConvTransposeMixin(_LazyConvMixin):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        LazyModuleMixin.__init__(self, 0, 0, kernel_size, stride, padding, output_padding,
                                 groups, False, dilation, padding_mode, device, dtype)
        self._lazy_weights(out_channels, bias, dtype)


class LazyConv1d(_LazyConvMixin, conv.Conv1d):
    cls_to_become = conv.Conv1d


class LazyConv2d(_LazyConvMixin, conv.Conv2d):
    cls_to_become = conv.Conv2d


class LazyConv3d(_LazyConvMixin, conv.Conv3d):
    cls_to_become = conv.Conv3d


class LazyConvTranspose1d(_LazyConvTransposeMixin, conv.ConvTranspose1d):
    cls_to_become = conv.ConvTranspose1d


class LazyConvTranspose2d(_LazyConvTransposeMixin, conv.ConvTranspose2d):
    cls_to_become = conv.ConvTranspose2d


class LazyConvTranspose3d(_LazyConvTransposeMixin, conv.ConvTranspose3d):
    cls_to_become = conv.ConvTranspose3d


# -- normalisation ------------------------------------------------------------------------------
class _LazyNormBase(LazyModuleMixin):
    """num_features is input.shape[1] at the first forward (also for an unbatched input to a
    lazy InstanceNorm, as PyTorch)."""

    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        super().__init__(0, eps, momentum, False, False, device, dtype, bias=False)
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = UninitializedParameter(dtype=dtype)
            if bias:
                self.bias = UninitializedParameter(dtype=dtype)
        if track_running_stats:
            from ... import creation, _dtype

            self.running_mean = UninitializedBuffer(dtype=dtype)
            self.running_var = UninitializedBuffer(dtype=dtype)
            self.num_batches_tracked = creation.tensor(0, dtype=_dtype.int64)

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs):
        if not self.has_uninitialized_params():
            return
        self.num_features = input.shape[1]
        with grad_mode.no_grad():
            for name in ("weight", "bias", "running_mean", "running_var"):
                value = getattr(self, name)
                if value is not None:
                    value.materialize((self.num_features,))
            self.reset_parameters()


class LazyBatchNorm1d(_LazyNormBase, BatchNorm1d):
    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyNormBase, conv.BatchNorm2d):
    cls_to_become = conv.BatchNorm2d


class LazyBatchNorm3d(_LazyNormBase, conv.BatchNorm3d):
    cls_to_become = conv.BatchNorm3d


class LazyInstanceNorm1d(_LazyNormBase, spatial.InstanceNorm1d):
    cls_to_become = spatial.InstanceNorm1d


class LazyInstanceNorm2d(_LazyNormBase, spatial.InstanceNorm2d):
    cls_to_become = spatial.InstanceNorm2d


class LazyInstanceNorm3d(_LazyNormBase, spatial.InstanceNorm3d):
    cls_to_become = spatial.InstanceNorm3d
