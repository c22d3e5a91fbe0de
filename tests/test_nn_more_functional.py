"""affine_grid / grid_sample, gumbel_softmax, pdist, Softmax2d, RReLU, AlphaDropout,
FeatureAlphaDropout, LocalResponseNorm, LPPool, MaxUnpool and the multilabel / triplet-with-
distance losses against PyTorch: values, gradients, random streams for the same seed, grad_fn
names, reprs, errors, gradcheck and gradgradcheck in float64."""
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
from nn_more_helpers import (DTYPE_IDS, DTYPES, close, compare, double, gradchecks,
                             raises_like, to_cr)

F, CF = torch.nn.functional, cr.nn.functional


def _randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# -- affine_grid / grid_sample --------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("align", [True, False], ids=["align", "noalign"])
@pytest.mark.parametrize("padding", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_grid_sample_matches_torch(mode, padding, align, dtype):
    x = _randn(2, 3, 4, 5)
    grid = torch.rand(2, 3, 6, 2, generator=torch.Generator().manual_seed(1)) * 2.8 - 1.4
    grid[0, 0, 0] = torch.tensor([1.0, -1.0])  # exactly on the edges
    compare(lambda x, g: F.grid_sample(x, g, mode, padding, align),
            lambda x, g: CF.grid_sample(x, g, mode, padding, align), [x, grid], dtype,
            "GridSampler2DBackward0")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("align", [True, False], ids=["align", "noalign"])
def test_affine_grid_and_spatial_transformer_match_torch(align, dtype):
    theta = _randn(2, 2, 3) * 0.3 + torch.tensor([[1.0, 0, 0], [0, 1.0, 0]])
    compare(lambda t: F.affine_grid(t, (2, 3, 4, 5), align),
            lambda t: CF.affine_grid(t, (2, 3, 4, 5), align), [theta], dtype,
            "AffineGridGeneratorBackward0")
    compare(lambda t: F.affine_grid(t, [2, 1, 3, 1, 4], align),
            lambda t: CF.affine_grid(t, [2, 1, 3, 1, 4], align), [_randn(2, 3, 4)], dtype)
    # the spatial-transformer tutorial's step: sample the input on the transformed grid
    x = _randn(2, 3, 6, 5, seed=4)
    compare(lambda x, t: F.grid_sample(x, F.affine_grid(t, x.size(), align), align_corners=align),
            lambda x, t: CF.grid_sample(x, CF.affine_grid(t, x.size(), align),
                                        align_corners=align), [x, theta], dtype)


def test_grid_sample_affine_grid_warnings_and_errors():
    x, g = torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 1, 2)
    with warnings.catch_warnings(record=True) as t_w, warnings.catch_warnings():
        warnings.simplefilter("always")
        F.grid_sample(x, g)
    with warnings.catch_warnings(record=True) as c_w:
        warnings.simplefilter("always")
        CF.grid_sample(to_cr(x), to_cr(g))
    assert [str(w.message) for w in c_w] == [str(w.message) for w in t_w]
    raises_like(lambda: F.grid_sample(x, g, mode="area", align_corners=False),
                lambda: CF.grid_sample(to_cr(x), to_cr(g), mode="area", align_corners=False))
    raises_like(lambda: F.grid_sample(x, g, padding_mode="x", align_corners=False),
                lambda: CF.grid_sample(to_cr(x), to_cr(g), padding_mode="x",
                                       align_corners=False))
    theta = torch.zeros(1, 2, 3)
    for size in [(1, 1, 2, 2, 2), (1, 1, 2), (1, 1, 0, 2)]:
        raises_like(lambda: F.affine_grid(theta, size, False),
                    lambda: CF.affine_grid(to_cr(theta), size, False))
    raises_like(lambda: F.affine_grid(theta.long(), (1, 1, 2, 2), False),
                lambda: CF.affine_grid(to_cr(theta).long(), (1, 1, 2, 2), False))


# -- random layers: the same stream as PyTorch ---------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_rrelu_training_draws_torchs_slopes(dtype):
    x = _randn(3, 4, 5)
    for training in (True, False):
        torch.manual_seed(3)
        cr.manual_seed(3)
        compare(lambda x: F.rrelu(x, 0.1, 0.4, training),
                lambda x: CF.rrelu(x, 0.1, 0.4, training), [x], dtype, "RreluWithNoiseBackward0")
    torch.manual_seed(4)
    cr.manual_seed(4)
    t_m, c_m = torch.nn.RReLU(), cr.nn.RReLU()
    assert repr(c_m) == repr(t_m)
    close(c_m(to_cr(x)), t_m(x), torch.float32)
    close(c_m.eval()(to_cr(x)), t_m.eval()(x), torch.float32)
    close(cr.rand(2), torch.rand(2), torch.float32)  # the streams stay in step
    assert repr(cr.nn.RReLU(0.1, 0.3, True)) == repr(torch.nn.RReLU(0.1, 0.3, True))
    y_t, y_c = x.clone(), to_cr(x)
    torch.manual_seed(5)
    cr.manual_seed(5)
    F.rrelu_(y_t, training=True)
    CF.rrelu_(y_c, training=True)
    close(y_c, y_t, torch.float32)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("kind", ["AlphaDropout", "FeatureAlphaDropout"])
@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_alpha_dropouts_draw_torchs_masks(kind, p, dtype):
    t_m, c_m = getattr(torch.nn, kind)(p), getattr(cr.nn, kind)(p)
    assert repr(c_m) == repr(t_m)
    x = _randn(4, 3, 5)
    torch.manual_seed(6)
    cr.manual_seed(6)
    compare(t_m, c_m, [x], dtype)
    compare(t_m.eval(), c_m.eval(), [x], dtype)


def test_gumbel_softmax_draws_torchs_noise():
    x = _randn(4, 6)
    for kw in (dict(), dict(tau=0.5), dict(hard=True), dict(hard=True, dim=0)):
        for dtype in DTYPES:
            torch.manual_seed(7)
            cr.manual_seed(7)
            compare(lambda x: F.gumbel_softmax(x, **kw), lambda x: CF.gumbel_softmax(x, **kw),
                    [x], dtype)


# -- deterministic layers --------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("p", [2, 1, 0.5, 3, 0, float("inf")], ids=str)
def test_pdist_matches_torch(p, dtype):
    x = _randn(5, 3)
    x[3] = x[1]  # a zero distance
    compare(lambda x: F.pdist(x, p), lambda x: CF.pdist(x, p), [x], dtype, "PdistBackward0")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_softmax2d_lrn_lppool_match_torch(dtype):
    x = _randn(2, 5, 3, 4)
    assert repr(cr.nn.Softmax2d()) == repr(torch.nn.Softmax2d())
    compare(torch.nn.Softmax2d(), cr.nn.Softmax2d(), [x], dtype)
    compare(torch.nn.Softmax2d(), cr.nn.Softmax2d(), [x[0]], dtype)
    for size, kw in [(3, {}), (2, dict(alpha=0.1, beta=0.5, k=2.0)), (4, {})]:
        t_m, c_m = torch.nn.LocalResponseNorm(size, **kw), cr.nn.LocalResponseNorm(size, **kw)
        assert repr(c_m) == repr(t_m)
        compare(t_m, c_m, [x], dtype)
        compare(t_m, c_m, [x[:, :, 0]], dtype)
        compare(t_m, c_m, [x.reshape(2, 5, 3, 2, 2)], dtype)
    y = x.abs() + 0.1
    for args, kw in [((2, 3), {}), ((1.5, (2, 3)), dict(stride=1)), ((3, 2), dict(stride=(1, 2)))]:
        t_m, c_m = torch.nn.LPPool2d(*args, **kw), cr.nn.LPPool2d(*args, **kw)
        assert repr(c_m) == repr(t_m)
        compare(t_m, c_m, [y], dtype)
    for args, kw in [((2, 3), {}), ((1.5, 2), dict(stride=1))]:
        t_m, c_m = torch.nn.LPPool1d(*args, **kw), cr.nn.LPPool1d(*args, **kw)
        assert repr(c_m) == repr(t_m)
        compare(t_m, c_m, [y[:, :, 0]], dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_max_unpool_matches_torch(dtype):
    x = _randn(2, 3, 6, 7)
    t_m, c_m = torch.nn.MaxUnpool2d(2), cr.nn.MaxUnpool2d(2)
    out, idx = F.max_pool2d(x, 2, return_indices=True)
    with pytest.raises(RuntimeError, match="Found an invalid max index"):
        t_m(out, idx)
    # (which invalid index is named depends on PyTorch's loop order: not compared)
    with pytest.raises(RuntimeError, match=r"Found an invalid max index: \d+ \(output volumes "
                                           r"are of size 6x6\)"):
        c_m(to_cr(out), to_cr(idx))
    x = _randn(2, 3, 6, 8)
    out, idx = F.max_pool2d(x, 2, return_indices=True)
    t_m, c_m = torch.nn.MaxUnpool2d(2), cr.nn.MaxUnpool2d(2)
    assert repr(c_m) == repr(t_m)
    compare(lambda v: t_m(v, idx), lambda v: c_m(v, to_cr(idx)), [out], dtype,
            "MaxUnpool2DBackward0")
    compare(lambda v: t_m(v, idx, (7, 9)), lambda v: c_m(v, to_cr(idx), (7, 9)), [out], dtype)
    out, idx = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    compare(lambda v: F.max_unpool2d(v, idx[0], 3, 2, 1, (6, 8)), lambda v: CF.max_unpool2d(
        v, to_cr(idx[0]), 3, 2, 1, (6, 8)), [out[0]], dtype)
    out1, idx1 = F.max_pool1d(x[:, :, 0], 2, return_indices=True)
    t1, c1 = torch.nn.MaxUnpool1d(2), cr.nn.MaxUnpool1d(2)
    assert repr(c1) == repr(t1)
    compare(lambda v: t1(v, idx1, [8]), lambda v: c1(v, to_cr(idx1), [8]), [out1], dtype)
    raises_like(lambda: t_m(out, idx, (9, 9)), lambda: c_m(to_cr(out), to_cr(idx), (9, 9)))


# -- losses ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_multilabel_losses_match_torch(reduction, dtype):
    x = _randn(3, 5)
    y = torch.tensor([[3, 0, -1, 1, 4], [1, 2, 3, 4, 0], [-1, 2, 0, 0, 0]])
    t_l = torch.nn.MultiLabelMarginLoss(reduction=reduction)
    c_l = cr.nn.MultiLabelMarginLoss(reduction=reduction)
    compare(lambda x: t_l(x, y), lambda x: c_l(x, to_cr(y)), [x], dtype)
    compare(lambda x: t_l(x, y[0]), lambda x: c_l(x, to_cr(y[0])), [x[0]], dtype)
    target = (torch.rand(3, 5, generator=torch.Generator().manual_seed(2)) > 0.5).to(dtype)
    w = torch.rand(5, dtype=dtype, generator=torch.Generator().manual_seed(3))
    for weight in (None, w):
        t_l = torch.nn.MultiLabelSoftMarginLoss(weight, reduction=reduction)
        c_l = cr.nn.MultiLabelSoftMarginLoss(None if weight is None else to_cr(weight),
                                             reduction=reduction)
        assert list(c_l.state_dict()) == list(t_l.state_dict())
        compare(lambda x: t_l(x, target), lambda x: c_l(x, to_cr(target)), [x], dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("kw", [dict(), dict(swap=True, margin=0.5), dict(reduction="none")],
                         ids=str)
def test_triplet_margin_with_distance_matches_torch(kw, dtype):
    a, p, n = _randn(4, 3), _randn(4, 3, seed=1), _randn(4, 3, seed=2)
    t_l, c_l = torch.nn.TripletMarginWithDistanceLoss(**kw), \
        cr.nn.TripletMarginWithDistanceLoss(**kw)
    assert repr(c_l) == repr(t_l)
    compare(t_l, c_l, [a, p, n], dtype)

    def t_cos(x, y):
        return 1 - F.cosine_similarity(x, y)

    def c_cos(x, y):
        return 1 - CF.cosine_similarity(x, y)

    compare(lambda *v: F.triplet_margin_with_distance_loss(*v, distance_function=t_cos, **kw),
            lambda *v: CF.triplet_margin_with_distance_loss(*v, distance_function=c_cos, **kw),
            [a, p, n], dtype)
    raises_like(lambda: torch.nn.TripletMarginWithDistanceLoss(margin=0),
                lambda: cr.nn.TripletMarginWithDistanceLoss(margin=0))


def test_errors_are_torchs():
    raises_like(lambda: F.pdist(torch.ones(3)), lambda: CF.pdist(cr.ones(3)))
    raises_like(lambda: torch.nn.Softmax2d()(torch.ones(3, 4)),
                lambda: cr.nn.Softmax2d()(cr.ones(3, 4)))
    raises_like(lambda: F.local_response_norm(torch.ones(3, 4), 2),
                lambda: CF.local_response_norm(cr.ones(3, 4), 2))
    raises_like(lambda: F.multilabel_margin_loss(torch.ones(2, 3), torch.zeros(2, 2).long()),
                lambda: CF.multilabel_margin_loss(cr.ones(2, 3), cr.zeros(2, 2).long()))


GRADCHECKS = {
    "grid_sample_bilinear": (lambda x, g: CF.grid_sample(x, g, align_corners=False),
                             lambda: (double(1, 2, 3, 3), (cr.rand(1, 2, 3, 2, dtype=cr.float64)
                                                           * 1.6 - 0.8).requires_grad_())),
    "grid_sample_reflection": (lambda x, g: CF.grid_sample(x, g, padding_mode="reflection",
                                                           align_corners=True),
                               lambda: (double(1, 1, 3, 4), (cr.rand(1, 2, 2, 2, dtype=cr.float64)
                                                             * 2.4 - 1.2).requires_grad_())),
    "affine_grid": (lambda t: CF.affine_grid(t, (1, 1, 3, 2), align_corners=False),
                    lambda: (double(1, 2, 3),)),
    "pdist": (lambda x: CF.pdist(x, 3), lambda: (double(4, 2),)),
    "lrn": (lambda x: CF.local_response_norm(x, 3, 0.1), lambda: (double(1, 4, 3),)),
    "lp_pool2d": (lambda x: CF.lp_pool2d(x, 3.0, 2), lambda: (double(1, 1, 4, 4, low=0.5),)),
    "max_unpool2d": (lambda x: CF.max_unpool2d(x, cr.tensor([[[[0, 3], [9, 14]]]]), 2),
                     lambda: (double(1, 1, 2, 2),)),
    "multilabel_margin": (lambda x: CF.multilabel_margin_loss(
        x, cr.tensor([[1, 0, -1, 2], [3, -1, 0, 0]])), lambda: (double(2, 4),)),
    "multilabel_soft_margin": (lambda x: CF.multilabel_soft_margin_loss(
        x, cr.tensor([[1.0, 0.0, 1.0]])), lambda: (double(1, 3),)),
    "rrelu_eval": (lambda x: CF.rrelu(x), lambda: (double(2, 3),)),
}


@pytest.mark.parametrize("case", list(GRADCHECKS))
def test_gradcheck_and_gradgradcheck(case):
    fn, make = GRADCHECKS[case]
    cr.manual_seed(0)
    gradchecks(fn, make())


def test_rrelu_training_gradient_is_the_drawn_slope():
    cr.manual_seed(0)
    x = cr.tensor([-1.0, 2.0, -3.0], requires_grad=True)
    y = CF.rrelu(x, training=True)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), (y / x).detach().numpy(), rtol=1e-6)
