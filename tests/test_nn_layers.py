"""nn layers against PyTorch: the same module in both, torch's weights copied into chainrule,
then outputs, input gradients and every parameter gradient compared in float32 and float64."""
import math

import numpy as np
import pytest
import torch

import chainrule as cr

TOL = {torch.float32: dict(rtol=2e-5, atol=2e-6), torch.float64: dict(rtol=1e-10, atol=1e-12)}
CR_DTYPE = {torch.float32: cr.float32, torch.float64: cr.float64}


def to_cr(t, requires_grad=False):
    out = cr.tensor(t.detach().numpy().copy())
    return out.requires_grad_() if requires_grad else out


def copy_weights(tmod, cmod):
    """Load torch's state_dict (parameters and buffers) into the chainrule module."""
    result = cmod.load_state_dict({k: to_cr(v) for k, v in tmod.state_dict().items()})
    assert result.missing_keys == [] and result.unexpected_keys == []


def assert_close(c, t, dtype):
    assert c is not None and t is not None
    np.testing.assert_allclose(c.detach().numpy(), t.detach().numpy(), **TOL[dtype])


def check_module(make, input_shapes, dtype, exact_grad_fn=True, int_input=None, seed=0):
    """Build `make(nn)` in both libraries, run forward and backward, compare everything."""
    torch.manual_seed(seed)
    tmod = make(torch.nn).to(dtype)
    cmod = make(cr.nn).to(CR_DTYPE[dtype])
    copy_weights(tmod, cmod)
    if int_input is not None:
        t_inputs = [int_input]
        c_inputs = [cr.tensor(int_input.numpy())]
    else:
        t_inputs = [torch.randn(*s, dtype=dtype, requires_grad=True) for s in input_shapes]
        c_inputs = [to_cr(t, requires_grad=True) for t in t_inputs]
    t_out, c_out = tmod(*t_inputs), cmod(*c_inputs)
    assert c_out.dtype == CR_DTYPE[dtype]
    assert_close(c_out, t_out, dtype)
    if exact_grad_fn and t_out.grad_fn is not None:
        assert type(c_out.grad_fn).__name__ == type(t_out.grad_fn).__name__
    if not t_out.requires_grad:
        return tmod, cmod
    upstream = torch.randn(t_out.shape, dtype=dtype)
    (t_out * upstream).sum().backward()
    (c_out * to_cr(upstream)).sum().backward()
    for t_in, c_in in zip(t_inputs, c_inputs):
        if t_in.requires_grad:
            assert_close(c_in.grad, t_in.grad, dtype)
    t_params = dict(tmod.named_parameters())
    c_params = dict(cmod.named_parameters())
    assert list(t_params) == list(c_params)
    for name, t_param in t_params.items():
        if t_param.grad is None:
            assert c_params[name].grad is None
        else:
            assert_close(c_params[name].grad, t_param.grad, dtype)
    return tmod, cmod


# (id, constructor taking the nn namespace, input shapes, grad_fn name must match torch's)
LAYERS = [
    ("linear-2d", lambda nn: nn.Linear(5, 3), [(4, 5)], True),
    ("linear-3d", lambda nn: nn.Linear(5, 3), [(2, 4, 5)], True),
    ("linear-1d", lambda nn: nn.Linear(5, 3), [(5,)], True),
    ("linear-4d", lambda nn: nn.Linear(5, 3), [(2, 2, 4, 5)], True),
    ("linear-nobias", lambda nn: nn.Linear(5, 3, bias=False), [(4, 5)], True),
    ("bilinear", lambda nn: nn.Bilinear(3, 4, 2), [(5, 3), (5, 4)], False),
    ("bilinear-nobias", lambda nn: nn.Bilinear(3, 4, 2, bias=False), [(5, 3), (5, 4)], False),
    ("identity", lambda nn: nn.Identity(7, foo=1), [(3, 2)], True),
    ("flatten", lambda nn: nn.Flatten(), [(2, 3, 4)], False),
    ("flatten-range", lambda nn: nn.Flatten(0, 1), [(2, 3, 4)], False),
    ("unflatten", lambda nn: nn.Unflatten(1, (2, 3)), [(4, 6)], False),
    ("relu", lambda nn: nn.ReLU(), [(4, 5)], True),
    ("relu6", lambda nn: nn.ReLU6(), [(4, 5)], False),
    ("hardtanh", lambda nn: nn.Hardtanh(-0.5, 0.7), [(4, 5)], False),
    ("sigmoid", lambda nn: nn.Sigmoid(), [(4, 5)], True),
    ("tanh", lambda nn: nn.Tanh(), [(4, 5)], True),
    ("logsigmoid", lambda nn: nn.LogSigmoid(), [(4, 5)], False),
    ("leaky_relu", lambda nn: nn.LeakyReLU(), [(4, 5)], True),
    ("leaky_relu-0.2", lambda nn: nn.LeakyReLU(0.2), [(4, 5)], True),
    ("elu", lambda nn: nn.ELU(), [(4, 5)], True),
    ("elu-alpha", lambda nn: nn.ELU(alpha=0.5), [(4, 5)], True),
    ("gelu", lambda nn: nn.GELU(), [(4, 5)], True),
    ("gelu-tanh", lambda nn: nn.GELU(approximate="tanh"), [(4, 5)], True),
    ("silu", lambda nn: nn.SiLU(), [(4, 5)], True),
    ("softplus", lambda nn: nn.Softplus(), [(4, 5)], True),
    ("softplus-beta", lambda nn: nn.Softplus(beta=2.0, threshold=1.0), [(4, 5)], True),
    ("softmax-1", lambda nn: nn.Softmax(dim=1), [(4, 5)], True),
    ("softmax-0", lambda nn: nn.Softmax(dim=0), [(4, 5)], True),
    ("softmax-3d", lambda nn: nn.Softmax(dim=-1), [(2, 4, 5)], True),
    ("softmin", lambda nn: nn.Softmin(dim=1), [(4, 5)], False),
    ("log_softmax", lambda nn: nn.LogSoftmax(dim=1), [(4, 5)], True),
    ("threshold", lambda nn: nn.Threshold(0.1, 20.0), [(4, 5)], True),
    ("dropout-eval", lambda nn: nn.Dropout(0.3).eval(), [(4, 5)], True),
    ("dropout-p0", lambda nn: nn.Dropout(0.0), [(4, 5)], True),
    ("layernorm", lambda nn: nn.LayerNorm(5), [(4, 5)], False),
    ("layernorm-2d", lambda nn: nn.LayerNorm((3, 5)), [(2, 3, 5)], False),
    ("layernorm-noaffine", lambda nn: nn.LayerNorm(5, elementwise_affine=False), [(4, 5)], False),
    ("batchnorm-train", lambda nn: nn.BatchNorm1d(5), [(8, 5)], False),
    ("batchnorm-train-3d", lambda nn: nn.BatchNorm1d(5), [(4, 5, 3)], False),
    ("batchnorm-eval", lambda nn: _perturbed_batchnorm(nn).eval(), [(8, 5)], False),
    ("mlp", lambda nn: nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(),
                                     nn.Linear(16, 3), nn.LogSoftmax(dim=1)), [(6, 5)], True),
]


def _perturbed_batchnorm(nn):
    bn = nn.BatchNorm1d(5)
    with torch.no_grad() if nn is torch.nn else cr.no_grad():
        bn.running_mean.fill_(0.3)
        bn.running_var.fill_(2.0)
        bn.weight.fill_(1.5)
    return bn


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name,make,shapes,exact", LAYERS, ids=[row[0] for row in LAYERS])
def test_layer_matches_torch(name, make, shapes, exact, dtype):
    tmod, cmod = check_module(make, shapes, dtype, exact_grad_fn=exact)
    for key, t_buf in tmod.state_dict().items():  # running statistics after the forward
        assert_close(cmod.state_dict()[key], t_buf, dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
def test_embedding_matches_torch(dtype):
    idx = torch.tensor([[1, 2, 4], [4, 3, 1]])
    check_module(lambda nn: nn.Embedding(6, 3), None, dtype, int_input=idx)
    check_module(lambda nn: nn.Embedding(6, 3, padding_idx=1), None, dtype, int_input=idx)
    check_module(lambda nn: nn.Embedding(6, 3, padding_idx=-2), None, dtype, int_input=idx)


def test_embedding_padding_row_is_zero_and_bad_index_raises():
    emb = cr.nn.Embedding(5, 2, padding_idx=0)
    assert emb.weight[0].tolist() == [0.0, 0.0]
    with pytest.raises(IndexError, match="index out of range in self"):
        emb(cr.tensor([5]))
    assert repr(emb) == repr(torch.nn.Embedding(5, 2, padding_idx=0))


def test_batchnorm_running_stats_follow_torch_over_steps():
    torch.manual_seed(1)
    tbn, cbn = torch.nn.BatchNorm1d(3, momentum=None).double(), cr.nn.BatchNorm1d(3, momentum=None)
    cbn.double()
    for _ in range(3):
        x = torch.randn(6, 3, dtype=torch.float64)
        tbn(x), cbn(to_cr(x))
    for key, value in tbn.state_dict().items():
        np.testing.assert_allclose(cbn.state_dict()[key].numpy(), value.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        cbn(cr.ones(1, 3, dtype=cr.float64))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        cbn(cr.ones(1, 3, 2, 2))


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_train_zeroes_and_rescales_and_eval_is_identity(p):
    cr.manual_seed(3)
    drop = cr.nn.Dropout(p)
    x = cr.ones(200, 50, requires_grad=True)
    y = drop(x)
    kept = y.detach().numpy() != 0
    np.testing.assert_allclose(y.detach().numpy()[kept], 1 / (1 - p), rtol=1e-6)
    assert abs(kept.mean() - (1 - p)) < 0.03  # 10,000 draws: 0.03 is > 6 standard deviations
    assert type(y.grad_fn).__name__ == "MulBackward0"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), kept / (1 - p), rtol=1e-6)
    drop.eval()
    assert drop(x) is x
    assert cr.nn.Dropout(1.0)(x).detach().numpy().sum() == 0


def test_dropout_mask_follows_the_global_generator():
    cr.manual_seed(5)
    a = cr.nn.Dropout(0.5)(cr.ones(10, 10))
    cr.manual_seed(5)
    b = cr.nn.Dropout(0.5)(cr.ones(10, 10))
    assert np.array_equal(a.numpy(), b.numpy())
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        cr.nn.Dropout(1.5)


DEFAULT_INITS = [
    lambda nn: nn.Linear(7, 4), lambda nn: nn.Linear(7, 4, bias=False),
    lambda nn: nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 3)),
    lambda nn: nn.Bilinear(3, 4, 2), lambda nn: nn.Embedding(6, 3),
    lambda nn: nn.Embedding(6, 3, padding_idx=2),
]


@pytest.mark.parametrize("make", DEFAULT_INITS)
def test_default_init_is_torchs_under_the_same_seed(make):
    # chainrule's generator reproduces torch's CPU streams, and modules draw in torch's order
    torch.manual_seed(0)
    cr.manual_seed(0)
    t_mod, c_mod = make(torch.nn), make(cr.nn)
    for (name, t_param), (c_name, c_param) in zip(t_mod.named_parameters(),
                                                  c_mod.named_parameters()):
        assert name == c_name
        np.testing.assert_array_equal(c_param.detach().numpy(), t_param.detach().numpy())


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_mask_is_torchs_under_the_same_seed(p):
    torch.manual_seed(2)
    cr.manual_seed(2)
    t_out = torch.nn.Dropout(p)(torch.ones(8, 9, dtype=torch.float64))
    c_out = cr.nn.Dropout(p)(cr.ones(8, 9, dtype=cr.float64))
    np.testing.assert_array_equal(c_out.numpy(), t_out.numpy())


def test_linear_default_init_has_torchs_bounds_and_order():
    # Without a bit-exact RNG we can still check the distribution bounds and that the draws
    # are the generator's: weight first (uniform), then bias, each U(-1/sqrt(in), 1/sqrt(in)).
    cr.manual_seed(11)
    lin = cr.nn.Linear(50, 40)
    bound = 1 / math.sqrt(50)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert np.abs(b).max() <= bound
    cr.manual_seed(11)
    expected = cr.empty(40, 50).uniform_(-bound, bound)
    expected_bias = cr.empty(40).uniform_(-bound, bound)
    np.testing.assert_allclose(w, expected.numpy(), rtol=1e-6)
    np.testing.assert_allclose(b, expected_bias.numpy(), rtol=1e-6)


def test_linear_shape_mismatch_names_both_shapes_like_torch():
    lin = cr.nn.Linear(100, 10)
    with pytest.raises(RuntimeError) as c_err:
        lin(cr.zeros(64, 1000))
    with pytest.raises(RuntimeError) as t_err:
        torch.nn.Linear(100, 10)(torch.zeros(64, 1000))
    assert str(c_err.value) == str(t_err.value)
    assert "mat1 and mat2 shapes cannot be multiplied (64x1000 and 100x10)" in str(c_err.value)


def test_step_module_is_the_seed_threshold_unit():
    theta = 0.5
    z = cr.tensor([-1.0, 0.2, 0.5, 0.7])
    expected = [1.0 if v >= theta else 0.0 for v in z.tolist()]  # sigma(z) of seed 004
    assert cr.nn.Step(theta)(z).tolist() == expected
    assert repr(cr.nn.Step(theta)) == "Step(theta=0.5)"
    values = torch.tensor(1.0)
    t_step = torch.heaviside(torch.tensor(z.tolist()) - theta, values)
    assert t_step.tolist() == expected


def test_heaviside_op_matches_torch_and_refuses_backward():
    x = [-1.5, 0.0, 2.0, 0.0]
    for values in (torch.tensor(0.5), torch.tensor([1.0, 2.0, 3.0, 4.0])):
        t = torch.heaviside(torch.tensor(x), values)
        c = cr.heaviside(cr.tensor(x), cr.tensor(values.numpy()))
        assert repr(c) == repr(t)
    c_x = cr.tensor(x, requires_grad=True)
    t_x = torch.tensor(x, requires_grad=True)
    c_out, t_out = c_x.heaviside(cr.tensor(1.0)), t_x.heaviside(torch.tensor(1.0))
    assert repr(c_out) == repr(t_out)
    with pytest.raises(RuntimeError, match="derivative for aten::heaviside is not implemented"):
        c_out.sum().backward()
    with pytest.raises(RuntimeError, match="heaviside is not yet implemented for tensors with "
                                           "different dtypes"):
        cr.heaviside(cr.tensor(x), cr.tensor(1.0, dtype=cr.float64))


LAYER_REPRS = [
    lambda nn: nn.Linear(5, 16), lambda nn: nn.Linear(5, 16, bias=False),
    lambda nn: nn.Bilinear(2, 3, 4), lambda nn: nn.Identity(), lambda nn: nn.Flatten(),
    lambda nn: nn.Unflatten(1, (2, 5)), lambda nn: nn.Dropout(), lambda nn: nn.Dropout(0.1, True),
    lambda nn: nn.ReLU(), lambda nn: nn.ReLU(inplace=True), lambda nn: nn.Sigmoid(),
    lambda nn: nn.Tanh(), lambda nn: nn.LeakyReLU(), lambda nn: nn.LeakyReLU(0.2, True),
    lambda nn: nn.ELU(), lambda nn: nn.ELU(0.5, inplace=True), lambda nn: nn.GELU(),
    lambda nn: nn.GELU("tanh"), lambda nn: nn.SiLU(), lambda nn: nn.Softplus(),
    lambda nn: nn.Softplus(2, 10), lambda nn: nn.Softmax(dim=1), lambda nn: nn.Softmax(),
    lambda nn: nn.LogSoftmax(dim=-1), lambda nn: nn.Threshold(0.1, 20),
    lambda nn: nn.Hardtanh(), lambda nn: nn.ReLU6(), lambda nn: nn.LogSigmoid(),
    lambda nn: nn.Embedding(10, 3), lambda nn: nn.Embedding(10, 3, padding_idx=0, max_norm=1.0),
    lambda nn: nn.LayerNorm(4), lambda nn: nn.LayerNorm((2, 3), elementwise_affine=False),
    lambda nn: nn.BatchNorm1d(4), lambda nn: nn.BatchNorm1d(4, momentum=None, affine=False),
    lambda nn: nn.Sequential(nn.Linear(5, 16), nn.ReLU()),
    lambda nn: nn.Sequential(nn.Sequential(nn.Linear(2, 2), nn.Tanh()), nn.Dropout(0.2)),
    lambda nn: nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2)]),
    lambda nn: nn.ModuleList(),
    lambda nn: nn.ModuleDict({"a": nn.Linear(1, 2), "b": nn.ReLU()}),
    lambda nn: nn.Sequential(),
]


@pytest.mark.parametrize("make", LAYER_REPRS)
def test_layer_repr_matches_torch(make):
    assert repr(make(cr.nn)) == repr(make(torch.nn))


def test_softmax_without_dim_warns_like_torch():
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        cr.nn.Softmax()(cr.ones(2, 3))


def test_inplace_activations_modify_a_nonleaf_and_keep_gradients():
    for make in (lambda nn: nn.ReLU(inplace=True), lambda nn: nn.LeakyReLU(0.1, inplace=True),
                 lambda nn: nn.ELU(inplace=True), lambda nn: nn.SiLU(inplace=True),
                 lambda nn: nn.Threshold(0.2, -1.0, inplace=True)):
        t_x = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
        c_x = to_cr(t_x, requires_grad=True)
        t_h, c_h = t_x * 2, c_x * 2
        t_y, c_y = make(torch.nn)(t_h), make(cr.nn)(c_h)
        assert c_y is c_h
        assert_close(c_h, t_h, torch.float64)
        t_y.sum().backward()
        c_y.sum().backward()
        assert_close(c_x.grad, t_x.grad, torch.float64)


NEW_MODULES = ["Mish()", "Hardswish()", "Hardsigmoid(inplace=True)", "SELU()", "Softsign()",
               "Tanhshrink()", "CELU(alpha=0.5)", "Hardshrink(0.3)", "Softshrink()", "GLU(dim=1)",
               "PReLU()", "PReLU(4, init=0.1)", "GroupNorm(2, 4)", "GroupNorm(1, 4, affine=False)",
               "Dropout2d(0.3)", "Dropout1d()", "CosineSimilarity(dim=0)", "PairwiseDistance(p=1)",
               "KLDivLoss(reduction='batchmean')", "MarginRankingLoss(margin=0.5)",
               "TripletMarginLoss()", "SoftMarginLoss()", "CosineEmbeddingLoss()",
               "HingeEmbeddingLoss()", "PoissonNLLLoss()", "GaussianNLLLoss()",
               "Upsample(scale_factor=2)", "Upsample(size=(3, 4))"]


@pytest.mark.parametrize("spec", NEW_MODULES)
def test_new_modules_print_and_save_like_torch(spec):
    ours = eval("cr.nn." + spec)
    theirs = eval("torch.nn." + spec)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (k, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert a.tolist() == b.tolist(), k
