"""`torch.nn.utils.rnn`: padding variable-length sequences, and packing them for the recurrent
layers.

A `PackedSequence` stores a batch of sequences of different lengths step by step, without
padding. With the sequences ordered longest first, `data` holds step 0 of every sequence, then
step 1 of those at least two steps long, and so on; `batch_sizes[t]` counts the sequences still
running at step t. `sorted_indices[i]` is the position, in the caller's batch, of the i-th
longest sequence (None when the caller's batch was already sorted); `unsorted_indices` is its
inverse, which puts results back in the caller's order.

    >>> seqs = [torch.tensor([1, 2, 3]), torch.tensor([4]), torch.tensor([5, 6])]
    >>> packed = pack_sequence(seqs, enforce_sorted=False)
    >>> packed.data, packed.batch_sizes
    (tensor([1, 5, 4, 2, 6, 3]), tensor([3, 2, 1]))
    >>> padded, lengths = pad_packed_sequence(packed, batch_first=True)
    >>> padded
    tensor([[1, 2, 3],
            [4, 0, 0],
            [5, 6, 0]])

Packing and padding are differentiable: `pack_padded_sequence`'s data is one gather
(PackPaddedSequenceBackward0, as PyTorch), `pad_packed_sequence` one scatter into the padding.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ... import _dtype
from ...tensor import Tensor
from .. import _ops

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence",
           "pad_packed_sequence", "pad_sequence", "unpad_sequence", "pack_sequence",
           "unpack_sequence"]

PackedSequence_ = namedtuple("PackedSequence_",
                             ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])


class PackedSequence(PackedSequence_):
    """A batch of variable-length sequences, packed step by step (see the module docstring).
    Make one with `pack_padded_sequence` or `pack_sequence`; the recurrent layers take it as
    input and return their output packed the same way. `PackedSequence(data, batch_sizes,
    sorted_indices)` fills in `unsorted_indices`; `(data, batch_sizes)` may be given as one
    pair."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """`data.to(...)`; `self` when that changes nothing. The other fields are index
        tensors and stay as they are (there is only the CPU)."""
        data = self.data.to(*args, **kwargs)
        return self if data is self.data else self._with_data(data)

    def cpu(self):
        return self.to("cpu")

    def _with_data(self, data):
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def cuda(self, *args, **kwargs):
        return self._with_data(self.data.cuda(*args, **kwargs))

    def pin_memory(self):
        return self._with_data(self.data.pin_memory())

    def is_pinned(self):
        return self.data.is_pinned()

    @property
    def is_cuda(self):
        return self.data.is_cuda

    def double(self):
        return self.to(dtype=_dtype.float64)

    def float(self):
        return self.to(dtype=_dtype.float32)

    def half(self):
        return self.to(dtype=_dtype.float16)

    def long(self):
        return self.to(dtype=_dtype.int64)

    def int(self):
        return self.to(dtype=_dtype.int32)

    def short(self):
        return self.to(dtype=_dtype.int16)

    def char(self):
        return self.to(dtype=_dtype.int8)

    def byte(self):
        return self.to(dtype=_dtype.uint8)


def invert_permutation(permutation):
    """The inverse of a 1-D permutation tensor (None stays None): out[permutation[i]] = i."""
    if permutation is None:
        return None
    from ... import arange, empty_like

    return empty_like(permutation).scatter_(0, permutation, arange(permutation.numel()))


def _places(batch_sizes):
    """(step, position in the sorted batch) of every row of packed data, in data order."""
    steps = np.repeat(np.arange(len(batch_sizes)), batch_sizes)
    starts = np.cumsum(batch_sizes) - batch_sizes
    return steps, np.arange(len(steps)) - np.repeat(starts, batch_sizes)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch (T, B, *) ((B, T, *) with batch_first) whose b-th sequence is
    `lengths[b]` steps long (a list, or an integer tensor). With enforce_sorted (the default)
    lengths must not increase; otherwise the batch is sorted here and the PackedSequence
    remembers how. A length longer than T is an error (PyTorch reads past the input)."""
    from ... import as_tensor, sort, tensor

    if isinstance(lengths, Tensor):
        lengths = lengths.to(dtype=_dtype.int64)
    else:
        lengths = as_tensor(lengths, dtype=_dtype.int64)
    batch_dim = 0 if batch_first else 1
    if enforce_sorted:
        sorted_indices = None
    else:
        lengths, sorted_indices = sort(lengths, descending=True)
        input = input.index_select(batch_dim, sorted_indices)
    if lengths.dim() != 1:
        raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got "
                           f"{lengths.dim()}D cpu Long tensor")
    batch, steps = input.size(batch_dim), input.size(1 - batch_dim)
    if input.numel() == 0:
        raise RuntimeError("Cannot pack empty tensors.")
    lens = lengths._data
    if len(lens) != batch:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{len(lens)} (batch_size={batch})")
    if lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    if np.any(lens[1:] > lens[:-1]):
        raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                           "`enforce_sorted` is True. You can pass `enforce_sorted=False` to "
                           "pack_padded_sequence and/or pack_sequence to sidestep this "
                           "requirement if you do not need ONNX exportability.")
    if lens[0] > steps:
        raise RuntimeError(f"pack_padded_sequence: a sequence of length {lens[0]} does not fit "
                           f"in an input of {steps} time steps")
    batch_sizes = (lens[None, :] > np.arange(lens[0])[:, None]).sum(1)
    step, pos = _places(batch_sizes)
    data = _ops.pack_padded(input, (pos, step) if batch_first else (step, pos))
    return PackedSequence(data, tensor(batch_sizes, dtype=_dtype.int64), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """The inverse of `pack_padded_sequence`: (padded (T, B, *) or (B, T, *), lengths int64),
    in the caller's original batch order. T is the longest length, or `total_length`."""
    from ... import full, tensor

    batch_sizes = np.asarray(sequence.batch_sizes._data)
    max_len = len(batch_sizes)
    if total_length is not None:
        if total_length < max_len:
            raise ValueError(f"Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {max_len}")
        max_len = total_length
    data = sequence.data
    batch = int(batch_sizes[0])
    padded = full((max_len, batch) + tuple(data.shape[1:]), padding_value, dtype=data.dtype)
    step, pos = _places(batch_sizes)
    padded[tensor(step), tensor(pos)] = data
    lengths = tensor((batch_sizes[None, :] > np.arange(batch)[:, None]).sum(1),
                     dtype=_dtype.int64)
    if batch_first:
        padded = padded.transpose(0, 1)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(0 if batch_first else 1, sequence.unsorted_indices)
        lengths = lengths[sequence.unsorted_indices]
    return padded, lengths


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    from ... import stack
    from .. import functional as F

    max_len = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        extra = max_len - s.shape[0]
        widths = [0, 0] * (s.dim() - 1) + ([0, extra] if padding_side == "right" else [extra, 0])
        padded.append(F.pad(s, widths, value=padding_value) if extra else s)
    out = stack(padded, 0)
    return out if batch_first else out.transpose(0, 1)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of sequences in a padded batch, each cut to its length. A time-major input is
    transposed in place to batch-major (so a leaf that requires grad is refused), as PyTorch
    does."""
    from ... import arange

    if not batch_first:
        padded_sequences.transpose_(0, 1)
    steps = arange(padded_sequences.shape[1])
    return [seq[steps < length] for seq, length in zip(padded_sequences, lengths, strict=True)]


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of (L_i, *) tensors: `pad_sequence` then `pack_padded_sequence`."""
    from ... import as_tensor

    lengths = as_tensor([s.size(0) for s in sequences])
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """The list of sequences in a PackedSequence, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
