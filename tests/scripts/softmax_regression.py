# Softmax regression / small MLP classifier on synthetic 3-class data with a custom Dataset.
import torch
from torch import nn
import torch.nn.functional as F
from torch.utils.data import Dataset, DataLoader, random_split

torch.manual_seed(11)


class Blobs(Dataset):
    def __init__(self, n_per_class=100):
        centers = torch.tensor([[0.0, 3.0], [3.0, -1.0], [-3.0, -1.0]])
        xs, ys = [], []
        for k, c in enumerate(centers):
            xs.append(torch.randn(n_per_class, 2) * 0.8 + c)
            ys.append(torch.full((n_per_class,), k, dtype=torch.long))
        self.x = torch.cat(xs)
        self.y = torch.cat(ys)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, idx):
        return self.x[idx], self.y[idx]


ds = Blobs()
print(len(ds), ds[0], ds[250][1].item())
train_ds, test_ds = random_split(ds, [240, 60], generator=torch.Generator().manual_seed(0))
print(len(train_ds), len(test_ds), train_ds.indices[:5])
train_loader = DataLoader(train_ds, batch_size=32, shuffle=True)
test_loader = DataLoader(test_ds, batch_size=32)

net = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)


def evaluate(loader):
    net.eval()
    correct, total, loss_sum = 0, 0, 0.0
    with torch.no_grad():
        for xb, yb in loader:
            logits = net(xb)
            loss_sum += F.cross_entropy(logits, yb, reduction='sum').item()
            correct += (logits.argmax(dim=1) == yb).sum().item()
            total += yb.size(0)
    return loss_sum / total, correct / total


for epoch in range(8):
    net.train()
    running = 0.0
    for batch, (xb, yb) in enumerate(train_loader):
        pred = net(xb)
        loss = loss_fn(pred, yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        running += loss.item()
    test_loss, acc = evaluate(test_loader)
    print(f"epoch {epoch}: train {running / len(train_loader):.5f} test {test_loss:.5f} acc {100 * acc:.1f}%")

xb, yb = next(iter(test_loader))
probs = F.softmax(net(xb[:4]), dim=1)
print(probs.detach().round(decimals=3))
print(probs.sum(dim=1).detach(), yb[:4])
values, indices = torch.max(probs, 1)
print(indices, torch.topk(probs, 2).indices)
print(F.log_softmax(net(xb[:2]), dim=-1).exp().sum(-1))
print(F.nll_loss(F.log_softmax(net(xb), 1), yb).item() == F.cross_entropy(net(xb), yb).item())
