"""Recurrent layers: `RNN`, `LSTM`, `GRU` and their cells `RNNCell`, `LSTMCell`, `GRUCell`.

Parameters are named, shaped, registered and initialised as PyTorch's
(U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) for every parameter, in registration order, from
the global generator), so `manual_seed` gives PyTorch's weights.

    >>> lstm = nn.LSTM(10, 20, num_layers=2, batch_first=True)
    >>> out, (h_n, c_n) = lstm(torch.randn(3, 5, 10))
    >>> out.shape, h_n.shape
    (torch.Size([3, 5, 20]), torch.Size([2, 3, 20]))

How a layer runs (the equations are PyTorch's; gate order i, f, g, o for LSTM and r, z, n for
GRU): layers run time-major. The input projection x_t W_ih^T + b_ih of all time steps is one
matrix product over the whole sequence (`F.linear`); the recurrence of one direction of one
layer is then a single fused node (`nn/_ops.py`: `lstm_layer`, `gru_layer`, `rnn_layer`) whose
forward loops over time in NumPy and whose backward runs backward through time (and, under
create_graph, recomputes the recurrence with chainrule ops so that it can be differentiated
again). For LSTM and RNN, b_hh is folded into the input projection (it is added to every step
anyway); GRU keeps b_hh inside the hidden projection, since r multiplies (W_hn h + b_hn).
Between layers, dropout (training only) is applied to the whole time-major layer output, as
PyTorch does, so its mask comes from the same random numbers. The cells are composed of
chainrule ops, as PyTorch's are (so their grad_fn names are PyTorch's).

A PackedSequence input runs as PyTorch's CPU kernel runs it: one input projection over the packed
data, then step by step over the sequences still running at that step (the first
batch_sizes[t] of the sorted batch), composed of chainrule ops; a sequence's final state is its
state after its own last step, and the reverse direction starts each sequence at its own last
step. The output is packed like the input; the final states are in the caller's batch order.

    >>> packed = pack_padded_sequence(torch.randn(3, 5, 10), [5, 2, 4], batch_first=True,
    ...                               enforce_sorted=False)
    >>> out, (h_n, c_n) = lstm(packed)
    >>> out.data.shape, h_n.shape
    (torch.Size([11, 20]), torch.Size([2, 3, 20]))
"""
from __future__ import annotations

import math
import numbers
import warnings

from .. import creation
from ..ops import linalg as _linalg, pointwise as _pw, shape as _shape
from . import _ops, functional as F, init
from .modules.module import Module
from .parameter import Parameter
from .utils.rnn import PackedSequence

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _refuse_foreign_packed(input, name):
    """Another library's packed sequence (torch's, say) would otherwise fail far from here."""
    if hasattr(input, "batch_sizes") and not isinstance(input, PackedSequence):
        raise NotImplementedError(
            f"chainrule's nn.{name} runs chainrule's PackedSequence (from "
            f"chainrule.nn.utils.rnn.pack_padded_sequence or pack_sequence), not "
            f"{type(input).__name__}")


def _gru_step(x_rz, x_n, h, w_hh_t, b_hh, two_h):
    """r, z = sigmoid(x_rz + h W_hrz^T + b_hrz); n = tanh(x_n + r * (h W_hn^T + b_hn));
    h' = (h - n) * z + n, i.e. (1 - z) * n + z * h, computed as PyTorch does."""
    hg = _linalg.addmm(b_hh, h, w_hh_t) if b_hh is not None else _linalg.mm(h, w_hh_t)
    h_rz, h_n = _shape.split(hg, [two_h, hg.shape[1] - two_h], 1)
    r, z = _shape.chunk(_pw.sigmoid(x_rz + h_rz), 2, 1)
    n = _pw.tanh(x_n + r * h_n)
    return (h - n) * z + n


def _rnn_step(x, state, w_hh_t, relu):
    """h' = act(xw + h W_hh^T), biases already in xw."""
    pre = x + _linalg.mm(state[0], w_hh_t)
    return (_pw.relu(pre) if relu else _pw.tanh(pre),)


def _lstm_step(x, state, w_hh_t, w_hr_t):
    """i, f, g, o = xw + h W_hh^T (biases already in xw); c' = s(f) c + s(i) tanh(g);
    h' = s(o) tanh(c') (then @ W_hr^T)."""
    h, c = state
    i, f, g, o = _shape.chunk(x + _linalg.mm(h, w_hh_t), 4, 1)
    c = _pw.sigmoid(f) * c + _pw.sigmoid(i) * _pw.tanh(g)
    h = _pw.sigmoid(o) * _pw.tanh(c)
    return (_linalg.mm(h, w_hr_t) if w_hr_t is not None else h), c


def _gru_packed_step(x, state, w_hh_t, b_hh):
    two_h = 2 * w_hh_t.shape[0]
    x_rz, x_n = _shape.split(x, [two_h, x.shape[1] - two_h], 1)
    return (_gru_step(x_rz, x_n, state[0], w_hh_t, b_hh, two_h),)


def _packed_forward(xs, sizes, state, step, weights):
    """Run `step` over the steps `xs` (xs[t]: the first sizes[t] sequences of the sorted batch);
    a sequence's final state is set aside when it stops. Returns (outputs, final state)."""
    outs, finished = [], []
    for x, n in zip(xs, sizes):
        if n < state[0].shape[0]:
            finished.append([s[n:] for s in state])
            state = [s[:n] for s in state]
        state = step(x, state, *weights)
        outs.append(state[0])
    if finished:   # the shortest sequences stopped first and sit last in the batch
        finished.append(state)
        state = [_shape.cat([part[k] for part in reversed(finished)], 0)
                 for k in range(len(state))]
    return outs, state


def _packed_reverse(xs, sizes, state0, step, weights):
    """The same, backwards in time: each sequence starts from its initial state at its own
    last step, joining the batch when the walk reaches it."""
    outs = [None] * len(xs)
    state = [s[:sizes[-1]] for s in state0]
    for t in range(len(xs) - 1, -1, -1):
        have = state[0].shape[0]
        if sizes[t] > have:
            state = [_shape.cat([s, s0[have:sizes[t]]], 0) for s, s0 in zip(state, state0)]
        state = step(xs[t], state, *weights)
        outs[t] = state[0]
    return outs, state


def _mini_batch(module, input, batch_sizes):
    if batch_sizes is not None:
        return int(batch_sizes[0])
    return input.size(0) if module.batch_first else input.size(1)


class RNNBase(Module):
    """The common part of `RNN`, `LSTM` and `GRU`: parameters, checks, repr and the layer loop.

    `mode` is 'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU'.
    """

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=2)
        for name, value, kind in (("bias", bias, bool), ("batch_first", batch_first, bool),
                                  ("input_size", input_size, int)):
            if not isinstance(value, kind):
                raise TypeError(f"{name} should be of type {kind.__name__}, got: "
                                f"{type(value).__name__}")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if not isinstance(hidden_size, int):
            raise TypeError(f"hidden_size should be of type int, got: "
                            f"{type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)

        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        num_directions = 2 if bidirectional else 1
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else real_hidden * num_directions
            for direction in range(num_directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = [("weight_ih", (gate_size, layer_input)),
                          ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    shapes += [("weight_hr", (proj_size, hidden_size))]
                names = []
                for stem, shape in shapes:
                    setattr(self, stem + suffix,
                            Parameter(creation.empty(shape, dtype=dtype, device=device)))
                    names.append(stem + suffix)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    @property
    def _flat_weights(self):
        return [getattr(self, name, None) for name in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def flatten_parameters(self):
        """A no-op, as in PyTorch on the CPU (it only repacks weights for cuDNN)."""

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # -- checks, in PyTorch's words and order ------------------------------------------------
    def _name(self):
        return "RNN" if self.mode.startswith("RNN") else self.mode

    def _check_input_dim(self, input):
        if input.dim() not in (2, 3):
            tensor = " tensor" if self.mode.startswith("RNN") else ""
            raise ValueError(f"{self._name()}: Expected input to be 2D or 3D, got "
                             f"{input.dim()}D{tensor} instead")

    def check_input(self, input, batch_sizes=None):
        w = self._parameters[self._flat_weights_names[0]]
        if input.dtype != w.dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype "
                             f"({w.dtype}). Convert input: input.to({w.dtype}), or convert "
                             f"model: model.to({input.dtype})")
        expected_dim = 2 if batch_sizes is not None else 3
        if input.dim() != expected_dim:
            raise RuntimeError(f"input must have {expected_dim} dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.size(-1)}")

    def get_expected_hidden_size(self, input, batch_sizes=None):
        mini_batch = _mini_batch(self, input, batch_sizes)
        num_directions = 2 if self.bidirectional else 1
        size = self.proj_size if self.proj_size > 0 else self.hidden_size
        return (self.num_layers * num_directions, mini_batch, size)

    def check_hidden_size(self, hx, expected_hidden_size, msg="Expected hidden size {}, got {}"):
        if tuple(hx.size()) != tuple(expected_hidden_size):
            raise RuntimeError(msg.format(tuple(expected_hidden_size), list(hx.size())))

    def check_forward_args(self, input, hidden, batch_sizes=None):
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    def _prepare(self, input, hx):
        """Validate; return (batched input, batched hx or None, is_batched)."""
        _refuse_foreign_packed(input, self._name())
        self._check_input_dim(input)
        is_batched = input.dim() == 3
        if not is_batched:
            input = input.unsqueeze(0 if self.batch_first else 1)
        if hx is not None:
            want = 3 if is_batched else 2
            if hx.dim() != want:
                kind = "batched 3-D" if is_batched else "unbatched 2-D"
                raise RuntimeError(f"For {kind} input, hx should also be {want}-D but got "
                                   f"{hx.dim()}-D tensor")
            if not is_batched:
                hx = hx.unsqueeze(1)
            self.check_forward_args(input, hx)
        else:
            self.check_input(input)
        return input, hx, is_batched

    # -- the layer loop ----------------------------------------------------------------------
    def _run(self, input, hx, cx=None):
        """input: batched, (L, B, H_in) or (B, L, H_in) with batch_first. hx, cx: (D*layers,
        B, H) or None. Returns (output, h_n, c_n); c_n is None unless LSTM."""
        time_dim = 1 if self.batch_first else 0
        seq_len, batch = input.shape[time_dim], input.shape[1 - time_dim]
        if seq_len == 0:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
        mode, params = self.mode, self._parameters
        num_directions = 2 if self.bidirectional else 1
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        h0s = _shape.unbind(hx, 0) if hx is not None else None
        c0s = _shape.unbind(cx, 0) if cx is not None else None
        zeros_h = zeros_c = None
        if h0s is None:
            zeros_h = creation.zeros((batch, real_hidden), dtype=input.dtype)
        if mode == "LSTM" and c0s is None:
            zeros_c = creation.zeros((batch, self.hidden_size), dtype=input.dtype)
        h_n, c_n = [], []
        # Layers run time-major, as PyTorch's (the inner dropout mask's layout).
        x = _shape.transpose(input, 0, 1) if self.batch_first else input
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(num_directions):
                k = layer * num_directions + direction
                names = self._all_weights[k]
                w_ih, w_hh = params[names[0]], params[names[1]]
                b_ih, b_hh = (params[names[2]], params[names[3]]) if self.bias else (None, None)
                h = h0s[k] if h0s is not None else zeros_h
                reverse = direction == 1
                if mode == "GRU":
                    out, h = _ops.gru_layer(F.linear(x, w_ih, b_ih), h, w_hh, b_hh, reverse)
                else:
                    xw = F.linear(x, w_ih, b_ih + b_hh if self.bias else None)
                    if mode == "LSTM":
                        c = c0s[k] if c0s is not None else zeros_c
                        w_hr = params[names[-1]] if self.proj_size > 0 else None
                        out, h, c = _ops.lstm_layer(xw, h, c, w_hh, w_hr, reverse)
                        c_n.append(c)
                    else:
                        out, h = _ops.rnn_layer(xw, h, w_hh, mode == "RNN_RELU", reverse)
                h_n.append(h)
                outputs.append(out)
            x = outputs[0] if num_directions == 1 else _shape.cat(outputs, 2)
            if layer < self.num_layers - 1 and self.dropout > 0 and self.training:
                x = F.dropout(x, self.dropout, True)
        if self.batch_first:
            x = _shape.transpose(x, 0, 1)
        return x, _shape.stack(h_n, 0), (_shape.stack(c_n, 0) if c_n else None)

    # -- packed input ------------------------------------------------------------------------
    def _forward_packed(self, packed, hx):
        """(PackedSequence output, final state) as PyTorch: an initial state given in the
        caller's batch order is put in sorted order first, and the final one put back."""
        data, batch_sizes, sorted_indices, unsorted_indices = packed
        lstm = self.mode == "LSTM"
        if hx is None:
            shape = (self.num_layers * (2 if self.bidirectional else 1), int(batch_sizes[0]))
            real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
            hx = creation.zeros(shape + (real_hidden,), dtype=data.dtype)
            if lstm:
                hx = (hx, creation.zeros(shape + (self.hidden_size,), dtype=data.dtype))
        elif sorted_indices is not None:
            hx = _permute_state(hx, sorted_indices)
        self.check_forward_args(data, hx, batch_sizes)
        out, h_n, c_n = self._run_packed(data, batch_sizes.tolist(), *(hx if lstm else (hx,)))
        state = (h_n, c_n) if lstm else h_n
        if unsorted_indices is not None:
            state = _permute_state(state, unsorted_indices)
        return PackedSequence(out, batch_sizes, sorted_indices, unsorted_indices), state

    def _run_packed(self, data, sizes, hx, cx=None):
        """data: (N, H_in) packed rows; sizes: the batch size of every step; hx, cx: (D*layers,
        B, H) in sorted order. Returns (packed output data, h_n, c_n)."""
        mode, params = self.mode, self._parameters
        num_directions = 2 if self.bidirectional else 1
        h0s = _shape.unbind(hx, 0)
        c0s = _shape.unbind(cx, 0) if cx is not None else None
        h_n, c_n = [], []
        x = data
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(num_directions):
                k = layer * num_directions + direction
                names = self._all_weights[k]
                w_ih, w_hh = params[names[0]], params[names[1]]
                b_ih, b_hh = (params[names[2]], params[names[3]]) if self.bias else (None, None)
                state = [h0s[k]]
                if mode == "GRU":
                    xw = F.linear(x, w_ih, b_ih)
                    step, weights = _gru_packed_step, (w_hh.t(), b_hh)
                else:
                    xw = F.linear(x, w_ih, b_ih + b_hh if self.bias else None)
                    if mode == "LSTM":
                        state.append(c0s[k])
                        w_hr = params[names[-1]].t() if self.proj_size > 0 else None
                        step, weights = _lstm_step, (w_hh.t(), w_hr)
                    else:
                        step, weights = _rnn_step, (w_hh.t(), mode == "RNN_RELU")
                xs = _shape.split(xw, sizes, 0)
                run = _packed_reverse if direction == 1 else _packed_forward
                outs, state = run(xs, sizes, state, step, weights)
                h_n.append(state[0])
                if mode == "LSTM":
                    c_n.append(state[1])
                outputs.append(_shape.cat(outs, 0))
            x = outputs[0] if num_directions == 1 else _shape.cat(outputs, 1)
            if layer < self.num_layers - 1 and self.dropout > 0 and self.training:
                x = F.dropout(x, self.dropout, True)
        return x, _shape.stack(h_n, 0), (_shape.stack(c_n, 0) if c_n else None)

    def _finish(self, output, is_batched):
        return output if is_batched else output.squeeze(0 if self.batch_first else 1)


def _permute_state(state, permutation):
    """Reorder the batch (dim 1) of a state, or of both parts of an LSTM's (h, c)."""
    if isinstance(state, (tuple, list)):
        return tuple(s.index_select(1, permutation) for s in state)
    return state.index_select(1, permutation)


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu), stacked
    `num_layers` deep, optionally bidirectional. Returns (output, h_n).

        >>> rnn = nn.RNN(10, 20, 2)
        >>> out, h_n = rnn(torch.randn(5, 3, 10))
        >>> out.shape, h_n.shape
        (torch.Size([5, 3, 20]), torch.Size([2, 3, 20]))
    """

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.__dict__["nonlinearity"] = args[3]
            args = args[:3] + args[4:]
        else:
            self.__dict__["nonlinearity"] = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' "
                             f"or 'relu'.")
        super().__init__(mode, *args, **kwargs)

    def forward(self, input, hx=None):
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        input, hx, is_batched = self._prepare(input, hx)
        output, h_n, _ = self._run(input, hx)
        if not is_batched:
            h_n = h_n.squeeze(1)
        return self._finish(output, is_batched), h_n


class LSTM(RNNBase):
    """Long short-term memory: with gates i, f, g, o = split(x_t W_ih^T + b_ih + h W_hh^T +
    b_hh) and sigmoid on i, f, o, tanh on g: c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t)
    (then h_t W_hr^T when proj_size > 0). Returns (output, (h_n, c_n)).

        >>> lstm = nn.LSTM(10, 20)
        >>> out, (h_n, c_n) = lstm(torch.randn(5, 3, 10))
        >>> c_n.shape
        torch.Size([1, 3, 20])
    """

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)

    def get_expected_cell_size(self, input, batch_sizes=None):
        mini_batch = _mini_batch(self, input, batch_sizes)
        num_directions = 2 if self.bidirectional else 1
        return (self.num_layers * num_directions, mini_batch, self.hidden_size)

    def check_forward_args(self, input, hidden, batch_sizes=None):
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden[0], self.get_expected_hidden_size(input, batch_sizes),
                               "Expected hidden[0] size {}, got {}")
        self.check_hidden_size(hidden[1], self.get_expected_cell_size(input, batch_sizes),
                               "Expected hidden[1] size {}, got {}")

    def forward(self, input, hx=None):
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        _refuse_foreign_packed(input, "LSTM")
        self._check_input_dim(input)
        is_batched = input.dim() == 3
        if not is_batched:
            input = input.unsqueeze(0 if self.batch_first else 1)
        if hx is None:
            self.check_input(input)
            h0 = c0 = None
        else:
            h0, c0 = hx[0], hx[1]
            want = 3 if is_batched else 2
            if h0.dim() != want or c0.dim() != want:
                kind = "batched 3-D" if is_batched else "unbatched 2-D"
                raise RuntimeError(f"For {kind} input, hx and cx should also be {want}-D but "
                                   f"got ({h0.dim()}-D, {c0.dim()}-D) tensors")
            if not is_batched:
                h0, c0 = h0.unsqueeze(1), c0.unsqueeze(1)
            self.check_forward_args(input, (h0, c0))
        output, h_n, c_n = self._run(input, h0, c0)
        if not is_batched:
            h_n, c_n = h_n.squeeze(1), c_n.squeeze(1)
        return self._finish(output, is_batched), (h_n, c_n)


class GRU(RNNBase):
    """Gated recurrent unit: r, z = sigmoid(x W_i{r,z}^T + b_i{r,z} + h W_h{r,z}^T + b_h{r,z}),
    n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn)), h_t = (1 - z) * n + z * h_{t-1}.
    Returns (output, h_n).

        >>> gru = nn.GRU(10, 20, bidirectional=True)
        >>> out, h_n = gru(torch.randn(5, 3, 10))
        >>> out.shape, h_n.shape
        (torch.Size([5, 3, 40]), torch.Size([2, 3, 20]))
    """

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)

    def forward(self, input, hx=None):
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        input, hx, is_batched = self._prepare(input, hx)
        output, h_n, _ = self._run(input, hx)
        if not is_batched:
            h_n = h_n.squeeze(1)
        return self._finish(output, is_batched), h_n


# -- cells ---------------------------------------------------------------------------------------
class RNNCellBase(Module):
    """Parameters `weight_ih` (chunks*hidden, input), `weight_hh` (chunks*hidden, hidden),
    `bias_ih`, `bias_hh` (chunks*hidden), initialised as the layers' are."""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        rows = num_chunks * hidden_size
        self.weight_ih = Parameter(creation.empty((rows, input_size), dtype=dtype, device=device))
        self.weight_hh = Parameter(creation.empty((rows, hidden_size), dtype=dtype,
                                                  device=device))
        if bias:
            self.bias_ih = Parameter(creation.empty(rows, dtype=dtype, device=device))
            self.bias_hh = Parameter(creation.empty(rows, dtype=dtype, device=device))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        nonlinearity = self.__dict__.get("nonlinearity", "tanh")
        if nonlinearity != "tanh":
            s += f", nonlinearity={nonlinearity}"
        return s

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _batched(self, input, hx, hx_label="hidden"):
        """Check dims; return (2-D input, hx list (2-D) or None, is_batched)."""
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D "
                             f"instead")
        if hx is not None:
            for idx, value in enumerate(hx):
                if value.dim() not in (1, 2):
                    label = hx_label if hx_label == "hidden" else f"hx[{idx}]"
                    raise ValueError(f"{name}: Expected {label} to be 1D or 2D, got "
                                     f"{value.dim()}D instead")
        is_batched = input.dim() == 2
        if not is_batched:
            input = input.unsqueeze(0)
        if hx is None:
            zeros = creation.zeros((input.shape[0], self.hidden_size), dtype=input.dtype)
        if input.shape[1] != self.weight_ih.shape[1]:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[1]} "
                               f"expected {self.weight_ih.shape[1]}")
        if hx is None:
            return input, None, is_batched, zeros
        hx = [h if is_batched else h.unsqueeze(0) for h in hx]
        for idx, h in enumerate(hx):
            if input.shape[0] != h.shape[0]:
                raise RuntimeError(f"Input batch size {input.shape[0]} doesn't match "
                                   f"hidden{idx} batch size {h.shape[0]}")
            if h.shape[1] != self.weight_hh.shape[1]:
                raise RuntimeError(f"hidden{idx} has inconsistent hidden_size: got "
                                   f"{h.shape[1]}, expected {self.weight_hh.shape[1]}")
        return input, hx, is_batched, None


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu).

        >>> cell = nn.RNNCell(10, 20)
        >>> cell(torch.randn(3, 10)).shape
        torch.Size([3, 20])
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device,
                         dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        input, hx, is_batched, zeros = self._batched(input, None if hx is None else (hx,))
        h = zeros if hx is None else hx[0]
        pre = F.linear(input, self.weight_ih, self.bias_ih) + F.linear(h, self.weight_hh,
                                                                       self.bias_hh)
        if self.nonlinearity == "tanh":
            out = _pw.tanh(pre)
        elif self.nonlinearity == "relu":
            out = _pw.relu(pre)
        else:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        return out if is_batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step: (h, c) -> (h', c'), gates i, f, g, o as in `LSTM`.

        >>> cell = nn.LSTMCell(10, 20)
        >>> h, c = cell(torch.randn(3, 10))
        >>> h.shape, c.shape
        (torch.Size([3, 20]), torch.Size([3, 20]))
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device,
                         dtype=dtype)

    def forward(self, input, hx=None):
        input, hx, is_batched, zeros = self._batched(input, hx, hx_label="hx")
        h, c = (zeros, zeros) if hx is None else hx
        gates = F.linear(input, self.weight_ih, self.bias_ih) + F.linear(h, self.weight_hh,
                                                                         self.bias_hh)
        i, f, g, o = _shape.chunk(gates, 4, 1)
        c = _pw.sigmoid(f) * c + _pw.sigmoid(i) * _pw.tanh(g)
        h = _pw.sigmoid(o) * _pw.tanh(c)
        return (h, c) if is_batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step: h -> h', gates r, z, n as in `GRU`.

        >>> cell = nn.GRUCell(10, 20)
        >>> cell(torch.randn(3, 10)).shape
        torch.Size([3, 20])
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device,
                         dtype=dtype)

    def forward(self, input, hx=None):
        input, hx, is_batched, zeros = self._batched(input, None if hx is None else (hx,))
        h = zeros if hx is None else hx[0]
        two_h = 2 * self.hidden_size
        xw = F.linear(input, self.weight_ih, self.bias_ih)
        x_rz, x_n = _shape.split(xw, [two_h, self.hidden_size], 1)
        out = _gru_step(x_rz, x_n, h, self.weight_hh.t(), self.bias_hh, two_h)
        return out if is_batched else out.squeeze(0)
