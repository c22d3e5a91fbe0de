"""3-d convolution, transposed convolution, pooling (also AdaptiveMaxPool1d and the
*_with_indices forms), BatchNorm3d, InstanceNorm3d and the 3-d padding layers against PyTorch:
values, gradients, indices, grad_fn names, seeded parameters, reprs, errors, gradgradcheck."""
import numpy as np
import pytest
import torch

import chainrule as cr
from nn_more_helpers import (DTYPE_IDS, DTYPES, check_module, compare, double, gradchecks,
                             raises_like)

F, CF = torch.nn.functional, cr.nn.functional


def _randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


CONV3D = [dict(), dict(stride=2, padding=1), dict(dilation=(1, 2, 1), padding=(0, 2, 1)),
          dict(groups=2, stride=(1, 2, 2)), dict(padding="same", dilation=2),
          dict(padding="same"), dict(padding="valid")]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("kw", CONV3D, ids=[str(k) for k in CONV3D])
def test_conv3d_matches_torch(kw, dtype):
    g = kw.get("groups", 1)
    x, w, b = _randn(2, 4, 5, 6, 4), _randn(6, 4 // g, 2, 3, 2, seed=1), _randn(6, seed=2)
    compare(lambda *a: F.conv3d(*a, **kw), lambda *a: CF.conv3d(*a, **kw), [x, w, b], dtype,
            "ConvolutionBackward0")
    compare(lambda *a: F.conv3d(*a, **kw), lambda *a: CF.conv3d(*a, **kw), [x[0], w], dtype)


CONVT3D = [dict(), dict(stride=2, padding=1, output_padding=1),
           dict(groups=2, dilation=(2, 1, 1), stride=(1, 2, 1), output_padding=(0, 1, 0))]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("kw", CONVT3D, ids=[str(k) for k in CONVT3D])
def test_conv_transpose3d_matches_torch(kw, dtype):
    g = kw.get("groups", 1)
    x, w, b = _randn(2, 4, 3, 4, 3), _randn(4, 6 // g, 2, 3, 2, seed=1), _randn(6, seed=2)
    compare(lambda *a: F.conv_transpose3d(*a, **kw), lambda *a: CF.conv_transpose3d(*a, **kw),
            [x, w, b], dtype, "ConvolutionBackward0")
    compare(lambda *a: F.conv_transpose3d(*a, **kw), lambda *a: CF.conv_transpose3d(*a, **kw),
            [x[1], w], dtype)


POOL3D = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
          dict(kernel_size=(2, 3, 2), stride=(1, 2, 1), padding=(1, 1, 0))]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("kw", POOL3D, ids=[str(k) for k in POOL3D])
def test_pool3d_matches_torch(kw, dtype):
    x = _randn(2, 3, 5, 6, 5)
    compare(lambda x: F.max_pool3d(x, **kw), lambda x: CF.max_pool3d(x, **kw), [x], dtype,
            "MaxPool3DWithIndicesBackward0")
    compare(lambda x: F.max_pool3d(x, **kw, dilation=(1, 2, 1)),
            lambda x: CF.max_pool3d(x, **kw, dilation=(1, 2, 1)), [x[0]], dtype)
    compare(lambda x: F.max_pool3d_with_indices(x, **kw),
            lambda x: CF.max_pool3d_with_indices(x, **kw), [x], dtype)
    for extra in (dict(), dict(count_include_pad=False), dict(divisor_override=5)):
        compare(lambda x: F.avg_pool3d(x, **kw, **extra),
                lambda x: CF.avg_pool3d(x, **kw, **extra), [x], dtype, "AvgPool3DBackward0")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_max_pool_indices_1d_2d_match_torch(dtype):
    x = torch.randn(2, 3, 7, 8)
    x[0, 0, :2, :2] = 1.0  # a tie: the first maximum is returned
    compare(lambda x: F.max_pool2d_with_indices(x, 3, 2, 1),
            lambda x: CF.max_pool2d_with_indices(x, 3, 2, 1), [x], dtype)
    compare(lambda x: F.max_pool2d(x, (2, 3), return_indices=True, dilation=(2, 1)),
            lambda x: CF.max_pool2d(x, (2, 3), return_indices=True, dilation=(2, 1)), [x[0]],
            dtype)
    compare(lambda x: F.max_pool1d_with_indices(x, 3, 2, 1),
            lambda x: CF.max_pool1d_with_indices(x, 3, 2, 1), [x[0]], dtype)


ADAPTIVE = [(2, 3, 2), 1, (3, None, 2), (4, 4, 3)]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("size", ADAPTIVE, ids=[str(s) for s in ADAPTIVE])
def test_adaptive_pool3d_matches_torch(size, dtype):
    x = _randn(2, 3, 5, 4, 6)
    avg_name = "MeanBackward1" if size == 1 else "AdaptiveAvgPool3DBackward0"
    compare(lambda x: F.adaptive_avg_pool3d(x, size), lambda x: CF.adaptive_avg_pool3d(x, size),
            [x], dtype, avg_name)
    compare(lambda x: F.adaptive_max_pool3d(x, size), lambda x: CF.adaptive_max_pool3d(x, size),
            [x], dtype, "AdaptiveMaxPool3DBackward0")
    compare(lambda x: F.adaptive_max_pool3d(x, size, True),
            lambda x: CF.adaptive_max_pool3d(x, size, True), [x[0]], dtype)
    compare(lambda x: F.adaptive_max_pool3d_with_indices(x, size),
            lambda x: CF.adaptive_max_pool3d_with_indices(x, size), [x], dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("size", [3, 4, 1, 7], ids=str)
def test_adaptive_max_pool1d_2d_match_torch(size, dtype):
    x = _randn(2, 3, 7)
    x[0, 0, 1:3] = 2.0  # a tie
    compare(lambda x: F.adaptive_max_pool1d(x, size), lambda x: CF.adaptive_max_pool1d(x, size),
            [x], dtype, "SqueezeBackward1")
    compare(lambda x: F.adaptive_max_pool1d(x, size, return_indices=True),
            lambda x: CF.adaptive_max_pool1d(x, size, return_indices=True), [x[0]], dtype)
    compare(lambda x: F.adaptive_max_pool1d_with_indices(x, size),
            lambda x: CF.adaptive_max_pool1d_with_indices(x, size), [x], dtype)
    y = _randn(2, 3, 7, 5)
    compare(lambda x: F.adaptive_max_pool2d_with_indices(x, (size, 2)),
            lambda x: CF.adaptive_max_pool2d_with_indices(x, (size, 2)), [y], dtype)


MODULES = [
    ("Conv3d", (4, 6, 2), dict(stride=2, padding=1), (2, 4, 5, 4, 5)),
    ("Conv3d", (4, 6, (1, 2, 3)), dict(groups=2, bias=False), (4, 3, 4, 5)),
    ("ConvTranspose3d", (4, 6, 2), dict(stride=2), (2, 4, 3, 2, 3)),
    ("ConvTranspose3d", (4, 2, (2, 1, 2)), dict(groups=2, padding=1, dilation=2),
     (2, 4, 3, 3, 3)),
    ("MaxPool3d", (2,), dict(stride=1), (2, 3, 4, 4, 4)),
    ("AvgPool3d", (3,), dict(stride=2, padding=1), (2, 3, 5, 5, 4)),
    ("AdaptiveAvgPool3d", ((2, 3, 1),), {}, (2, 3, 5, 5, 4)),
    ("AdaptiveMaxPool3d", (2,), {}, (3, 5, 5, 4)),
    ("AdaptiveMaxPool1d", (3,), {}, (2, 3, 8)),
    ("BatchNorm3d", (3,), {}, (2, 3, 2, 3, 2)),
    ("BatchNorm3d", (3,), dict(momentum=None, affine=False), (2, 3, 2, 3, 2)),
    ("InstanceNorm3d", (3,), dict(affine=True, track_running_stats=True), (2, 3, 2, 3, 2)),
    ("InstanceNorm3d", (3,), {}, (3, 2, 3, 2)),
    ("ConstantPad3d", (1, 2.5), {}, (2, 3, 2, 3, 2)),
    ("ConstantPad3d", ((1, 0, 2, 1, 0, 1), -1.0), {}, (3, 2, 3, 2)),
    ("ZeroPad3d", ((0, 1, 2, 1, 1, 0),), {}, (2, 3, 2, 3, 2)),
    ("ReflectionPad3d", (1,), {}, (2, 3, 2, 3, 4)),
    ("ReplicationPad3d", ((2, 1, 0, 1, 1, 2),), {}, (2, 3, 2, 3, 2)),
    ("CircularPad3d", ((1, 1, 0, 2, 1, 0),), {}, (2, 3, 2, 3, 2)),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("kind,args,kw,shape", MODULES,
                         ids=[f"{k}{a}{kw}" for k, a, kw, _ in MODULES])
def test_module_matches_torch(kind, args, kw, shape, dtype):
    torch.manual_seed(7)
    t_mod = getattr(torch.nn, kind)(*args, **kw)
    cr.manual_seed(7)
    c_mod = getattr(cr.nn, kind)(*args, **kw)
    assert repr(c_mod) == repr(t_mod)
    for (name, t_p), (_, c_p) in zip(t_mod.named_parameters(), c_mod.named_parameters()):
        assert np.array_equal(c_p.detach().numpy(), t_p.detach().numpy()), name
    check_module(t_mod, c_mod, [_randn(*shape, seed=3)], dtype)


def test_3d_errors_are_torchs():
    x = torch.ones(2, 3, 4)
    c = cr.ones(2, 3, 4)
    raises_like(lambda: F.conv3d(x, torch.ones(2, 3, 2, 2, 2)),
                lambda: CF.conv3d(c, cr.ones(2, 3, 2, 2, 2)))
    raises_like(lambda: F.conv3d(torch.ones(1, 2, 3, 3, 3), torch.ones(2, 3, 2, 2, 2)),
                lambda: CF.conv3d(cr.ones(1, 2, 3, 3, 3), cr.ones(2, 3, 2, 2, 2)))
    raises_like(lambda: F.conv_transpose3d(torch.ones(1, 2, 3, 3, 3), torch.ones(2, 3, 2, 2, 2),
                                           output_padding=2),
                lambda: CF.conv_transpose3d(cr.ones(1, 2, 3, 3, 3), cr.ones(2, 3, 2, 2, 2),
                                            output_padding=2))
    raises_like(lambda: F.conv_transpose3d(torch.ones(1, 1, 3, 3, 3), torch.ones(2, 3, 2, 2, 2)),
                lambda: CF.conv_transpose3d(cr.ones(1, 1, 3, 3, 3), cr.ones(2, 3, 2, 2, 2)))
    raises_like(lambda: F.max_pool3d(x, 2), lambda: CF.max_pool3d(c, 2))
    raises_like(lambda: F.avg_pool3d(x, 2), lambda: CF.avg_pool3d(c, 2))
    raises_like(lambda: F.adaptive_max_pool3d(x, 2), lambda: CF.adaptive_max_pool3d(c, 2))
    raises_like(lambda: F.adaptive_avg_pool3d(x, 2), lambda: CF.adaptive_avg_pool3d(c, 2))
    raises_like(lambda: torch.nn.BatchNorm3d(3)(torch.ones(2, 3, 4, 4)),
                lambda: cr.nn.BatchNorm3d(3)(cr.ones(2, 3, 4, 4)))
    raises_like(lambda: torch.nn.InstanceNorm3d(3)(x), lambda: cr.nn.InstanceNorm3d(3)(c))
    raises_like(lambda: torch.nn.ConvTranspose3d(2, 2, 2)(x),
                lambda: cr.nn.ConvTranspose3d(2, 2, 2)(c))


GRADCHECKS = {
    "conv3d": (lambda x, w, b: CF.conv3d(x, w, b, stride=(1, 2, 1), padding=1, groups=2),
               lambda: (double(1, 2, 3, 3, 2), double(2, 1, 2, 2, 2), double(2))),
    "conv_transpose3d": (lambda x, w: CF.conv_transpose3d(x, w, stride=2, output_padding=1),
                         lambda: (double(1, 2, 2, 2, 1), double(2, 1, 2, 1, 2))),
    "max_pool3d": (lambda x: CF.max_pool3d(x, 2, 1, 1),
                   lambda: (double(1, 1, 3, 3, 2),)),
    "avg_pool3d": (lambda x: CF.avg_pool3d(x, 2, 1, 1, count_include_pad=False),
                   lambda: (double(1, 1, 3, 3, 2),)),
    "adaptive_avg_pool3d": (lambda x: CF.adaptive_avg_pool3d(x, (2, 1, 2)),
                            lambda: (double(1, 3, 3, 3),)),
    "adaptive_max_pool3d": (lambda x: CF.adaptive_max_pool3d(x, (2, 2, 1)),
                            lambda: (double(1, 3, 3, 2),)),
    "adaptive_max_pool1d": (lambda x: CF.adaptive_max_pool1d(x, 3), lambda: (double(2, 5),)),
}


@pytest.mark.parametrize("case", list(GRADCHECKS))
def test_gradcheck_and_gradgradcheck(case):
    fn, make = GRADCHECKS[case]
    cr.manual_seed(0)
    gradchecks(fn, make())
