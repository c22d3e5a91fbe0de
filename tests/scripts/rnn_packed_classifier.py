# Classifying variable-length sequences with packed sequences: sentences of different lengths
# are padded into one batch, packed so that the LSTM skips the padding, run through a
# bidirectional 2-layer LSTM, and classified from each sentence's own final hidden states
# (both directions). The labels are a small counting task: is there more "good" than "bad"?
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import (pack_padded_sequence, pack_sequence, pad_packed_sequence,
                                pad_sequence, unpack_sequence)

torch.manual_seed(0)

words = ["<pad>", "good", "bad", "the", "film", "was", "plot", "and", "very", "acting"]
vocab = {w: i for i, w in enumerate(words)}


def make_sentence():
    n = int(torch.randint(3, 11, (1,)))
    tokens = torch.randint(1, len(words), (n,))
    label = int((tokens == vocab["good"]).sum() > (tokens == vocab["bad"]).sum())
    return tokens, label


dataset = [make_sentence() for _ in range(240)]
print("sentences:", len(dataset), " positive:", sum(label for _, label in dataset))
print("first:", " ".join(words[i] for i in dataset[0][0].tolist()), "->", dataset[0][1])

# What packing does, on three short sequences
seqs = [torch.tensor([1, 2, 3]), torch.tensor([4]), torch.tensor([5, 6])]
packed = pack_sequence(seqs, enforce_sorted=False)
print(packed)
padded, lengths = pad_packed_sequence(packed, batch_first=True)
print(padded)
print(lengths, [s.tolist() for s in unpack_sequence(packed)])


def collate(batch):
    tokens = [t for t, _ in batch]
    lengths = torch.tensor([len(t) for t in tokens])
    return pad_sequence(tokens, batch_first=True), lengths, torch.tensor([y for _, y in batch])


class Classifier(nn.Module):
    def __init__(self, vocab_size, embed=8, hidden=16, classes=2):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed, padding_idx=0)
        self.lstm = nn.LSTM(embed, hidden, num_layers=2, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * hidden, classes)

    def forward(self, tokens, lengths):
        packed = pack_padded_sequence(self.embed(tokens), lengths, batch_first=True,
                                      enforce_sorted=False)
        out, (h_n, c_n) = self.lstm(packed)
        # the last layer's final states, forward and backward direction, in batch order
        features = torch.cat([h_n[-2], h_n[-1]], dim=1)
        return self.head(features), out


model = Classifier(len(words))
print(model)

tokens, lengths, labels = collate(dataset[:4])
logits, out = model(tokens, lengths)
print("tokens", tuple(tokens.shape), "lengths", lengths.tolist())
print("packed output", tuple(out.data.shape), "batch_sizes", out.batch_sizes.tolist())
print("sorted_indices", out.sorted_indices.tolist(), "unsorted", out.unsorted_indices.tolist())
print("packed data grad_fn:", type(out.data.grad_fn).__name__)
unpacked, out_lengths = pad_packed_sequence(out, batch_first=True)
print("unpacked", tuple(unpacked.shape), out_lengths.tolist())
print("padding stays zero:", bool((unpacked[1, lengths[1]:] == 0).all()))

optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
train, test = dataset[:200], dataset[200:]
batch_size = 20
for epoch in range(6):
    order = torch.randperm(len(train)).tolist()
    total = 0.0
    for start in range(0, len(train), batch_size):
        tokens, lengths, labels = collate([train[i] for i in order[start:start + batch_size]])
        logits, _ = model(tokens, lengths)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        total += loss.item()
    print(f"epoch {epoch}  mean loss {total / (len(train) // batch_size):.4f}")

model.eval()
with torch.no_grad():
    tokens, lengths, labels = collate(test)
    logits, _ = model(tokens, lengths)
    predictions = logits.argmax(dim=1)
    print(f"test accuracy {(predictions == labels).float().mean().item():.3f}")
    print("predictions", predictions[:12].tolist())
    print("labels     ", labels[:12].tolist())
