"""Convolution and pooling, built on one pair of linear ops: `im2col` (gather every kernel
window of an already padded input into columns, `F.unfold`'s layout) and its adjoint `col2im`
(add the columns back into the image). Each is the other's backward, so second derivatives
work; conv2d is then `weight @ columns`, pooling a max or mean over each window's column.

Results equal PyTorch's up to float32 summation order (PyTorch's convolution kernels sum the
C*kh*kw products in another order than NumPy's matmul).
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.composite import composite
from ..ops._core import Node, record, wrap


def _pair(v, n=2):
    if isinstance(v, (tuple, list)):
        return tuple(int(x) for x in v)
    return (int(v),) * n


def _out_size(size, k, s, d):
    return (size - d * (k - 1) - 1) // s + 1


def _im2col_array(x, k, s, d):
    """(N, C, H, W) -> (N, C*kh*kw, OH*OW)"""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (dh, dw) = k, s, d
    oh, ow = _out_size(h, kh, sh, dh), _out_size(w, kw, sw, dw)
    cols = np.empty((n, c, kh, kw, oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = x[:, :, i * dh: i * dh + sh * (oh - 1) + 1: sh,
                                 j * dw: j * dw + sw * (ow - 1) + 1: sw]
    return cols.reshape(n, c * kh * kw, oh * ow)


def _col2im_array(cols, shape, k, s, d):
    n, c, h, w = shape
    (kh, kw), (sh, sw), (dh, dw) = k, s, d
    oh, ow = _out_size(h, kh, sh, dh), _out_size(w, kw, sw, dw)
    cols = np.asarray(cols).reshape(n, c, kh, kw, oh, ow)
    out = np.zeros(shape, dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            out[:, :, i * dh: i * dh + sh * (oh - 1) + 1: sh,
                j * dw: j * dw + sw * (ow - 1) + 1: sw] += cols[:, :, i, j]
    return out


class Im2ColBackward0(Node):
    """out = the kernel windows of a as columns  ->  da = col2im(g) (windows added back)"""

    __slots__ = ("shape", "k", "s", "d")

    def backward(self, m, g):
        if m.tensor_mode:
            return (col2im(g, self.shape, self.k, self.s, self.d),)
        return (_col2im_array(g, self.shape, self.k, self.s, self.d),)


class Col2ImBackward0(Node):
    """out = columns added into an image  ->  dcols = im2col(g)"""

    __slots__ = ("k", "s", "d")

    def backward(self, m, g):
        if m.tensor_mode:
            return (im2col(g, self.k, self.s, self.d),)
        return (_im2col_array(np.asarray(g), self.k, self.s, self.d),)


def im2col(x, k, s=1, d=1):
    k, s, d = _pair(k), _pair(s), _pair(d)
    out = wrap(_im2col_array(x._data, k, s, d))
    node = record(Im2ColBackward0, out, (x,))
    if node is not None:
        node.shape, node.k, node.s, node.d = x._data.shape, k, s, d
    return out


def col2im(cols, shape, k, s=1, d=1):
    k, s, d = _pair(k), _pair(s), _pair(d)
    out = wrap(_col2im_array(cols._data, tuple(shape), k, s, d))
    node = record(Col2ImBackward0, out, (cols,))
    if node is not None:
        node.k, node.s, node.d = k, s, d
    return out


# -- functional forms -------------------------------------------------------------------------
def _pad2d(x, ph, pw, value=0.0):
    if ph == 0 and pw == 0:
        return x
    from .functional import pad

    return pad(x, (pw, pw, ph, ph), value=value)


def _same_padding(k, d):
    total = d * (k - 1)
    return total // 2, total - total // 2


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Shown as one ConvolutionBackward0 node, as PyTorch (an unbatched input is unsqueezed
    first and squeezed after, as PyTorch does)."""
    if input.dim() != 4:
        return conv2d(input.unsqueeze(0), weight, bias, stride, padding, dilation,
                      groups).squeeze(0)
    return composite("ConvolutionBackward0", _conv2d, (input, weight, bias), stride, padding,
                     dilation, groups)


def _conv2d(x, weight, bias, stride, padding, dilation, groups):
    o, cg, kh, kw = weight.shape
    s, d = _pair(stride), _pair(dilation)
    if isinstance(padding, str):
        if padding == "valid":
            ph = pw = 0
        elif padding == "same":
            (t, b), (l, r) = _same_padding(kh, d[0]), _same_padding(kw, d[1])
            if t != b or l != r:
                from .functional import pad
                x = pad(x, (l, r, t, b))
                ph = pw = 0
            else:
                ph, pw = t, l
        else:
            raise ValueError(f"Invalid padding string '{padding}'")
    else:
        ph, pw = _pair(padding)
    n, c, h, w = x.shape
    if c != cg * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
            f"{list(x.shape)} to have {cg * groups} channels, but got {c} channels instead")
    x = _pad2d(x, ph, pw)
    hp, wp = x.shape[2], x.shape[3]
    oh, ow = _out_size(hp, kh, s[0], d[0]), _out_size(wp, kw, s[1], d[1])
    cols = im2col(x, (kh, kw), s, d)                          # (N, C*kh*kw, L)
    if groups == 1:
        out = weight.reshape(o, -1).matmul(cols)               # (N, O, L)
    else:
        cols = cols.reshape(n, groups, cg * kh * kw, oh * ow)
        out = weight.reshape(groups, o // groups, -1).matmul(cols).reshape(n, o, oh * ow)
    out = out.reshape(n, o, oh, ow)
    if bias is not None:
        out = out + bias.reshape(1, o, 1, 1)
    return out


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    if input.dim() != 3:
        return conv1d(input.unsqueeze(0), weight, bias, stride, padding, dilation,
                      groups).squeeze(0)
    return composite("ConvolutionBackward0", _conv1d, (input, weight, bias), stride, padding,
                     dilation, groups)


def _conv1d(x, weight, bias, stride, padding, dilation, groups):
    pad = padding if isinstance(padding, str) else (0, _pair(padding, 1)[0])
    return _conv2d(x.unsqueeze(2), weight.unsqueeze(2), bias, (1, _pair(stride, 1)[0]), pad,
                   (1, _pair(dilation, 1)[0]), groups).squeeze(2)


def _pool_windows(input, kernel_size, stride, padding, dilation, fill, ceil_mode, name):
    if ceil_mode:
        raise NotImplementedError(f"{name}: ceil_mode=True is not supported by chainrule")
    batched = input.dim() == 4
    x = input if batched else input.unsqueeze(0)
    k = _pair(kernel_size)
    s = k if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) \
        else _pair(stride)
    (ph, pw), d = _pair(padding), _pair(dilation)
    if ph > k[0] // 2 or pw > k[1] // 2:
        raise RuntimeError("pad should be at most half of effective kernel size, but got "
                           f"pad={ph if ph > k[0] // 2 else pw}, "
                           f"kernel_size={k[0] if ph > k[0] // 2 else k[1]} and dilation={d[0]}")
    n, c, h, w = x.shape
    x = _pad2d(x, ph, pw, fill)
    oh, ow = _out_size(h + 2 * ph, k[0], s[0], d[0]), _out_size(w + 2 * pw, k[1], s[1], d[1])
    cols = im2col(x, k, s, d).reshape(n, c, k[0] * k[1], oh, ow)
    return cols, batched, k, (oh, ow), (ph, pw), s, d


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    out = composite("MaxPool2DWithIndicesBackward0", _max_pool2d, (input,), kernel_size, stride,
                    padding, dilation, ceil_mode)
    if not return_indices:
        return out
    from ..autograd.grad_mode import no_grad

    with no_grad():
        cols, batched, k, (oh, ow), (ph, pw), s, d = _pool_windows(
            input.detach(), kernel_size, stride, padding, dilation, -math.inf, ceil_mode,
            "max_pool2d")
        arg = cols.argmax(dim=2)
    # flat index into the (unpadded) input plane of each window's maximum, as PyTorch returns
    w_in = input.shape[-1]
    ki, kj = arg._data // k[1], arg._data % k[1]
    rows = np.arange(oh)[:, None] * s[0] - ph + ki * d[0]
    cols_ = np.arange(ow)[None, :] * s[1] - pw + kj * d[1]
    idx = wrap((rows * w_in + cols_).astype(np.int64))
    return out, (idx if batched else idx.squeeze(0))


def _max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode):
    cols, batched = _pool_windows(input, kernel_size, stride, padding, dilation, -math.inf,
                                  ceil_mode, "max_pool2d")[:2]
    out = cols.max(dim=2)[0]  # the gradient goes to the first maximum, as PyTorch's
    return out if batched else out.squeeze(0)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    k = _pair(kernel_size, 1)[0]
    s = k if stride is None else _pair(stride, 1)[0]
    out = max_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, _pair(padding, 1)[0]),
                     (1, _pair(dilation, 1)[0]), ceil_mode, return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    return composite("AvgPool2DBackward0", _avg_pool2d, (input,), kernel_size, stride, padding,
                     ceil_mode, count_include_pad, divisor_override)


def _avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                divisor_override):
    cols, batched, k, _, (ph, pw), s, d = _pool_windows(
        input, kernel_size, stride, padding, 1, 0.0, ceil_mode, "avg_pool2d")
    if divisor_override:
        out = cols.sum(dim=2) / divisor_override
    elif count_include_pad or (ph == 0 and pw == 0):
        out = cols.mean(dim=2)
    else:
        ones = input.new_ones((1, 1) + tuple(input.shape[-2:]))
        counts = _pool_windows(ones, kernel_size, stride, padding, 1, 0.0, False,
                               "avg_pool2d")[0].sum(dim=2)
        out = cols.sum(dim=2) / counts
    return out if batched else out.squeeze(0)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    k = _pair(kernel_size, 1)[0]
    s = k if stride is None else _pair(stride, 1)[0]
    return avg_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, _pair(padding, 1)[0]),
                      ceil_mode, count_include_pad).squeeze(-2)


def _adaptive_bounds(size, out):
    return [(i * size // out, -((-(i + 1) * size) // out)) for i in range(out)]


def adaptive_avg_pool2d(input, output_size):
    oh, ow = _pair(output_size)
    if (oh, ow) == (1, 1):  # PyTorch takes the mean (MeanBackward1)
        return input.mean((-2, -1), keepdim=True)
    return composite("AdaptiveAvgPool2DBackward0", _adaptive_avg_pool2d, (input,), output_size)


def _adaptive_avg_pool2d(input, output_size):
    from .. import stack

    oh, ow = _pair(output_size)
    h, w = input.shape[-2:]
    oh = h if oh is None else oh
    ow = w if ow is None else ow
    if h % oh == 0 and w % ow == 0:
        return _avg_pool2d(input, (h // oh, w // ow), None, 0, False, True, None)
    rows = []
    for (r0, r1) in _adaptive_bounds(h, oh):
        rows.append(stack([input[..., r0:r1, c0:c1].mean(dim=(-2, -1))
                           for (c0, c1) in _adaptive_bounds(w, ow)], dim=-1))
    return stack(rows, dim=-2)


def adaptive_avg_pool1d(input, output_size):
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, _pair(output_size, 1)[0])).squeeze(-2)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    if return_indices:
        raise NotImplementedError("adaptive_max_pool2d(return_indices=True)")
    return composite("AdaptiveMaxPool2DBackward0", _adaptive_max_pool2d, (input,), output_size)


def _adaptive_max_pool2d(input, output_size):
    from .. import stack

    oh, ow = _pair(output_size)
    h, w = input.shape[-2:]
    oh = h if oh is None else oh
    ow = w if ow is None else ow
    rows = []
    for (r0, r1) in _adaptive_bounds(h, oh):
        rows.append(stack([input[..., r0:r1, c0:c1].flatten(-2).max(-1)[0]
                           for (c0, c1) in _adaptive_bounds(w, ow)], dim=-1))
    return stack(rows, dim=-2)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    if input.dim() == 3:  # unbatched (C, H, W)
        return unfold(input.unsqueeze(0), kernel_size, dilation, padding, stride).squeeze(0)
    if input.dim() != 4:
        raise RuntimeError(f"Input Error: Only 3D or 4D input Tensors are supported (got "
                           f"{input.dim()}D)")
    ph, pw = _pair(padding)
    return im2col(_pad2d(input, ph, pw), kernel_size, stride, dilation)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    if input.dim() == 2:  # unbatched (C*kh*kw, L)
        return fold(input.unsqueeze(0), output_size, kernel_size, dilation, padding,
                    stride).squeeze(0)
    if input.dim() != 3:
        raise RuntimeError(f"Input Error: Only unbatched (2D) or batched (3D) input Tensors "
                           f"are supported (got {input.dim()}D)")
    (h, w), (ph, pw) = _pair(output_size), _pair(padding)
    n = input.shape[0]
    k = _pair(kernel_size)
    c = input.shape[1] // (k[0] * k[1])
    out = col2im(input, (n, c, h + 2 * ph, w + 2 * pw), k, stride, dilation)
    return out[:, :, ph:ph + h, pw:pw + w]


# -- transposed convolution -----------------------------------------------------------------------
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """The adjoint of conv2d: each input pixel scatters weight-scaled copies of the kernel into
    the output (`col2im` of weight^T @ input), cropped by `padding`, grown by `output_padding`.
    weight: (C_in, C_out / groups, kh, kw)."""
    batched = input.dim() == 4
    x = input if batched else input.unsqueeze(0)
    cin, cg_out, kh, kw = weight.shape
    s, p, op, d = _pair(stride), _pair(padding), _pair(output_padding), _pair(dilation)
    for i in range(2):
        if op[i] >= s[i] and op[i] >= d[i]:
            raise RuntimeError(
                "output padding must be smaller than either stride or dilation, but got "
                f"output_padding_height: {op[0]} output_padding_width: {op[1]} stride_height: "
                f"{s[0]} stride_width: {s[1]} dilation_height: {d[0]} dilation_width: {d[1]}")
    n, c, h, w = x.shape
    if c != cin:
        raise RuntimeError(
            f"Given transposed=1, weight of size {list(weight.shape)}, expected input"
            f"{list(x.shape)} to have {cin} channels, but got {c} channels instead")
    cout, ci = cg_out * groups, cin // groups
    wt = weight.reshape(groups, ci, cg_out * kh * kw).transpose(1, 2)   # (g, C_out/g*k, C_in/g)
    cols = wt.matmul(x.reshape(n, groups, ci, h * w)).reshape(n, cout * kh * kw, h * w)
    hc, wc = (h - 1) * s[0] + d[0] * (kh - 1) + 1, (w - 1) * s[1] + d[1] * (kw - 1) + 1
    out = col2im(cols, (n, cout, hc, wc), (kh, kw), s, d)
    if p != (0, 0) or op != (0, 0):
        from .functional import pad
        out = pad(out, (-p[1], op[1] - p[1], -p[0], op[0] - p[0]))
    if bias is not None:
        out = out + bias.reshape(1, cout, 1, 1)
    return out if batched else out.squeeze(0)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    batched = input.dim() == 3
    x = input if batched else input.unsqueeze(0)
    one = lambda v: _pair(v, 1)[0]  # noqa: E731
    out = conv_transpose2d(x.unsqueeze(2), weight.unsqueeze(2), bias, (1, one(stride)),
                           (0, one(padding)), (0, one(output_padding)), groups,
                           (1, one(dilation))).squeeze(2)
    return out if batched else out.squeeze(0)
