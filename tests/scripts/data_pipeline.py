# Data loading the way projects write it: a map-style Dataset returning dicts, a transform,
# custom collate_fn with padding, drop_last, samplers (SubsetRandomSampler,
# WeightedRandomSampler, BatchSampler), a seeded generator, ConcatDataset / Subset, an
# IterableDataset, and default_collate on nested structures.
import torch
from torch.utils.data import (DataLoader, Dataset, IterableDataset, TensorDataset, Subset,
                              ConcatDataset, SubsetRandomSampler, WeightedRandomSampler,
                              BatchSampler, SequentialSampler, RandomSampler)
from torch.utils.data.dataloader import default_collate

torch.manual_seed(5)


class SentenceDataset(Dataset):
    def __init__(self, n, transform=None):
        self.lengths = torch.randint(2, 7, (n,))
        self.labels = torch.randint(0, 2, (n,))
        self.transform = transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        tokens = torch.arange(1, int(self.lengths[idx]) + 1) * (idx + 1)
        sample = {"tokens": tokens, "label": self.labels[idx], "id": idx}
        if self.transform:
            sample = self.transform(sample)
        return sample


def add_length(sample):
    sample["length"] = len(sample["tokens"])
    return sample


def pad_collate(batch):
    lengths = torch.tensor([b["length"] for b in batch])
    padded = torch.zeros(len(batch), int(lengths.max()), dtype=torch.long)
    for i, b in enumerate(batch):
        padded[i, :b["length"]] = b["tokens"]
    labels = torch.stack([b["label"] for b in batch])
    return padded, lengths, labels


ds = SentenceDataset(10, transform=add_length)
print(len(ds), ds[3])
loader = DataLoader(ds, batch_size=4, shuffle=True, collate_fn=pad_collate)
for padded, lengths, labels in loader:
    print(padded.tolist(), lengths.tolist(), labels.tolist())

loader = DataLoader(ds, batch_size=3, drop_last=True, collate_fn=pad_collate)
print(len(loader), [p.shape for p, _, _ in loader])

# default collate of dicts with ints and tensors of equal size
fixed = [{"x": torch.tensor([i, i + 1.0]), "y": i, "name": f"s{i}", "pair": (i, float(i) / 2)}
         for i in range(3)]
batch = default_collate(fixed)
print(batch)

# samplers
X = torch.arange(20, dtype=torch.float32).view(10, 2)
y = torch.tensor([0, 0, 0, 0, 0, 0, 0, 1, 1, 1])
tds = TensorDataset(X, y)
indices = list(range(len(tds)))
split = 7
train_sampler = SubsetRandomSampler(indices[:split])
valid_sampler = SubsetRandomSampler(indices[split:])
print([b[1].tolist() for b in DataLoader(tds, batch_size=3, sampler=train_sampler)])
print([b[1].tolist() for b in DataLoader(tds, batch_size=3, sampler=valid_sampler)])

class_count = torch.tensor([(y == c).sum().item() for c in range(2)])
weights = 1.0 / class_count.float()
sample_weights = weights[y]
wsampler = WeightedRandomSampler(sample_weights, num_samples=12, replacement=True)
drawn = list(wsampler)
print(drawn, [int(y[i]) for i in drawn])

print(list(BatchSampler(SequentialSampler(range(7)), batch_size=3, drop_last=False)))
print(list(BatchSampler(RandomSampler(range(7)), batch_size=3, drop_last=True)))
g = torch.Generator()
g.manual_seed(123)
print(list(RandomSampler(range(6), generator=g)))
print(list(RandomSampler(range(4), replacement=True, num_samples=6)))
loader = DataLoader(tds, batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(7))
print([yb.tolist() for _, yb in loader])
print([yb.tolist() for _, yb in loader])

# batch_sampler argument, Subset and ConcatDataset
loader = DataLoader(tds, batch_sampler=BatchSampler(SequentialSampler(tds), 4, False))
print([xb.shape for xb, _ in loader])
sub = Subset(tds, [9, 0, 5])
print(len(sub), sub[0], [int(t[1]) for t in sub])
both = ConcatDataset([sub, TensorDataset(X[:2] * -1, y[:2])])
print(len(both), both[3], both.cumulative_sizes)
print(next(iter(DataLoader(both, batch_size=5))))


class Counter(IterableDataset):
    def __init__(self, start, end):
        super().__init__()
        self.start, self.end = start, end

    def __iter__(self):
        return iter(torch.tensor([i, i * i]) for i in range(self.start, self.end))


print(list(DataLoader(Counter(0, 5), batch_size=2)))
print(list(DataLoader(Counter(0, 3), batch_size=None)))

# a training loop over the loader
model = torch.nn.Linear(2, 2)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
for epoch in range(2):
    total = 0.0
    for xb, yb in DataLoader(tds, batch_size=4, shuffle=True):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        total += loss.item() * len(xb)
    print(epoch, round(total / len(tds), 5))
