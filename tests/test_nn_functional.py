"""nn.functional against PyTorch: the functional layers and activations (values, grads, grad_fn),
second derivatives of the fused nodes in nn/_ops.py, and central finite differences."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as CF

TOL = {torch.float32: dict(rtol=3e-5, atol=3e-6), torch.float64: dict(rtol=1e-10, atol=1e-12)}


def to_cr(value):
    if not isinstance(value, torch.Tensor):
        return value
    out = cr.tensor(value.detach().numpy().copy())
    return out.requires_grad_() if value.requires_grad else out


def close(c, t, dtype=torch.float64):
    np.testing.assert_allclose(c.detach().numpy(), t.detach().numpy(), **TOL[dtype])


# name, call(F, *tensors), input shapes, grad_fn must match
FUNCTIONS = [
    ("linear-2d", lambda F, x, w, b: F.linear(x, w, b), [(4, 5), (3, 5), (3,)], True),
    ("linear-3d", lambda F, x, w, b: F.linear(x, w, b), [(2, 4, 5), (3, 5), (3,)], True),
    ("linear-nobias", lambda F, x, w: F.linear(x, w), [(4, 5), (3, 5)], True),
    ("linear-1d-nobias", lambda F, x, w: F.linear(x, w), [(5,), (3, 5)], False),
    ("bilinear", lambda F, a, b, w, bias: F.bilinear(a, b, w, bias),
     [(2, 3, 4), (2, 3, 5), (6, 4, 5), (6,)], False),
    ("gelu", lambda F, x: F.gelu(x), [(3, 4)], True),
    ("gelu-tanh", lambda F, x: F.gelu(x, approximate="tanh"), [(3, 4)], True),
    ("silu", lambda F, x: F.silu(x), [(3, 4)], True),
    ("softplus", lambda F, x: F.softplus(x * 10, beta=0.5, threshold=3.0), [(3, 4)], True),
    ("logsigmoid", lambda F, x: F.logsigmoid(x * 30), [(3, 4)], False),
    ("threshold", lambda F, x: F.threshold(x, 0.2, -3.0), [(3, 4)], True),
    ("relu6", lambda F, x: F.relu6(x * 5), [(3, 4)], False),
    ("hardtanh", lambda F, x: F.hardtanh(x, -0.3, 0.4), [(3, 4)], False),
    ("softmin", lambda F, x: F.softmin(x, dim=0), [(3, 4)], False),
    ("elu", lambda F, x: F.elu(x, 0.7), [(3, 4)], True),
    ("leaky_relu", lambda F, x: F.leaky_relu(x, 0.3), [(3, 4)], True),
    ("normalize", lambda F, x: F.normalize(x), [(3, 4)], True),
    ("normalize-p1-dim0", lambda F, x: F.normalize(x, p=1.0, dim=0), [(3, 4)], True),
    ("pad", lambda F, x: F.pad(x, (1, 2)), [(3, 4)], True),
    ("pad-2d-value", lambda F, x: F.pad(x, (1, 0, 2, 1), value=-1.5), [(2, 3, 4)], True),
    ("pad-crop", lambda F, x: F.pad(x, (-1, 2, 0, -1)), [(3, 4)], True),
    ("dropout-eval", lambda F, x: F.dropout(x, 0.5, training=False), [(3, 4)], False),
    ("layer_norm", lambda F, x, w, b: F.layer_norm(x, (4,), w, b), [(3, 4), (4,), (4,)], False),
    ("layer_norm-plain", lambda F, x: F.layer_norm(x, (3, 4)), [(2, 3, 4)], False),
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name,call,shapes,exact", FUNCTIONS, ids=[f[0] for f in FUNCTIONS])
def test_function_matches_torch(name, call, shapes, exact, dtype):
    torch.manual_seed(0)
    t_args = [torch.randn(*s, dtype=dtype, requires_grad=True) for s in shapes]
    c_args = [to_cr(a) for a in t_args]
    t_out, c_out = call(TF, *t_args), call(CF, *c_args)
    assert tuple(c_out.shape) == tuple(t_out.shape)
    close(c_out, t_out, dtype)
    if exact:
        assert type(c_out.grad_fn).__name__ == type(t_out.grad_fn).__name__
    upstream = torch.randn(t_out.shape, dtype=dtype)
    (t_out * upstream).sum().backward()
    (c_out * to_cr(upstream)).sum().backward()
    for t_arg, c_arg in zip(t_args, c_args):
        close(c_arg.grad, t_arg.grad, dtype)


SECOND_ORDER = [
    ("gelu", lambda F, x, y: F.gelu(x * y).pow(2).sum()),
    ("gelu-tanh", lambda F, x, y: F.gelu(x * y, approximate="tanh").pow(2).sum()),
    ("silu", lambda F, x, y: F.silu(x * y).pow(2).sum()),
    ("softplus", lambda F, x, y: F.softplus(x * y, beta=2.0).pow(2).sum()),
    ("mse", lambda F, x, y: F.mse_loss(x, y) ** 2),
    ("huber", lambda F, x, y: F.huber_loss(x * x, y, delta=0.5)),
    ("smooth_l1", lambda F, x, y: F.smooth_l1_loss(x * x, y, beta=0.5, reduction="sum")),
    ("bce", lambda F, x, y: F.binary_cross_entropy(x.sigmoid(), y.sigmoid())),
    ("bce-logits", lambda F, x, y: F.binary_cross_entropy_with_logits(
        x, y.sigmoid(), pos_weight=_like(F, torch.tensor([0.5, 2.0, 1.0, 3.0])))),
    ("cross_entropy", lambda F, x, y: F.cross_entropy(x * y, _index(F, torch.tensor([0, 3, 1])),
                                                      label_smoothing=0.1)),
]


def _like(F, t):
    return t.double() if F is TF else cr.tensor(t.double().numpy())


def _index(F, t):
    return t if F is TF else cr.tensor(t.numpy())


@pytest.mark.parametrize("name,loss_fn", SECOND_ORDER, ids=[s[0] for s in SECOND_ORDER])
def test_second_derivatives_match_torch(name, loss_fn):
    """grad of (sum of first derivatives): exercises each node's backward in tensor mode."""
    torch.manual_seed(1)
    t_x = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    t_y = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    c_x, c_y = to_cr(t_x), to_cr(t_y)
    t_gx, t_gy = torch.autograd.grad(loss_fn(TF, t_x, t_y), (t_x, t_y), create_graph=True)
    c_gx, c_gy = cr.autograd.grad(loss_fn(CF, c_x, c_y), (c_x, c_y), create_graph=True)
    close(c_gx, t_gx)
    close(c_gy, t_gy)
    t_hx, t_hy = torch.autograd.grad((t_gx * t_gx).sum() + (t_gy * t_x).sum(), (t_x, t_y))
    c_hx, c_hy = cr.autograd.grad((c_gx * c_gx).sum() + (c_gy * c_x).sum(), (c_x, c_y))
    close(c_hx, t_hx)
    close(c_hy, t_hy)


def _finite_difference_check(fn, inputs, eps=1e-6):
    """Compare the analytic gradient of sum(fn * fixed weights) with central differences."""
    rng = np.random.default_rng(0)
    out = fn(*inputs)
    weights = cr.tensor(rng.standard_normal(out.shape))
    grads = cr.autograd.grad((out * weights).sum(), inputs)
    for x, g in zip(inputs, grads):
        data = x.detach().numpy()
        numeric = np.zeros_like(data)
        for i in np.ndindex(data.shape):
            old = data[i]
            data[i] = old + eps
            plus = (fn(*inputs) * weights).sum().item()
            data[i] = old - eps
            minus = (fn(*inputs) * weights).sum().item()
            data[i] = old
            numeric[i] = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(g.numpy(), numeric, rtol=1e-5, atol=1e-7)


FD_CASES = [
    ("gelu", lambda x, y: CF.gelu(x * y)), ("gelu-tanh", lambda x, y: CF.gelu(x * y, approximate="tanh")),
    ("silu", lambda x, y: CF.silu(x * y)), ("softplus", lambda x, y: CF.softplus(x * y, beta=3.0)),
    ("mse", lambda x, y: CF.mse_loss(x, y, reduction="none")),
    ("huber", lambda x, y: CF.huber_loss(x, y, reduction="none", delta=0.7)),
    ("smooth_l1", lambda x, y: CF.smooth_l1_loss(x, y, beta=0.7)),
    ("bce", lambda x, y: CF.binary_cross_entropy(x.sigmoid(), y.sigmoid(), reduction="none")),
    ("bce-logits", lambda x, y: CF.binary_cross_entropy_with_logits(
        x, y.sigmoid(), pos_weight=cr.tensor([2.0, 0.5, 1.0], dtype=cr.float64))),
    ("nll", lambda x: CF.nll_loss(x, cr.tensor([2, 0, 1, 2]), weight=cr.tensor([1.0, 2.0, 0.5],
                                                                                 dtype=cr.float64))),
    ("cross_entropy-probs", lambda x, y: CF.cross_entropy(x, y.softmax(1), label_smoothing=0.2)),
    ("multi_margin", lambda x: CF.multi_margin_loss(x, cr.tensor([2, 0, 1, 2]), p=2,
                                                    margin=2.0, reduction="none")),
    ("multi_margin-p1-weight", lambda x: CF.multi_margin_loss(
        x, cr.tensor([2, 0, 1, 2]), weight=cr.tensor([1.0, 2.0, 0.5], dtype=cr.float64))),
    ("pad", lambda x: CF.pad(x, (-1, 2, 1, 0))),
    ("embedding", lambda x: CF.embedding(cr.tensor([[0, 3], [3, 1]]), x)),
]


@pytest.mark.parametrize("name,fn", FD_CASES, ids=[c[0] for c in FD_CASES])
def test_gradients_match_central_finite_differences(name, fn):
    rng = np.random.default_rng(2)
    x = cr.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    y = cr.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    _finite_difference_check(fn, [x, y][:fn.__code__.co_argcount])


def test_one_hot_matches_torch():
    idx = torch.tensor([[0, 2], [3, 1]])
    for num_classes in (-1, 5):
        t = TF.one_hot(idx, num_classes)
        c = CF.one_hot(cr.tensor(idx.numpy()), num_classes)
        assert repr(c) == repr(t)
    for bad_call in (lambda F, to: F.one_hot(to(torch.tensor([0, 5])), 3),
                     lambda F, to: F.one_hot(to(torch.tensor([0, -1])), 3),
                     lambda F, to: F.one_hot(to(torch.tensor([0.0, 1.0])))):
        with pytest.raises(RuntimeError) as t_err:
            bad_call(TF, lambda v: v)
        with pytest.raises(RuntimeError) as c_err:
            bad_call(CF, to_cr)
        assert str(c_err.value) == str(t_err.value)


def test_dropout_functional_training_flag_and_bad_p():
    x = cr.ones(4, 4)
    assert CF.dropout(x, 0.5, training=False) is x
    with pytest.raises(ValueError) as c_err:
        CF.dropout(x, -0.1)
    with pytest.raises(ValueError) as t_err:
        TF.dropout(torch.ones(4, 4), -0.1)
    assert str(c_err.value) == str(t_err.value)


def test_gelu_bad_approximate_and_functional_inplace_relu():
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        CF.gelu(cr.ones(2), approximate="fast")
    x = cr.tensor([-1.0, 2.0])
    assert CF.relu(x, inplace=True) is x and x.tolist() == [0.0, 2.0]


def test_embedding_functional_max_norm_renormalizes_the_looked_up_rows_like_torch():
    torch.manual_seed(3)
    t_w = torch.randn(5, 3, dtype=torch.float64) * 3
    c_w = to_cr(t_w)
    idx = torch.tensor([0, 2, 2])
    t_out = TF.embedding(idx, t_w, max_norm=1.0)
    c_out = CF.embedding(cr.tensor(idx.numpy()), c_w, max_norm=1.0)
    np.testing.assert_allclose(c_out.numpy(), t_out.numpy(), rtol=1e-7)
    np.testing.assert_allclose(c_w.numpy(), t_w.numpy(), rtol=1e-7)


def test_all_functional_names_used_by_the_issue_exist():
    for name in ["linear", "dropout", "gelu", "silu", "softplus", "one_hot", "pad", "normalize",
                 "relu", "sigmoid", "tanh", "softmax", "log_softmax", "leaky_relu", "elu",
                 "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "cross_entropy",
                 "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
                 "multi_margin_loss", "embedding", "layer_norm", "batch_norm", "threshold"]:
        assert callable(getattr(CF, name)) and callable(getattr(TF, name))


# -- functions composed from tensor ops: values and gradients against torch --------------------
def _pos(lib, t):
    return lib.sigmoid(t) + 0.1


COMPOSED = {
    "mish": lambda lib, F, a, b, c: F.mish(a),
    "hardswish": lambda lib, F, a, b, c: F.hardswish(a * 3),
    "hardsigmoid": lambda lib, F, a, b, c: F.hardsigmoid(a * 3),
    "selu": lambda lib, F, a, b, c: F.selu(a),
    "celu": lambda lib, F, a, b, c: F.celu(a, alpha=0.7),
    "softsign": lambda lib, F, a, b, c: F.softsign(a),
    "tanhshrink": lambda lib, F, a, b, c: F.tanhshrink(a),
    "hardshrink": lambda lib, F, a, b, c: F.hardshrink(a, 0.3),
    "softshrink": lambda lib, F, a, b, c: F.softshrink(a, 0.3),
    "prelu": lambda lib, F, a, b, c: F.prelu(a.view(2, 3, 4), c[:3]),
    "glu": lambda lib, F, a, b, c: F.glu(a, dim=-1),
    "group_norm": lambda lib, F, a, b, c: F.group_norm(a.view(2, 6, 2), 3, c[:6], c[6:12]),
    "cosine_similarity": lambda lib, F, a, b, c: F.cosine_similarity(a, b, dim=1),
    "pairwise_distance": lambda lib, F, a, b, c: F.pairwise_distance(a, b, p=3),
    "kl_div": lambda lib, F, a, b, c: F.kl_div(F.log_softmax(a, 1), F.softmax(b, 1),
                                               reduction="batchmean"),
    "kl_div_log_target": lambda lib, F, a, b, c: F.kl_div(a, b, reduction="sum",
                                                          log_target=True),
    "margin_ranking": lambda lib, F, a, b, c: F.margin_ranking_loss(a[:, 0], b[:, 0],
                                                                    c[:6].sign(), margin=0.2),
    "soft_margin": lambda lib, F, a, b, c: F.soft_margin_loss(a, b.detach().sign()),
    "hinge_embedding": lambda lib, F, a, b, c: F.hinge_embedding_loss(a, b.sign(), margin=0.5),
    "cosine_embedding": lambda lib, F, a, b, c: F.cosine_embedding_loss(a, b, c[:6].sign(),
                                                                        margin=0.1),
    "triplet": lambda lib, F, a, b, c: F.triplet_margin_loss(a, b, a.flip(0), margin=2.0),
    "triplet_swap": lambda lib, F, a, b, c: F.triplet_margin_loss(a, b, a.flip(0), swap=True,
                                                                  reduction="none"),
    "poisson": lambda lib, F, a, b, c: F.poisson_nll_loss(a, _pos(lib, b)),
    "poisson_full": lambda lib, F, a, b, c: F.poisson_nll_loss(_pos(lib, a), b.abs() * 3,
                                                               log_input=False, full=True),
    "gaussian": lambda lib, F, a, b, c: F.gaussian_nll_loss(a, b, _pos(lib, c[:6])),
    "gaussian_full": lambda lib, F, a, b, c: F.gaussian_nll_loss(a, b, _pos(lib, a) * b.abs(),
                                                                 full=True, reduction="sum"),
    "sdpa": lambda lib, F, a, b, c: F.scaled_dot_product_attention(
        a.view(1, 2, 6, 2), b.view(1, 2, 6, 2), a.view(1, 2, 6, 2) * 2),
    "sdpa_causal": lambda lib, F, a, b, c: F.scaled_dot_product_attention(
        a.view(2, 6, 2), b.view(2, 6, 2), b.view(2, 6, 2), is_causal=True, scale=0.3),
    "sdpa_bool_mask": lambda lib, F, a, b, c: F.scaled_dot_product_attention(
        a.view(6, 4), b.view(6, 4), a.view(6, 4), attn_mask=c[:36].view(6, 6) > -0.5),
    "interpolate": lambda lib, F, a, b, c: F.interpolate(a.view(1, 2, 3, 4), size=(5, 7)),
    "interpolate_scale": lambda lib, F, a, b, c: F.interpolate(a.view(2, 3, 4), scale_factor=2.5),
}


@pytest.mark.parametrize("name", COMPOSED)
def test_composed_functions_match_torch(name):
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal(s) for s in [(6, 4), (6, 4), (36,)]]
    results = []
    for lib in (cr, torch):
        args = [lib.tensor(x, dtype=lib.float64, requires_grad=True) for x in arrays]
        out = COMPOSED[name](lib, lib.nn.functional, *args)
        out.sum().backward()
        results.append((out.detach().numpy(), [None if t.grad is None else t.grad.numpy()
                                               for t in args]))
    (ours, our_grads), (theirs, their_grads) = results
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    # torch's hardsigmoid and celu backward kernels use float32 constants (1/6, alpha)
    rtol = 1e-7 if name in ("hardsigmoid", "celu") else 1e-9
    for g, h in zip(our_grads, their_grads):
        assert (g is None) == (h is None)
        if g is not None:
            np.testing.assert_allclose(g, h, rtol=rtol, atol=1e-12)


def test_channel_dropout_draws_torchs_masks():
    outs = []
    for lib in (cr, torch):
        lib.manual_seed(2)
        x = lib.ones(3, 4, 2, 2)
        outs.append((lib.nn.functional.dropout2d(x, 0.4).numpy(),
                     lib.nn.Dropout1d(0.5)(lib.ones(2, 5, 3)).numpy(),
                     lib.nn.functional.dropout2d(x, 0.4, training=False).numpy()))
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)
