"""RMSNorm / F.rms_norm, lazy modules, nn.Buffer and the uninitialized placeholders against
PyTorch: values, gradients, grad_fn names, parameters drawn from the same seed at the first
forward, state_dict keys, reprs and error messages."""
import copy
import pickle

import numpy as np
import pytest
import torch

import chainrule as cr
from nn_more_helpers import (CR_DTYPE, DTYPE_IDS, DTYPES, check_module, compare, double,
                             gradchecks, raises_like, to_cr)


# -- RMSNorm -----------------------------------------------------------------------------------
RMS_CASES = [((4,), {}), (4, {"eps": 1e-3}), ((3, 4), {}), ([3, 4], {"elementwise_affine": False}),
             ((4,), {"eps": 0.5})]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("shape,kw", RMS_CASES, ids=[str(c) for c in RMS_CASES])
def test_rmsnorm_module_matches_torch(shape, kw, dtype):
    t_mod, c_mod = torch.nn.RMSNorm(shape, **kw), cr.nn.RMSNorm(shape, **kw)
    assert repr(c_mod) == repr(t_mod)
    if t_mod.weight is not None:  # a non-trivial weight, copied into chainrule's module
        with torch.no_grad():
            t_mod.weight.normal_()
    x = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(0))
    check_module(t_mod, c_mod, [x], dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_rms_norm_functional_default_eps_and_grad_fn(dtype):
    g = torch.Generator().manual_seed(1)
    x, w = torch.randn(5, 6, generator=g) * 1e-4, torch.randn(6, generator=g)
    # tiny inputs: eps (the dtype's machine epsilon) matters
    compare(lambda x, w: torch.nn.functional.rms_norm(x, (6,), w),
            lambda x, w: cr.nn.functional.rms_norm(x, (6,), w), [x, w], dtype, "MulBackward0")
    compare(lambda x: torch.nn.functional.rms_norm(x, [5, 6], eps=1e-2),
            lambda x: cr.nn.functional.rms_norm(x, [5, 6], eps=1e-2), [x], dtype,
            "MulBackward0")


def test_rms_norm_errors_and_gradgradcheck():
    for shape in [(3,), (3, 3), (4, 4)]:
        raises_like(lambda: torch.nn.functional.rms_norm(torch.ones(3, 2, 4), shape),
                    lambda: cr.nn.functional.rms_norm(cr.ones(3, 2, 4), shape))
    gradchecks(lambda x, w: cr.nn.functional.rms_norm(x, (3,), w, 1e-3),
               (double(2, 3), double(3)))


# -- lazy modules ------------------------------------------------------------------------------
LAZY = [
    ("LazyLinear", (3,), {}, (4, 5)),
    ("LazyLinear", (2,), {"bias": False}, (2, 3, 6)),
    ("LazyConv1d", (4, 3), {"padding": 1}, (2, 3, 7)),
    ("LazyConv1d", (4, 2), {"groups": 2, "bias": False}, (2, 6)),
    ("LazyConv2d", (4, 3), {"stride": 2}, (2, 3, 6, 5)),
    ("LazyConv2d", (6, (2, 3)), {"groups": 3, "dilation": 2}, (2, 3, 6, 7)),
    ("LazyConv3d", (2, 2), {}, (1, 3, 3, 4, 3)),
    ("LazyConvTranspose1d", (4, 3), {"stride": 2}, (2, 3, 5)),
    ("LazyConvTranspose2d", (4, 3), {"groups": 2, "output_padding": 1, "stride": 2},
     (2, 4, 3, 3)),
    ("LazyConvTranspose2d", (2, 2), {"bias": False}, (3, 4, 4)),
    ("LazyConvTranspose3d", (2, 2), {}, (1, 2, 2, 3, 2)),
    ("LazyBatchNorm1d", (), {}, (4, 3)),
    ("LazyBatchNorm1d", (), {"affine": False, "momentum": 0.3}, (4, 3, 5)),
    ("LazyBatchNorm2d", (), {"bias": False}, (2, 3, 4, 4)),
    ("LazyBatchNorm3d", (), {"track_running_stats": False}, (2, 3, 2, 2, 3)),
    ("LazyInstanceNorm1d", (), {}, (2, 3, 6)),
    ("LazyInstanceNorm2d", (), {"affine": False}, (2, 3, 4, 5)),
    ("LazyInstanceNorm3d", (), {"eps": 1e-3}, (2, 3, 2, 3, 4)),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("kind,args,kw,shape", LAZY, ids=[f"{k}{a}{kw}" for k, a, kw, _ in LAZY])
def test_lazy_module_becomes_torchs_module(kind, args, kw, shape, dtype):
    """Same seed -> uninitialized placeholders, then at the first forward the same class,
    parameters (bit for bit in float32), outputs, gradients, buffers and state_dict."""
    torch.manual_seed(5)
    t_mod = getattr(torch.nn, kind)(*args, **kw)
    cr.manual_seed(5)
    c_mod = getattr(cr.nn, kind)(*args, **kw)
    assert repr(c_mod) == repr(t_mod)
    assert list(c_mod.state_dict()) == list(t_mod.state_dict())
    assert [repr(v) for v in c_mod.state_dict().values()] == \
        [repr(v) for v in t_mod.state_dict().values()]
    assert c_mod.has_uninitialized_params() == t_mod.has_uninitialized_params()
    # draws in between happen before the lazy initialisation, in both
    torch.rand(3)
    cr.rand(3)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(2))
    t_out, c_out = t_mod(x), c_mod(to_cr(x))
    assert type(c_mod).__name__ == type(t_mod).__name__ == kind[4:]
    assert repr(c_mod) == repr(t_mod)
    assert not hasattr(c_mod, "_initialize_hook")
    for (name, t_p), (c_name, c_p) in zip(t_mod.named_parameters(), c_mod.named_parameters()):
        assert name == c_name and isinstance(c_p, cr.nn.Parameter)
        assert type(c_p) is cr.nn.Parameter
        assert np.array_equal(c_p.detach().numpy(), t_p.detach().numpy()), name
    np.testing.assert_allclose(c_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-5,
                               atol=1e-5)
    for (name, t_b), (_, c_b) in zip(t_mod.named_buffers(), c_mod.named_buffers()):
        assert type(c_b) is cr.Tensor
        np.testing.assert_allclose(c_b.numpy(), t_b.numpy(), rtol=1e-5, atol=1e-6)
    # now an ordinary module: values and gradients in both dtypes (the first graph is freed
    # first: chainrule's AccumulateGrad keeps the dtype a parameter had when it was made)
    del t_out, c_out
    t_mod.train()
    check_module(t_mod, c_mod, [x], dtype)


def test_lazy_linear_forward_hooks_and_kwargs():
    cr.manual_seed(0)
    m = cr.nn.LazyLinear(2)
    assert isinstance(m.weight, cr.nn.UninitializedParameter)
    assert isinstance(m, cr.nn.LazyModuleMixin)
    m(input=cr.ones(3, 4))  # the input given by keyword also initializes it
    assert type(m) is cr.nn.Linear and m.in_features == 4
    assert not m._forward_pre_hooks and not m._load_state_dict_pre_hooks
    assert not isinstance(m, cr.nn.LazyModuleMixin)


def test_lazy_load_state_dict_materializes_then_keeps_loaded_values():
    torch.manual_seed(0)
    src = torch.nn.Linear(4, 3)
    t_lazy, c_lazy = torch.nn.LazyLinear(3), cr.nn.LazyLinear(3)
    t_lazy.load_state_dict(src.state_dict())
    c_lazy.load_state_dict({k: to_cr(v) for k, v in src.state_dict().items()})
    assert type(c_lazy).__name__ == type(t_lazy).__name__ == "LazyLinear"
    assert type(c_lazy.weight) is cr.nn.Parameter
    assert tuple(c_lazy.weight.shape) == (3, 4)
    x = torch.randn(2, 4)
    np.testing.assert_allclose(c_lazy(to_cr(x)).detach().numpy(),
                               t_lazy(x).detach().numpy(), rtol=1e-6)
    np.testing.assert_array_equal(c_lazy.weight.detach().numpy(), src.weight.detach().numpy())
    assert type(c_lazy) is cr.nn.Linear and c_lazy.in_features == 4 == t_lazy.in_features


def test_lazy_errors_are_torchs():
    raises_like(lambda: torch.nn.LazyConv2d(4, 3)(torch.ones(2, 3)),
                lambda: cr.nn.LazyConv2d(4, 3)(cr.ones(2, 3)))
    raises_like(lambda: torch.nn.LazyConv1d(4, 3, groups=2)(torch.ones(2, 3, 5)),
                lambda: cr.nn.LazyConv1d(4, 3, groups=2)(cr.ones(2, 3, 5)))
    raises_like(lambda: torch.nn.UninitializedParameter().shape,
                lambda: cr.nn.UninitializedParameter().shape)


def test_lazy_dtype_and_copies():
    m = cr.nn.LazyLinear(3, dtype=cr.float64)
    assert m.weight.dtype == cr.float64
    m2 = copy.deepcopy(m)
    assert isinstance(m2.weight, cr.nn.UninitializedParameter) and m2.weight is not m.weight
    m3 = pickle.loads(pickle.dumps(cr.nn.LazyConv1d(2, 2)))
    assert isinstance(m3.weight, cr.nn.UninitializedParameter)
    m2(cr.ones(1, 2, dtype=cr.float64))
    assert m2.weight.dtype == cr.float64 and tuple(m2.weight.shape) == (3, 2)
    m4 = cr.nn.LazyLinear(2).double()
    m4(cr.ones(1, 3, dtype=cr.float64))
    assert m4.weight.dtype == cr.float64


# -- Buffer and the uninitialized placeholders -------------------------------------------------
def test_buffer_assignment_registers_as_torch():
    t_m, c_m = torch.nn.Module(), cr.nn.Module()
    t_m.a = torch.nn.Buffer(torch.ones(2))
    c_m.a = cr.nn.Buffer(cr.ones(2))
    t_m.b = torch.nn.Buffer(torch.zeros(1), persistent=False)
    c_m.b = cr.nn.Buffer(cr.zeros(1), persistent=False)
    assert [n for n, _ in c_m.named_buffers()] == [n for n, _ in t_m.named_buffers()]
    assert list(c_m.state_dict()) == list(t_m.state_dict()) == ["a"]
    assert repr(c_m.a) == repr(t_m.a)
    assert isinstance(c_m.a, cr.nn.Buffer) and isinstance(c_m.a, cr.Tensor)
    raises_like(lambda: setattr(t_m, "a", 3), lambda: setattr(c_m, "a", 3))
    assert list(c_m.parameters()) == []


def test_uninitialized_placeholders():
    for kind in ("UninitializedParameter", "UninitializedBuffer"):
        t, c = getattr(torch.nn, kind)(), getattr(cr.nn, kind)()
        assert repr(c) == repr(t)
        assert c.requires_grad == t.requires_grad
        assert cr.nn.parameter.is_lazy(c) and not cr.nn.parameter.is_lazy(cr.ones(1))
        c.materialize((2, 3), dtype=cr.float64)
        t.materialize((2, 3), dtype=torch.float64)
        assert type(c).__name__ == type(t).__name__
        assert tuple(c.shape) == tuple(t.shape) and c.dtype == cr.float64
    assert not cr.nn.UninitializedBuffer(persistent=False).persistent
    m = cr.nn.Module()
    m.buf = cr.nn.UninitializedBuffer(persistent=False)
    assert list(m.state_dict()) == [] and [n for n, _ in m.named_buffers()] == ["buf"]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_lazy_inside_sequential(dtype):
    torch.manual_seed(3)
    t_net = torch.nn.Sequential(torch.nn.LazyConv2d(4, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.LazyLinear(2))
    cr.manual_seed(3)
    c_net = cr.nn.Sequential(cr.nn.LazyConv2d(4, 3), cr.nn.ReLU(), cr.nn.Flatten(),
                             cr.nn.LazyLinear(2))
    x = torch.randn(2, 1, 5, 5, generator=torch.Generator().manual_seed(0))
    t_net(x), c_net(to_cr(x))
    assert repr(c_net) == repr(t_net)
    for (n, t_p), (_, c_p) in zip(t_net.named_parameters(), c_net.named_parameters()):
        assert np.array_equal(c_p.detach().numpy(), t_p.detach().numpy()), n
    compare(lambda x: t_net.to(dtype)(x), lambda x: c_net.to(CR_DTYPE[dtype])(x), [x], dtype)
