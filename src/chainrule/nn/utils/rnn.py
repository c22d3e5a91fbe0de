"""`torch.nn.utils.rnn`: padding variable-length sequences."""
from __future__ import annotations


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
