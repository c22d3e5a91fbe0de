"""Recurrent layers (nn.RNN, LSTM, GRU and their cells) against PyTorch: the same seed gives the
same weights; with torch's weights copied in, outputs, final states and the gradients of every
parameter, input and initial state agree in float32 and float64."""
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

TOL = {torch.float32: dict(rtol=1e-5, atol=1e-6), torch.float64: dict(rtol=1e-10, atol=1e-12)}
CR_DTYPE = {torch.float32: cr.float32, torch.float64: cr.float64}


def to_cr(t, requires_grad=False):
    out = cr.tensor(t.detach().numpy().copy())
    return out.requires_grad_() if requires_grad else out


def assert_close(c, t, dtype):
    assert c is not None and t is not None
    assert tuple(c.shape) == tuple(t.shape)
    np.testing.assert_allclose(c.detach().numpy(), t.detach().numpy(), **TOL[dtype])


def make_pair(kind, dtype, **kwargs):
    """torch's module (seeded) and chainrule's, with torch's weights loaded into chainrule's."""
    torch.manual_seed(0)
    tmod = getattr(torch.nn, kind)(**kwargs).to(dtype)
    cmod = getattr(cr.nn, kind)(**kwargs).to(CR_DTYPE[dtype])
    result = cmod.load_state_dict({k: to_cr(v) for k, v in tmod.state_dict().items()})
    assert result.missing_keys == [] and result.unexpected_keys == []
    return tmod, cmod


def as_list(state):
    return list(state) if isinstance(state, tuple) else [state]


def run_both(tmod, cmod, t_inputs, dtype, seed=1):
    """Forward both modules on the same inputs (leaves requiring grad), backward a random
    weighting of every output, compare outputs, input gradients and parameter gradients."""
    c_inputs = [[to_cr(s, requires_grad=True) for s in as_list(x)] if x is not None else None
                for x in t_inputs]
    t_args = [tuple(x) if isinstance(x, tuple) else x for x in t_inputs]
    c_args = [None if x is None else (tuple(x) if isinstance(t, tuple) else x[0])
              for x, t in zip(c_inputs, t_inputs)]
    t_out, t_state = tmod(*t_args)
    c_out, c_state = cmod(*c_args)
    t_results, c_results = [t_out] + as_list(t_state), [c_out] + as_list(c_state)
    assert len(t_results) == len(c_results)
    gen = torch.Generator().manual_seed(seed)
    t_loss, c_loss = 0, 0
    for t_r, c_r in zip(t_results, c_results):
        assert c_r.dtype == CR_DTYPE[dtype]
        assert_close(c_r, t_r, dtype)
        weights = torch.randn(t_r.shape, dtype=dtype, generator=gen)
        t_loss = t_loss + (t_r * weights).sum()
        c_loss = c_loss + (c_r * to_cr(weights)).sum()
    t_loss.backward()
    c_loss.backward()
    for t_x, c_x in zip(t_inputs, c_inputs):
        if t_x is not None:
            for t_leaf, c_leaf in zip(as_list(t_x), c_x):
                assert_close(c_leaf.grad, t_leaf.grad, dtype)
    t_params, c_params = dict(tmod.named_parameters()), dict(cmod.named_parameters())
    assert list(t_params) == list(c_params)
    for name, t_param in t_params.items():
        assert_close(c_params[name].grad, t_param.grad, dtype)
    return t_results, c_results


def randn(*shape, dtype):
    return torch.randn(*shape, dtype=dtype, requires_grad=True)


def sequence_inputs(mod, batched, with_h0, dtype, seq_len=5, batch=3):
    directions = 2 if mod.bidirectional else 1
    if batched:
        shape = (batch, seq_len) if mod.batch_first else (seq_len, batch)
        state_lead = (mod.num_layers * directions, batch)
    else:
        shape, state_lead = (seq_len,), (mod.num_layers * directions,)
    x = randn(*shape, mod.input_size, dtype=dtype)
    if not with_h0:
        return [x]
    h_size = mod.proj_size if getattr(mod, "proj_size", 0) else mod.hidden_size
    h0 = randn(*state_lead, h_size, dtype=dtype)
    if isinstance(mod, torch.nn.LSTM):
        return [x, (h0, randn(*state_lead, mod.hidden_size, dtype=dtype))]
    return [x, h0]


KINDS = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("GRU", {})]
KIND_IDS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("with_h0", [False, True], ids=["no_h0", "h0"])
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("num_layers", [1, 2], ids=["1layer", "2layers"])
@pytest.mark.parametrize("kind,extra", KINDS, ids=KIND_IDS)
def test_layer_matches_torch(kind, extra, num_layers, bidirectional, batch_first, batched,
                             with_h0, dtype):
    tmod, cmod = make_pair(kind, dtype, input_size=4, hidden_size=6, num_layers=num_layers,
                           bidirectional=bidirectional, batch_first=batch_first, **extra)
    torch.manual_seed(1)
    run_both(tmod, cmod, sequence_inputs(tmod, batched, with_h0, dtype), dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("kind,extra", KINDS, ids=KIND_IDS)
def test_layer_without_bias_matches_torch(kind, extra, dtype):
    tmod, cmod = make_pair(kind, dtype, input_size=3, hidden_size=5, num_layers=2, bias=False,
                           bidirectional=True, **extra)
    assert all("bias" not in name for name, _ in cmod.named_parameters())
    torch.manual_seed(2)
    run_both(tmod, cmod, sequence_inputs(tmod, True, True, dtype), dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("with_h0", [False, True], ids=["no_h0", "h0"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
def test_lstm_with_projection_matches_torch(bidirectional, with_h0, bias, dtype):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: "LSTM with projections is not supported..."
        tmod, cmod = make_pair("LSTM", dtype, input_size=4, hidden_size=6, proj_size=3,
                               num_layers=2, bidirectional=bidirectional, bias=bias)
        assert [n for n, _ in cmod.named_parameters()] == \
            [n for n, _ in tmod.named_parameters()]
        torch.manual_seed(3)
        t_res, _ = run_both(tmod, cmod, sequence_inputs(tmod, True, with_h0, dtype), dtype)
    assert t_res[1].shape[-1] == 3 and t_res[2].shape[-1] == 6


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("kind,extra", KINDS, ids=KIND_IDS)
def test_dropout_in_eval_mode_is_the_identity(kind, extra, dtype):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tmod, cmod = make_pair(kind, dtype, input_size=4, hidden_size=5, num_layers=3,
                               dropout=0.4, bidirectional=True, **extra)
    tmod.eval()
    cmod.eval()
    torch.manual_seed(4)
    run_both(tmod, cmod, sequence_inputs(tmod, True, True, dtype), dtype)


@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("kind,extra", KINDS, ids=KIND_IDS)
def test_dropout_in_training_draws_torchs_masks(kind, extra, bidirectional, batch_first):
    """Dropout between layers is applied to the whole (time-major) layer output with the
    global generator, as PyTorch does, so the same seed gives the same masks."""
    dtype = torch.float64
    tmod, cmod = make_pair(kind, dtype, input_size=4, hidden_size=5, num_layers=3,
                           dropout=0.5, bidirectional=bidirectional, batch_first=batch_first,
                           **extra)
    assert tmod.training and cmod.training
    torch.manual_seed(5)
    inputs = sequence_inputs(tmod, True, True, dtype)
    torch.manual_seed(6)
    cr.manual_seed(6)
    t_res, c_res = run_both(tmod, cmod, inputs, dtype)
    # ...and the masks matter: without the same seed the outputs differ.
    cr.manual_seed(7)
    c_out = cmod(to_cr(inputs[0]))[0]
    assert c_out.shape == t_res[0].shape
    assert not np.allclose(c_out.detach().numpy(), t_res[0].detach().numpy())


def test_dropout_in_training_runs_and_keeps_shapes():
    torch.manual_seed(0)
    m = cr.nn.GRU(3, 4, num_layers=2, dropout=0.9, batch_first=True)
    out, h_n = m(cr.randn(2, 7, 3))
    assert out.shape == (2, 7, 4) and h_n.shape == (2, 2, 4)
    out.sum().backward()
    assert m.weight_ih_l0.grad is not None


# -- parameters, initialisation, repr --------------------------------------------------------
CONFIGS = [
    ("RNN", (10, 20), {}),
    ("RNN", (10, 20, 2), {"nonlinearity": "relu", "bidirectional": True}),
    ("RNN", (10, 20, 3, "relu", False, True), {}),
    ("LSTM", (10, 20), {"num_layers": 2, "batch_first": True}),
    ("LSTM", (7, 9), {"num_layers": 2, "bidirectional": True, "bias": False}),
    ("LSTM", (7, 9), {"num_layers": 2, "proj_size": 4, "bidirectional": True}),
    ("LSTM", (7, 9, 2, True, True, 0.25, True), {}),
    ("GRU", (5, 8), {"num_layers": 3, "dropout": 0.5, "bidirectional": True}),
    ("GRU", (5, 8), {"bias": False}),
    ("RNNCell", (10, 20), {}),
    ("RNNCell", (3, 4), {"nonlinearity": "relu", "bias": False}),
    ("LSTMCell", (10, 20), {}),
    ("LSTMCell", (3, 4), {"bias": False}),
    ("GRUCell", (10, 20), {}),
    ("GRUCell", (3, 4), {"bias": False}),
]
CONFIG_IDS = [f"{k}{a}{sorted(kw.items())}" for k, a, kw in CONFIGS]


@pytest.mark.parametrize("kind,args,kwargs", CONFIGS, ids=CONFIG_IDS)
def test_same_seed_gives_torchs_parameters_names_order_and_repr(kind, args, kwargs):
    torch.manual_seed(123)
    tmod = getattr(torch.nn, kind)(*args, **kwargs)
    after_torch = torch.rand(3)
    cr.manual_seed(123)
    cmod = getattr(cr.nn, kind)(*args, **kwargs)
    after_cr = cr.rand(3)
    t_named, c_named = list(tmod.named_parameters()), list(cmod.named_parameters())
    assert [n for n, _ in c_named] == [n for n, _ in t_named]
    for (name, t_p), (_, c_p) in zip(t_named, c_named):
        assert c_p.shape == t_p.shape, name
        assert c_p.dtype == cr.float32
        # bit-identical: PyTorch's stream, in PyTorch's order
        assert np.array_equal(c_p.detach().numpy(), t_p.detach().numpy()), name
    assert list(cmod.state_dict()) == list(tmod.state_dict())
    assert np.array_equal(after_cr.numpy(), after_torch.numpy())  # as many draws as torch
    assert repr(cmod) == repr(tmod)
    for t_p, c_p in zip(tmod.parameters(), cmod.parameters()):
        assert c_p.shape == t_p.shape


def test_attributes_and_all_weights_are_torchs():
    t = torch.nn.LSTM(4, 6, num_layers=2, bidirectional=True, dropout=0.5)
    c = cr.nn.LSTM(4, 6, num_layers=2, bidirectional=True, dropout=0.5)
    for attr in ["mode", "input_size", "hidden_size", "num_layers", "bias", "batch_first",
                 "dropout", "bidirectional", "proj_size", "_flat_weights_names"]:
        assert getattr(c, attr) == getattr(t, attr), attr
    assert [[tuple(p.shape) for p in ws] for ws in c.all_weights] == \
        [[tuple(p.shape) for p in ws] for ws in t.all_weights]
    assert c._flat_weights[0] is c.weight_ih_l0
    assert c.flatten_parameters() is None
    r = cr.nn.RNN(3, 4, nonlinearity="relu")
    assert r.nonlinearity == "relu" and r.mode == "RNN_RELU"
    assert cr.nn.GRUCell(3, 4).bias is True


def test_module_dtype_conversion_and_dtype_argument():
    m = cr.nn.LSTM(3, 4, dtype=cr.float64)
    assert all(p.dtype == cr.float64 for p in m.parameters())
    out, (h, c) = m(cr.randn(2, 5, 3, dtype=cr.float64))
    assert out.dtype == cr.float64
    cell = cr.nn.GRUCell(3, 4).double()
    assert cell(cr.randn(2, 3, dtype=cr.float64)).dtype == cr.float64


# -- cells ---------------------------------------------------------------------------------------
CELLS = [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("LSTMCell", {}),
         ("GRUCell", {})]
CELL_IDS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("with_h0", [False, True], ids=["no_h0", "h0"])
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("kind,extra", CELLS, ids=CELL_IDS)
def test_cell_matches_torch(kind, extra, batched, with_h0, bias, dtype):
    tmod, cmod = make_pair(kind, dtype, input_size=4, hidden_size=5, bias=bias, **extra)
    torch.manual_seed(8)
    lead = (3,) if batched else ()
    x = randn(*lead, 4, dtype=dtype)
    c_x = to_cr(x, requires_grad=True)
    hx, c_hx = None, None
    if with_h0:
        hx = randn(*lead, 5, dtype=dtype)
        if kind == "LSTMCell":
            hx = (hx, randn(*lead, 5, dtype=dtype))
        c_hx = tuple(to_cr(h, True) for h in hx) if isinstance(hx, tuple) else to_cr(hx, True)
    t_res, c_res = tmod(x, hx), cmod(c_x, c_hx)
    t_res, c_res = as_list(t_res), as_list(c_res)
    gen = torch.Generator().manual_seed(9)
    t_loss = c_loss = 0
    for t_r, c_r in zip(t_res, c_res):
        assert_close(c_r, t_r, dtype)
        assert type(c_r.grad_fn).__name__ == type(t_r.grad_fn).__name__
        weights = torch.randn(t_r.shape, dtype=dtype, generator=gen)
        t_loss = t_loss + (t_r * weights).sum()
        c_loss = c_loss + (c_r * to_cr(weights)).sum()
    t_loss.backward()
    c_loss.backward()
    assert_close(c_x.grad, x.grad, dtype)
    if with_h0:
        for t_h, c_h in zip(as_list(hx), as_list(c_hx)):
            assert_close(c_h.grad, t_h.grad, dtype)
    for (name, t_p), (c_name, c_p) in zip(tmod.named_parameters(), cmod.named_parameters()):
        assert name == c_name
        assert_close(c_p.grad, t_p.grad, dtype)


def test_cell_unrolled_matches_the_layer():
    """An LSTMCell stepped by hand computes what a one-layer LSTM with the same weights does."""
    cr.manual_seed(0)
    layer = cr.nn.LSTM(3, 4).double()
    cell = cr.nn.LSTMCell(3, 4).double()
    cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
    x = cr.randn(6, 2, 3, dtype=cr.float64)
    out, (h_n, c_n) = layer(x)
    h = c = cr.zeros(2, 4, dtype=cr.float64)
    for t in range(6):
        h, c = cell(x[t], (h, c))
        np.testing.assert_allclose(h.detach().numpy(), out[t].detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(c.detach().numpy(), c_n[0].detach().numpy(), rtol=1e-12)


# -- errors, in torch's words ----------------------------------------------------------------
def _error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001
        return type(e).__name__, str(e)
    return None


def _same_error(make_call):
    """make_call(torch) and make_call(chainrule) raise the same exception type and text."""
    theirs = _error(lambda: make_call(torch))
    ours = _error(lambda: make_call(cr))
    assert theirs is not None
    assert ours == theirs


ERROR_CASES = {
    "lstm_input_size": lambda t: t.nn.LSTM(10, 20, 2)(t.randn(3, 4, 5)),
    "lstm_4d": lambda t: t.nn.LSTM(10, 20)(t.randn(3, 4, 5, 10)),
    "lstm_1d": lambda t: t.nn.LSTM(10, 20)(t.randn(10)),
    "lstm_h0_size": lambda t: t.nn.LSTM(10, 20, 2)(t.randn(3, 4, 10),
                                                    (t.randn(2, 3, 20), t.randn(2, 4, 20))),
    "lstm_c0_size": lambda t: t.nn.LSTM(10, 20, 2)(t.randn(3, 4, 10),
                                                    (t.randn(2, 4, 20), t.randn(2, 4, 21))),
    "lstm_h0_2d": lambda t: t.nn.LSTM(10, 20, 2)(t.randn(3, 4, 10),
                                                  (t.randn(4, 20), t.randn(2, 4, 20))),
    "lstm_unbatched_h0_3d": lambda t: t.nn.LSTM(10, 20, 2)(
        t.randn(3, 10), (t.randn(2, 1, 20), t.randn(2, 1, 20))),
    "lstm_dtype": lambda t: t.nn.LSTM(10, 20)(t.randn(3, 4, 10, dtype=t.float64)),
    "lstm_tensor_hx": lambda t: t.nn.LSTM(10, 20, 2)(t.randn(3, 4, 10), t.randn(2, 4, 20)),
    "lstm_empty_sequence": lambda t: t.nn.LSTM(10, 20)(t.randn(0, 4, 10)),
    "lstm_proj_h0_size": lambda t: t.nn.LSTM(10, 20, proj_size=5)(
        t.randn(3, 4, 10), (t.randn(1, 4, 20), t.randn(1, 4, 20))),
    "rnn_input_size": lambda t: t.nn.RNN(10, 20)(t.randn(3, 4, 5)),
    "rnn_input_size_batch_first": lambda t: t.nn.RNN(10, 20, batch_first=True)(
        t.randn(3, 4, 5)),
    "rnn_4d": lambda t: t.nn.RNN(10, 20)(t.randn(3, 4, 5, 10)),
    "rnn_h0_size": lambda t: t.nn.RNN(10, 20)(t.randn(3, 4, 10), t.randn(1, 3, 20)),
    "rnn_h0_size_batch_first": lambda t: t.nn.RNN(10, 20, batch_first=True)(
        t.randn(3, 4, 10), t.randn(1, 4, 20)),
    "rnn_h0_2d": lambda t: t.nn.RNN(10, 20)(t.randn(3, 4, 10), t.randn(3, 20)),
    "rnn_unbatched_h0_3d": lambda t: t.nn.RNN(10, 20)(t.randn(3, 10), t.randn(1, 1, 20)),
    "gru_4d": lambda t: t.nn.GRU(10, 20)(t.randn(3, 4, 5, 10)),
    "gru_input_size": lambda t: t.nn.GRU(10, 20)(t.randn(3, 4, 5)),
    "gru_h0_size_bidirectional": lambda t: t.nn.GRU(10, 20, bidirectional=True)(
        t.randn(3, 4, 10), t.randn(1, 4, 20)),
    "rnn_nonlinearity": lambda t: t.nn.RNN(10, 20, nonlinearity="sigmoid"),
    "rnn_proj_size": lambda t: t.nn.RNN(10, 20, proj_size=3),
    "gru_proj_size": lambda t: t.nn.GRU(10, 20, proj_size=3),
    "lstm_proj_too_big": lambda t: t.nn.LSTM(10, 20, proj_size=20),
    "lstm_proj_negative": lambda t: t.nn.LSTM(10, 20, proj_size=-1),
    "dropout_out_of_range": lambda t: t.nn.LSTM(10, 20, dropout=1.5),
    "dropout_bool": lambda t: t.nn.LSTM(10, 20, dropout=True),
    "hidden_size_zero": lambda t: t.nn.LSTM(10, 0),
    "hidden_size_float": lambda t: t.nn.LSTM(10, 2.0),
    "input_size_zero": lambda t: t.nn.LSTM(0, 2),
    "input_size_float": lambda t: t.nn.GRU(1.5, 2),
    "num_layers_zero": lambda t: t.nn.LSTM(3, 2, num_layers=0),
    "bias_int": lambda t: t.nn.LSTM(3, 2, bias=1),
    "batch_first_int": lambda t: t.nn.LSTM(3, 2, batch_first=1),
    "lstmcell_input_size": lambda t: t.nn.LSTMCell(10, 20)(t.randn(4, 5)),
    "lstmcell_3d": lambda t: t.nn.LSTMCell(10, 20)(t.randn(4, 5, 10)),
    "lstmcell_h_batch": lambda t: t.nn.LSTMCell(10, 20)(t.randn(4, 10),
                                                        (t.randn(3, 20), t.randn(4, 20))),
    "lstmcell_h_size": lambda t: t.nn.LSTMCell(10, 20)(t.randn(4, 10),
                                                       (t.randn(4, 21), t.randn(4, 20))),
    "lstmcell_c_size": lambda t: t.nn.LSTMCell(10, 20)(t.randn(4, 10),
                                                       (t.randn(4, 20), t.randn(4, 21))),
    "lstmcell_c_batch": lambda t: t.nn.LSTMCell(10, 20)(t.randn(4, 10),
                                                        (t.randn(4, 20), t.randn(2, 20))),
    "lstmcell_h_3d": lambda t: t.nn.LSTMCell(10, 20)(t.randn(4, 10),
                                                     (t.randn(1, 4, 20), t.randn(4, 20))),
    "lstmcell_unbatched_h_2d": lambda t: t.nn.LSTMCell(10, 20)(
        t.randn(10), (t.randn(1, 20), t.randn(1, 20))),
    "rnncell_input_size": lambda t: t.nn.RNNCell(10, 20)(t.randn(4, 5)),
    "rnncell_unbatched_input_size": lambda t: t.nn.RNNCell(10, 20)(t.randn(5)),
    "rnncell_h_batch": lambda t: t.nn.RNNCell(10, 20)(t.randn(4, 10), t.randn(3, 20)),
    "rnncell_h_size": lambda t: t.nn.RNNCell(10, 20)(t.randn(4, 10), t.randn(4, 19)),
    "rnncell_0d": lambda t: t.nn.RNNCell(10, 20)(t.tensor(1.0)),
    "rnncell_h_3d": lambda t: t.nn.RNNCell(10, 20)(t.randn(4, 10), t.randn(1, 4, 20)),
    "rnncell_unbatched_h_2d": lambda t: t.nn.RNNCell(10, 20)(t.randn(10), t.randn(1, 20)),
    "rnncell_bad_nonlinearity": lambda t: t.nn.RNNCell(10, 20, nonlinearity="x")(t.randn(10)),
    "grucell_input_size": lambda t: t.nn.GRUCell(10, 20)(t.randn(4, 5)),
    "grucell_h_batch": lambda t: t.nn.GRUCell(10, 20)(t.randn(4, 10), t.randn(3, 20)),
    "grucell_3d": lambda t: t.nn.GRUCell(10, 20)(t.randn(4, 5, 10)),
    "grucell_h_3d": lambda t: t.nn.GRUCell(10, 20)(t.randn(4, 10), t.randn(1, 4, 20)),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_errors_are_torchs(case):
    _same_error(ERROR_CASES[case])


def test_dropout_with_one_layer_warns_like_torch():
    with pytest.warns(UserWarning, match="dropout option adds dropout after all but last "
                      "recurrent layer, so non-zero dropout expects num_layers greater than 1, "
                      r"but got dropout=0.5 and num_layers=1"):
        cr.nn.GRU(3, 2, dropout=0.5)


def test_a_packed_sequence_of_another_library_is_refused_clearly():
    # chainrule's own PackedSequence runs (tests/test_nn_packed.py); one from elsewhere (torch's,
    # passed to a chainrule layer by mistake) is named in the error instead of failing deep down
    class FakePacked(tuple):
        batch_sizes = None

    for kind in ["RNN", "LSTM", "GRU"]:
        m = getattr(cr.nn, kind)(3, 4)
        with pytest.raises(NotImplementedError, match="PackedSequence"):
            m(FakePacked((cr.randn(5, 3), cr.tensor([2, 2, 1]))))


def test_zero_batch_runs_like_torch():
    t_out, (t_h, _) = torch.nn.LSTM(3, 4)(torch.randn(5, 0, 3))
    c_out, (c_h, _) = cr.nn.LSTM(3, 4)(cr.randn(5, 0, 3))
    assert c_out.shape == t_out.shape and c_h.shape == t_h.shape


# -- gradcheck, double backward --------------------------------------------------------------
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_gradcheck_tiny_layer(kind):
    cr.manual_seed(0)
    m = getattr(cr.nn, kind)(2, 3, num_layers=2, bidirectional=True).double()
    x = cr.randn(3, 2, 2, dtype=cr.float64, requires_grad=True)
    h0 = cr.randn(4, 2, 3, dtype=cr.float64, requires_grad=True)
    params = list(m.parameters())

    if kind == "LSTM":
        c0 = cr.randn(4, 2, 3, dtype=cr.float64, requires_grad=True)

        def fn(x, h0, c0, *weights):
            out, (h, c) = m(x, (h0, c0))
            return out, h, c
        inputs = (x, h0, c0)
    else:
        def fn(x, h0, *weights):
            out, h = m(x, h0)
            return out, h
        inputs = (x, h0)
    assert cr.autograd.gradcheck(fn, inputs + tuple(params), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("kind", ["LSTMCell", "GRUCell"])
def test_gradcheck_and_gradgradcheck_tiny_cell(kind):
    cr.manual_seed(0)
    m = getattr(cr.nn, kind)(2, 3).double()
    x = cr.randn(2, 2, dtype=cr.float64, requires_grad=True)
    h = cr.randn(2, 3, dtype=cr.float64, requires_grad=True)
    if kind == "LSTMCell":
        def fn(x, h):
            return m(x, (h, h * 0.5))
    else:
        def fn(x, h):
            return m(x, h)
    assert cr.autograd.gradcheck(fn, (x, h), eps=1e-6, atol=1e-5)
    assert cr.autograd.gradgradcheck(fn, (x, h), eps=1e-6, atol=1e-5)


def test_gradgradcheck_tiny_lstm_and_gru():
    for kind in ["LSTM", "GRU"]:
        cr.manual_seed(1)
        m = getattr(cr.nn, kind)(2, 2).double()
        x = cr.randn(3, 1, 2, dtype=cr.float64, requires_grad=True)

        def fn(x):
            return m(x)[0]
        assert cr.autograd.gradgradcheck(fn, (x,), eps=1e-6, atol=1e-5)


def test_double_backward_matches_torch():
    """create_graph=True: the gradient of a gradient norm w.r.t. the weights (a GRU; torch's
    CPU GRU is composed of differentiable ops too)."""
    tmod, cmod = make_pair("GRU", torch.float64, input_size=3, hidden_size=4, num_layers=2)
    torch.manual_seed(10)
    x = torch.randn(4, 2, 3, dtype=torch.float64, requires_grad=True)
    c_x = to_cr(x, requires_grad=True)
    (g_t,) = torch.autograd.grad(tmod(x)[0].pow(2).sum(), x, create_graph=True)
    (g_c,) = cr.autograd.grad(cmod(c_x)[0].pow(2).sum(), c_x, create_graph=True)
    assert_close(g_c, g_t, torch.float64)
    g_t.pow(2).sum().backward()
    g_c.pow(2).sum().backward()
    for (name, t_p), (_, c_p) in zip(tmod.named_parameters(), cmod.named_parameters()):
        assert_close(c_p.grad, t_p.grad, torch.float64)


# -- training ------------------------------------------------------------------------------------
class _Tagger:
    """An LSTM (2 layers, bidirectional) + Linear head predicting, at each step, whether the
    running sum of the sequence so far is positive."""

    def __init__(self, lib):
        nn = lib.nn
        self.lstm = nn.LSTM(1, 8, num_layers=2, bidirectional=True, batch_first=True)
        self.head = nn.Linear(16, 2)
        self.params = list(self.lstm.parameters()) + list(self.head.parameters())

    def loss(self, lib, x, y):
        out, _ = self.lstm(x)
        logits = self.head(out)
        return lib.nn.functional.cross_entropy(logits.reshape(-1, 2), y.reshape(-1))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
def test_training_loop_follows_torchs_loss_trajectory(dtype):
    torch.manual_seed(0)
    t_model = _Tagger(torch)
    cr.manual_seed(0)
    c_model = _Tagger(cr)
    for t_p, c_p in zip(t_model.params, c_model.params):
        assert np.array_equal(t_p.detach().numpy(), c_p.detach().numpy())
    for p in t_model.params:
        p.data = p.data.to(dtype)
    for p in c_model.params:
        p.data = p.data.to(CR_DTYPE[dtype])
    x = torch.randn(16, 10, 1, dtype=dtype)
    y = (x.cumsum(1) > 0).long().squeeze(-1)
    c_x, c_y = to_cr(x), to_cr(y)
    t_opt = torch.optim.Adam(t_model.params, lr=0.02)
    c_opt = cr.optim.Adam(c_model.params, lr=0.02)
    t_losses, c_losses = [], []
    for _ in range(40):
        t_opt.zero_grad()
        t_loss = t_model.loss(torch, x, y)
        t_loss.backward()
        t_opt.step()
        c_opt.zero_grad()
        c_loss = c_model.loss(cr, c_x, c_y)
        c_loss.backward()
        c_opt.step()
        t_losses.append(t_loss.item())
        c_losses.append(c_loss.item())
    rtol = 1e-4 if dtype == torch.float32 else 1e-9
    np.testing.assert_allclose(c_losses, t_losses, rtol=rtol)
    assert c_losses[-1] < 0.5 * c_losses[0]  # it learns
    for t_p, c_p in zip(t_model.params, c_model.params):
        np.testing.assert_allclose(c_p.detach().numpy(), t_p.detach().numpy(),
                                   rtol=rtol * 10, atol=rtol)


def test_state_dict_round_trip_into_torch():
    """chainrule's state_dict loads into torch's module and gives the same output."""
    cr.manual_seed(3)
    c = cr.nn.GRU(3, 5, num_layers=2, bidirectional=True).double()
    t = torch.nn.GRU(3, 5, num_layers=2, bidirectional=True).double()
    t.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in c.state_dict().items()})
    x = torch.randn(4, 2, 3, dtype=torch.float64)
    assert_close(c(to_cr(x))[0], t(x)[0], torch.float64)



# -- the fused layer nodes ---------------------------------------------------------------------
@pytest.mark.parametrize("kind,extra", [("LSTM", {"proj_size": 2}), ("LSTM", {}),
                                        ("GRU", {"bias": False}), ("GRU", {}),
                                        ("RNN", {"nonlinearity": "relu"}), ("RNN", {})],
                         ids=["lstm_proj", "lstm", "gru_nobias", "gru", "rnn_relu", "rnn_tanh"])
def test_gradgradcheck_bidirectional_layers(kind, extra):
    """create_graph through the fused layer nodes: their backward recomputes the recurrence
    with chainrule ops, so it is differentiable in every input and weight."""
    cr.manual_seed(2)
    m = getattr(cr.nn, kind)(2, 3, num_layers=2, bidirectional=True, **extra).double()
    params = list(m.parameters())
    x = cr.randn(3, 2, 2, dtype=cr.float64, requires_grad=True)

    def fn(x, *weights):
        out, state = m(x)
        return (out,) + (tuple(state) if isinstance(state, tuple) else (state,))
    assert cr.autograd.gradgradcheck(fn, (x,) + tuple(params), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_backward_twice_with_retain_graph(kind):
    """The plain backward keeps the saved activations intact (retain_graph=True twice gives
    twice the gradient), and writing into the output in place leaves backward correct (PyTorch
    allows it too)."""
    cr.manual_seed(3)
    m = getattr(cr.nn, kind)(3, 4).double()
    x = cr.randn(5, 2, 3, dtype=cr.float64, requires_grad=True)
    out = m(x)[0]
    loss = (out * out).sum()
    loss.backward(retain_graph=True)
    first = x.grad.clone()
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first.numpy(), rtol=1e-12)
    x.grad = None
    out = m(x)[0]
    out.mul_(2)
    out.sum().backward()
    x.grad, got = None, x.grad
    (m(x)[0] * 2).sum().backward()
    np.testing.assert_allclose(got.numpy(), x.grad.numpy(), rtol=1e-12)


def test_array_and_math_backward_agree():
    """The fast NumPy backward of each layer node and its formulas written against the math
    namespace (used under create_graph) give the same gradients."""
    from chainrule.autograd.math import ARRAY_MATH
    from chainrule.nn import _ops

    rng = np.random.default_rng(0)
    L, B, H, P = 4, 3, 5, 2
    arr = lambda *s: rng.standard_normal(s)  # noqa: E731
    for reverse in (False, True):
        for proj in (False, True):
            p = P if proj else H
            xw, h0, c0 = cr.tensor(arr(L, B, 4 * H)), cr.tensor(arr(B, p)), cr.tensor(arr(B, H))
            w_hh = cr.tensor(arr(4 * H, p)).requires_grad_()
            w_hr = cr.tensor(arr(P, H)).requires_grad_() if proj else None
            out, h_n, c_n = _ops.lstm_layer(xw, h0, c0, w_hh, w_hr, reverse)
            node = out.grad_fn
            saved = node.saved(ARRAY_MATH)[5:]
            gs = arr(L, B, p), arr(B, p), arr(B, H)
            fast = _ops._lstm_backward_array(*gs, h0._data, c0._data, w_hh._data,
                                             None if w_hr is None else w_hr._data, *saved,
                                             reverse, True, True)
            slow = _ops._lstm_backward_math(ARRAY_MATH, *gs, h0._data, c0._data, w_hh._data,
                                            None if w_hr is None else w_hr._data, *saved,
                                            reverse, True, True)
            for a, b in zip(fast, slow):
                if a is not None or b is not None:
                    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
        for bias in (False, True):
            xw, h0 = cr.tensor(arr(L, B, 3 * H)), cr.tensor(arr(B, H))
            w_hh = cr.tensor(arr(3 * H, H)).requires_grad_()
            b_hh = cr.tensor(arr(3 * H)).requires_grad_() if bias else None
            out, h_n = _ops.gru_layer(xw, h0, w_hh, b_hh, reverse)
            saved = out.grad_fn.saved(ARRAY_MATH)[4:]
            gs = arr(L, B, H), arr(B, H)
            fast = _ops._gru_backward_array(*gs, h0._data, w_hh._data, *saved, reverse, True,
                                            bias)
            slow = _ops._gru_backward_math(ARRAY_MATH, *gs, h0._data, w_hh._data, *saved,
                                           reverse, True, bias)
            for a, b in zip(fast, slow):
                if a is not None or b is not None:
                    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_layers_under_compile():
    """chainrule.compile replays a training step through the fused layer nodes."""
    cr.manual_seed(4)
    m = cr.nn.LSTM(3, 4, num_layers=2)
    x = cr.randn(5, 2, 3)

    def step(x):
        out, _ = m(x)
        loss = (out * out).mean()
        loss.backward()
        return loss

    compiled = cr.compile(step)
    expected = []
    for _ in range(2):
        m.zero_grad()
        expected.append((step(x).item(), m.weight_hh_l0.grad.numpy().copy()))
    for want_loss, want_grad in expected:
        m.zero_grad()
        got = compiled(x)
        np.testing.assert_allclose(got.item(), want_loss, rtol=1e-6)
        np.testing.assert_allclose(m.weight_hh_l0.grad.numpy(), want_grad, rtol=1e-5,
                                   atol=1e-7)
