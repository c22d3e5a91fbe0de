# micrograd's demo (an MLP with a max-margin loss and L2 regularisation) rewritten with torch
# tensors of scalars, as in micrograd's test_vs_torch, plus a vectorised version.
import random
import torch

random.seed(1337)
torch.manual_seed(1337)

# a two-moons-like dataset built with math only
import math
X, y = [], []
for i in range(50):
    t = math.pi * i / 49
    X.append([math.cos(t) + random.gauss(0, 0.1), math.sin(t) + random.gauss(0, 0.1)]); y.append(-1)
    X.append([1 - math.cos(t) + random.gauss(0, 0.1), 0.5 - math.sin(t) + random.gauss(0, 0.1)]); y.append(1)
X = torch.tensor(X, dtype=torch.double)
y = torch.tensor(y, dtype=torch.double)
print(X.shape, X.dtype, y[:6])


class MLP(torch.nn.Module):
    def __init__(self, nin, nouts):
        super().__init__()
        sz = [nin] + nouts
        self.layers = torch.nn.ModuleList(
            torch.nn.Linear(sz[i], sz[i + 1]).double() for i in range(len(nouts)))

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i != len(self.layers) - 1:
                x = x.relu()
        return x


model = MLP(2, [16, 16, 1])
print(model)
print("number of parameters", sum(p.numel() for p in model.parameters()))


def loss_fn():
    scores = model(X).squeeze(1)
    losses = (1 + -y * scores).relu()
    data_loss = losses.mean()
    alpha = 1e-4
    reg_loss = alpha * sum((p * p).sum() for p in model.parameters())
    total_loss = data_loss + reg_loss
    accuracy = ((y > 0) == (scores > 0)).double().mean()
    return total_loss, accuracy


for k in range(40):
    total_loss, acc = loss_fn()
    model.zero_grad()
    total_loss.backward()
    learning_rate = 1.0 - 0.9 * k / 100
    with torch.no_grad():
        for p in model.parameters():
            p -= learning_rate * p.grad
    if k % 5 == 0:
        print(f"step {k} loss {total_loss.item()}, accuracy {acc.item() * 100}%")

# micrograd's test_sanity_check and test_more_ops, in torch
x = torch.Tensor([-4.0]).double()
x.requires_grad = True
z = 2 * x + 2 + x
q = z.relu() + z * x
h = (z * z).relu()
y = h + q + q * x
y.backward()
print(y.data.item(), x.grad.item())

a = torch.Tensor([-4.0]).double()
b = torch.Tensor([2.0]).double()
a.requires_grad = True
b.requires_grad = True
c = a + b
d = a * b + b**3
c = c + c + 1
c = c + 1 + c + (-a)
d = d + d * 2 + (b + a).relu()
d = d + 3 * d + (b - a).relu()
e = c - d
f = e**2
g = f / 2.0
g = g + 10.0 / f
g.backward()
print(g.data.item(), a.grad.item(), b.grad.item())
