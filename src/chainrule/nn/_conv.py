"""Convolution and pooling, built on one pair of linear ops: `im2col` (gather every kernel
window of an already padded input into columns, `F.unfold`'s layout) and its adjoint `col2im`
(add the columns back into the image). Each is the other's backward, so second derivatives
work; conv2d is then `weight @ columns`, pooling a max or mean over each window's column.

Results equal PyTorch's up to float32 summation order (PyTorch's convolution kernels sum the
C*kh*kw products in another order than NumPy's matmul).
"""
from __future__ import annotations

import itertools
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


def _window_slices(k_offsets, s, d, outs):
    """Per spatial dim, the input positions that kernel offset i meets at each output."""
    return tuple(slice(i * dd, i * dd + ss * (o - 1) + 1, ss)
                 for i, ss, dd, o in zip(k_offsets, s, d, outs))


def _im2col_array(x, k, s, d):
    """(N, C, *spatial) -> (N, C*prod(k), prod(out)); one strided copy per kernel offset."""
    n, c, *sizes = x.shape
    outs = [_out_size(size, kk, ss, dd) for size, kk, ss, dd in zip(sizes, k, s, d)]
    cols = np.empty((n, c) + tuple(k) + tuple(outs), dtype=x.dtype)
    for offsets in itertools.product(*map(range, k)):
        cols[(slice(None), slice(None)) + offsets] = x[(Ellipsis,) + _window_slices(
            offsets, s, d, outs)]
    return cols.reshape(n, c * math.prod(k), math.prod(outs))


def _col2im_array(cols, shape, k, s, d):
    n, c, *sizes = shape
    outs = [_out_size(size, kk, ss, dd) for size, kk, ss, dd in zip(sizes, k, s, d)]
    cols = np.asarray(cols).reshape((n, c) + tuple(k) + tuple(outs))
    out = np.zeros(shape, dtype=cols.dtype)
    for offsets in itertools.product(*map(range, k)):
        out[(Ellipsis,) + _window_slices(offsets, s, d, outs)] += cols[
            (slice(None), slice(None)) + offsets]
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
    n = x.dim() - 2
    k, s, d = _pair(k, n), _pair(s, n), _pair(d, n)
    out = wrap(_im2col_array(x._data, k, s, d))
    node = record(Im2ColBackward0, out, (x,))
    if node is not None:
        node.shape, node.k, node.s, node.d = x._data.shape, k, s, d
    return out


def col2im(cols, shape, k, s=1, d=1):
    n = len(shape) - 2
    k, s, d = _pair(k, n), _pair(s, n), _pair(d, n)
    out = wrap(_col2im_array(cols._data, tuple(shape), k, s, d))
    node = record(Col2ImBackward0, out, (cols,))
    if node is not None:
        node.k, node.s, node.d = k, s, d
    return out


# -- functional forms -------------------------------------------------------------------------
def _pad_sym(x, pads, value=0.0):
    """Pad each spatial dim d by pads[d] on both sides."""
    if not any(pads):
        return x
    from .functional import pad

    widths = []
    for p in reversed(pads):  # F.pad lists the last dim first
        widths += [p, p]
    return pad(x, tuple(widths), value=value)


def _same_padding(k, d):
    total = d * (k - 1)
    return total // 2, total - total // 2


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Shown as one ConvolutionBackward0 node, as PyTorch (an unbatched input is unsqueezed
    first and squeezed after, as PyTorch does)."""
    if input.dim() != 4:
        return conv2d(input.unsqueeze(0), weight, bias, stride, padding, dilation,
                      groups).squeeze(0)
    return composite("ConvolutionBackward0", _conv_nd, (input, weight, bias), stride, padding,
                     dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    if input.dim() not in (4, 5):
        raise RuntimeError(f"Expected 4D (unbatched) or 5D (batched) input to conv3d, but got "
                           f"input of size: {list(input.shape)}")
    if input.dim() == 4:
        return conv3d(input.unsqueeze(0), weight, bias, stride, padding, dilation,
                      groups).squeeze(0)
    return composite("ConvolutionBackward0", _conv_nd, (input, weight, bias), stride, padding,
                     dilation, groups)


def _conv_nd(x, weight, bias, stride, padding, dilation, groups):
    """x: (N, C, *spatial), weight: (O, C / groups, *kernel)."""
    o, cg, *k = weight.shape
    nd = len(k)
    s, d = _pair(stride, nd), _pair(dilation, nd)
    if isinstance(padding, str):
        if padding == "valid":
            pads = (0,) * nd
        elif padding == "same":
            before_after = [_same_padding(kk, dd) for kk, dd in zip(k, d)]
            if any(b != a for b, a in before_after):  # uneven: pad explicitly first
                from .functional import pad
                widths = [w for ba in reversed(before_after) for w in ba]
                x = pad(x, tuple(widths))
                pads = (0,) * nd
            else:
                pads = tuple(b for b, _ in before_after)
        else:
            raise ValueError(f"Invalid padding string '{padding}'")
    else:
        pads = _pair(padding, nd)
    n, c = x.shape[:2]
    if c != cg * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
            f"{list(x.shape)} to have {cg * groups} channels, but got {c} channels instead")
    x = _pad_sym(x, pads)
    outs = tuple(_out_size(size, kk, ss, dd) for size, kk, ss, dd in zip(x.shape[2:], k, s, d))
    cols = im2col(x, k, s, d)                                  # (N, C*prod(k), L)
    length = math.prod(outs)
    if groups == 1:
        out = weight.reshape(o, -1).matmul(cols)               # (N, O, L)
    else:
        cols = cols.reshape(n, groups, cg * math.prod(k), length)
        out = weight.reshape(groups, o // groups, -1).matmul(cols).reshape(n, o, length)
    out = out.reshape((n, o) + outs)
    if bias is not None:
        out = out + bias.reshape((1, o) + (1,) * nd)
    return out


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    if input.dim() != 3:
        return conv1d(input.unsqueeze(0), weight, bias, stride, padding, dilation,
                      groups).squeeze(0)
    return composite("ConvolutionBackward0", _conv1d, (input, weight, bias), stride, padding,
                     dilation, groups)


def _conv1d(x, weight, bias, stride, padding, dilation, groups):
    pad = padding if isinstance(padding, str) else (0, _pair(padding, 1)[0])
    return _conv_nd(x.unsqueeze(2), weight.unsqueeze(2), bias, (1, _pair(stride, 1)[0]), pad,
                    (1, _pair(dilation, 1)[0]), groups).squeeze(2)


def _pool_windows(input, nd, kernel_size, stride, padding, dilation, fill, ceil_mode, name):
    """Every pooling window of an (N, C, *spatial) or unbatched input as
    (N, C, prod(kernel), *out), after padding with `fill`."""
    if ceil_mode:
        raise NotImplementedError(f"{name}: ceil_mode=True is not supported by chainrule")
    batched = input.dim() == nd + 2
    x = input if batched else input.unsqueeze(0)
    k = _pair(kernel_size, nd)
    s = k if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) \
        else _pair(stride, nd)
    p, d = _pair(padding, nd), _pair(dilation, nd)
    for pp, kk in zip(p, k):
        if pp > kk // 2:
            raise RuntimeError("pad should be at most half of effective kernel size, but got "
                               f"pad={pp}, kernel_size={kk} and dilation={d[0]}")
    n, c, *sizes = x.shape
    outs = tuple(_out_size(size + 2 * pp, kk, ss, dd)
                 for size, pp, kk, ss, dd in zip(sizes, p, k, s, d))
    cols = im2col(_pad_sym(x, p, fill), k, s, d).reshape((n, c, math.prod(k)) + outs)
    return cols, batched, k, outs, p, s, d


def _max_pool(name, nd, input, kernel_size, stride, padding, dilation, ceil_mode,
              return_indices):
    out = composite(name, _max_pool_values, (input,), nd, kernel_size, stride, padding,
                    dilation, ceil_mode)
    if not return_indices:
        return out
    from ..autograd.grad_mode import no_grad

    with no_grad():
        cols, batched, k, outs, p, s, d = _pool_windows(
            input.detach(), nd, kernel_size, stride, padding, dilation, -math.inf, ceil_mode,
            name)
        arg = cols._data.argmax(axis=2)
    # flat index into the (unpadded) input volume of each window's maximum, as PyTorch returns
    offsets = np.unravel_index(arg, k)
    coords = []
    for dim in range(nd):
        grid = np.arange(outs[dim]).reshape((-1,) + (1,) * (nd - 1 - dim))
        coords.append(grid * s[dim] - p[dim] + offsets[dim] * d[dim])
    idx = wrap(np.ravel_multi_index(coords, tuple(input.shape[-nd:])).astype(np.int64))
    return out, (idx if batched else idx.squeeze(0))


def _max_pool_values(input, nd, kernel_size, stride, padding, dilation, ceil_mode):
    cols, batched = _pool_windows(input, nd, kernel_size, stride, padding, dilation, -math.inf,
                                  ceil_mode, f"max_pool{nd}d")[:2]
    out = cols.max(dim=2)[0]  # the gradient goes to the first maximum, as PyTorch's
    return out if batched else out.squeeze(0)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    return _max_pool("MaxPool2DWithIndicesBackward0", 2, input, kernel_size, stride, padding,
                     dilation, ceil_mode, return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    if input.dim() not in (4, 5):
        raise RuntimeError("non-empty 4D or 5D (batch mode) tensor expected for input")
    return _max_pool("MaxPool3DWithIndicesBackward0", 3, input, kernel_size, stride, padding,
                     dilation, ceil_mode, return_indices)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    k = _pair(kernel_size, 1)[0]
    s = k if stride is None else _pair(stride, 1)[0]
    out = max_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, _pair(padding, 1)[0]),
                     (1, _pair(dilation, 1)[0]), ceil_mode, return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    return composite("AvgPool2DBackward0", _avg_pool, (input,), 2, kernel_size, stride,
                     padding, ceil_mode, count_include_pad, divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    if input.dim() not in (4, 5):
        raise RuntimeError("non-empty 4D or 5D (batch mode) tensor expected for input")
    return composite("AvgPool3DBackward0", _avg_pool, (input,), 3, kernel_size, stride,
                     padding, ceil_mode, count_include_pad, divisor_override)


def _avg_pool(input, nd, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    cols, batched, k, _, p, s, d = _pool_windows(
        input, nd, kernel_size, stride, padding, 1, 0.0, ceil_mode, f"avg_pool{nd}d")
    if divisor_override:
        out = cols.sum(dim=2) / divisor_override
    elif count_include_pad or not any(p):
        out = cols.mean(dim=2)
    else:
        ones = input.new_ones((1, 1) + tuple(input.shape[-nd:]))
        counts = _pool_windows(ones, nd, kernel_size, stride, padding, 1, 0.0, False,
                               f"avg_pool{nd}d")[0].sum(dim=2)
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


def _adaptive_sizes(input, output_size, nd):
    sizes = _pair(output_size, nd) if not isinstance(output_size, (list, tuple)) else \
        tuple(output_size)
    return tuple(int(input.shape[-nd + i]) if o is None else int(o) for i, o in enumerate(sizes))


def _adaptive_cells(input, outs):
    """Each output cell's window of the last len(outs) dims, in raster order."""
    nd = len(outs)
    bounds = [_adaptive_bounds(input.shape[-nd + i], o) for i, o in enumerate(outs)]
    for cell in itertools.product(*bounds):
        yield input[(Ellipsis,) + tuple(slice(a, b) for a, b in cell)]


def _adaptive_pool(input, outs, reduce):
    from .. import stack

    nd = len(outs)
    cells = [reduce(window.flatten(-nd)) for window in _adaptive_cells(input, outs)]
    return stack(cells, dim=-1).reshape(tuple(input.shape[:-nd]) + outs)


def _window_mean(flat):
    return flat.mean(-1)


def _window_max(flat):
    return flat.max(-1)[0]  # the gradient goes to the first maximum in raster order, as PyTorch


def adaptive_avg_pool2d(input, output_size):
    outs = _adaptive_sizes(input, output_size, 2)
    if outs == (1, 1):  # PyTorch takes the mean (MeanBackward1)
        return input.mean((-2, -1), keepdim=True)
    return composite("AdaptiveAvgPool2DBackward0", _adaptive_avg_pool, (input,), outs)


def adaptive_avg_pool3d(input, output_size):
    if input.dim() not in (4, 5):
        raise RuntimeError(f"adaptive_avg_pool3d(): Expected 4D or 5D tensor, but got "
                           f"{list(input.shape)}")
    outs = _adaptive_sizes(input, output_size, 3)
    if outs == (1, 1, 1):
        return input.mean((-3, -2, -1), keepdim=True)
    return composite("AdaptiveAvgPool3DBackward0", _adaptive_avg_pool, (input,), outs)


def _adaptive_avg_pool(input, outs):
    nd = len(outs)
    sizes = tuple(input.shape[-nd:])
    if all(size % o == 0 for size, o in zip(sizes, outs)):  # equal windows: plain avg pooling
        k = tuple(size // o for size, o in zip(sizes, outs))
        batched = input.dim() == nd + 2
        x = input if batched else input.unsqueeze(0)
        if x.dim() == nd + 2:
            out = _avg_pool(x, nd, k, None, 0, False, True, None)
            return out if batched else out.squeeze(0)
    return _adaptive_pool(input, outs, _window_mean)


def adaptive_avg_pool1d(input, output_size):
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, _pair(output_size, 1)[0])).squeeze(-2)


def _adaptive_max(name, input, output_size, nd, return_indices):
    outs = _adaptive_sizes(input, output_size, nd)
    out = composite(name, _adaptive_pool, (input,), outs, _window_max)
    if not return_indices:
        return out
    # flat index (into the input's last nd dims) of each cell's first maximum
    sizes = tuple(input.shape[-nd:])
    bounds = [_adaptive_bounds(size, o) for size, o in zip(sizes, outs)]
    idx = np.empty(tuple(input.shape[:-nd]) + (math.prod(outs),), dtype=np.int64)
    data = input._data
    for i, cell in enumerate(itertools.product(*bounds)):
        window = data[(Ellipsis,) + tuple(slice(a, b) for a, b in cell)]
        local = np.unravel_index(window.reshape(window.shape[:-nd] + (-1,)).argmax(-1),
                                 window.shape[-nd:])
        idx[..., i] = np.ravel_multi_index(
            tuple(c + a for c, (a, _) in zip(local, cell)), sizes)
    return out, wrap(idx.reshape(tuple(input.shape[:-nd]) + outs))


def adaptive_max_pool1d(input, output_size, return_indices=False):
    out = adaptive_max_pool2d(input.unsqueeze(-2), (1, _pair(output_size, 1)[0]),
                              return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    return _adaptive_max("AdaptiveMaxPool2DBackward0", input, output_size, 2, return_indices)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    if input.dim() not in (4, 5):
        raise RuntimeError(f"adaptive_max_pool3d(): Expected 4D or 5D tensor, but got: "
                           f"{list(input.shape)}")
    return _adaptive_max("AdaptiveMaxPool3DBackward0", input, output_size, 3, return_indices)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=False):
    return adaptive_max_pool3d(input, output_size, True)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    if input.dim() == 3:  # unbatched (C, H, W)
        return unfold(input.unsqueeze(0), kernel_size, dilation, padding, stride).squeeze(0)
    if input.dim() != 4:
        raise RuntimeError(f"Input Error: Only 3D or 4D input Tensors are supported (got "
                           f"{input.dim()}D)")
    return im2col(_pad_sym(input, _pair(padding)), kernel_size, stride, dilation)


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
    out = composite("ConvolutionBackward0", _conv_transpose_nd, (x, weight, bias), stride,
                    padding, output_padding, groups, dilation)
    return out if batched else out.squeeze(0)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """conv_transpose2d's 3-d form; weight: (C_in, C_out / groups, kd, kh, kw)."""
    if input.dim() not in (4, 5):
        raise RuntimeError(f"Expected 4D (unbatched) or 5D (batched) input to conv_transpose3d, "
                           f"but got input of size: {list(input.shape)}")
    batched = input.dim() == 5
    x = input if batched else input.unsqueeze(0)
    out = composite("ConvolutionBackward0", _conv_transpose_nd, (x, weight, bias), stride,
                    padding, output_padding, groups, dilation)
    return out if batched else out.squeeze(0)


_AXES = {2: ("height", "width"), 3: ("depth", "height", "width")}


def _conv_transpose_nd(x, weight, bias, stride, padding, output_padding, groups, dilation):
    cin, cg_out, *k = weight.shape
    nd = len(k)
    s, p, op, d = (_pair(v, nd) for v in (stride, padding, output_padding, dilation))
    if any(o >= ss and o >= dd for o, ss, dd in zip(op, s, d)):
        names = _AXES[nd]
        raise RuntimeError(
            "output padding must be smaller than either stride or dilation, but got "
            + " ".join(f"{what}_{axis}: {v[i]}" for what, v in
                       (("output_padding", op), ("stride", s), ("dilation", d))
                       for i, axis in enumerate(names)))
    n, c, *sizes = x.shape
    if c != cin:
        raise RuntimeError(
            f"Given transposed=1, weight of size {list(weight.shape)}, expected input"
            f"{list(x.shape)} to have {cin} channels, but got {c} channels instead")
    cout, ci, length = cg_out * groups, cin // groups, math.prod(sizes)
    wt = weight.reshape(groups, ci, cg_out * math.prod(k)).transpose(1, 2)  # (g, Co/g*k, Ci/g)
    cols = wt.matmul(x.reshape(n, groups, ci, length)).reshape(n, cout * math.prod(k), length)
    full = tuple((size - 1) * ss + dd * (kk - 1) + 1 for size, ss, dd, kk in zip(sizes, s, d, k))
    out = col2im(cols, (n, cout) + full, k, s, d)
    if any(p) or any(op):
        from .functional import pad
        widths = []
        for pp, oo in zip(reversed(p), reversed(op)):  # F.pad lists the last dim first
            widths += [-pp, oo - pp]
        out = pad(out, tuple(widths))
    if bias is not None:
        out = out + bias.reshape((1, cout) + (1,) * nd)
    return out


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    batched = input.dim() == 3
    x = input if batched else input.unsqueeze(0)
    out = composite("ConvolutionBackward0", _conv_transpose_1d, (x, weight, bias), stride,
                    padding, output_padding, groups, dilation)
    return out if batched else out.squeeze(0)


def _conv_transpose_1d(x, weight, bias, stride, padding, output_padding, groups, dilation):
    """The 2-d kernel on a height-1 image."""
    one = lambda v: _pair(v, 1)[0]  # noqa: E731
    return _conv_transpose_nd(x.unsqueeze(2), weight.unsqueeze(2), bias, (1, one(stride)),
                              (0, one(padding)), (0, one(output_padding)), groups,
                              (1, one(dilation))).squeeze(2)
