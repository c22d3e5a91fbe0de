"""Losses against PyTorch: every loss, every option combination, reduction 'mean'/'sum'/'none',
float32 and float64; values, grad_fn names, gradients for input (and float targets); errors."""
import itertools
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as CF

TOL = {torch.float32: dict(rtol=3e-5, atol=3e-6), torch.float64: dict(rtol=1e-10, atol=1e-12)}
REDUCTIONS = ["mean", "sum", "none"]
DTYPES = [torch.float32, torch.float64]


def to_cr(value):
    if not isinstance(value, torch.Tensor):
        return value
    out = cr.tensor(value.detach().numpy().copy())
    return out.requires_grad_() if value.requires_grad else out


def run_case(fn_name, args, kwargs, dtype, check_grad_fn=True):
    """Call F.<fn_name> in both libraries on the same tensors; compare value and gradients."""
    c_args, c_kwargs = [to_cr(a) for a in args], {k: to_cr(v) for k, v in kwargs.items()}
    t_out = getattr(TF, fn_name)(*args, **kwargs)
    c_out = getattr(CF, fn_name)(*c_args, **c_kwargs)
    assert tuple(c_out.shape) == tuple(t_out.shape)
    np.testing.assert_allclose(c_out.detach().numpy(), t_out.detach().numpy(), **TOL[dtype])
    if check_grad_fn:
        assert type(c_out.grad_fn).__name__ == type(t_out.grad_fn).__name__
    upstream = torch.rand(t_out.shape, dtype=dtype) + 0.5
    (t_out * upstream).sum().backward()
    (c_out * to_cr(upstream)).sum().backward()
    for t_arg, c_arg in zip(list(args) + list(kwargs.values()), c_args + list(c_kwargs.values())):
        if isinstance(t_arg, torch.Tensor) and t_arg.requires_grad:
            np.testing.assert_allclose(c_arg.grad.numpy(), t_arg.grad.numpy(), **TOL[dtype])


def randn(*shape, dtype, grad=True):
    return torch.randn(*shape, dtype=dtype, requires_grad=grad)


# -- regression losses -------------------------------------------------------------------------
REGRESSION = [("mse_loss", {}), ("l1_loss", {}), ("huber_loss", {}),
              ("huber_loss", {"delta": 0.5}), ("huber_loss", {"delta": 2.0}),
              ("smooth_l1_loss", {}), ("smooth_l1_loss", {"beta": 0.5}),
              ("smooth_l1_loss", {"beta": 0.0})]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("fn_name,options", REGRESSION,
                         ids=[f"{n}-{o}" for n, o in REGRESSION])
def test_regression_losses(fn_name, options, reduction, dtype):
    torch.manual_seed(0)
    x, y = randn(4, 5, dtype=dtype) * 1.5, randn(4, 5, dtype=dtype)
    x.retain_grad()
    x = x.detach().requires_grad_()
    run_case(fn_name, [x, y], dict(options, reduction=reduction), dtype)


def test_huber_and_smooth_l1_at_exactly_the_kink():
    # |d| == delta: both branches meet; the gradient there is d (torch's choice)
    x = torch.tensor([0.0, 1.0, -1.0, 2.5], dtype=torch.float64, requires_grad=True)
    y = torch.zeros(4, dtype=torch.float64)
    run_case("huber_loss", [x, y], {"delta": 1.0}, torch.float64)
    x.grad = None
    run_case("smooth_l1_loss", [x, y], {"beta": 1.0}, torch.float64)


def test_size_mismatch_warns_like_torch():
    x, y = torch.randn(3, 4), torch.randn(4)
    with warnings.catch_warnings(record=True) as t_warn:
        warnings.simplefilter("always")
        TF.mse_loss(x, y)
    for fn in (CF.mse_loss, CF.l1_loss, CF.huber_loss, CF.smooth_l1_loss):
        with warnings.catch_warnings(record=True) as c_warn:
            warnings.simplefilter("always")
            fn(to_cr(x), to_cr(y))
        assert [str(w.message) for w in c_warn] == [str(w.message) for w in t_warn]
        assert c_warn[0].category is UserWarning
    run_case("mse_loss", [x.requires_grad_(), y], {}, torch.float32)


# -- classification by class index -------------------------------------------------------------
def _index_case(shape, dtype, weight, ignore, seed):
    """Scores of `shape` (class dim 1, or 0 for a 1-D input) and matching class targets."""
    gen = torch.Generator().manual_seed(seed)
    n_classes = shape[0] if len(shape) == 1 else shape[1]
    target_shape = () if len(shape) == 1 else (shape[0],) + tuple(shape[2:])
    x = torch.randn(*shape, dtype=dtype, generator=gen).requires_grad_()
    t = torch.randint(0, n_classes, target_shape, generator=gen)
    if ignore is not None and t.dim() > 0:
        t.view(-1)[::3] = ignore
    w = torch.rand(n_classes, dtype=dtype, generator=gen) + 0.5 if weight else None
    return x, t, w


INDEX_SHAPES = [(6, 4), (4,), (3, 4, 5), (2, 4, 3, 2), (2, 3, 2, 2, 2)]
INDEX_OPTIONS = list(itertools.product([False, True], [None, 1, -100], [0.0, 0.2]))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", INDEX_SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("weight,ignore,smoothing", INDEX_OPTIONS,
                         ids=[f"w{int(w)}-ig{i}-ls{s}" for w, i, s in INDEX_OPTIONS])
def test_cross_entropy_class_indices(weight, ignore, smoothing, shape, reduction, dtype):
    x, t, w = _index_case(shape, dtype, weight, ignore, seed=len(shape))
    kwargs = dict(reduction=reduction, label_smoothing=smoothing)
    if w is not None:
        kwargs["weight"] = w
    if ignore is not None:
        kwargs["ignore_index"] = ignore
    # torch views K-dim 'none' results back (ViewBackward0); we skip that cosmetic node
    exact = smoothing == 0.0 and not (reduction == "none" and len(shape) in (3, 5))
    run_case("cross_entropy", [x, t], kwargs, dtype, check_grad_fn=exact)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", INDEX_SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("weight,ignore", [(False, None), (True, None), (True, 1), (False, 2)])
def test_nll_loss(weight, ignore, shape, reduction, dtype):
    x, t, w = _index_case(shape, dtype, weight, ignore, seed=7)
    log_probs = torch.log_softmax(x.detach(), 0 if x.dim() == 1 else 1).requires_grad_()
    kwargs = dict(reduction=reduction, weight=w)
    if ignore is not None:
        kwargs["ignore_index"] = ignore
    exact = not (reduction == "none" and len(shape) in (3, 5))
    run_case("nll_loss", [log_probs, t], kwargs, dtype, check_grad_fn=exact)


def test_mean_over_all_ignored_targets_is_nan_like_torch():
    x = torch.randn(3, 4, requires_grad=True)
    t = torch.full((3,), -100)
    assert torch.isnan(TF.cross_entropy(x, t))
    assert np.isnan(CF.cross_entropy(to_cr(x), to_cr(t)).item())


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(5, 4), (4,), (2, 3, 4)], ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("weight,smoothing", [(False, 0.0), (True, 0.0), (False, 0.3), (True, 0.1)])
def test_cross_entropy_class_probabilities(weight, smoothing, shape, reduction, dtype):
    torch.manual_seed(3)
    x = randn(*shape, dtype=dtype)
    class_dim = 0 if len(shape) == 1 else 1
    probs = torch.softmax(torch.randn(*shape, dtype=dtype), class_dim).requires_grad_()
    kwargs = dict(reduction=reduction, label_smoothing=smoothing)
    if weight:
        kwargs["weight"] = torch.rand(shape[class_dim], dtype=dtype) + 0.5
    run_case("cross_entropy", [x, probs], kwargs, dtype, check_grad_fn=False)


def test_cross_entropy_is_stable_for_huge_scores():
    x = torch.tensor([[1000.0, -1000.0, 0.0], [-5e4, 5e4, 1.0]], dtype=torch.float32,
                     requires_grad=True)
    t = torch.tensor([0, 2])
    run_case("cross_entropy", [x, t], {}, torch.float32)
    out = CF.cross_entropy(to_cr(x), to_cr(t))
    assert np.isfinite(out.item())


def test_cross_entropy_matches_the_seed_formula():
    # seed 002: L_i = -ln(e^{s_y} / sum_j e^{s_j}); L = mean over samples
    scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    labels = np.array([0, 1, 2])
    by_hand = np.mean([-np.log(np.exp(s[y]) / np.exp(s).sum()) for s, y in zip(scores, labels)])
    out = CF.cross_entropy(cr.tensor(scores), cr.tensor(labels))
    np.testing.assert_allclose(out.item(), by_hand, rtol=1e-12)


# -- binary --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight", [False, True])
def test_binary_cross_entropy(weight, reduction, dtype):
    torch.manual_seed(4)
    p = torch.sigmoid(torch.randn(4, 3, dtype=dtype)).requires_grad_()
    y = torch.rand(4, 3, dtype=dtype).requires_grad_()
    kwargs = dict(reduction=reduction)
    if weight:
        kwargs["weight"] = torch.rand(3, dtype=dtype) + 0.5
    run_case("binary_cross_entropy", [p, y], kwargs, dtype)


def test_binary_cross_entropy_clamps_the_log_at_minus_100():
    p = torch.tensor([0.0, 1.0, 0.5], dtype=torch.float64)
    y = torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64)
    for reduction in REDUCTIONS:
        np.testing.assert_allclose(
            CF.binary_cross_entropy(to_cr(p), to_cr(y), reduction=reduction).numpy(),
            TF.binary_cross_entropy(p, y, reduction=reduction).numpy(), rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight,pos_weight", list(itertools.product([False, True], repeat=2)))
def test_binary_cross_entropy_with_logits(weight, pos_weight, reduction, dtype):
    torch.manual_seed(5)
    x = randn(4, 3, dtype=dtype) * 3
    x = x.detach().requires_grad_()
    y = torch.rand(4, 3, dtype=dtype).requires_grad_()
    kwargs = dict(reduction=reduction)
    if weight:
        kwargs["weight"] = torch.rand(4, 1, dtype=dtype) + 0.5
    if pos_weight:
        kwargs["pos_weight"] = torch.rand(3, dtype=dtype) * 3
    run_case("binary_cross_entropy_with_logits", [x, y], kwargs, dtype)


def test_bce_with_logits_is_stable_for_huge_logits():
    x = torch.tensor([800.0, -800.0, 30.0], requires_grad=True)
    y = torch.tensor([0.0, 1.0, 1.0])
    run_case("binary_cross_entropy_with_logits", [x, y], {}, torch.float32)


# -- multiclass hinge ----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p,margin,weight", list(itertools.product([1, 2], [1.0, 0.5], [False, True])))
def test_multi_margin_loss(p, margin, weight, reduction, dtype):
    torch.manual_seed(6)
    x = randn(5, 4, dtype=dtype)
    t = torch.randint(0, 4, (5,))
    kwargs = dict(p=p, margin=margin, reduction=reduction)
    if weight:
        kwargs["weight"] = torch.rand(4, dtype=dtype) + 0.5
    run_case("multi_margin_loss", [x, t], kwargs, dtype)


@pytest.mark.parametrize("target", [torch.tensor(2), torch.tensor([2])], ids=["0d", "1d"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multi_margin_loss_single_sample(target, reduction):
    x = torch.tensor([0.1, 0.2, 0.4, 0.8], dtype=torch.float64, requires_grad=True)
    run_case("multi_margin_loss", [x, target], dict(reduction=reduction), torch.float64)


def test_multi_margin_loss_is_the_seed_svm_loss():
    # seed 002: L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + 1); PyTorch divides by the classes
    scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    labels = np.array([0, 1, 2])
    per_sample = [sum(max(0.0, s[j] - s[y] + 1) for j in range(3) if j != y)
                  for s, y in zip(scores, labels)]
    np.testing.assert_allclose(per_sample, [2.9, 0.0, 12.9], rtol=1e-12)  # the slide's numbers
    out = CF.multi_margin_loss(cr.tensor(scores), cr.tensor(labels), reduction="none")
    np.testing.assert_allclose(out.numpy(), np.array(per_sample) / 3, rtol=1e-12)


# -- modules -----------------------------------------------------------------------------------
LOSS_MODULES = [
    lambda nn: nn.MSELoss(), lambda nn: nn.L1Loss(reduction="sum"), lambda nn: nn.HuberLoss(),
    lambda nn: nn.SmoothL1Loss(beta=0.5), lambda nn: nn.CrossEntropyLoss(),
    lambda nn: nn.NLLLoss(), lambda nn: nn.BCELoss(), lambda nn: nn.BCEWithLogitsLoss(),
    lambda nn: nn.MultiMarginLoss(p=2),
]


@pytest.mark.parametrize("make", LOSS_MODULES)
def test_loss_module_repr_matches_torch(make):
    assert repr(make(cr.nn)) == repr(make(torch.nn))


def test_loss_modules_call_their_functions():
    torch.manual_seed(8)
    x = randn(4, 3, dtype=torch.float64)
    y_float = torch.rand(4, 3, dtype=torch.float64)
    y_class = torch.tensor([0, 2, 1, 2])
    w = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)
    cases = [
        (lambda nn: nn.MSELoss(reduction="none"), x, y_float),
        (lambda nn: nn.L1Loss(), x, y_float),
        (lambda nn: nn.HuberLoss(delta=0.3), x, y_float),
        (lambda nn: nn.SmoothL1Loss(reduction="sum", beta=0.2), x, y_float),
        (lambda nn: nn.CrossEntropyLoss(weight=_w(nn, w), ignore_index=1, label_smoothing=0.1),
         x, y_class),
        (lambda nn: nn.NLLLoss(weight=_w(nn, w), reduction="sum"), x, y_class),
        (lambda nn: nn.BCELoss(weight=_w(nn, w)), torch.sigmoid(x), y_float),
        (lambda nn: nn.BCEWithLogitsLoss(pos_weight=_w(nn, w)), x, y_float),
        (lambda nn: nn.MultiMarginLoss(margin=0.7, weight=_w(nn, w)), x, y_class),
    ]
    for make, inp, target in cases:
        t_loss, c_loss = make(torch.nn), make(cr.nn)
        t_out = t_loss(inp, target)
        c_out = c_loss(to_cr(inp.detach()), to_cr(target))
        np.testing.assert_allclose(c_out.numpy(), t_out.detach().numpy(), rtol=1e-10)
        assert list(c_loss.state_dict()) == list(t_loss.state_dict())


def _w(nn, w):
    return w if nn is torch.nn else to_cr(w)


def test_legacy_size_average_and_reduce_arguments():
    x, y = torch.randn(3), torch.randn(3)
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        loss = cr.nn.MSELoss(size_average=False)
    assert loss.reduction == "sum"
    np.testing.assert_allclose(loss(to_cr(x), to_cr(y)).numpy(),
                               TF.mse_loss(x, y, reduction="sum").numpy(), rtol=1e-6)


def test_rmse_and_mae_of_seed_004_from_the_losses():
    y_hat, y = cr.tensor([2.5, 0.0, 2.0, 8.0]), cr.tensor([3.0, -0.5, 2.0, 7.0])
    rmse = cr.sqrt(cr.nn.MSELoss()(y_hat, y))
    mae = cr.nn.L1Loss()(y_hat, y)
    np.testing.assert_allclose(rmse.item(), np.sqrt(np.mean([0.25, 0.25, 0.0, 1.0])), rtol=1e-6)
    np.testing.assert_allclose(mae.item(), 0.5, rtol=1e-6)


# -- errors ------------------------------------------------------------------------------------
def _both_raise(call):
    """Run call(F, to) for torch and chainrule; both must raise the same type and message."""
    with pytest.raises(Exception) as t_err:
        call(TF, lambda v: v)
    with pytest.raises(Exception) as c_err:
        call(CF, to_cr)
    assert type(c_err.value) is type(t_err.value)
    return str(c_err.value), str(t_err.value)


ERROR_CASES = {
    "batch-size": lambda F, to: F.cross_entropy(to(torch.randn(3, 4)), to(torch.tensor([1, 2]))),
    "float-target": lambda F, to: F.nll_loss(to(torch.randn(3, 4)), to(torch.tensor([1., 2, 0]))),
    "weight-size": lambda F, to: F.cross_entropy(to(torch.randn(3, 4)), to(torch.tensor([1, 2, 0])),
                                                 weight=to(torch.ones(2))),
    "p": lambda F, to: F.multi_margin_loss(to(torch.randn(3, 4)), to(torch.tensor([1, 2, 0])), p=3),
    "bce-range": lambda F, to: F.binary_cross_entropy(to(torch.randn(3, 4) + 5),
                                                      to(torch.rand(3, 4))),
    "bce-size": lambda F, to: F.binary_cross_entropy(to(torch.rand(3, 4)), to(torch.rand(3, 1))),
    "bcel-size": lambda F, to: F.binary_cross_entropy_with_logits(to(torch.rand(3, 4)),
                                                                  to(torch.rand(3, 1))),
    "prob-ignore": lambda F, to: F.cross_entropy(to(torch.randn(3, 4)), to(torch.rand(3, 4)),
                                                 ignore_index=1),
    "prob-int": lambda F, to: F.cross_entropy(to(torch.randn(3, 4)),
                                              to(torch.randint(0, 3, (3, 4)))),
    "reduction": lambda F, to: F.cross_entropy(to(torch.randn(3, 4)), to(torch.tensor([1, 2, 0])),
                                               reduction="foo"),
    "smoothing": lambda F, to: F.cross_entropy(to(torch.randn(3, 4)), to(torch.tensor([1, 2, 0])),
                                               label_smoothing=1.5),
    "kdim-target": lambda F, to: F.cross_entropy(to(torch.randn(3, 4, 5)),
                                                 to(torch.zeros(3, 4, dtype=torch.long))),
}


@pytest.mark.parametrize("name", list(ERROR_CASES))
def test_errors_match_torch(name):
    c_msg, t_msg = _both_raise(ERROR_CASES[name])
    assert c_msg == t_msg


@pytest.mark.parametrize("bad", [5, -3, 4])
@pytest.mark.parametrize("fn_name", ["cross_entropy", "nll_loss"])
def test_target_out_of_bounds_in_torchs_words(fn_name, bad):
    x, t = torch.randn(3, 4), torch.tensor([1, bad, 0])
    with pytest.raises(IndexError) as t_err:
        getattr(TF, fn_name)(x, t)
    with pytest.raises(IndexError) as c_err:
        getattr(CF, fn_name)(to_cr(x), to_cr(t))
    assert str(t_err.value) == str(c_err.value)  # "Target 5 is out of bounds."
