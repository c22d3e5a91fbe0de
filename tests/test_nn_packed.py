"""Packed sequences (torch.nn.utils.rnn) and the recurrent layers run on them, against PyTorch:
packing and padding give PyTorch's tensors, indices, grad_fn names, gradients and error texts;
nn.RNN/LSTM/GRU with torch's weights copied in give PyTorch's packed outputs, final states
(each at its own sequence's last step, in the caller's order) and gradients; a classic
pad-pack-LSTM-unpack training loop follows PyTorch's losses."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.utils.rnn as trnn

import chainrule as cr
import chainrule.nn.utils.rnn as crnn

from test_nn_rnn import CR_DTYPE, TOL, as_list, make_pair, to_cr


def assert_close(c, t, dtype=torch.float64):
    assert c is not None and t is not None
    assert tuple(c.shape) == tuple(t.shape)
    np.testing.assert_allclose(c.detach().numpy(), t.detach().numpy(), **TOL[dtype])


def assert_same_ints(c, t):
    """Index tensors: the same values and int64, or both None."""
    if t is None:
        assert c is None
        return
    assert c.dtype == cr.int64 and t.dtype == torch.int64
    assert c.tolist() == t.tolist()


def assert_same_packed(c, t, dtype=torch.float64):
    assert type(c) is crnn.PackedSequence
    assert_close(c.data, t.data, dtype)
    assert_same_ints(c.batch_sizes, t.batch_sizes)
    assert_same_ints(c.sorted_indices, t.sorted_indices)
    assert_same_ints(c.unsorted_indices, t.unsorted_indices)


def random_lengths(rng, batch, max_len, sorted_):
    """Lengths in 1..max_len with the maximum present (so the padded length is max_len) and
    ties likely (the sort order of equal lengths must be torch's too)."""
    lengths = rng.randint(1, max_len + 1, size=batch)
    lengths[rng.randint(batch)] = max_len
    return sorted(lengths.tolist(), reverse=True) if sorted_ else lengths.tolist()


def padded_pair(rng, lengths, batch_first, feature_shape=(3,), dtype=torch.float64):
    """A padded batch (torch leaf, chainrule leaf) with random values, padding included."""
    steps, batch = max(lengths), len(lengths)
    shape = ((batch, steps) if batch_first else (steps, batch)) + feature_shape
    t = torch.tensor(rng.randn(*shape), dtype=dtype, requires_grad=True)
    return t, to_cr(t, requires_grad=True)


def weighted_sum(t_out, c_out, rng):
    """The same random weighting of a torch and a chainrule result, for backward."""
    w = torch.tensor(rng.randn(*t_out.shape), dtype=t_out.dtype)
    return (t_out * w).sum(), (c_out * to_cr(w)).sum()


def same_error(t_call, c_call):
    """chainrule raises PyTorch's exception type with PyTorch's message."""
    with pytest.raises(Exception) as t_err:
        t_call()
    with pytest.raises(Exception) as c_err:
        c_call()
    assert type(c_err.value).__name__ == type(t_err.value).__name__
    assert str(c_err.value) == str(t_err.value)


# -- pack_padded_sequence / pad_packed_sequence ---------------------------------------------------
@pytest.mark.parametrize("feature_shape", [(), (3,), (2, 3)], ids=["0d", "1d", "2d"])
@pytest.mark.parametrize("enforce_sorted", [True, False], ids=["sorted", "unsorted"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
def test_pack_then_pad_matches_torch(batch_first, enforce_sorted, feature_shape):
    rng = np.random.RandomState(0)
    for trial in range(8):
        lengths = random_lengths(rng, rng.randint(1, 6), rng.randint(1, 7), enforce_sorted)
        t_x, c_x = padded_pair(rng, lengths, batch_first, feature_shape)
        t_len = torch.tensor(lengths) if trial % 2 else lengths   # a list or a tensor
        c_len = cr.tensor(lengths) if trial % 2 else lengths
        t_p = trnn.pack_padded_sequence(t_x, t_len, batch_first, enforce_sorted)
        c_p = crnn.pack_padded_sequence(c_x, c_len, batch_first, enforce_sorted)
        assert_same_packed(c_p, t_p)
        assert c_p.data.grad_fn.name() == t_p.data.grad_fn.name() \
            == "PackPaddedSequenceBackward0"
        total = max(lengths) + trial % 3 if trial % 4 else None
        t_pad, t_lens = trnn.pad_packed_sequence(t_p, batch_first, -0.5 * trial, total)
        c_pad, c_lens = crnn.pad_packed_sequence(c_p, batch_first, -0.5 * trial, total)
        assert_close(c_pad, t_pad)
        assert_same_ints(c_lens, t_lens)
        if batch_first or not enforce_sorted:   # torch's innermost is CopySlices, ours IndexPut
            assert c_pad.grad_fn.name() == t_pad.grad_fn.name()
        t_loss, c_loss = weighted_sum(t_pad, c_pad, rng)
        t_loss2, c_loss2 = weighted_sum(t_p.data, c_p.data, rng)
        (t_loss + t_loss2).backward()
        (c_loss + c_loss2).backward()
        assert_close(c_x.grad, t_x.grad)


def test_packed_sequence_prints_as_torch():
    x = torch.arange(12.).reshape(4, 3)
    t_p = trnn.pack_padded_sequence(x, [2, 4, 1], enforce_sorted=False)
    c_p = crnn.pack_padded_sequence(to_cr(x), [2, 4, 1], enforce_sorted=False)
    assert repr(c_p) == repr(t_p)
    seqs = [[1, 2, 3], [4], [5, 6]]
    same_error(lambda: trnn.pack_sequence([torch.tensor(s) for s in seqs]),
               lambda: crnn.pack_sequence([cr.tensor(s) for s in seqs]))
    t_p = trnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    c_p = crnn.pack_sequence([cr.tensor(s) for s in seqs], enforce_sorted=False)
    assert repr(c_p) == repr(t_p)
    assert str(c_p.data.dtype) == str(t_p.data.dtype) == "torch.int64"


def test_packed_sequence_fields_and_conversions():
    x = torch.randn(3, 2, 2)
    t_p = trnn.pack_padded_sequence(x, [1, 3], enforce_sorted=False)
    c_p = crnn.pack_padded_sequence(to_cr(x), [1, 3], enforce_sorted=False)
    assert isinstance(c_p, tuple) and c_p._fields == t_p._fields and len(c_p) == 4
    data, batch_sizes, sorted_indices, unsorted_indices = c_p
    assert data is c_p.data and batch_sizes is c_p.batch_sizes
    assert c_p.float() is c_p and c_p.to(cr.float32) is c_p and c_p.cpu() is c_p
    for name in ["double", "long", "int", "half"]:
        t_q, c_q = getattr(t_p, name)(), getattr(c_p, name)()
        assert type(c_q) is crnn.PackedSequence and str(c_q.data.dtype) == str(t_q.data.dtype)
        assert c_q.batch_sizes is c_p.batch_sizes and c_q.sorted_indices is c_p.sorted_indices
    assert c_p.is_cuda is False
    # unsorted_indices is filled in from sorted_indices; (data, batch_sizes) may come as a pair
    t_q = trnn.PackedSequence(t_p.data, t_p.batch_sizes, torch.tensor([1, 0]))
    c_q = crnn.PackedSequence(c_p.data, c_p.batch_sizes, cr.tensor([1, 0]))
    assert_same_packed(c_q, t_q)
    c_q = crnn.PackedSequence((c_p.data, c_p.batch_sizes))
    assert c_q.batch_sizes is c_p.batch_sizes and c_q.sorted_indices is None
    same_error(lambda: trnn.PackedSequence(t_p.data), lambda: crnn.PackedSequence(c_p.data))


def test_invert_permutation_matches_torch():
    rng = np.random.RandomState(1)
    for n in [1, 2, 5, 9]:
        perm = rng.permutation(n).tolist()
        assert crnn.invert_permutation(cr.tensor(perm)).tolist() == \
            trnn.invert_permutation(torch.tensor(perm)).tolist()
    assert crnn.invert_permutation(None) is None


def test_pack_sequence_unpack_and_unpad_match_torch():
    rng = np.random.RandomState(2)
    for trial in range(6):
        lengths = random_lengths(rng, rng.randint(1, 5), rng.randint(1, 6), trial % 2 == 0)
        t_seqs = [torch.tensor(rng.randn(n, 2), requires_grad=True) for n in lengths]
        c_seqs = [to_cr(s, requires_grad=True) for s in t_seqs]
        t_p = trnn.pack_sequence(t_seqs, enforce_sorted=trial % 2 == 0)
        c_p = crnn.pack_sequence(c_seqs, enforce_sorted=trial % 2 == 0)
        assert_same_packed(c_p, t_p)
        t_back, c_back = trnn.unpack_sequence(t_p), crnn.unpack_sequence(c_p)
        assert len(c_back) == len(t_back) == len(lengths)
        t_loss = c_loss = 0
        for t_s, c_s, original in zip(t_back, c_back, t_seqs):
            assert_close(c_s, t_s)
            assert_close(c_s, original)
            t_l, c_l = weighted_sum(t_s, c_s, rng)
            t_loss, c_loss = t_loss + t_l, c_loss + c_l
        t_loss.backward()
        c_loss.backward()
        for t_s, c_s in zip(t_seqs, c_seqs):
            assert_close(c_s.grad, t_s.grad)
    for batch_first in [False, True]:
        t_x, c_x = padded_pair(rng, [4, 1, 2], batch_first)
        t_x, c_x = t_x.detach().clone(), c_x.detach().clone()
        t_out = trnn.unpad_sequence(t_x, torch.tensor([4, 1, 2]), batch_first)
        c_out = crnn.unpad_sequence(c_x, cr.tensor([4, 1, 2]), batch_first)
        assert [tuple(s.shape) for s in c_out] == [(4, 3), (1, 3), (2, 3)]
        for c_s, t_s in zip(c_out, t_out):
            assert_close(c_s, t_s)
        assert tuple(c_x.shape) == tuple(t_x.shape) == (3, 4, 3)   # transposed in place
    t_x = torch.zeros(4, 3, requires_grad=True)
    c_x = cr.zeros(4, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        trnn.unpad_sequence(t_x, torch.tensor([4, 2, 1]))
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        crnn.unpad_sequence(c_x, cr.tensor([4, 2, 1]))


def test_gradients_of_pack_and_pad_pass_gradcheck():
    x = cr.randn(4, 3, 2, dtype=cr.float64, requires_grad=True)

    def fn(x):
        packed = crnn.pack_padded_sequence(x, [2, 4, 1], enforce_sorted=False)
        padded, _ = crnn.pad_packed_sequence(packed, batch_first=True, padding_value=1.5)
        return padded * padded
    assert cr.autograd.gradcheck(fn, (x,), eps=1e-6, atol=1e-6)
    assert cr.autograd.gradgradcheck(fn, (x,), eps=1e-6, atol=1e-6)


PACK_ERRORS = [
    ([1, 4, 2], True, False),        # not sorted
    ([4, 2, 0], True, False),        # a zero length
    ([4, 0, 2], False, False),       # a zero length, found after sorting
    ([4, 0, 2], True, False),        # only the last length is checked for > 0, then the order
    ([4, 2, -1], True, False),
    ([4, 2], True, False),           # too few lengths
    ([4, 2, 1, 1], True, False),     # too many
    ([4, 2, 1], True, True),         # batch_first: the batch is dim 0 (4 rows, 3 lengths)
]


@pytest.mark.parametrize("lengths,enforce_sorted,batch_first", PACK_ERRORS)
def test_pack_padded_sequence_errors_as_torch(lengths, enforce_sorted, batch_first):
    x = torch.randn(4, 3, 2)
    for make in (list, torch.tensor):
        same_error(
            lambda: trnn.pack_padded_sequence(x, make(lengths), batch_first, enforce_sorted),
            lambda: crnn.pack_padded_sequence(to_cr(x), lengths if make is list
                                              else cr.tensor(lengths), batch_first,
                                              enforce_sorted))


def test_other_packing_errors_as_torch():
    x = torch.randn(4, 3, 2)
    p_t = trnn.pack_padded_sequence(x, [4, 2, 1])
    p_c = crnn.pack_padded_sequence(to_cr(x), [4, 2, 1])
    cases = [
        (lambda T, R: R.pack_padded_sequence(T.randn(0, 3, 2), [0, 0, 0])),
        (lambda T, R: R.pack_padded_sequence(T.randn(4, 0, 2), [])),
        (lambda T, R: R.pack_padded_sequence(T.zeros(4, 3), T.tensor([[4, 2, 1]]))),
        (lambda T, R: R.pack_padded_sequence(T.zeros(4, 3), T.tensor(4))),
        (lambda T, R: R.pack_sequence([T.zeros(2), T.zeros(3)])),
        (lambda T, R: R.pad_packed_sequence(p_t if T is torch else p_c, total_length=3)),
    ]
    for case in cases:
        same_error(lambda: case(torch, trnn), lambda: case(cr, crnn))


def test_float_lengths_are_truncated_as_torch():
    x = torch.randn(4, 3)
    t_p = trnn.pack_padded_sequence(x, torch.tensor([4.0, 2.5, 1.0]))
    c_p = crnn.pack_padded_sequence(to_cr(x), cr.tensor([4.0, 2.5, 1.0]))
    assert_same_packed(c_p, t_p, torch.float32)


def test_lengths_longer_than_the_input_are_refused():
    # PyTorch reads past the end of the input here; chainrule says what is wrong
    with pytest.raises(RuntimeError, match="length 5 does not fit in an input of 4 time steps"):
        crnn.pack_padded_sequence(cr.zeros(4, 3), [5, 2, 1])


# -- recurrent layers on packed input --------------------------------------------------------
def initial_state(rng, tmod, batch, dtype):
    """A random initial state in the caller's batch order: (torch leaves, chainrule leaves)."""
    lead = (tmod.num_layers * (2 if tmod.bidirectional else 1), batch)
    sizes = [getattr(tmod, "proj_size", 0) or tmod.hidden_size]
    if isinstance(tmod, torch.nn.LSTM):
        sizes.append(tmod.hidden_size)
    t_state = [torch.tensor(rng.randn(*lead, n), dtype=dtype, requires_grad=True) for n in sizes]
    c_state = [to_cr(s, requires_grad=True) for s in t_state]
    if len(sizes) == 1:
        return t_state[0], c_state[0], t_state, c_state
    return tuple(t_state), tuple(c_state), t_state, c_state


def run_packed_both(tmod, cmod, rng, lengths, batch_first, enforce_sorted, dtype, with_h0):
    """Pack the same padded batch for both modules, run them, compare the packed outputs, the
    final states and (after backward of a random weighting of all of them) the gradients of
    the input, the initial state and every parameter."""
    t_x, c_x = padded_pair(rng, lengths, batch_first, (tmod.input_size,), dtype)
    t_p = trnn.pack_padded_sequence(t_x, lengths, batch_first, enforce_sorted)
    c_p = crnn.pack_padded_sequence(c_x, lengths, batch_first, enforce_sorted)
    t_args, c_args, t_leaves, c_leaves = [t_p], [c_p], [t_x], [c_x]
    if with_h0:
        t_h, c_h, t_hl, c_hl = initial_state(rng, tmod, len(lengths), dtype)
        t_args.append(t_h)
        c_args.append(c_h)
        t_leaves += t_hl
        c_leaves += c_hl
    t_out, t_state = tmod(*t_args)
    c_out, c_state = cmod(*c_args)
    assert_same_packed(c_out, t_out, dtype)
    assert c_out.data.dtype == CR_DTYPE[dtype]
    t_results, c_results = [t_out.data] + as_list(t_state), [c_out.data] + as_list(c_state)
    assert len(c_results) == len(t_results)
    t_loss = c_loss = 0
    for t_r, c_r in zip(t_results, c_results):
        assert_close(c_r, t_r, dtype)
        t_l, c_l = weighted_sum(t_r, c_r, rng)
        t_loss, c_loss = t_loss + t_l, c_loss + c_l
    t_loss.backward()
    c_loss.backward()
    for t_leaf, c_leaf in zip(t_leaves, c_leaves):
        assert_close(c_leaf.grad, t_leaf.grad, dtype)
    t_params, c_params = dict(tmod.named_parameters()), dict(cmod.named_parameters())
    assert list(t_params) == list(c_params)
    for name, t_param in t_params.items():
        assert_close(c_params[name].grad, t_param.grad, dtype)
    return t_out, t_state, c_out, c_state


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("enforce_sorted", [True, False], ids=["sorted", "unsorted"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("num_layers", [1, 2], ids=["1layer", "2layers"])
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_layer_on_packed_input_matches_torch(kind, num_layers, bidirectional, batch_first,
                                             enforce_sorted, dtype):
    tmod, cmod = make_pair(kind, dtype, input_size=3, hidden_size=4, num_layers=num_layers,
                           bidirectional=bidirectional, batch_first=batch_first)
    rng = np.random.RandomState(num_layers + 2 * bidirectional + 4 * batch_first)
    for trial in range(3):
        for mod in (tmod, cmod):
            mod.zero_grad()
        lengths = random_lengths(rng, rng.randint(1, 6), rng.randint(1, 6), enforce_sorted)
        run_packed_both(tmod, cmod, rng, lengths, batch_first, enforce_sorted, dtype,
                        with_h0=trial > 0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("kind,extra", [("RNN", {"nonlinearity": "relu"}),
                                        ("RNN", {"bias": False}), ("GRU", {"bias": False}),
                                        ("LSTM", {"bias": False}), ("LSTM", {"proj_size": 2}),
                                        ("LSTM", {"proj_size": 2, "bias": False})],
                         ids=["relu", "rnn_nobias", "gru_nobias", "lstm_nobias", "proj",
                              "proj_nobias"])
def test_layer_variants_on_packed_input_match_torch(kind, extra, dtype):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: "LSTM with projections is not supported..."
        tmod, cmod = make_pair(kind, dtype, input_size=3, hidden_size=4, num_layers=2,
                               bidirectional=True, **extra)
        rng = np.random.RandomState(7)
        run_packed_both(tmod, cmod, rng, [2, 5, 1, 5, 3], False, False, dtype, with_h0=True)


def test_final_state_is_each_sequences_own_last_step():
    """Independent of torch: the final state of a packed run equals, for every sequence, the
    final state of running that sequence alone (forward), and the reverse direction's output
    at step 0 of that lone run."""
    torch.manual_seed(0)
    cmod = cr.nn.GRU(2, 3, bidirectional=True).double()
    seqs = [cr.randn(n, 2, dtype=cr.float64) for n in [3, 5, 1, 4]]
    out, h_n = cmod(crnn.pack_sequence(seqs, enforce_sorted=False))
    padded, lengths = crnn.pad_packed_sequence(out)
    assert lengths.tolist() == [3, 5, 1, 4]
    for b, s in enumerate(seqs):
        alone, h_alone = cmod(s.unsqueeze(1))
        assert_close(h_n[:, b], h_alone[:, 0])
        assert_close(padded[:len(s), b], alone[:, 0])
        assert (padded[len(s):, b] == 0).all()


def test_outputs_and_states_grad_fn_names_match_torch():
    for kind in ["RNN", "LSTM", "GRU"]:
        for enforce_sorted in [True, False]:
            tmod, cmod = make_pair(kind, torch.float32, input_size=2, hidden_size=3,
                                   bidirectional=True)
            x = torch.randn(3, 2, 2, requires_grad=True)
            lengths = [3, 2] if enforce_sorted else [2, 3]
            t_out, t_state = tmod(trnn.pack_padded_sequence(x, lengths,
                                                            enforce_sorted=enforce_sorted))
            c_out, c_state = cmod(crnn.pack_padded_sequence(to_cr(x, True), lengths,
                                                            enforce_sorted=enforce_sorted))
            assert c_out.data.grad_fn.name() == t_out.data.grad_fn.name() == "CatBackward0"
            for t_s, c_s in zip(as_list(t_state), as_list(c_state)):
                assert c_s.grad_fn.name() == t_s.grad_fn.name()


def test_dropout_between_layers_on_packed_input_matches_torch():
    tmod, cmod = make_pair("LSTM", torch.float64, input_size=3, hidden_size=4, num_layers=3,
                           dropout=0.4)
    x = torch.randn(5, 3, 3, dtype=torch.float64)
    torch.manual_seed(11)
    t_out, _ = tmod(trnn.pack_padded_sequence(x, [5, 4, 2]))
    cr.manual_seed(11)
    c_out, _ = cmod(crnn.pack_padded_sequence(to_cr(x), [5, 4, 2]))
    assert_close(c_out.data, t_out.data)


def test_layer_gradgradcheck_on_packed_input():
    cr.manual_seed(0)
    cmod = cr.nn.LSTM(2, 2, bidirectional=True).double()
    x = cr.randn(3, 2, 2, dtype=cr.float64, requires_grad=True)

    def fn(x):
        out, (h, c) = cmod(crnn.pack_padded_sequence(x, [2, 3], enforce_sorted=False))
        return out.data.sum() + (h * c).sum()
    assert cr.autograd.gradcheck(fn, (x,), eps=1e-6, atol=1e-5)
    assert cr.autograd.gradgradcheck(fn, (x,), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("kind", ["RNN", "GRU"])
def test_packed_input_state_errors_as_torch(kind):
    x = torch.randn(4, 3, 2)
    tmod, cmod = make_pair(kind, torch.float32, input_size=2, hidden_size=3)
    sorted_t = trnn.pack_padded_sequence(x, [4, 2, 1])
    sorted_c = crnn.pack_padded_sequence(to_cr(x), [4, 2, 1])
    for shape in [(1, 2, 3), (1, 3, 4), (2, 3, 3)]:
        same_error(lambda: tmod(sorted_t, torch.zeros(shape)),
                   lambda: cmod(sorted_c, cr.zeros(shape)))
    same_error(lambda: tmod(sorted_t.double()), lambda: cmod(sorted_c.double()))
    wide_t, wide_c = make_pair(kind, torch.float32, input_size=3, hidden_size=3)
    same_error(lambda: wide_t(sorted_t), lambda: wide_c(sorted_c))


def test_lstm_packed_input_state_errors():
    """torch's LSTM leaves packed-input states to its kernel, whose errors are about
    broadcasting; chainrule checks them as torch does for padded input."""
    cmod = cr.nn.LSTM(2, 3)
    packed = crnn.pack_padded_sequence(cr.randn(4, 3, 2), [4, 2, 1])
    with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size \(1, 3, 3\), got "
                       r"\[1, 2, 3\]"):
        cmod(packed, (cr.zeros(1, 2, 3), cr.zeros(1, 3, 3)))
    with pytest.raises(RuntimeError, match=r"Expected hidden\[1\] size \(1, 3, 3\), got "
                       r"\[1, 3, 4\]"):
        cmod(packed, (cr.zeros(1, 3, 3), cr.zeros(1, 3, 4)))


def test_another_librarys_packed_sequence_is_refused_clearly():
    packed = trnn.pack_padded_sequence(torch.randn(3, 2, 2), [3, 1])
    for kind in ["RNN", "LSTM", "GRU"]:
        with pytest.raises(NotImplementedError, match="chainrule's PackedSequence"):
            getattr(cr.nn, kind)(2, 3)(packed)


# -- a classic training loop -------------------------------------------------------------------
class Classifier:
    """Embedding -> pack -> LSTM -> unpack -> each sequence's last output and final hidden
    state -> Linear, built from `lib` (torch or chainrule) so both run the same code."""

    def __init__(self, lib, R, dtype):
        lib.manual_seed(0)
        self.lib, self.R = lib, R
        self.embed = lib.nn.Embedding(12, 4, padding_idx=0).to(dtype)
        self.lstm = lib.nn.LSTM(4, 5, num_layers=2, batch_first=True).to(dtype)
        self.head = lib.nn.Linear(10, 3).to(dtype)
        self.params = [p for m in (self.embed, self.lstm, self.head) for p in m.parameters()]

    def __call__(self, tokens, lengths):
        lib, R = self.lib, self.R
        packed = R.pack_padded_sequence(self.embed(tokens), lengths, batch_first=True,
                                        enforce_sorted=False)
        out, (h_n, _) = self.lstm(packed)
        padded, lens = R.pad_packed_sequence(out, batch_first=True)
        last = padded[lib.arange(len(lens)), lens - 1]
        return self.head(lib.cat([last, h_n[-1]], 1))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
def test_pad_pack_lstm_unpack_training_loop_matches_torch(dtype):
    t_model = Classifier(torch, trnn, dtype)
    c_model = Classifier(cr, crnn, CR_DTYPE[dtype])
    for t_p, c_p in zip(t_model.params, c_model.params):
        c_p.data = to_cr(t_p).to(CR_DTYPE[dtype])   # same weights, whatever the init streams
    t_opt = torch.optim.SGD(t_model.params, lr=0.5)
    c_opt = cr.optim.SGD(c_model.params, lr=0.5)
    rng = np.random.RandomState(3)
    t_losses, c_losses = [], []
    for step in range(5):
        lengths = random_lengths(rng, 6, 7, sorted_=False)
        tokens = [rng.randint(1, 12, size=n).tolist() for n in lengths]
        labels = [sum(seq) % 3 for seq in tokens]
        for lib, R, model, opt, losses in [(torch, trnn, t_model, t_opt, t_losses),
                                           (cr, crnn, c_model, c_opt, c_losses)]:
            padded = R.pad_sequence([lib.tensor(s) for s in tokens], batch_first=True)
            logits = model(padded, lib.tensor(lengths))
            loss = lib.nn.CrossEntropyLoss()(logits, lib.tensor(labels))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    np.testing.assert_allclose(c_losses, t_losses, **TOL[dtype])
    assert t_losses[-1] < t_losses[0]   # it does learn, so the comparison means something
    for t_p, c_p in zip(t_model.params, c_model.params):
        assert_close(c_p, t_p, dtype)
