"""Transposed convolutions, padding modes and layers, instance norm, fold/unfold, pixel shuffle and
linear interpolation against PyTorch: values and gradients (float64 tight, float32 ~1e-5),
parameters drawn from the same seed, reprs, gradcheck and gradgradcheck in float64."""
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

from nn_more_helpers import DTYPE_IDS, DTYPES, close, compare, to_cr


# -- transposed convolution ------------------------------------------------------------------
CONVT2D = [
    dict(),
    dict(stride=2),
    dict(stride=2, padding=1, output_padding=1),
    dict(stride=(2, 3), padding=(1, 2), output_padding=(1, 2)),
    dict(dilation=2, padding=2),
    dict(stride=2, dilation=(1, 2), output_padding=(1, 1)),
    dict(groups=2, stride=2, padding=1),
    dict(groups=4, dilation=(2, 1), stride=(1, 2), output_padding=(1, 1)),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("kw", CONVT2D, ids=[str(k) for k in CONVT2D])
def test_conv_transpose2d_matches_torch(kw, bias, dtype):
    torch.manual_seed(0)
    groups = kw.get("groups", 1)
    x = torch.randn(2, 4, 5, 6)
    w = torch.randn(4, 6 // groups if 6 % groups == 0 else 2, 3, 2)
    b = torch.randn(w.shape[1] * groups)
    inputs = [x, w] + ([b] if bias else [])
    compare(lambda *a: torch.nn.functional.conv_transpose2d(*a[:2], *a[2:], **kw),
            lambda *a: cr.nn.functional.conv_transpose2d(*a[:2], *a[2:], **kw), inputs, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("kw", [dict(), dict(stride=3, padding=2, output_padding=2),
                                dict(groups=2, dilation=3), dict(stride=2, output_padding=1)],
                         ids=["plain", "stride_pad_outpad", "groups_dilation", "outpad"])
def test_conv_transpose1d_matches_torch(kw, dtype):
    torch.manual_seed(1)
    x, w, b = torch.randn(3, 4, 7), torch.randn(4, 3, 4), torch.randn(3 * kw.get("groups", 1))
    compare(lambda *a: torch.nn.functional.conv_transpose1d(*a, **kw),
            lambda *a: cr.nn.functional.conv_transpose1d(*a, **kw), [x, w, b], dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_conv_transpose_unbatched(dtype):
    torch.manual_seed(2)
    compare(lambda x, w: torch.nn.functional.conv_transpose2d(x, w, stride=2),
            lambda x, w: cr.nn.functional.conv_transpose2d(x, w, stride=2),
            [torch.randn(4, 3, 3), torch.randn(4, 2, 2, 2)], dtype)
    compare(lambda x, w: torch.nn.functional.conv_transpose1d(x, w, padding=1),
            lambda x, w: cr.nn.functional.conv_transpose1d(x, w, padding=1),
            [torch.randn(4, 6), torch.randn(4, 2, 3)], dtype)


MODULES = [
    ("ConvTranspose2d", (4, 6, 3), {}),
    ("ConvTranspose2d", (4, 6, (3, 2)), {"stride": 2, "padding": 1, "output_padding": 1,
                                         "groups": 2, "bias": False}),
    ("ConvTranspose2d", (2, 3, 2), {"dilation": 2}),
    ("ConvTranspose1d", (4, 6, 3), {"stride": 2, "groups": 2}),
    ("ConvTranspose1d", (3, 5, 2), {"padding": 1, "output_padding": 1, "stride": 2,
                                    "bias": False}),
    ("InstanceNorm1d", (4,), {}),
    ("InstanceNorm1d", (4,), {"affine": True, "track_running_stats": True}),
    ("InstanceNorm2d", (3,), {"affine": True}),
    ("InstanceNorm2d", (3,), {"track_running_stats": True, "momentum": 0.3, "eps": 1e-3}),
    ("InstanceNorm2d", (3,), {"affine": True, "bias": False}),
    ("ZeroPad2d", (2,), {}),
    ("ZeroPad2d", ((1, 2, 3, 0),), {}),
    ("ConstantPad1d", (2, 3.5), {}),
    ("ConstantPad2d", ((1, 0, 2, 1), -1.0), {}),
    ("ReflectionPad1d", (2,), {}),
    ("ReflectionPad2d", ((1, 2, 0, 2),), {}),
    ("ReplicationPad1d", ((3, 1),), {}),
    ("ReplicationPad2d", (2,), {}),
    ("CircularPad1d", (2,), {}),
    ("CircularPad2d", ((1, 2, 2, 0),), {}),
    ("PixelShuffle", (2,), {}),
    ("PixelUnshuffle", (2,), {}),
    ("Fold", (), {"output_size": (4, 5), "kernel_size": 2}),
    ("Fold", (), {"output_size": 6, "kernel_size": (2, 3), "stride": 2, "padding": 1,
                  "dilation": 1}),
    ("Unfold", (), {"kernel_size": (2, 3), "padding": 1}),
    ("UpsamplingBilinear2d", (), {"scale_factor": 2}),
    ("UpsamplingNearest2d", (), {"size": (5, 3)}),
    ("Upsample", (), {"scale_factor": 1.5, "mode": "bilinear"}),
]


def _module_input(kind, args, kwargs, dtype):
    g = torch.Generator().manual_seed(3)
    if kind == "ConvTranspose2d":
        return torch.randn(2, args[0], 5, 4, dtype=dtype, generator=g)
    if kind == "ConvTranspose1d":
        return torch.randn(2, args[0], 6, dtype=dtype, generator=g)
    if kind.endswith("1d"):
        return torch.randn(2, 4, 6, dtype=dtype, generator=g)
    if kind == "PixelShuffle":
        return torch.randn(2, 8, 3, 2, dtype=dtype, generator=g)
    if kind == "PixelUnshuffle":
        return torch.randn(2, 3, 4, 6, dtype=dtype, generator=g)
    if kind == "Fold":
        k = kwargs["kernel_size"]
        k = k if isinstance(k, tuple) else (k, k)
        size = kwargs["output_size"]
        size = size if isinstance(size, tuple) else (size, size)
        p, s = kwargs.get("padding", 0), kwargs.get("stride", 1)
        blocks = [(size[i] + 2 * p - k[i]) // s + 1 for i in range(2)]
        return torch.randn(2, 3 * k[0] * k[1], blocks[0] * blocks[1], dtype=dtype, generator=g)
    return torch.randn(2, 3, 4, 5, dtype=dtype, generator=g)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("kind,args,kwargs", MODULES,
                         ids=[f"{k}{a}{sorted(kw.items())}" for k, a, kw in MODULES])
def test_module_matches_torch(kind, args, kwargs, dtype):
    """Same seed -> same parameters (bit for bit, in float32); same repr, parameter and buffer
    names; the same output and gradients (of the input and every parameter)."""
    torch.manual_seed(7)
    tmod = getattr(torch.nn, kind)(*args, **kwargs)
    cr.manual_seed(7)
    cmod = getattr(cr.nn, kind)(*args, **kwargs)
    assert repr(cmod) == repr(tmod)
    assert [n for n, _ in cmod.named_parameters()] == [n for n, _ in tmod.named_parameters()]
    assert [n for n, _ in cmod.named_buffers()] == [n for n, _ in tmod.named_buffers()]
    for (name, t_p), (_, c_p) in zip(tmod.named_parameters(), cmod.named_parameters()):
        assert np.array_equal(c_p.detach().numpy(), t_p.detach().numpy()), name
    tmod, cmod = tmod.to(dtype), cmod.to(cr.float32 if dtype == torch.float32 else cr.float64)
    x = _module_input(kind, args, kwargs, dtype)
    x.requires_grad_()
    c_x = to_cr(x, True)
    t_out, c_out = tmod(x), cmod(c_x)
    close(c_out, t_out, dtype)
    w = torch.randn(t_out.shape, dtype=dtype, generator=torch.Generator().manual_seed(4))
    (t_out * w).sum().backward()
    (c_out * to_cr(w)).sum().backward()
    close(c_x.grad, x.grad, dtype)
    for (name, t_p), (_, c_p) in zip(tmod.named_parameters(), cmod.named_parameters()):
        close(c_p.grad, t_p.grad, dtype)
    for (name, t_b), (_, c_b) in zip(tmod.named_buffers(), cmod.named_buffers()):
        close(c_b, t_b, dtype) if t_b.is_floating_point() else \
            np.testing.assert_array_equal(c_b.numpy(), t_b.numpy())


def test_conv_transpose_output_size_argument():
    torch.manual_seed(0)
    t = torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    cr.manual_seed(0)
    c = cr.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    x = torch.randn(1, 3, 4, 4)
    for size in [(7, 7), (8, 8), (7, 8), [1, 2, 8, 7]]:
        close(c(to_cr(x), output_size=size), t(x, output_size=size), torch.float32)
    with pytest.raises(ValueError) as ours:
        c(to_cr(x), output_size=(9, 9))
    with pytest.raises(ValueError) as theirs:
        t(x, output_size=(9, 9))
    assert str(ours.value) == str(theirs.value).replace("torch.Size", "torch.Size")


def test_conv_transpose_errors_are_torchs():
    x = torch.randn(1, 2, 4, 4)
    for call in [
        lambda t, x: t.nn.functional.conv_transpose2d(x, t.randn(3, 2, 2, 2)),
        lambda t, x: t.nn.functional.conv_transpose2d(x, t.randn(2, 2, 2, 2), stride=2,
                                                      output_padding=2),
        lambda t, x: t.nn.ConvTranspose2d(2, 3, 2, padding_mode="reflect"),
    ]:
        with pytest.raises(Exception) as theirs:
            call(torch, x)
        with pytest.raises(Exception) as ours:
            call(cr, to_cr(x))
        assert type(ours.value) is type(theirs.value)
        assert str(ours.value) == str(theirs.value)


# -- padding -----------------------------------------------------------------------------------
PADS = [
    ("reflect", (2, 1), 3), ("reflect", (0, 3), 2), ("reflect", (1, 2, 3, 0), 4),
    ("reflect", (1, 1, 1, 1), 3), ("reflect", (-1, 2, 1, -2), 4), ("reflect", (1, 2), 2),
    ("reflect", (1, 1, 2, 0, 1, 1), 5),
    ("replicate", (3, 0), 3), ("replicate", (2, 5, 1, 0), 4), ("replicate", (4, 4), 2),
    ("replicate", (-2, 1, 0, 3), 4), ("replicate", (1, 0, 2, 1, 0, 2), 5),
    ("circular", (2, 3), 3), ("circular", (1, 2, 3, 1), 4), ("circular", (-1, 2), 3),
    ("circular", (2, -1, 0, -2), 4), ("circular", (1, 1, 0, 2, 2, 0), 5),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("mode,pad,ndim", PADS, ids=[f"{m}{p}{n}d" for m, p, n in PADS])
def test_pad_modes_match_torch(mode, pad, ndim, dtype):
    torch.manual_seed(5)
    x = torch.randn(*(2, 3, 4, 5, 6)[5 - ndim:])
    names = {"reflect": "ReflectionPad", "replicate": "ReplicationPad"}
    k = len(pad) // 2
    name = f"{names[mode]}{k}DBackward0" if mode in names else None
    compare(lambda x: torch.nn.functional.pad(x, pad, mode),
            lambda x: cr.nn.functional.pad(x, pad, mode), [x], dtype, grad_fn=name)


PAD_ERRORS = {
    "reflect_too_big": lambda t: t.nn.functional.pad(t.randn(1, 2, 3), (3, 1), "reflect"),
    "reflect_4d_len2": lambda t: t.nn.functional.pad(t.randn(1, 2, 3, 3), (1, 1), "reflect"),
    "replicate_1d": lambda t: t.nn.functional.pad(t.randn(3), (1, 1), "replicate"),
    "circular_wraps_twice": lambda t: t.nn.functional.pad(t.randn(1, 2, 3), (4, 0),
                                                          "circular"),
    "unknown_mode": lambda t: t.nn.functional.pad(t.randn(1, 2, 3), (1, 1), "wrap"),
}


@pytest.mark.parametrize("case", list(PAD_ERRORS))
def test_pad_errors_are_torchs(case):
    with pytest.raises(Exception) as theirs:
        PAD_ERRORS[case](torch)
    with pytest.raises(Exception) as ours:
        PAD_ERRORS[case](cr)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)


# -- instance norm -------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_instance_norm_running_stats_train_then_eval(dtype):
    torch.manual_seed(0)
    t = torch.nn.InstanceNorm2d(3, affine=True, track_running_stats=True).to(dtype)
    c = cr.nn.InstanceNorm2d(3, affine=True, track_running_stats=True).to(
        cr.float32 if dtype == torch.float32 else cr.float64)
    for step in range(3):
        x = torch.randn(4, 3, 5, 2, dtype=dtype) * (step + 1) + step
        close(c(to_cr(x)), t(x), dtype)
    close(c.running_mean, t.running_mean, dtype)
    close(c.running_var, t.running_var, dtype)
    assert int(c.num_batches_tracked.item()) == int(t.num_batches_tracked.item())
    t.eval()
    c.eval()
    x = torch.randn(2, 3, 4, 4, dtype=dtype)
    close(c(to_cr(x)), t(x), dtype)
    compare(lambda x: torch.nn.functional.instance_norm(x), lambda x:
            cr.nn.functional.instance_norm(x), [x], dtype)


def test_instance_norm_unbatched_and_checks():
    torch.manual_seed(1)
    x = torch.randn(3, 6)
    close(cr.nn.InstanceNorm1d(3)(to_cr(x)), torch.nn.InstanceNorm1d(3)(x), torch.float32)
    for call in [lambda t: t.nn.InstanceNorm1d(3)(t.randn(2, 3, 4, 5)),
                 lambda t: t.nn.InstanceNorm2d(3, affine=True)(t.randn(2, 4, 3, 3)),
                 lambda t: t.nn.InstanceNorm1d(3)(t.randn(2, 3, 1))]:
        with pytest.raises(Exception) as theirs:
            call(torch)
        with pytest.raises(Exception) as ours:
            call(cr)
        assert type(ours.value) is type(theirs.value)
        assert str(ours.value) == str(theirs.value)
    with pytest.warns(UserWarning, match="does not match num_features"):
        cr.nn.InstanceNorm1d(3)(cr.randn(2, 4, 5))


# -- fold / unfold, pixel shuffle ------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_fold_unfold_match_torch(dtype):
    torch.manual_seed(2)
    kw = dict(kernel_size=(2, 3), dilation=(1, 2), padding=1, stride=(2, 1))
    compare(lambda x: torch.nn.functional.unfold(x, **kw),
            lambda x: cr.nn.functional.unfold(x, **kw), [torch.randn(2, 3, 5, 6)], dtype)
    compare(lambda x: torch.nn.functional.unfold(x, **kw),
            lambda x: cr.nn.functional.unfold(x, **kw), [torch.randn(3, 5, 6)], dtype)
    cols = torch.nn.functional.unfold(torch.randn(2, 3, 5, 6), **kw)
    compare(lambda x: torch.nn.functional.fold(x, (5, 6), **kw),
            lambda x: cr.nn.functional.fold(x, (5, 6), **kw), [cols], dtype)
    compare(lambda x: torch.nn.functional.fold(x, (5, 6), **kw),
            lambda x: cr.nn.functional.fold(x, (5, 6), **kw), [cols[0]], dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_pixel_shuffle_matches_torch(dtype):
    torch.manual_seed(3)
    compare(lambda x: torch.nn.functional.pixel_shuffle(x, 3),
            lambda x: cr.nn.functional.pixel_shuffle(x, 3), [torch.randn(2, 2, 18, 2, 3)],
            dtype, grad_fn="PixelShuffleBackward0")
    compare(lambda x: torch.nn.functional.pixel_unshuffle(x, 2),
            lambda x: cr.nn.functional.pixel_unshuffle(x, 2), [torch.randn(3, 4, 6)], dtype)
    for call in [lambda t: t.nn.functional.pixel_shuffle(t.randn(1, 5, 2, 2), 2),
                 lambda t: t.nn.functional.pixel_unshuffle(t.randn(1, 1, 3, 4), 2)]:
        with pytest.raises(Exception) as theirs:
            call(torch)
        with pytest.raises(Exception) as ours:
            call(cr)
        assert str(ours.value) == str(theirs.value)


# -- interpolate -------------------------------------------------------------------------------
INTERP = [
    ("bilinear", dict(scale_factor=2)), ("bilinear", dict(scale_factor=0.5)),
    ("bilinear", dict(size=(7, 3))), ("bilinear", dict(scale_factor=(1.7, 0.6))),
    ("bilinear", dict(scale_factor=1.5, recompute_scale_factor=True)),
    ("bilinear", dict(size=(1, 1))),
    ("linear", dict(scale_factor=3)), ("linear", dict(size=4)),
    ("linear", dict(scale_factor=0.7)),
    ("trilinear", dict(scale_factor=(2, 1.5, 0.5))),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("align_corners", [None, False, True], ids=["ac_none", "ac0", "ac1"])
@pytest.mark.parametrize("mode,kw", INTERP, ids=[f"{m}{sorted(k.items())}" for m, k in INTERP])
def test_interpolate_linear_modes_match_torch(mode, kw, align_corners, dtype):
    torch.manual_seed(4)
    shape = {"linear": (2, 3, 5), "bilinear": (2, 3, 5, 4), "trilinear": (1, 2, 3, 4, 4)}[mode]
    name = {"linear": "UpsampleLinear1DBackward0", "bilinear": "UpsampleBilinear2DBackward0",
            "trilinear": "UpsampleTrilinear3DBackward0"}[mode]
    compare(lambda x: torch.nn.functional.interpolate(x, mode=mode, align_corners=align_corners,
                                                      **kw),
            lambda x: cr.nn.functional.interpolate(x, mode=mode, align_corners=align_corners,
                                                   **kw),
            [torch.randn(*shape)], dtype, grad_fn=name)


def test_interpolate_mode_and_dims_mismatch_is_refused():
    with pytest.raises(NotImplementedError):
        cr.nn.functional.interpolate(cr.randn(1, 2, 3), scale_factor=2, mode="bilinear")
    with pytest.raises(ValueError, match="align_corners"):
        cr.nn.functional.interpolate(cr.randn(1, 2, 3), scale_factor=2, align_corners=True)


# -- gradcheck / gradgradcheck ---------------------------------------------------------------
def _double(*shape):
    return cr.randn(*shape, dtype=cr.float64, requires_grad=True)


GRADCHECKS = {
    "conv_transpose2d": (lambda x, w, b: cr.nn.functional.conv_transpose2d(
        x, w, b, stride=2, padding=1, output_padding=1, groups=2, dilation=(1, 2)),
        lambda: (_double(1, 4, 3, 2), _double(4, 1, 2, 2), _double(2))),
    "conv_transpose1d": (lambda x, w: cr.nn.functional.conv_transpose1d(x, w, stride=2),
                         lambda: (_double(2, 2, 3), _double(2, 3, 2))),
    "reflect": (lambda x: cr.nn.functional.pad(x, (2, 1, 1, 2), "reflect"),
                lambda: (_double(1, 2, 3, 4),)),
    "replicate": (lambda x: cr.nn.functional.pad(x, (2, 3), "replicate"),
                  lambda: (_double(2, 3),)),
    "circular": (lambda x: cr.nn.functional.pad(x, (1, 2, 2, 0), "circular"),
                 lambda: (_double(1, 1, 3, 3),)),
    "instance_norm": (lambda x, w, b: cr.nn.functional.instance_norm(x, weight=w, bias=b),
                      lambda: (_double(2, 2, 5), _double(2), _double(2))),
    "pixel_shuffle": (lambda x: cr.nn.functional.pixel_shuffle(x, 2),
                      lambda: (_double(1, 4, 2, 3),)),
    "pixel_unshuffle": (lambda x: cr.nn.functional.pixel_unshuffle(x, 2),
                        lambda: (_double(1, 1, 2, 4),)),
    "bilinear": (lambda x: cr.nn.functional.interpolate(x, scale_factor=1.5, mode="bilinear"),
                 lambda: (_double(1, 2, 3, 2),)),
    "linear_align": (lambda x: cr.nn.functional.interpolate(x, size=5, mode="linear",
                                                            align_corners=True),
                     lambda: (_double(1, 2, 3),)),
    "fold": (lambda x: cr.nn.functional.fold(x, (3, 4), 2),
             lambda: (_double(1, 8, 6),)),
}


@pytest.mark.parametrize("case", list(GRADCHECKS))
def test_gradcheck_and_gradgradcheck(case):
    fn, make = GRADCHECKS[case]
    cr.manual_seed(0)
    inputs = make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert cr.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-5)
        assert cr.autograd.gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5)


def test_conv_transpose_is_conv2ds_adjoint():
    """<conv2d(x, w), y> = <x, conv_transpose2d(y, w)>: the defining property."""
    cr.manual_seed(1)
    x, w = cr.randn(2, 3, 7, 8, dtype=cr.float64), cr.randn(4, 3, 3, 2, dtype=cr.float64)
    kw = dict(stride=2, padding=1, dilation=(2, 1))
    y = cr.nn.functional.conv2d(x, w, **kw)
    z = cr.randn(*y.shape, dtype=cr.float64)
    back = cr.nn.functional.conv_transpose2d(z, w, **kw)
    assert back.shape == x.shape
    np.testing.assert_allclose((y * z).sum().item(), (x * back).sum().item(), rtol=1e-12)
