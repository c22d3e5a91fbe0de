"""`torch.nn.functional`: activations, layers and losses as functions.

Everything is composed from chainrule ops, or is a fused op of `nn/_ops.py` where PyTorch's
`grad_fn` is a single node (losses, gelu...). Losses take `reduction='mean'|'sum'|'none'`
(and the deprecated `size_average`/`reduce`, as PyTorch does).
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..autograd import grad_mode
from ..autograd.composite import composite
from ..ops import pointwise as _pw, reduce as _red, linalg as _linalg, shape as _shape
from ..ops import inplace as _inplace
from ..ops._core import wrap
from . import _ops


# -- activations -------------------------------------------------------------------------------
def relu(input, inplace=False):
    return input.relu_() if inplace else _pw.relu(input)


def relu_(input):
    return input.relu_()


def sigmoid(input):
    return _pw.sigmoid(input)


def tanh(input):
    return _pw.tanh(input)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    return _red.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    return _red.log_softmax(input, dim, dtype=dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    return _red.softmax(-input, dim, dtype=dtype)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    if inplace:
        return _inplace.leaky_relu_(input, negative_slope)
    return _pw.leaky_relu(input, negative_slope)


def elu(input, alpha=1.0, inplace=False):
    if inplace:
        return _inplace.elu_(input, alpha)
    return _pw.elu(input, alpha)


def gelu(input, approximate="none"):
    """x * Phi(x) (Phi: the standard normal CDF), or its tanh approximation."""
    return _ops.gelu(input, approximate)


def silu(input, inplace=False):
    """x * sigmoid(x) (also called swish)."""
    if inplace:
        return _inplace.run_inplace(input, _ops.silu)
    return _ops.silu(input)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + e^(beta x)) / beta, linear where beta x > threshold (numerically stable)."""
    return _ops.softplus(input, beta, threshold)


def logsigmoid(input):
    """log(sigmoid(x)) = -softplus(-x), with no linear cut-off (exact for large |x|)."""
    return composite("LogSigmoidBackward0", _logsigmoid, (input,))


def _logsigmoid(x):
    return -_ops.softplus(-x, 1.0, math.inf)


def threshold(input, threshold, value, inplace=False):
    """x where x > threshold, else value."""
    if inplace:
        return _inplace.run_inplace(input, _ops.threshold, threshold, value)
    return _ops.threshold(input, threshold, value)


def threshold_(input, threshold, value):
    return _inplace.run_inplace(input, _ops.threshold, threshold, value)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if inplace:
        return input.clamp_(min_val, max_val)
    return composite("HardtanhBackward0", _pw.clamp, (input,), min_val, max_val)


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)


# -- layers ------------------------------------------------------------------------------------
def linear(input, weight, bias=None):
    """input @ weight.T + bias. A 2-D input is one `addmm` (grad_fn AddmmBackward0, as
    PyTorch); other shapes are flattened to 2-D and viewed back (ViewBackward0). The weight's
    gradient comes out row-major (see ops/linalg.py `_grad_of_second`)."""
    if input.dim() == 2:
        if bias is not None:
            return _linalg.addmm(bias, input, weight.t())
        return _linalg.matmul(input, weight.t())
    if bias is not None and input.dim() >= 1:
        flat = _shape.reshape(input, (-1, input.shape[-1]))
        out = _linalg.addmm(bias, flat, weight.t())
        return _shape.reshape(out, tuple(input.shape[:-1]) + (weight.shape[0],))
    out = _linalg.matmul(input, weight.t())
    return out + bias if bias is not None else out


def bilinear(input1, input2, weight, bias=None):
    """out[..., k] = x1 W[k] x2 (+ bias[k]); weight has shape (out, in1, in2)."""
    lead = tuple(input1.shape[:-1])
    x1 = _shape.reshape(input1, (-1, input1.shape[-1]))
    x2 = _shape.reshape(input2, (-1, input2.shape[-1]))
    left = _linalg.matmul(x1, weight)  # (out, M, in2): x1 W[k] for every k
    out = _shape.t((left * x2).sum(-1))  # (M, out)
    if bias is not None:
        out = out + bias
    return _shape.reshape(out, lead + (weight.shape[0],))


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1/(1-p), in training only.

    The mask is drawn from chainrule's global generator (`manual_seed` reproduces it).
    """
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        zero = wrap(np.zeros((), dtype=input._data.dtype))
        return input.mul_(zero) if inplace else input * zero
    from ..creation import empty_like

    noise = empty_like(input).bernoulli_(1 - p)
    noise.div_(1 - p)
    return input.mul_(noise) if inplace else input * noise


def flatten(input, start_dim=0, end_dim=-1):
    return _shape.flatten(input, start_dim, end_dim)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of `weight` picked by the integer tensor `input` (grad_fn EmbeddingBackward0)."""
    if padding_idx is not None:
        n = weight.shape[0]
        if padding_idx > 0:
            assert padding_idx < n, "Padding_idx must be within num_embeddings"
        elif padding_idx < 0:
            assert padding_idx >= -n, "Padding_idx must be within num_embeddings"
            padding_idx = n + padding_idx
    if max_norm is not None:
        _renorm_rows(weight, input, max_norm, norm_type)
    return _ops.embedding(input, weight, padding_idx)


def _renorm_rows(weight, indices, max_norm, norm_type):
    """Rescale in place (without history) the looked-up rows whose norm exceeds max_norm."""
    rows = np.unique(indices._data)
    data = weight._data
    norms = np.sum(np.abs(data[rows]) ** norm_type, axis=1) ** (1.0 / norm_type)
    scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
    data[rows] *= scale[:, None].astype(data.dtype)
    weight._vc[0] += 1


def one_hot(tensor, num_classes=-1):
    """(...,) class indices -> (..., num_classes) int64 tensor of 0/1."""
    idx = tensor._data
    if idx.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        if idx.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(idx.max()) + 1
    if idx.size and idx.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if idx.size and idx.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    return wrap((idx[..., None] == np.arange(num_classes)).astype(np.int64))


def pad(input, pad, mode="constant", value=None):
    """Pad the last len(pad)//2 dims: pad = (left, right, top, bottom, ...). Modes 'constant'
    (any number of dims), 'reflect', 'replicate', 'circular' (the last 1, 2 or 3 dims)."""
    if mode == "constant":
        return _ops.constant_pad(input, pad, 0.0 if value is None else value)
    if mode in ("reflect", "replicate", "circular"):
        if value is not None and value != 0:
            raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument.')
        return _ops.index_pad(input, pad, mode)
    raise NotImplementedError(f"Unrecognised padding mode {mode}")


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """input / max(||input||_p along dim, eps)."""
    denom = _pw.clamp(_red.norm(input, p, dim, True), min=eps).expand_as(input)
    return input / denom


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """(x - mean) / sqrt(var + eps) over the last len(normalized_shape) dims, then * w + b."""
    normalized_shape = tuple(normalized_shape) if not isinstance(normalized_shape, int) \
        else (normalized_shape,)
    n = len(normalized_shape)
    if tuple(input.shape[input.dim() - n:]) != normalized_shape:
        raise RuntimeError(
            f"Given normalized_shape={list(normalized_shape)}, expected input with shape "
            f"[*, {', '.join(str(s) for s in normalized_shape)}], but got input of size"
            f"{input.shape}")
    dims = tuple(range(input.dim() - n, input.dim()))
    return composite("NativeLayerNormBackward0", _layer_norm, (input, weight, bias), dims, eps)


def _layer_norm(input, weight, bias, dims, eps):
    mean = _red.mean(input, dims, True)
    var = _red.var(input, dims, keepdim=True, correction=0)
    out = (input - mean) * _pw.rsqrt(var + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """x / sqrt(mean(x^2) + eps) over the last len(normalized_shape) dims, then * weight.

    eps=None means the machine epsilon of the input's dtype. Composed from ops as PyTorch's
    CPU kernel is, so the grad_fn chain (MulBackward0 <- RsqrtBackward0 <- ...) is the same."""
    normalized_shape = ((normalized_shape,) if isinstance(normalized_shape, int)
                        else tuple(normalized_shape))
    n = len(normalized_shape)
    if tuple(input.shape[input.dim() - n:]) != normalized_shape:
        raise RuntimeError(
            f"Given normalized_shape={list(normalized_shape)}, expected input with shape "
            f"[*{', '.join(str(s) for s in normalized_shape)}], but got input of size"
            f"{list(input.shape)}")
    if eps is None:
        from .. import finfo
        eps = finfo(input.dtype).eps
    dims = tuple(range(input.dim() - n, input.dim()))
    out = input * _pw.rsqrt(_red.mean(input.pow(2), dims, True) + eps)
    return out * weight if weight is not None else out


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalize each channel (dim 1) over the batch (and length) dims.

    In training the batch statistics are used and the running ones updated in place:
    running = (1 - momentum) * running + momentum * batch (the variance unbiased there).
    """
    dims = (0,) + tuple(range(2, input.dim()))
    if training:
        count = input.numel() // input.shape[1]
        if count <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {input.shape}")
        if running_mean is not None:
            with grad_mode.no_grad():
                x = input.detach()
                batch_mean = _red.mean(x, dims)
                unbiased = _red.var(x, dims, correction=0) * (count / (count - 1))
                running_mean.mul_(1 - momentum).add_(batch_mean * momentum)
                running_var.mul_(1 - momentum).add_(unbiased * momentum)
        stats = None
    else:
        stats = (running_mean.detach(), running_var.detach())
    return composite("NativeBatchNormBackward0", _batch_norm, (input, weight, bias), dims, stats,
                     eps)


def _batch_norm(input, weight, bias, dims, stats, eps):
    """Normalize with the batch statistics (`stats` None) or the given (mean, var)."""
    shape = [1] * input.dim()
    shape[1] = input.shape[1]
    if stats is None:
        mean = _red.mean(input, dims, True)
        var = _red.var(input, dims, keepdim=True, correction=0)
    else:
        mean, var = stats[0].reshape(shape), stats[1].reshape(shape)
    out = (input - mean) * _pw.rsqrt(var + eps)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


# -- losses ------------------------------------------------------------------------------------
def _legacy_reduction(size_average, reduce):
    if size_average is None:
        size_average = True
    if reduce is None:
        reduce = True
    ret = "mean" if size_average and reduce else ("sum" if reduce else "none")
    warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{ret}'"
                  " instead.", stacklevel=3)
    return ret


def _reduction(size_average, reduce, reduction):
    if size_average is not None or reduce is not None:
        return _legacy_reduction(size_average, reduce)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _warn_size_mismatch(input, target):
    if target.shape != input.shape:
        warnings.warn(f"Using a target size ({target.size()}) that is different to the input size "
                      f"({input.size()}). This will likely lead to incorrect results due to "
                      "broadcasting. Please ensure they have the same size.", stacklevel=3)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean (or sum, or elementwise) squared error; grad_fn MseLossBackward0."""
    _warn_size_mismatch(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    if weight is not None:
        return _apply_reduction(weight * (input - target) ** 2, reduction)
    return _ops.mse_loss(input, target, reduction)


def _apply_reduction(losses, reduction):
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean (or sum, or elementwise) absolute error, composed as PyTorch does (|x - y|.mean())."""
    _warn_size_mismatch(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    losses = (input - target).abs()
    if weight is not None:
        losses = losses * weight
    return _apply_reduction(losses, reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """0.5 d^2 where |d| < delta, else delta (|d| - delta/2)."""
    _warn_size_mismatch(input, target)
    reduction = _reduction(None, None, reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    return _ops.huber_loss(input, target, reduction, delta)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - beta/2 (the L1 loss when beta is 0)."""
    _warn_size_mismatch(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0.0:
        return _apply_reduction((input - target).abs(), reduction)
    return _ops.smooth_l1_loss(input, target, reduction, beta)


def _check_class_weight(weight, n_classes):
    if weight is not None and (weight.dim() != 1 or weight.numel() != n_classes):
        raise RuntimeError(f"weight tensor should be defined either for all {n_classes} classes "
                           f"or no classes but got weight tensor of shape: {list(weight.shape)}")


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of class indices given log-probabilities `input` (N, C, ...).

    For 'mean' the sum is divided by the total weight of the non-ignored targets.
    """
    reduction = _reduction(size_average, reduce, reduction)
    if input.dim() < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.dim()})")
    if target._data.dtype.kind not in "iu":
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{target.dtype._torch_name[:-6]}")
    if input.dim() == 1:
        if target.dim() > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if target.dim() == 1 and target.shape[0] != 1:
            raise ValueError(f"Expected input batch_size (1) to match target batch_size "
                             f"({target.shape[0]}).")
    elif input.shape[0] != (target.shape[0] if target.dim() else 1):
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                         f"batch_size ({target.shape[0] if target.dim() else 1}).")
    elif tuple(target.shape) != (input.shape[0],) + tuple(input.shape[2:]):
        raise RuntimeError(f"Expected target size {[input.shape[0]] + list(input.shape[2:])}, "
                           f"got {list(target.shape)}")
    n_classes = input.shape[0 if input.dim() == 1 else 1]
    _check_class_weight(weight, n_classes)
    if input.dim() == 1 and target.dim() == 1:
        input = input.unsqueeze(0)
    return _ops.nll_loss(input, target, weight, ignore_index, reduction)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy of raw scores `input` (N, C, d1, ...) against class indices
    (N, d1, ...) or class probabilities (same shape as input). Computed as
    nll_loss(log_softmax(input)), which stays finite for any scores.

        >>> F.cross_entropy(torch.tensor([[2.0, 0.0]]), torch.tensor([0]))
        tensor(0.1269)
    """
    reduction = _reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    class_dim = 0 if input.dim() == 1 else 1
    n_classes = input.shape[class_dim]
    logp = _red.log_softmax(input, class_dim)
    if tuple(target.shape) == tuple(input.shape):
        if not target.is_floating_point():
            raise RuntimeError("Expected floating point type for target with class "
                               f"probabilities, got {target.dtype._torch_name[:-6]}")
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        _check_class_weight(weight, n_classes)
        return _cross_entropy_probs(logp, target, weight, reduction, label_smoothing, class_dim)
    nll = nll_loss(logp, target, weight, None, ignore_index, None, reduction)
    if label_smoothing == 0.0:
        return nll
    # PyTorch's label smoothing: mix the nll with the mean of -log p over all classes.
    if weight is not None:
        shape = [1] * input.dim()
        shape[class_dim] = n_classes
        smooth = -(logp * weight.reshape(shape)).sum(class_dim)
    else:
        smooth = -logp.sum(class_dim)
    ignored = target == ignore_index
    smooth = smooth.masked_fill(ignored, 0.0)
    if reduction == "mean":
        kept = target._data[~ignored._data]
        if weight is not None:
            denom = weight._data[kept].sum()
        else:
            denom = kept.size
        ret = smooth.sum() / float(denom)
    elif reduction == "sum":
        ret = smooth.sum()
    else:
        ret = smooth
    return (1 - label_smoothing) * nll + ret * (label_smoothing / n_classes)


def _cross_entropy_probs(logp, target, weight, reduction, label_smoothing, class_dim):
    n_classes = logp.shape[class_dim]
    if label_smoothing > 0.0:
        target = target * (1 - label_smoothing) + label_smoothing / n_classes
    prod = logp * target
    if weight is not None:
        shape = [1] * logp.dim()
        shape[class_dim] = n_classes
        prod = prod * weight.reshape(shape)
    if reduction == "mean":
        if logp.numel() == 0:
            return -prod.sum() * float("nan")
        return -prod.sum() / (logp.numel() / n_classes)
    if reduction == "sum":
        return -prod.sum()
    return -prod.sum(class_dim)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """-w (y log x + (1 - y) log(1 - x)) for probabilities x (each log clamped at -100)."""
    reduction = _reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({target.size()}) that is different to the input "
                         f"size ({input.size()}) is deprecated. Please ensure they have the same "
                         "size.")
    return _ops.binary_cross_entropy(input, target, weight, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """BCE of sigmoid(input), computed from the logits without overflow; `pos_weight`
    multiplies the positive term (broadcast along the last dim, one per class)."""
    reduction = _reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.size()}) must be the same as input size "
                         f"({input.size()})")
    return _ops.binary_cross_entropy_with_logits(input, target, weight, pos_weight, reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    """The multiclass SVM (hinge) loss: sum over j != y of max(0, margin - x[y] + x[j])^p,
    divided by the number of classes (and weighted by weight[y])."""
    reduction = _reduction(size_average, reduce, reduction)
    if p != 1 and p != 2:
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.dim() != 1:
        raise ValueError("weight must be one-dimensional")
    return _ops.multi_margin_loss(input, target, p, margin, weight, reduction)


# Convolution and pooling (nn/_conv.py).
# -- activations composed from tensor ops (PyTorch's formulas) ------------------------------
def mish(input, inplace=False):
    """x * tanh(softplus(x))."""
    return input * tanh(softplus(input))


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6."""
    return relu6(input + 3) / 6


def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6."""
    return input * relu6(input + 3) / 6


def selu(input, inplace=False):
    """scale * elu(x, alpha) with the self-normalising constants."""
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    return scale * elu(input, alpha)


def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    return _pw.where(input > 0, input, alpha * (_pw.exp(input / alpha) - 1))


def softsign(input):
    return input / (1 + input.abs())


def tanhshrink(input):
    return input - tanh(input)


def hardshrink(input, lambd=0.5):
    return _pw.where(input.abs() > lambd, input, input * 0)


def softshrink(input, lambd=0.5):
    return _pw.where(input > lambd, input - lambd,
                     _pw.where(input < -lambd, input + lambd, input * 0))


def prelu(input, weight):
    """max(0, x) + weight * min(0, x), one weight per channel (dim 1) or one for all."""
    if weight.numel() != 1:
        shape = [1] * input.dim()
        shape[1 if input.dim() > 1 else 0] = weight.numel()
        weight = weight.reshape(shape)
    return _pw.where(input > 0, input, weight * input)


def glu(input, dim=-1):
    """a * sigmoid(b), a and b the two halves of `input` along `dim`."""
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    n = input.shape[dim]
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension "
                           f"{dim % input.dim()} is size {n}")
    a, b = input.split(n // 2, dim)
    return a * sigmoid(b)


def dropout1d(input, p=0.5, training=True, inplace=False):
    return _channel_dropout(input, p, training, 2)


def dropout2d(input, p=0.5, training=True, inplace=False):
    return _channel_dropout(input, p, training, 3)


def dropout3d(input, p=0.5, training=True, inplace=False):
    return _channel_dropout(input, p, training, 4)


def _channel_dropout(input, p, training, unbatched_dim):
    """Zero whole channels (each with probability p) and scale the rest by 1 / (1 - p)."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    from ..creation import empty
    batched = input.dim() != unbatched_dim
    x = input if batched else input.unsqueeze(0)
    noise = empty(tuple(x.shape[:2]) + (1,) * (x.dim() - 2), dtype=x.dtype)
    if p == 1:
        noise.fill_(0)
    else:
        noise.bernoulli_(1 - p).div_(1 - p)
    out = x * noise
    return out if batched else out.squeeze(0)


# -- normalisation, distances -------------------------------------------------------------
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise each group of channels of each sample, then scale and shift per channel."""
    c = input.shape[1]
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(input.shape)} and "
                           f"num_groups={num_groups}")
    return composite("NativeGroupNormBackward0", _group_norm, (input, weight, bias), num_groups,
                     eps)


def _group_norm(input, weight, bias, num_groups, eps):
    n, c = input.shape[0], input.shape[1]
    x = input.reshape(n, num_groups, -1)
    mean = x.mean(-1, keepdim=True)
    var = x.var(-1, unbiased=False, keepdim=True)
    out = ((x - mean) / _pw.sqrt(var + eps)).reshape(input.shape)
    shape = [1, c] + [1] * (input.dim() - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1 * x2) / (max(||x1||, eps) * max(||x2||, eps)) along `dim`."""
    n1 = x1.norm(2, dim, keepdim=True).clamp(min=eps)
    n2 = x2.norm(2, dim, keepdim=True).clamp(min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p along the last dim."""
    return (x1 - x2 + eps).norm(p, -1, keepdim=keepdim)


# -- more losses -------------------------------------------------------------------------------
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """KL(target || exp(input)) pointwise: target * (log target - input) (0 where target == 0)."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", stacklevel=2)
    if log_target:
        losses = _pw.exp(target) * (target - input)
    else:
        losses = _pw.xlogy(target, target) - target * input
    if reduction == "batchmean":
        return losses.sum() / input.shape[0] if input.dim() != 0 else losses.sum()
    return _apply_reduction(losses, reduction)


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                        reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    return _apply_reduction((-target * (input1 - input2) + margin).clamp(min=0), reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    return _apply_reduction(_pw.log1p(_pw.exp(-target * input)), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    zeros = input * 0
    margin_part = _pw.where(target != 1, (margin - input).clamp(min=0), zeros)
    self_part = _pw.where(target != -1, input, zeros)
    return _apply_reduction(margin_part + self_part, reduction)


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                          reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    eps = 1e-12
    dim = input1.dim() - 1
    prod = (input1 * input2).sum(dim)
    mag1 = (input1 * input1).sum(dim) + eps
    mag2 = (input2 * input2).sum(dim) + eps
    cos = prod / _pw.sqrt(mag1 * mag2)
    zeros = cos * 0
    pos = _pw.where(target == 1, 1 - cos, zeros)
    neg = _pw.where(target == -1, (cos - margin).clamp(min=0), zeros)
    return _apply_reduction(pos + neg, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = _pw.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _apply_reduction((margin + d_pos - d_neg).clamp(min=0), reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    if log_input:
        losses = _pw.exp(input) - target * input
    else:
        losses = input - target * _pw.log(input + eps)
    if full:
        stirling = (target * _pw.log(target) - target
                    + 0.5 * _pw.log(2 * math.pi * target))
        losses = losses + _pw.where(target > 1, stirling, stirling * 0)
    return _apply_reduction(losses, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """0.5 * (log(var) + (input - target)^2 / var) (+ 0.5 log 2 pi if full); var is clamped
    to eps without a gradient through the clamp."""
    if isinstance(var, (int, float)):
        from ..creation import full_like
        var = full_like(input, float(var))
    if var.shape != input.shape:
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (tuple(input.shape[:-1]) == tuple(var.shape[:-1]) and var.shape[-1] == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    if (var < 0).any().item():
        raise ValueError("var has negative entry/entries")
    var = var.clone()
    with grad_mode.no_grad():
        var.clamp_(min=eps)
    losses = 0.5 * (_pw.log(var) + (input - target) ** 2 / var)
    if full:
        losses = losses + 0.5 * math.log(2 * math.pi)
    return _apply_reduction(losses, reduction)


# -- attention -------------------------------------------------------------------------------
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(q k^T * scale + mask) v, with a causal (lower-triangular) or given mask."""
    from ..creation import ones
    L, S = query.shape[-2], key.shape[-2]
    scale = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    if enable_gqa:
        rep = query.shape[-3] // key.shape[-3]
        key = key.repeat_interleave(rep, -3)
        value = value.repeat_interleave(rep, -3)
    weights = query @ key.transpose(-2, -1) * scale
    if is_causal:
        keep = ones(L, S, dtype=_dtype_bool()).tril()
        weights = weights.masked_fill(keep.logical_not(), float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype == _dtype_bool():
            weights = weights.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            weights = weights + attn_mask
    weights = softmax(weights, dim=-1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training=True)
    return weights @ value


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of an (N, C, ...) input; mode 'nearest' (PyTorch's index rule:
    source = floor(target * scale), scale = 1 / scale_factor or in / out)."""
    linear_modes = {"linear": 1, "bilinear": 2, "trilinear": 3}
    if mode not in ("nearest",) and mode not in linear_modes:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not implemented in chainrule "
                                  "(only 'nearest', 'linear', 'bilinear', 'trilinear')")
    if align_corners is not None and mode not in linear_modes:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    dims = input.dim() - 2
    if dims < 1:
        raise ValueError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                         f"{input.dim()}D) for the modes: nearest | linear | bilinear | bicubic | "
                         f"trilinear | area | nearest-exact (got {mode})")
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined")
    in_sizes = list(input.shape[2:])
    if size is not None:
        out_sizes = [int(size)] * dims if isinstance(size, int) else [int(v) for v in size]
        scales = [i / o for i, o in zip(in_sizes, out_sizes)]
    else:
        factors = ([float(scale_factor)] * dims if isinstance(scale_factor, (int, float))
                   else [float(f) for f in scale_factor])
        out_sizes = [int(math.floor(i * f)) for i, f in zip(in_sizes, factors)]
        scales = ([i / o for i, o in zip(in_sizes, out_sizes)] if recompute_scale_factor
                  else [1.0 / f for f in factors])
    if mode in linear_modes:
        if dims != linear_modes[mode]:
            expected = {1: "3D", 2: "4D", 3: "5D"}[linear_modes[mode]]
            raise NotImplementedError(
                f"Got {input.dim()}D input, but {mode} mode needs {expected} input")
        # PyTorch's source index uses 1/scale_factor when one was given (and not recomputed)
        given = (scales if scale_factor is not None and not recompute_scale_factor
                 else [None] * dims)
        return _ops.upsample_linear(input, out_sizes, bool(align_corners), given)
    return composite(f"UpsampleNearest{len(in_sizes)}DBackward0", _upsample_nearest, (input,),
                     in_sizes, out_sizes, scales)


def _upsample_nearest(input, in_sizes, out_sizes, scales):
    from ..creation import tensor as _tensor
    out = input
    for d, (n_in, n_out, sc) in enumerate(zip(in_sizes, out_sizes, scales)):
        idx = np.minimum(np.floor(np.arange(n_out, dtype=np.float32) * np.float32(sc)),
                         n_in - 1).astype(np.int64)
        out = out.index_select(2 + d, _tensor(idx))
    return out


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    return interpolate(input, size, scale_factor, mode, align_corners)


def _dtype_bool():
    from .. import _dtype
    return _dtype.bool_


from ._conv import (conv1d, conv2d, max_pool1d, max_pool2d, avg_pool1d, avg_pool2d,  # noqa: F401
                    adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_max_pool2d, unfold, fold)
from ._conv import conv_transpose1d, conv_transpose2d  # noqa: F401,E402
from ._conv import (conv3d, conv_transpose3d, max_pool3d, avg_pool3d,  # noqa: F401,E402
                    adaptive_avg_pool3d, adaptive_max_pool1d, adaptive_max_pool3d,
                    max_pool1d_with_indices, max_pool2d_with_indices, max_pool3d_with_indices,
                    adaptive_max_pool1d_with_indices, adaptive_max_pool2d_with_indices,
                    adaptive_max_pool3d_with_indices)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalize each channel of each sample over its spatial dims, then * weight + bias.

    With `use_input_stats` the sample statistics are used and, when running stats are given,
    those are updated in place with the batch mean of the per-sample statistics (variance
    unbiased), as PyTorch does; otherwise the running statistics are used."""
    dims = tuple(range(2, input.dim()))
    shape = (1, input.shape[1]) + (1,) * (input.dim() - 2)
    if use_input_stats:
        count = 1
        for d in dims:
            count *= input.shape[d]
        if count <= 1:
            raise ValueError(f"Expected more than 1 spatial element when training, got input "
                             f"size {input.shape}")
        mean = _red.mean(input, dims, True)
        var = _red.var(input, dims, keepdim=True, correction=0)
        if running_mean is not None or running_var is not None:
            with grad_mode.no_grad():
                if running_mean is not None:
                    batch_mean = mean.detach().reshape(input.shape[0], -1).mean(0)
                    running_mean.mul_(1 - momentum).add_(batch_mean * momentum)
                if running_var is not None:
                    unbiased = var.detach().reshape(input.shape[0], -1) * (count / (count - 1))
                    running_var.mul_(1 - momentum).add_(unbiased.mean(0) * momentum)
    else:
        mean, var = running_mean.reshape(shape), running_var.reshape(shape)
    out = (input - mean) * _pw.rsqrt(var + eps)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def pixel_shuffle(input, upscale_factor):
    """(*, C r^2, H, W) -> (*, C, H r, W r)."""
    return _ops.pixel_shuffle(input, int(upscale_factor))


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H r, W r) -> (*, C r^2, H, W)."""
    return _ops.pixel_unshuffle(input, int(downscale_factor))


# -- spatial transformers: affine_grid, grid_sample ----------------------------------------------
_ALIGN_WARNING = ("Default grid_sample and affine_grid behavior has changed to align_corners=False "
                  "since 1.3.0. Please specify align_corners=True if the old behavior is desired. "
                  "See the documentation of grid_sample for details.")


def affine_grid(theta, size, align_corners=None):
    """The sampling grid (N, H, W, 2) (or (N, D, H, W, 3)) of the affine maps `theta`
    (N, 2, 3) (or (N, 3, 4)) applied to the normalised output coordinates in [-1, 1]."""
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    given, size = size, list(size)  # messages show the size as given
    if len(size) in (4, 5):
        nd = len(size) - 2
        if theta.dim() != 3 or tuple(theta.shape[-2:]) != (nd, nd + 1):
            raise ValueError(
                f"Expected a batch of {nd}D affine matrices of shape Nx{nd}x{nd + 1} for size "
                f"{given}. Got {theta.shape}.")
    else:
        raise NotImplementedError(
            "affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
            f"respectively. Got size {given}.")
    if align_corners and min(size[2:]) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids "
                      "when align_corners=True. This is not an intended use case of affine_grid. "
                      "See the documentation of affine_grid for details.", stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {given}")
    return composite("AffineGridGeneratorBackward0", _affine_grid, (theta,), tuple(size),
                     align_corners)


def _affine_grid(theta, size, align_corners):
    spatial = size[2:]
    axes = []
    for steps in reversed(spatial):  # x (the last dim) first
        line = np.linspace(-1.0, 1.0, steps) if steps > 1 else np.zeros(1)
        if not align_corners and steps > 1:
            line = line * (steps - 1) / steps
        axes.append(line)
    coords = np.meshgrid(*reversed(axes), indexing="ij")[::-1]  # (x, y[, z]) on the grid
    base = np.stack(list(coords) + [np.ones(tuple(spatial))], axis=-1)
    base = wrap(base.reshape(1, -1, len(spatial) + 1).astype(theta._data.dtype))
    grid = _linalg.matmul(base, theta.transpose(1, 2))
    return grid.reshape((size[0],) + tuple(spatial) + (len(spatial),))


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """Sample the (N, C, H, W) `input` at the normalised (x, y) positions of `grid`
    (N, H_out, W_out, 2): -1 is the left/top edge, +1 the right/bottom one (pixel centres with
    align_corners=True, pixel edges without). Bilinear or nearest, zeros/border/reflection
    padding; differentiable in input and grid (bilinear)."""
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' "
                         f"or 'bicubic', but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    if mode == "bicubic" or input.dim() != 4:
        raise NotImplementedError("grid_sample: chainrule supports 4-D inputs with the bilinear "
                                  "and nearest modes")
    if grid.dim() != 4 or grid.shape[0] != input.shape[0] or grid.shape[-1] != 2:
        raise RuntimeError(f"grid_sampler(): expected grid to have size 2 in last dimension and "
                           f"the same batch size as input, but got grid with sizes "
                           f"{list(grid.shape)} and input with sizes {list(input.shape)}")
    return composite("GridSampler2DBackward0", _grid_sample, (input, grid), mode, padding_mode,
                     align_corners)


def _grid_sample(input, grid, mode, padding_mode, align_corners):
    n, c, h, w = input.shape
    ix = _source_index(grid[..., 0], w, padding_mode, align_corners)
    iy = _source_index(grid[..., 1], h, padding_mode, align_corners)
    flat = input.reshape(n, c, h * w)
    if mode == "nearest":  # round half to even, as PyTorch's nearbyint
        return _grid_corner(flat, np.rint(ix._data), np.rint(iy._data), h, w)
    x0, y0 = np.floor(ix._data), np.floor(iy._data)
    x1, y1 = wrap(x0 + 1), wrap(y0 + 1)
    # the weight of a corner is the area of the opposite sub-rectangle (PyTorch's products)
    to_x1, to_y1 = ix - wrap(x0), iy - wrap(y0)
    to_x0, to_y0 = x1 - ix, y1 - iy
    out = _grid_corner(flat, x0, y0, h, w) * (to_x0 * to_y0).unsqueeze(1)
    out = out + _grid_corner(flat, x0 + 1, y0, h, w) * (to_x1 * to_y0).unsqueeze(1)
    out = out + _grid_corner(flat, x0, y0 + 1, h, w) * (to_x0 * to_y1).unsqueeze(1)
    return out + _grid_corner(flat, x0 + 1, y0 + 1, h, w) * (to_x1 * to_y1).unsqueeze(1)


def _grid_corner(flat, x, y, h, w):
    """flat (N, C, H*W) at integer positions x, y (N, Ho, Wo arrays); 0 outside the image."""
    n, c = flat.shape[:2]
    inside = (x >= 0) & (x < w) & (y >= 0) & (y < h)
    idx = (np.clip(y, 0, h - 1) * w + np.clip(x, 0, w - 1)).astype(np.int64).reshape(n, 1, -1)
    values = flat.gather(2, wrap(np.broadcast_to(idx, (n, c, idx.shape[-1])).copy()))
    values = values.reshape((n, c) + x.shape[1:])
    return values * wrap(inside[:, None].astype(flat._data.dtype))


def _source_index(coord, size, padding_mode, align_corners):
    """Normalised coordinates -> pixel coordinates, then the padding mode's folding."""
    if align_corners:
        x = (coord + 1) / 2 * (size - 1)
    else:
        x = ((coord + 1) * size - 1) / 2
    if padding_mode == "reflection":
        x = _reflect(x, 0, 2 * (size - 1)) if align_corners else _reflect(x, -1, 2 * size - 1)
    if padding_mode in ("border", "reflection"):
        # clipped to the image; PyTorch gives no gradient at or beyond the bounds
        inside = wrap((x._data > 0) & (x._data < size - 1))
        x = _pw.where(inside, x, wrap(np.clip(x._data, 0, size - 1)))
    return x


def _reflect(x, twice_low, twice_high):
    """Fold x into [low, high] by reflecting at the bounds (as often as needed)."""
    if twice_low == twice_high:
        return x * 0
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    x = (x - low).abs()
    flips = np.floor(x._data / span)
    extra = x.fmod(span)
    return _pw.where(wrap(flips % 2 == 0), extra + low, span - extra + low)


# -- sampling, distances, normalisation --------------------------------------------------------
def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    """softmax((logits + g) / tau) with g ~ Gumbel(0, 1) (drawn as PyTorch: -log(Exp(1)));
    with hard=True the one-hot of its argmax, with the soft sample's gradient."""
    from ..creation import empty_like, zeros_like

    gumbels = -empty_like(logits).exponential_().log()
    y_soft = softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y_soft
    index = y_soft.max(dim, keepdim=True)[1]
    y_hard = zeros_like(logits).scatter_(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


def pdist(input, p=2):
    """||x_i - x_j||_p for every pair of rows i < j of the (N, M) input, in row-major order."""
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    return composite("PdistBackward0", _pdist, (input,), p)


def _pdist(input, p):
    i, j = np.triu_indices(input.shape[0], 1)
    from ..creation import tensor as _tensor
    diff = input.index_select(0, _tensor(i)) - input.index_select(0, _tensor(j))
    if p == 0:  # the number of differing coordinates (no gradient)
        return (diff != 0).sum(-1).to(input.dtype) + diff.sum(-1) * 0
    return _red.norm(diff, p, -1)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Leaky ReLU whose negative slope is drawn from U(lower, upper) per element in training
    (from the global generator, as PyTorch: one draw per non-positive element, in order), and
    is (lower + upper) / 2 in eval mode."""
    out = composite("RreluWithNoiseBackward0", _rrelu, (input,), lower, upper, training)
    if inplace:
        with grad_mode.no_grad():
            input.copy_(out)
        return input
    return out


def _rrelu(input, lower, upper, training):
    if not training:
        return _pw.leaky_relu(input, (lower + upper) / 2)
    from ..random import _gen
    data = input._data
    negative = data <= 0
    slopes = np.ones(data.shape, dtype=data.dtype)
    draws = _gen(None)._uniform(int(negative.sum()), np.float64)
    slopes[negative] = draws * (upper - lower) + lower
    return input * wrap(slopes)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, True)


_SELU_ALPHA = 1.7580993408473766  # -scale * alpha of SELU: its saturation value


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout that keeps SELU's self-normalisation: dropped units are set to SELU's saturation
    value, then an affine map restores the mean and variance."""
    return _alpha_dropout(input, p, training, False)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """alpha_dropout of whole channels (dim 1) of (N, C, ...) inputs."""
    return _alpha_dropout(input, p, training, True)


def _alpha_dropout(input, p, training, feature):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    if feature and input.dim() < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    if p == 1:
        return input * wrap(np.zeros((), dtype=input._data.dtype))
    from ..creation import empty
    shape = (tuple(input.shape[:2]) + (1,) * (input.dim() - 2)) if feature else input.shape
    keep = empty(tuple(shape), dtype=input.dtype).bernoulli_(1 - p)
    a = 1.0 / math.sqrt((_SELU_ALPHA ** 2 * p + 1) * (1 - p))
    b = keep.add(-1).mul_(_SELU_ALPHA * a).add_(_SELU_ALPHA * a * p)
    return input * keep.mul_(a) + b


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """input / (k + alpha * mean of x^2 over `size` neighbouring channels) ^ beta."""
    dim = input.dim()
    if dim < 3:
        # PyTorch's message, with the indentation its source line continuation puts in
        raise ValueError("Expected 3D or higher dimensionality" + " " * 26
                         + f"input (got {dim} dimensions)")
    if input.numel() == 0:
        return input
    div = input * input
    front, back = size // 2, (size - 1) // 2
    if dim == 3:
        div = pad(div.unsqueeze(1), (0, 0, front, back))
        div = avg_pool2d(div, (size, 1), stride=1).squeeze(1)
    else:
        sizes = tuple(input.shape)
        div = div.reshape(sizes[0], 1, sizes[1], sizes[2], -1)
        div = pad(div, (0, 0, 0, 0, front, back))
        div = avg_pool3d(div, (size, 1, 1), stride=1).squeeze(1).reshape(sizes)
    return input / (div * alpha + k) ** beta


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """(sum over each window of x^p) ^ (1/p), as PyTorch: an average pool scaled back."""
    out = avg_pool1d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (out.sign() * relu(out.abs())).mul(kernel_size).pow(1.0 / norm_type)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    out = avg_pool2d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (out.sign() * relu(out.abs())).mul(kw * kh).pow(1.0 / norm_type)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Put each value at its max_pool2d index in a zero image (the pooling's partial inverse)."""
    size = _unpool_size(input, kernel_size, stride, padding, output_size, 2)
    _check_unpool_indices(indices, size)
    return composite("MaxUnpool2DBackward0", _max_unpool, (input,), indices, size)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    size = _unpool_size(input, kernel_size, stride, padding, output_size, 1)
    _check_unpool_indices(indices, size)
    return composite("MaxUnpool2DBackward0", _max_unpool, (input.unsqueeze(-1),),
                     indices.unsqueeze(-1), size + (1,)).squeeze(-1)


def _unpool_size(input, kernel_size, stride, padding, output_size, nd):
    from ._conv import _pair
    k = _pair(kernel_size, nd)
    s = k if stride is None else _pair(stride, nd)
    p = _pair(padding, nd)
    default = tuple((input.shape[-nd + d] - 1) * s[d] - 2 * p[d] + k[d] for d in range(nd))
    if output_size is None:
        return default
    given, output_size = output_size, tuple(output_size)[-nd:]
    for d in range(nd):
        low, high = default[d] - s[d], default[d] + s[d]
        if not low < output_size[d] < high:
            raise ValueError(f"invalid output_size \"{given}\" (dim {d} must be "
                             f"between {low} and {high})")
    return output_size


def _check_unpool_indices(indices, size):
    if indices.numel() and int(indices._data.max()) >= math.prod(size) or \
            indices.numel() and int(indices._data.min()) < 0:
        bad = indices._data[(indices._data >= math.prod(size)) | (indices._data < 0)].flat[0]
        raise RuntimeError(f"Found an invalid max index: {bad} (output volumes are of size "
                           f"{'x'.join(str(v) for v in size)})")


def _max_unpool(input, indices, size):
    lead = tuple(input.shape[:-2])
    flat = input.reshape(lead + (-1,))
    from ..creation import zeros
    out = zeros(lead + (math.prod(size),), dtype=input.dtype)
    return out.scatter(-1, indices.reshape(lead + (-1,)), flat).reshape(lead + tuple(size))


# -- more losses -------------------------------------------------------------------------------
def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """sum over the target classes j (listed before the first -1) and the other classes i of
    max(0, 1 - (x[j] - x[i])), divided by the number of classes."""
    reduction = _reduction(size_average, reduce, reduction)
    if input.dim() > 2 or input.shape != target.shape:
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: "
                           f"{list(input.shape)}")
    return composite("MultilabelMarginLossBackward0", _multilabel_margin, (input,), target,
                     reduction)


def _multilabel_margin(input, target, reduction):
    x = input.reshape(-1, input.shape[-1]) if input.dim() else input.reshape(1, 1)
    y = target._data.reshape(x.shape)
    c = x.shape[1]
    valid = np.cumprod(y >= 0, axis=1).astype(bool)            # labels before the first -1
    if np.any(y[valid] >= c):
        raise RuntimeError(f"index {int(y[valid].max())} is out of bounds for dimension 0 with "
                           f"size {c}")
    is_target = np.zeros(x.shape, dtype=bool)
    rows = np.nonzero(valid)[0]
    is_target[rows, y[valid]] = True
    x_targets = x.gather(1, wrap(np.where(valid, y, 0)))      # (N, labels)
    hinge = relu(1 - x_targets.unsqueeze(2) + x.unsqueeze(1))  # (N, labels, classes)
    mask = (valid[:, :, None] & ~is_target[:, None, :]).astype(x._data.dtype)
    losses = (hinge * wrap(mask)).sum((1, 2)) / c
    if reduction == "none":
        return losses.reshape(input.shape[:-1]) if input.dim() else losses.reshape(())
    return _apply_reduction(losses, reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    """Binary cross-entropy of sigmoid(input) per class, averaged over the classes."""
    reduction = _reduction(size_average, reduce, reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.dim() - 1
    loss = loss.sum(dim=class_dim) / input.shape[class_dim]
    return _apply_reduction(loss, reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    """max(0, margin + d(anchor, positive) - d(anchor, negative)) for any distance d
    (pairwise_distance by default); swap uses min(d(a, n), d(p, n))."""
    if margin <= 0:
        raise ValueError(f"TripletMarginWithDistanceLoss: expected margin to be greater than 0, "
                         f"got {margin} instead")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    dist = distance_function if distance_function is not None else pairwise_distance
    d_pos, d_neg = dist(anchor, positive), dist(anchor, negative)
    if swap:
        d_neg = _pw.minimum(d_neg, dist(positive, negative))
    return _apply_reduction((margin + d_pos - d_neg).clamp(min=0), reduction)


__all__ = [name for name in dir() if not name.startswith("_") and callable(globals()[name])
           and name not in ("Tensor", "wrap", "math", "warnings", "np")]
