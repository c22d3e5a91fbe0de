# torch.manual_seed reproducibility: random streams, dropout masks, shuffling, initialisation.
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(2024)
print(torch.rand(3))
print(torch.randn(2, 3))
print(torch.randint(0, 10, (5,)))
print(torch.randperm(8))
print(torch.normal(mean=torch.zeros(3), std=torch.ones(3)))
print(torch.empty(4).uniform_(-1, 1))
print(torch.empty(2, 2).normal_(mean=5, std=0.5))
print(torch.bernoulli(torch.full((6,), 0.5)))
print(torch.multinomial(torch.tensor([0.1, 0.2, 0.7]), 5, replacement=True))

state = torch.get_rng_state()
a = torch.randn(5)
torch.set_rng_state(state)
b = torch.randn(5)
print(torch.equal(a, b))

g = torch.Generator().manual_seed(42)
print(torch.randn(3, generator=g), torch.rand(2, generator=g))

torch.manual_seed(0)
layer = nn.Linear(5, 3)
print(layer.weight, layer.bias)
drop = nn.Dropout(p=0.4)
print(drop(torch.ones(2, 8)))
drop.eval()
print(drop(torch.ones(2, 3)))

torch.manual_seed(0)
layer2 = nn.Linear(5, 3)
print(torch.equal(layer.weight, layer2.weight))

torch.manual_seed(1)
ds = TensorDataset(torch.arange(10).float(), torch.arange(10))
loader = DataLoader(ds, batch_size=4, shuffle=True)
for xb, yb in loader:
    print(xb, yb)
for xb, yb in DataLoader(ds, batch_size=3, shuffle=True, drop_last=True):
    print(yb.tolist())

torch.manual_seed(5)
conv_init = torch.empty(3, 4)
nn.init.xavier_uniform_(conv_init)
print(conv_init)
nn.init.kaiming_normal_(conv_init, mode='fan_out', nonlinearity='relu')
print(conv_init)
nn.init.zeros_(conv_init)
print(conv_init.sum())
print(torch.initial_seed())
