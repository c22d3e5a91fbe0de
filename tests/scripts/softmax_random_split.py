# A softmax classifier on a synthetic three-blob dataset: a custom Dataset, random_split into
# train/val/test, DataLoaders, a train/eval loop with model.train()/model.eval() and no_grad,
# early stopping on the best validation accuracy with a deep-copied state_dict.
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset, DataLoader, random_split

torch.manual_seed(1234)


class Blobs(Dataset):
    def __init__(self, n_per_class=100, n_classes=3, dim=2):
        centers = torch.tensor([[0.0, 0.0], [3.0, 3.0], [-3.0, 3.0]])[:n_classes]
        xs, ys = [], []
        for k in range(n_classes):
            xs.append(centers[k] + torch.randn(n_per_class, dim))
            ys.append(torch.full((n_per_class,), k, dtype=torch.long))
        self.x = torch.cat(xs)
        self.y = torch.cat(ys)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, idx):
        return self.x[idx], self.y[idx]


dataset = Blobs()
print(len(dataset), dataset[0], dataset[150][1].item())
train_set, val_set, test_set = random_split(dataset, [200, 50, 50],
                                            generator=torch.Generator().manual_seed(42))
print(len(train_set), len(val_set), len(test_set))
print(train_set.indices[:10])
print(sorted(test_set.indices)[:5])
a, b = random_split(range(10), [0.7, 0.3])
print(list(a), list(b))

train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
val_loader = DataLoader(val_set, batch_size=64)
test_loader = DataLoader(test_set, batch_size=64, shuffle=False)
print(len(train_loader), len(val_loader))
xb, yb = next(iter(train_loader))
print(xb.shape, yb.shape, xb.dtype, yb.dtype)


class SoftmaxRegression(nn.Module):
    def __init__(self, in_features, num_classes):
        super().__init__()
        self.linear = nn.Linear(in_features, num_classes)

    def forward(self, x):
        return self.linear(x)


model = SoftmaxRegression(2, 3)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)


def evaluate(model, loader):
    model.eval()
    correct, total, loss_sum = 0, 0, 0.0
    with torch.no_grad():
        for x, y in loader:
            logits = model(x)
            loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
            pred = logits.argmax(dim=1)
            correct += (pred == y).sum().item()
            total += y.size(0)
    return loss_sum / total, correct / total


best_acc, best_state = -1.0, None
for epoch in range(6):
    model.train()
    running = 0.0
    for batch_idx, (x, y) in enumerate(train_loader):
        optimizer.zero_grad()
        out = model(x)
        loss = criterion(out, y)
        loss.backward()
        optimizer.step()
        running += loss.item() * x.size(0)
    val_loss, val_acc = evaluate(model, val_loader)
    print(f"Epoch {epoch}: train loss {running / len(train_set):.4f} "
          f"val loss {val_loss:.4f} val acc {val_acc:.2%}")
    if val_acc > best_acc:
        best_acc = val_acc
        best_state = copy.deepcopy(model.state_dict())

model.load_state_dict(best_state)
test_loss, test_acc = evaluate(model, test_loader)
print(f"best val acc {best_acc:.3f}, test loss {test_loss:.4f}, test acc {test_acc:.3f}")
print(model.training)

with torch.no_grad():
    probs = F.softmax(model(test_set[0][0].unsqueeze(0)), dim=1)
print(probs, probs.sum())
print(torch.max(probs, 1))
values, indices = probs.topk(2, dim=1)
print(values, indices)
conf = torch.zeros(3, 3, dtype=torch.int64)
with torch.no_grad():
    for x, y in test_loader:
        for t, p in zip(y, model(x).argmax(1)):
            conf[t, p] += 1
print(conf)
print(conf.diag().float() / conf.sum(1).float())
