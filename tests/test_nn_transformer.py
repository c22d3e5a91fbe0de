"""Attention and Transformer layers (nn.MultiheadAttention, F.multi_head_attention_forward,
nn.TransformerEncoderLayer/Encoder, nn.TransformerDecoderLayer/Decoder, nn.Transformer) against
PyTorch: the same seed gives the same weights, names, state_dict keys and reprs; with torch's
state_dict loaded, outputs, attention weights and the gradients of every input and parameter
agree in float32 and float64, for every kind of mask; errors use torch's words; a short training
run follows torch's loss trajectory."""
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

TOL = {torch.float32: dict(rtol=1e-5, atol=2e-6), torch.float64: dict(rtol=1e-10, atol=1e-12)}
CR_DTYPE = {torch.float32: cr.float32, torch.float64: cr.float64}
DTYPES = pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])


def to_cr(t, requires_grad=False):
    if t is None:
        return None
    out = cr.tensor(t.detach().numpy().copy())
    return out.requires_grad_() if requires_grad else out


def assert_close(c, t, dtype):
    """Elementwise within rtol, and atol scaled by the tensor's largest magnitude (a float32
    gradient summed from many products is exact only relative to its largest terms)."""
    assert c is not None and t is not None
    assert tuple(c.shape) == tuple(t.shape)
    expected = t.detach().numpy()
    finite = expected[np.isfinite(expected)]
    scale = max(1.0, float(np.abs(finite).max())) if finite.size else 1.0
    tol = TOL[dtype]
    np.testing.assert_allclose(c.detach().numpy(), expected, rtol=tol["rtol"],
                               atol=tol["atol"] * scale)


def build(kind, *args, **kwargs):
    """torch's module and chainrule's, built from the same seed: their parameters must be
    bit-identical (float32), named and ordered alike, and leave the generators in step."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # enable_nested_tensor notices
        torch.manual_seed(0)
        tmod = getattr(torch.nn, kind)(*args, **kwargs)
        t_after = torch.rand(2)
        cr.manual_seed(0)
        cmod = getattr(cr.nn, kind)(*args, **kwargs)
        c_after = cr.rand(2)
    t_named, c_named = list(tmod.named_parameters()), list(cmod.named_parameters())
    assert [n for n, _ in c_named] == [n for n, _ in t_named]
    for (name, t_p), (_, c_p) in zip(t_named, c_named):
        assert np.array_equal(c_p.detach().numpy(), t_p.detach().numpy()), name
    assert list(cmod.state_dict()) == list(tmod.state_dict())
    assert np.array_equal(c_after.numpy(), t_after.numpy())
    return tmod, cmod


def make_pair(kind, dtype, *args, **kwargs):
    tmod, cmod = build(kind, *args, **kwargs)
    tmod, cmod = tmod.to(dtype), cmod.to(CR_DTYPE[dtype])
    # torch's state dict loads into chainrule (here after a perturbation, so that the zero
    # biases of attention become visible in the gradients)
    with torch.no_grad():
        for p in tmod.parameters():
            p.add_(torch.randn(p.shape, dtype=dtype, generator=torch.Generator().manual_seed(
                p.numel())) * 0.1)
    result = cmod.load_state_dict({k: to_cr(v) for k, v in tmod.state_dict().items()})
    assert result.missing_keys == [] and result.unexpected_keys == []
    return tmod, cmod


def compare(tmod, cmod, t_inputs, c_inputs, dtype, call=None, seed=1):
    """Run both, compare every output tensor, backward a random weighting of all of them,
    compare the gradients of the inputs and of every parameter."""
    call = call or (lambda m, args: m(*args))
    t_out, c_out = call(tmod, t_inputs), call(cmod, c_inputs)
    t_res = list(t_out) if isinstance(t_out, tuple) else [t_out]
    c_res = list(c_out) if isinstance(c_out, tuple) else [c_out]
    assert len(t_res) == len(c_res)
    gen = torch.Generator().manual_seed(seed)
    t_loss = c_loss = 0
    for t_r, c_r in zip(t_res, c_res):
        if t_r is None:
            assert c_r is None
            continue
        assert c_r.dtype == CR_DTYPE[dtype]
        assert_close(c_r, t_r, dtype)
        assert type(c_r.grad_fn).__name__ == type(t_r.grad_fn).__name__ or \
            type(t_r.grad_fn).__name__ == "NativeLayerNormBackward0"
        w = torch.randn(t_r.shape, dtype=dtype, generator=gen)
        t_loss = t_loss + (t_r * w).sum()
        c_loss = c_loss + (c_r * to_cr(w)).sum()
    t_loss.backward()
    c_loss.backward()
    for t_x, c_x in zip(t_inputs, c_inputs):
        if isinstance(t_x, torch.Tensor) and t_x.requires_grad:
            assert_close(c_x.grad, t_x.grad, dtype)
    for (name, t_p), (c_name, c_p) in zip(tmod.named_parameters(), cmod.named_parameters()):
        assert name == c_name
        if t_p.grad is None:
            assert c_p.grad is None, name
        else:
            assert_close(c_p.grad, t_p.grad, dtype)
    return t_res, c_res


def leaf(*shape, dtype):
    return torch.randn(*shape, dtype=dtype, requires_grad=True)


def leaves(ts):
    return [to_cr(t, requires_grad=isinstance(t, torch.Tensor) and t.requires_grad)
            if isinstance(t, torch.Tensor) else t for t in ts]


# -- masks ---------------------------------------------------------------------------------------
def bool_mask(*shape, seed=0):
    """A random boolean mask (True: masked) that leaves the first key of every row visible."""
    gen = torch.Generator().manual_seed(seed)
    m = torch.rand(*shape, generator=gen) < 0.4
    m[..., 0] = False
    return m


def float_mask(*shape, dtype, seed=0):
    """Random additive float values, -inf where bool_mask masks."""
    gen = torch.Generator().manual_seed(seed + 100)
    m = torch.randn(*shape, dtype=dtype, generator=gen)
    return m.masked_fill(bool_mask(*shape, seed=seed), float("-inf"))


MASKS = ["none", "attn_bool", "attn_float", "attn3d_bool", "attn3d_float", "kpm_bool",
         "kpm_float", "both_bool", "both_float"]


def masks_for(kind, L, S, N, H, batched, dtype):
    """(attn_mask, key_padding_mask) for torch (chainrule gets copies)."""
    lead = (N * H,) if batched else (H,)
    kpm_shape = (N, S) if batched else (S,)
    attn = kpm = None
    if kind in ("attn_bool", "both_bool"):
        attn = bool_mask(L, S)
    if kind in ("attn_float", "both_float"):
        attn = float_mask(L, S, dtype=dtype)
    if kind == "attn3d_bool":
        attn = bool_mask(*lead, L, S, seed=1)
    if kind == "attn3d_float":
        attn = float_mask(*lead, L, S, dtype=dtype, seed=1)
    if kind in ("kpm_bool", "both_bool"):
        kpm = bool_mask(*kpm_shape, seed=2)
    if kind in ("kpm_float", "both_float"):
        kpm = float_mask(*kpm_shape, dtype=dtype, seed=2)
    return attn, kpm


# -- MultiheadAttention --------------------------------------------------------------------------
MHA_CONFIGS = {
    "plain": {},
    "nobias": {"bias": False},
    "kvdim": {"kdim": 5, "vdim": 3},
    "bias_kv": {"add_bias_kv": True},
    "zero_attn": {"add_zero_attn": True},
    "bias_kv_zero_attn_kdim": {"add_bias_kv": True, "add_zero_attn": True, "kdim": 6},
}
WEIGHTS = {"no_weights": dict(need_weights=False), "avg": dict(need_weights=True),
           "per_head": dict(need_weights=True, average_attn_weights=False)}


def mha_inputs(cfg, attention, batched, batch_first, dtype, L=4, S=5, N=3, E=8):
    """query, key, value for self-, encoder-decoder (key is value) or general attention."""
    kdim, vdim = cfg.get("kdim", E), cfg.get("vdim", E)

    def shape(T, D):
        if not batched:
            return (T, D)
        return (N, T, D) if batch_first else (T, N, D)

    if attention == "self" and kdim == vdim == E:
        q = leaf(*shape(L, E), dtype=dtype)
        return [q, q, q], L, L
    if attention == "kv_same" and kdim == vdim:
        k = leaf(*shape(S, kdim), dtype=dtype)
        return [leaf(*shape(L, E), dtype=dtype), k, k], L, S
    return ([leaf(*shape(L, E), dtype=dtype), leaf(*shape(S, kdim), dtype=dtype),
             leaf(*shape(S, vdim), dtype=dtype)], L, S)


def mha_call(kwargs):
    def call(m, args):
        q, k, v, attn, kpm = args
        if q is k is v or k is v:   # keep the identities (PyTorch's packed projections)
            return m(q, k, v, attn_mask=attn, key_padding_mask=kpm, **kwargs)
        return m(q, k, v, attn_mask=attn, key_padding_mask=kpm, **kwargs)
    return call


def same_identity_inputs(t_args):
    """chainrule copies of torch's inputs, keeping `query is key is value` alike."""
    c_args, seen = [], {}
    for t in t_args:
        if isinstance(t, torch.Tensor) and id(t) in seen:
            c_args.append(seen[id(t)])
            continue
        c = to_cr(t, requires_grad=isinstance(t, torch.Tensor) and t.requires_grad)
        if isinstance(t, torch.Tensor):
            seen[id(t)] = c
        c_args.append(c)
    return c_args


@DTYPES
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("weights", list(WEIGHTS))
@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize("cfg", list(MHA_CONFIGS))
def test_mha_matches_torch(cfg, mask, weights, batched, dtype):
    config = MHA_CONFIGS[cfg]
    tmod, cmod = make_pair("MultiheadAttention", dtype, 8, 2, **config)
    torch.manual_seed(3)
    attention = ["self", "kv_same", "general"][hash((cfg, mask)) % 3]
    qkv, L, S = mha_inputs(config, attention, batched, False, dtype)
    attn, kpm = masks_for(mask, L, S, 3, 2, batched, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # "Support for mismatched ..." (same for both)
        compare(tmod, cmod, qkv + [attn, kpm], same_identity_inputs(qkv + [attn, kpm]), dtype,
                call=mha_call(WEIGHTS[weights]))


@DTYPES
@pytest.mark.parametrize("attention", ["self", "kv_same", "general"])
@pytest.mark.parametrize("mask", ["none", "both_bool", "attn3d_float"])
@pytest.mark.parametrize("weights", list(WEIGHTS))
def test_mha_batch_first_matches_torch(attention, mask, weights, dtype):
    tmod, cmod = make_pair("MultiheadAttention", dtype, 8, 4, batch_first=True)
    torch.manual_seed(4)
    qkv, L, S = mha_inputs({}, attention, True, True, dtype)
    attn, kpm = masks_for(mask, L, S, 3, 4, True, dtype)
    t_res, c_res = compare(tmod, cmod, qkv + [attn, kpm], same_identity_inputs(qkv + [attn, kpm]),
                           dtype, call=mha_call(WEIGHTS[weights]))
    assert tuple(c_res[0].shape) == (3, L, 8)


@DTYPES
@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_is_causal_with_the_causal_mask(need_weights, batch_first, dtype):
    tmod, cmod = make_pair("MultiheadAttention", dtype, 8, 2, batch_first=batch_first)
    torch.manual_seed(5)
    x = leaf(3, 6, 8, dtype=dtype) if batch_first else leaf(6, 3, 8, dtype=dtype)
    t_mask = torch.nn.Transformer.generate_square_subsequent_mask(6, dtype=dtype)
    c_mask = cr.nn.Transformer.generate_square_subsequent_mask(6, dtype=CR_DTYPE[dtype])
    assert_close(c_mask, t_mask, dtype)

    def call(m, args):
        x, mask = args
        return m(x, x, x, attn_mask=mask, is_causal=True, need_weights=need_weights)
    compare(tmod, cmod, [x, t_mask], [to_cr(x, True), c_mask], dtype, call=call)


def test_mha_is_causal_hint_is_trusted_without_weights():
    """With need_weights=False and no key padding mask, PyTorch uses is_causal and ignores the
    mask itself (it must be given but is not read)."""
    tmod, cmod = make_pair("MultiheadAttention", torch.float64, 8, 2)
    x = torch.randn(5, 2, 8, dtype=torch.float64)
    mask = torch.zeros(5, 5, dtype=torch.float64)
    t_out = tmod(x, x, x, attn_mask=mask, is_causal=True, need_weights=False)[0]
    c_out = cmod(*[to_cr(x)] * 3, attn_mask=to_cr(mask), is_causal=True, need_weights=False)[0]
    assert_close(c_out, t_out, torch.float64)
    # with weights the mask is used (no causality)
    t_out, t_w = tmod(x, x, x, attn_mask=mask, is_causal=True)
    c_out, c_w = cmod(*[to_cr(x)] * 3, attn_mask=to_cr(mask), is_causal=True)
    assert_close(c_out, t_out, torch.float64)
    assert_close(c_w, t_w, torch.float64)


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("grad", [True, False], ids=["grad", "no_grad"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_rows_with_every_key_masked(need_weights, grad, batch_first):
    """NaN with explicit weights (and in the eval fast path), 0 through PyTorch's SDPA."""
    tmod, cmod = make_pair("MultiheadAttention", torch.float64, 8, 2, batch_first=batch_first)
    tmod.eval()
    cmod.eval()
    x = torch.randn(2, 3, 8, dtype=torch.float64)
    if not batch_first:
        x = x.transpose(0, 1).contiguous()
    kpm = torch.tensor([[False, False, True], [True, True, True]])
    with torch.set_grad_enabled(grad), cr.set_grad_enabled(grad):
        t_out, t_w = tmod(x, x, x, key_padding_mask=kpm, need_weights=need_weights)
        cx = to_cr(x)
        c_out, c_w = cmod(cx, cx, cx, key_padding_mask=to_cr(kpm), need_weights=need_weights)
    np.testing.assert_allclose(c_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-10,
                               atol=1e-12)
    if need_weights:
        np.testing.assert_allclose(c_w.numpy() if not grad else c_w.detach().numpy(),
                                   t_w.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_mha_fully_masked_rows_give_finite_gradients_without_weights():
    tmod, cmod = make_pair("MultiheadAttention", torch.float64, 8, 2)
    x = leaf(3, 2, 8, dtype=torch.float64)
    kpm = torch.tensor([[False, True, True], [True, True, True]])
    _, c_res = compare(tmod, cmod, [x, kpm], [to_cr(x, True), to_cr(kpm)], torch.float64,
                       call=lambda m, a: m(a[0], a[0], a[0], key_padding_mask=a[1],
                                           need_weights=False))
    assert np.isfinite(c_res[0].detach().numpy()).all()


@pytest.mark.parametrize("mask", ["none", "attn_bool", "kpm_bool", "both_bool", "attn_float"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_eval_no_grad_matches_torchs_fast_path(mask, need_weights):
    tmod, cmod = make_pair("MultiheadAttention", torch.float32, 8, 4, batch_first=True)
    tmod.eval()
    cmod.eval()
    x = torch.randn(3, 5, 8)
    attn, kpm = masks_for(mask, 5, 5, 3, 4, True, torch.float32)
    with torch.no_grad(), cr.no_grad():
        t_out, t_w = tmod(x, x, x, attn_mask=attn, key_padding_mask=kpm,
                          need_weights=need_weights)
        cx = to_cr(x)
        c_out, c_w = cmod(cx, cx, cx, attn_mask=to_cr(attn), key_padding_mask=to_cr(kpm),
                          need_weights=need_weights)
    assert_close(c_out, t_out, torch.float32)
    assert (c_w is None) == (t_w is None)
    if t_w is not None:
        assert_close(c_w, t_w, torch.float32)


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_dropout_in_training_draws_torchs_masks(need_weights, batch_first):
    tmod, cmod = make_pair("MultiheadAttention", torch.float64, 8, 2, dropout=0.5,
                           batch_first=batch_first)
    torch.manual_seed(6)
    x = leaf(3, 4, 8, dtype=torch.float64)
    torch.manual_seed(7)
    cr.manual_seed(7)
    t_res, c_res = compare(tmod, cmod, [x], [to_cr(x, True)], torch.float64,
                           call=lambda m, a: m(a[0], a[0], a[0], need_weights=need_weights))
    tmod.eval()
    cr.manual_seed(8)
    c_out = cmod(*[to_cr(x)] * 3, need_weights=need_weights)[0]
    assert not np.allclose(c_out.detach().numpy(), t_res[0].detach().numpy())


@DTYPES
def test_functional_multi_head_attention_forward(dtype):
    tmod, cmod = make_pair("MultiheadAttention", dtype, 8, 2, add_bias_kv=True)
    F_t, F_c = torch.nn.functional, cr.nn.functional
    q, k = leaf(4, 3, 8, dtype=dtype), leaf(6, 3, 8, dtype=dtype)
    kpm = bool_mask(3, 6)

    def call(F, m, q, k):
        return F.multi_head_attention_forward(
            q, k, k, 8, 2, m.in_proj_weight, m.in_proj_bias, m.bias_k, m.bias_v, False, 0.0,
            m.out_proj.weight, m.out_proj.bias, training=True, key_padding_mask=kpm_of(F),
            average_attn_weights=False)

    def kpm_of(F):
        return kpm if F is F_t else to_cr(kpm)
    compare(tmod, cmod, [q, k], [to_cr(q, True), to_cr(k, True)], dtype,
            call=lambda m, a: call(F_t if isinstance(m, torch.nn.Module) else F_c, m, *a))


def test_functional_static_k_v_and_separate_weights():
    torch.manual_seed(0)
    E, H, L, S, N = 6, 3, 4, 5, 2
    tensors = dict(q=torch.randn(L, N, E, dtype=torch.float64),
                   k=torch.randn(S, N, 4, dtype=torch.float64),
                   v=torch.randn(S, N, 5, dtype=torch.float64),
                   wq=torch.randn(E, E, dtype=torch.float64),
                   wk=torch.randn(E, 4, dtype=torch.float64),
                   wv=torch.randn(E, 5, dtype=torch.float64),
                   b=torch.randn(3 * E, dtype=torch.float64),
                   wo=torch.randn(E, E, dtype=torch.float64),
                   bo=torch.randn(E, dtype=torch.float64),
                   sk=torch.randn(N * H, 7, E // H, dtype=torch.float64),
                   sv=torch.randn(N * H, 7, E // H, dtype=torch.float64))

    def run(lib, T):
        return lib.nn.functional.multi_head_attention_forward(
            T["q"], T["k"], T["v"], E, H, None, T["b"], None, None, True, 0.0, T["wo"], T["bo"],
            use_separate_proj_weight=True, q_proj_weight=T["wq"], k_proj_weight=T["wk"],
            v_proj_weight=T["wv"], static_k=T["sk"], static_v=T["sv"])
    t_out, t_w = run(torch, tensors)
    c_out, c_w = run(cr, {n: to_cr(t) for n, t in tensors.items()})
    assert_close(c_out, t_out, torch.float64)
    assert_close(c_w, t_w, torch.float64)


MHA_INIT_CONFIGS = [((8, 2), {}), ((8, 2), {"bias": False}), ((8, 4), {"kdim": 5, "vdim": 3}),
                    ((6, 3), {"add_bias_kv": True, "dropout": 0.1}),
                    ((6, 1), {"add_zero_attn": True, "batch_first": True, "vdim": 2}),
                    ((4, 2), {"bias": False, "add_bias_kv": True, "kdim": 3})]


@pytest.mark.parametrize("args,kwargs", MHA_INIT_CONFIGS, ids=[str(c) for c in MHA_INIT_CONFIGS])
def test_mha_parameters_init_repr_and_attributes(args, kwargs):
    tmod, cmod = build("MultiheadAttention", *args, **kwargs)
    assert repr(cmod) == repr(tmod)
    for attr in ["embed_dim", "kdim", "vdim", "_qkv_same_embed_dim", "num_heads", "dropout",
                 "batch_first", "head_dim", "add_zero_attn"]:
        assert getattr(cmod, attr) == getattr(tmod, attr), attr
    for name in ["in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight",
                 "in_proj_bias", "bias_k", "bias_v"]:
        assert (getattr(cmod, name) is None) == (getattr(tmod, name) is None), name
    assert type(cmod.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
    assert isinstance(cmod.out_proj, cr.nn.Linear)


def test_mha_dtype_argument_and_conversion():
    m = cr.nn.MultiheadAttention(4, 2, dtype=cr.float64)
    assert all(p.dtype == cr.float64 for p in m.parameters())
    x = cr.randn(3, 2, 4, dtype=cr.float64)
    out, w = m(x, x, x)
    assert out.dtype == cr.float64 and w.dtype == cr.float64


# -- Transformer layers -------------------------------------------------------------------------
ACTIVATIONS = {"relu": ("relu", "relu"), "gelu": ("gelu", "gelu"),
               "F.gelu": (torch.nn.functional.gelu, cr.nn.functional.gelu),
               "callable": (torch.nn.functional.silu, cr.nn.functional.silu),
               "module": (torch.nn.GELU(), cr.nn.GELU())}


def layer_pair(kind, dtype, activation="relu", **kwargs):
    t_act, c_act = ACTIVATIONS[activation]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.manual_seed(0)
        tmod = getattr(torch.nn, kind)(8, 2, dim_feedforward=12, activation=t_act,
                                       **kwargs).to(dtype)
        cr.manual_seed(0)
        cmod = getattr(cr.nn, kind)(8, 2, dim_feedforward=12, activation=c_act,
                                    **kwargs).to(CR_DTYPE[dtype])
    assert list(cmod.state_dict()) == list(tmod.state_dict())
    with torch.no_grad():
        for i, p in enumerate(tmod.parameters()):
            p.add_(torch.randn(p.shape, dtype=dtype, generator=torch.Generator().manual_seed(i))
                   * 0.1)
    cmod.load_state_dict({k: to_cr(v) for k, v in tmod.state_dict().items()})
    tmod.eval()
    cmod.eval()
    return tmod, cmod


def seq(L, N, E, batched, batch_first, dtype):
    if not batched:
        return leaf(L, E, dtype=dtype)
    return leaf(N, L, E, dtype=dtype) if batch_first else leaf(L, N, E, dtype=dtype)


LAYER_MASKS = ["none", "causal", "causal_bool", "kpm_bool", "kpm_float", "both_bool",
               "both_float"]


def layer_masks(kind, L, N, batched, dtype):
    mask = kpm = None
    if kind in ("causal", "both_float"):
        mask = torch.nn.Transformer.generate_square_subsequent_mask(L, dtype=dtype)
    if kind in ("causal_bool", "both_bool"):
        mask = torch.ones(L, L, dtype=torch.bool).triu(1)
    shape = (N, L) if batched else (L,)
    if kind in ("kpm_bool", "both_bool"):
        kpm = bool_mask(*shape, seed=5)
    if kind in ("kpm_float", "both_float"):
        kpm = bool_mask(*shape, seed=5).to(dtype).masked_fill(bool_mask(*shape, seed=5),
                                                              float("-inf"))
    return mask, kpm


def check_encoder_layer(activation, norm_first, mask, batch_first, batched, dtype):
    tmod, cmod = layer_pair("TransformerEncoderLayer", dtype, activation, norm_first=norm_first,
                            batch_first=batch_first)
    torch.manual_seed(9)
    x = seq(5, 3, 8, batched, batch_first, dtype)
    m, kpm = layer_masks(mask, 5, 3, batched, dtype)
    is_causal = mask == "causal"
    call = (lambda mod, a: mod(a[0], src_mask=a[1], src_key_padding_mask=a[2],
                               is_causal=is_causal))
    compare(tmod, cmod, [x, m, kpm], [to_cr(x, True), to_cr(m), to_cr(kpm)], dtype, call=call)


@DTYPES
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
@pytest.mark.parametrize("mask", LAYER_MASKS)
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
@pytest.mark.parametrize("activation", ["relu", "gelu", "callable"])
def test_encoder_layer_matches_torch(activation, norm_first, mask, batch_first, batched, dtype):
    check_encoder_layer(activation, norm_first, mask, batch_first, batched, dtype)


@DTYPES
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
@pytest.mark.parametrize("mask", ["none", "both_bool"])
@pytest.mark.parametrize("activation", ["F.gelu", "module"])
def test_encoder_layer_activation_function_or_module(activation, mask, batch_first, dtype):
    check_encoder_layer(activation, False, mask, batch_first, True, dtype)


@DTYPES
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
@pytest.mark.parametrize("masks", ["none", "tgt_causal", "all_bool", "all_float"])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
@pytest.mark.parametrize("activation", ["relu", "gelu", "callable"])
def test_decoder_layer_matches_torch(activation, norm_first, masks, batch_first, batched, dtype):
    tmod, cmod = layer_pair("TransformerDecoderLayer", dtype, activation, norm_first=norm_first,
                            batch_first=batch_first)
    torch.manual_seed(10)
    T, S, N = 4, 6, 3
    tgt, mem = seq(T, N, 8, batched, batch_first, dtype), seq(S, N, 8, batched, batch_first,
                                                               dtype)
    kw = {}
    if masks == "tgt_causal":
        kw = dict(tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(T, dtype=dtype),
                  tgt_is_causal=True)
    elif masks in ("all_bool", "all_float"):
        as_float = masks == "all_float"

        def conv(m):
            return m.to(dtype).masked_fill(m, float("-inf")) if as_float else m
        lead = (N,) if batched else ()
        kw = dict(tgt_mask=conv(torch.ones(T, T, dtype=torch.bool).triu(1)),
                  memory_mask=conv(bool_mask(T, S, seed=11)),
                  tgt_key_padding_mask=conv(bool_mask(*lead, T, seed=12)),
                  memory_key_padding_mask=conv(bool_mask(*lead, S, seed=13)))
    names = list(kw)
    t_args = [tgt, mem] + [kw[n] for n in names]
    c_args = [to_cr(tgt, True), to_cr(mem, True)] + [kw[n] if isinstance(kw[n], bool)
                                                      else to_cr(kw[n]) for n in names]

    def call(mod, a):
        return mod(a[0], a[1], **dict(zip(names, a[2:])))
    compare(tmod, cmod, t_args, c_args, dtype, call=call)


def stack_pair(kind, dtype, num_layers=2, with_norm=True, **layer_kwargs):
    layer_kind = kind + "Layer"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mods = []
        for lib in (torch, cr):
            lib.manual_seed(0)
            layer = getattr(lib.nn, layer_kind)(8, 2, dim_feedforward=12, **layer_kwargs)
            norm = lib.nn.LayerNorm(8) if with_norm else None
            mods.append(getattr(lib.nn, kind)(layer, num_layers, norm=norm))
    tmod, cmod = mods
    assert repr(cmod) == repr(tmod)
    assert list(cmod.state_dict()) == list(tmod.state_dict())
    tmod, cmod = tmod.to(dtype), cmod.to(CR_DTYPE[dtype])
    with torch.no_grad():
        for i, p in enumerate(tmod.parameters()):
            p.add_(torch.randn(p.shape, dtype=dtype, generator=torch.Generator().manual_seed(i))
                   * 0.1)
    cmod.load_state_dict({k: to_cr(v) for k, v in tmod.state_dict().items()})
    tmod.eval()
    cmod.eval()
    return tmod, cmod


@DTYPES
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
@pytest.mark.parametrize("mask", ["none", "causal_detected", "causal_flag", "kpm_bool",
                                  "both_float"])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
@pytest.mark.parametrize("with_norm", [True, False], ids=["norm", "no_norm"])
def test_encoder_matches_torch(with_norm, norm_first, mask, batch_first, dtype):
    tmod, cmod = stack_pair("TransformerEncoder", dtype, 3, with_norm, norm_first=norm_first,
                            batch_first=batch_first)
    torch.manual_seed(11)
    x = seq(5, 3, 8, True, batch_first, dtype)
    kw = {}
    causal = torch.nn.Transformer.generate_square_subsequent_mask(5, dtype=dtype)
    if mask == "causal_detected":
        kw = dict(mask=causal)
    elif mask == "causal_flag":
        kw = dict(mask=causal, is_causal=True)
    elif mask == "kpm_bool":
        kw = dict(src_key_padding_mask=bool_mask(3, 5, seed=3))
    elif mask == "both_float":
        kw = dict(mask=float_mask(5, 5, dtype=dtype),
                  src_key_padding_mask=float_mask(3, 5, dtype=dtype, seed=4))
    names = list(kw)
    c_kw = [kw[n] if isinstance(kw[n], bool) else to_cr(kw[n]) for n in names]
    compare(tmod, cmod, [x] + [kw[n] for n in names], [to_cr(x, True)] + c_kw, dtype,
            call=lambda m, a: m(a[0], **dict(zip(names, a[1:]))))


@DTYPES
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
def test_decoder_matches_torch(norm_first, batch_first, dtype):
    tmod, cmod = stack_pair("TransformerDecoder", dtype, 2, True, norm_first=norm_first,
                            batch_first=batch_first)
    torch.manual_seed(12)
    tgt, mem = seq(4, 3, 8, True, batch_first, dtype), seq(6, 3, 8, True, batch_first, dtype)
    tgt_mask = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=dtype)
    mem_kpm = bool_mask(3, 6, seed=14)
    compare(tmod, cmod, [tgt, mem, tgt_mask, mem_kpm],
            [to_cr(tgt, True), to_cr(mem, True), to_cr(tgt_mask), to_cr(mem_kpm)], dtype,
            call=lambda m, a: m(a[0], a[1], tgt_mask=a[2], memory_key_padding_mask=a[3]))


@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
@pytest.mark.parametrize("mask", ["none", "kpm_left_aligned", "kpm_holes", "kpm_empty_row",
                                  "causal"])
def test_encoder_eval_no_grad_matches_torchs_fast_paths(mask, norm_first, batch_first):
    """Under no_grad in eval mode PyTorch runs fused layers, and (batch_first, left-aligned
    padding) a nested tensor that leaves zeros at the padded positions."""
    tmod, cmod = stack_pair("TransformerEncoder", torch.float32, 2, True, norm_first=norm_first,
                            batch_first=batch_first, dropout=0.1)
    x = torch.randn(3, 5, 8)
    if not batch_first:
        x = x.transpose(0, 1).contiguous()
    kw = {}
    if mask == "kpm_left_aligned":
        kw = dict(src_key_padding_mask=torch.tensor([[0, 0, 0, 1, 1], [0, 0, 0, 0, 0],
                                                     [0, 1, 1, 1, 1]], dtype=torch.bool))
    elif mask == "kpm_holes":
        kw = dict(src_key_padding_mask=torch.tensor([[0, 1, 0, 1, 1], [0, 0, 0, 0, 0],
                                                     [0, 1, 1, 1, 1]], dtype=torch.bool))
    elif mask == "kpm_empty_row":
        kw = dict(src_key_padding_mask=torch.tensor([[0, 0, 0, 1, 1], [1, 1, 1, 1, 1],
                                                     [0, 1, 1, 1, 1]], dtype=torch.bool))
    elif mask == "causal":
        kw = dict(mask=torch.nn.Transformer.generate_square_subsequent_mask(5))
    with torch.no_grad(), cr.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")   # torch: nested tensors are a prototype
        t_out = tmod(x, **kw)
        c_out = cmod(to_cr(x), **{k: to_cr(v) for k, v in kw.items()})
        assert_close(c_out, t_out, torch.float32)
        t_layer = tmod.layers[0](x, src_key_padding_mask=kw.get("src_key_padding_mask"))
        c_layer = cmod.layers[0](to_cr(x), src_key_padding_mask=to_cr(
            kw.get("src_key_padding_mask")))
        assert_close(c_layer, t_layer, torch.float32)


@DTYPES
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
def test_transformer_matches_torch(norm_first, batched, batch_first, dtype):
    tmod, cmod = make_pair("Transformer", dtype, d_model=8, nhead=2, num_encoder_layers=2,
                           num_decoder_layers=2, dim_feedforward=12, norm_first=norm_first,
                           batch_first=batch_first, activation="gelu")
    tmod.eval()
    cmod.eval()
    torch.manual_seed(13)
    src, tgt = seq(6, 2, 8, batched, batch_first, dtype), seq(4, 2, 8, batched, batch_first,
                                                               dtype)
    tgt_mask = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=dtype)
    lead = (2,) if batched else ()
    src_kpm, mem_kpm = bool_mask(*lead, 6, seed=15), bool_mask(*lead, 6, seed=15)
    mem_mask = bool_mask(4, 6, seed=16)
    t_args = [src, tgt, tgt_mask, src_kpm, mem_kpm, mem_mask]
    c_args = [to_cr(src, True), to_cr(tgt, True)] + [to_cr(t) for t in t_args[2:]]
    compare(tmod, cmod, t_args, c_args, dtype,
            call=lambda m, a: m(a[0], a[1], tgt_mask=a[2], src_key_padding_mask=a[3],
                                memory_key_padding_mask=a[4], memory_mask=a[5]))


TRANSFORMER_CONFIGS = [
    ("TransformerEncoderLayer", (8, 2), {}),
    ("TransformerEncoderLayer", (8, 2), {"dim_feedforward": 16, "dropout": 0.2,
                                         "activation": "gelu", "batch_first": True,
                                         "norm_first": True, "layer_norm_eps": 1e-6}),
    ("TransformerEncoderLayer", (6, 3), {"bias": False}),
    ("TransformerDecoderLayer", (8, 2), {}),
    ("TransformerDecoderLayer", (8, 4), {"dim_feedforward": 10, "batch_first": True,
                                         "norm_first": True, "bias": False}),
    ("Transformer", (), {"d_model": 8, "nhead": 2, "num_encoder_layers": 2,
                         "num_decoder_layers": 3, "dim_feedforward": 16}),
    ("Transformer", (), {"d_model": 12, "nhead": 4, "num_encoder_layers": 1,
                         "num_decoder_layers": 1, "dim_feedforward": 8, "dropout": 0.0,
                         "activation": "gelu", "batch_first": True, "norm_first": True,
                         "layer_norm_eps": 1e-6}),
    ("Transformer", (), {"d_model": 6, "nhead": 2, "num_encoder_layers": 1,
                         "num_decoder_layers": 2, "dim_feedforward": 8, "bias": False}),
]


@pytest.mark.parametrize("kind,args,kwargs", TRANSFORMER_CONFIGS,
                         ids=[f"{k}{a}{sorted(kw.items())}" for k, a, kw in TRANSFORMER_CONFIGS])
def test_transformer_parameters_init_and_repr(kind, args, kwargs):
    tmod, cmod = build(kind, *args, **kwargs)
    assert repr(cmod) == repr(tmod)
    assert [n for n, _ in cmod.named_modules()] == [n for n, _ in tmod.named_modules()]
    if kind == "TransformerEncoderLayer":
        assert cmod.activation_relu_or_gelu == tmod.activation_relu_or_gelu
    if kind == "Transformer":
        for attr in ["d_model", "nhead", "batch_first"]:
            assert getattr(cmod, attr) == getattr(tmod, attr)
        assert cmod.encoder.use_nested_tensor == tmod.encoder.use_nested_tensor


def test_encoder_and_decoder_clone_the_layer():
    for lib in (torch, cr):
        lib.manual_seed(0)
        layer = lib.nn.TransformerEncoderLayer(8, 2, 16)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            enc = lib.nn.TransformerEncoder(layer, 3, enable_nested_tensor=False)
        assert enc.layers[0] is not layer and enc.layers[0] is not enc.layers[1]
        assert enc.layers[1].linear1.weight is not layer.linear1.weight
        assert np.array_equal(enc.layers[2].linear1.weight.detach().numpy(),
                              layer.linear1.weight.detach().numpy())
        assert enc.num_layers == 3 and enc.norm is None
        assert enc.enable_nested_tensor is False and enc.use_nested_tensor is False
        assert len(list(enc.parameters())) == 3 * len(list(layer.parameters()))
        dec = lib.nn.TransformerDecoder(lib.nn.TransformerDecoderLayer(8, 2, 16), 2)
        assert [n for n, _ in dec.named_parameters()][:3] == [
            "layers.0.self_attn.in_proj_weight", "layers.0.self_attn.in_proj_bias",
            "layers.0.self_attn.out_proj.weight"]


def test_state_dict_round_trip_from_torch_into_chainrule():
    torch.manual_seed(1)
    t = torch.nn.Transformer(8, 2, 1, 1, 16)
    cr.manual_seed(2)   # different weights, same structure
    c = cr.nn.Transformer(8, 2, 1, 1, 16)
    result = c.load_state_dict({k: to_cr(v) for k, v in t.state_dict().items()})
    assert repr(result) == "<All keys matched successfully>"
    for (k, tv), (ck, cv) in zip(t.state_dict().items(), c.state_dict().items()):
        assert k == ck and np.array_equal(cv.numpy(), tv.numpy())


@pytest.mark.parametrize("enable", [True, False])
@pytest.mark.parametrize("layer_kwargs", [{}, {"batch_first": True}, {"batch_first": True,
                                                                       "norm_first": True},
                                          {"batch_first": True, "activation": "gelu"},
                                          {"batch_first": True, "layer_norm_eps": 1e-6},
                                          {"batch_first": True, "bias": False}])
def test_enable_nested_tensor_warning_is_torchs(enable, layer_kwargs):
    texts, flags = [], []
    for lib in (torch, cr):
        layer = lib.nn.TransformerEncoderLayer(8, 2, 16, **layer_kwargs)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            enc = lib.nn.TransformerEncoder(layer, 2, enable_nested_tensor=enable)
        texts.append([str(w.message) for w in caught])
        flags.append(enc.use_nested_tensor)
    assert texts[0] == texts[1]
    assert flags[0] == flags[1]


def test_generate_square_subsequent_mask_is_torchs():
    for args, kwargs in [((4,), {}), ((1,), {}), ((3,), {"dtype": "float64"})]:
        kw_t = {k: getattr(torch, v) for k, v in kwargs.items()}
        kw_c = {k: getattr(cr, v) for k, v in kwargs.items()}
        t = torch.nn.Transformer.generate_square_subsequent_mask(*args, **kw_t)
        c = cr.nn.Transformer.generate_square_subsequent_mask(*args, **kw_c)
        assert repr(c) == repr(t)
        assert str(c.dtype) == str(t.dtype)
    c = cr.nn.Transformer().generate_square_subsequent_mask(2, device="cpu")
    assert repr(c) == repr(torch.nn.Transformer.generate_square_subsequent_mask(2, "cpu"))


def test_mask_type_mismatch_warns_as_torch():
    msgs = []
    for lib in (torch, cr):
        lib.manual_seed(0)
        m = lib.nn.MultiheadAttention(4, 2)
        x = lib.randn(3, 2, 4)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            m(x, x, x, key_padding_mask=lib.zeros(2, 3, dtype=lib.bool),
              attn_mask=lib.zeros(3, 3))
        msgs.append([str(w.message) for w in caught])
    assert msgs[0] == msgs[1] and len(msgs[0]) == 1


# -- errors, in torch's words ------------------------------------------------------------------
def _error(fn):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn()
    except Exception as e:  # noqa: BLE001
        return type(e).__name__, str(e)
    return None


def mha(t, *args, **kwargs):
    t.manual_seed(0)
    return t.nn.MultiheadAttention(*args, **kwargs)


ERROR_CASES = {
    "embed_dim_zero": lambda t: t.nn.MultiheadAttention(0, 2),
    "num_heads_zero": lambda t: t.nn.MultiheadAttention(4, 0),
    "not_divisible": lambda t: t.nn.MultiheadAttention(6, 4),
    "query_4d": lambda t: mha(t, 4, 2)(t.randn(1, 2, 3, 4), t.randn(2, 3, 4), t.randn(2, 3, 4)),
    "query_1d": lambda t: mha(t, 4, 2)(t.randn(4), t.randn(4), t.randn(4)),
    "key_2d_batched": lambda t: mha(t, 4, 2)(t.randn(2, 3, 4), t.randn(2, 4),
                                             t.randn(2, 3, 4)),
    "key_3d_unbatched": lambda t: mha(t, 4, 2)(t.randn(2, 4), t.randn(1, 2, 4),
                                               t.randn(2, 4)),
    "kpm_3d": lambda t: mha(t, 4, 2)(*[t.randn(2, 3, 4)] * 3,
                                     key_padding_mask=t.zeros(3, 2, 1, dtype=t.bool)),
    "kpm_2d_unbatched": lambda t: mha(t, 4, 2)(*[t.randn(2, 4)] * 3,
                                               key_padding_mask=t.zeros(1, 2, dtype=t.bool)),
    "kpm_wrong_batch": lambda t: mha(t, 4, 2)(*[t.randn(2, 3, 4)] * 3,
                                              key_padding_mask=t.zeros(4, 2, dtype=t.bool)),
    "kpm_wrong_len": lambda t: mha(t, 4, 2)(*[t.randn(2, 3, 4)] * 3,
                                            key_padding_mask=t.zeros(3, 5, dtype=t.bool)),
    "kpm_int": lambda t: mha(t, 4, 2)(*[t.randn(2, 3, 4)] * 3,
                                      key_padding_mask=t.zeros(3, 2, dtype=t.long)),
    "attn_mask_int": lambda t: mha(t, 4, 2)(*[t.randn(2, 3, 4)] * 3,
                                            attn_mask=t.zeros(2, 2, dtype=t.int32)),
    "attn_mask_1d": lambda t: mha(t, 4, 2)(*[t.randn(2, 3, 4)] * 3, attn_mask=t.zeros(2)),
    "attn_mask_2d_shape": lambda t: mha(t, 4, 2)(*[t.randn(2, 3, 4)] * 3,
                                                 attn_mask=t.zeros(2, 3)),
    "attn_mask_3d_shape": lambda t: mha(t, 4, 2)(*[t.randn(2, 3, 4)] * 3,
                                                 attn_mask=t.zeros(3, 2, 2)),
    "attn_mask_3d_unbatched": lambda t: mha(t, 4, 2)(*[t.randn(2, 4)] * 3,
                                                     attn_mask=t.zeros(1, 2, 2)),
    "embed_dim_mismatch": lambda t: mha(t, 4, 2)(*[t.randn(2, 3, 6)] * 3),
    "key_value_shapes": lambda t: mha(t, 4, 2)(t.randn(2, 3, 4), t.randn(5, 3, 4),
                                               t.randn(4, 3, 4)),
    "kdim_batch_mismatch": lambda t: mha(t, 4, 2, kdim=3)(t.randn(2, 3, 4), t.randn(5, 3, 3),
                                                          t.randn(4, 3, 4)),
    "kdim_wrong_key_dim": lambda t: mha(t, 4, 2, kdim=3)(t.randn(2, 3, 4), t.randn(5, 3, 5),
                                                         t.randn(5, 3, 4)),
    "is_causal_without_mask": lambda t: mha(t, 4, 2)(*[t.randn(2, 3, 4)] * 3, is_causal=True),
    "bad_activation": lambda t: t.nn.TransformerEncoderLayer(4, 2, activation="tanh"),
    "bad_activation_decoder": lambda t: t.nn.TransformerDecoderLayer(4, 2, activation="silu"),
    "transformer_batch": lambda t: t.nn.Transformer(4, 2, 1, 1, 8)(t.randn(3, 2, 4),
                                                                   t.randn(3, 5, 4)),
    "transformer_batch_first": lambda t: t.nn.Transformer(4, 2, 1, 1, 8, batch_first=True)(
        t.randn(3, 2, 4), t.randn(2, 2, 4)),
    "transformer_d_model": lambda t: t.nn.Transformer(4, 2, 1, 1, 8)(t.randn(3, 2, 5),
                                                                     t.randn(3, 2, 5)),
    "encoder_layer_d_model": lambda t: t.nn.TransformerEncoderLayer(4, 2, 8)(t.randn(3, 2, 5)),
    "layer_src_mask_shape": lambda t: t.nn.TransformerEncoderLayer(4, 2, 8)(
        t.randn(3, 2, 4), src_mask=t.zeros(2, 2)),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_errors_are_torchs(case):
    theirs = _error(lambda: ERROR_CASES[case](torch))
    ours = _error(lambda: ERROR_CASES[case](cr))
    assert theirs is not None
    assert ours == theirs


# -- training ------------------------------------------------------------------------------------
class _Classifier:
    """A tiny Transformer-encoder sequence classifier, built with either library."""

    @staticmethod
    def make(lib, vocab=11, d=16, classes=3):
        nn = lib.nn

        class Classifier(nn.Module):
            def __init__(self):
                super().__init__()
                self.embed = nn.Embedding(vocab, d)
                layer = nn.TransformerEncoderLayer(d, 4, dim_feedforward=32, dropout=0.0,
                                                   batch_first=True)
                self.encoder = nn.TransformerEncoder(layer, 2)
                self.head = nn.Linear(d, classes)

            def forward(self, tokens, padding):
                h = self.encoder(self.embed(tokens), src_key_padding_mask=padding)
                keep = (~padding).unsqueeze(-1).to(h.dtype)
                return self.head((h * keep).sum(1) / keep.sum(1))

        return Classifier()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_training_follows_torchs_losses(dtype):
    losses = {}
    for lib in (torch, cr):
        lib.manual_seed(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = _Classifier.make(lib).to(getattr(lib, dtype))
        opt = lib.optim.Adam(model.parameters(), lr=3e-3)
        gen = np.random.default_rng(0)
        out = []
        for step in range(20):
            tokens = lib.tensor(gen.integers(0, 11, size=(6, 7)))
            lengths = gen.integers(3, 8, size=6)
            padding = lib.tensor(np.arange(7)[None, :] >= lengths[:, None])
            labels = lib.tensor(tokens.numpy()[:, 0] % 3)
            loss = lib.nn.functional.cross_entropy(model(tokens, padding), labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
            out.append(loss.item())
        model.eval()
        with lib.no_grad():
            tokens = lib.tensor(gen.integers(0, 11, size=(4, 7)))
            padding = lib.tensor(np.arange(7)[None, :] >= np.array([7, 5, 3, 6])[:, None])
            out.extend(model(tokens, padding).flatten().tolist())
        losses[lib.__name__] = out
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(losses["chainrule"], losses["torch"], **tol)
    assert losses["torch"][19] < losses["torch"][0]


@pytest.mark.parametrize("kind", ["TransformerEncoderLayer", "TransformerDecoderLayer",
                                  "Transformer"])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
def test_dropout_in_training_draws_torchs_masks(kind, norm_first, batch_first):
    """Attention-weight dropout and the layers' Dropout modules draw from the global generator in
    PyTorch's order and memory layout: the same seed gives the same output and gradients."""
    dtype = torch.float64
    if kind == "Transformer":
        args, kwargs = (), dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2,
                                dim_feedforward=12)
    else:
        args, kwargs = (8, 2, 12), {}
    tmod, cmod = make_pair(kind, dtype, *args, dropout=0.3, norm_first=norm_first,
                           batch_first=batch_first, **kwargs)
    assert tmod.training and cmod.training
    torch.manual_seed(14)
    shape = (lambda L: (3, L, 8)) if batch_first else (lambda L: (L, 3, 8))
    inputs = [leaf(*shape(5), dtype=dtype)]
    if kind != "TransformerEncoderLayer":
        inputs.append(leaf(*shape(4), dtype=dtype))
    kpm = bool_mask(3, 5, seed=20)
    c_inputs = [to_cr(x, True) for x in inputs]
    if kind == "TransformerEncoderLayer":
        call = (lambda m, a: m(a[0], src_key_padding_mask=a[1]))
    elif kind == "TransformerDecoderLayer":
        call = (lambda m, a: m(a[1], a[0], memory_key_padding_mask=a[2]))
    else:
        call = (lambda m, a: m(a[0], a[1], src_key_padding_mask=a[2],
                               memory_key_padding_mask=a[2]))
    torch.manual_seed(15)
    cr.manual_seed(15)
    t_res, _ = compare(tmod, cmod, inputs + [kpm], c_inputs + [to_cr(kpm)], dtype, call=call)
    cr.manual_seed(16)
    c_other = call(cmod, c_inputs + [to_cr(kpm)])
    assert not np.allclose(c_other.detach().numpy(), t_res[0].detach().numpy())
