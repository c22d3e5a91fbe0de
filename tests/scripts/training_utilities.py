# The training-loop utilities a typical project touches: model.apply(init_fn) with nn.init,
# named_modules / children / named_parameters, freezing with requires_grad_(False), parameter
# groups with their own lr, gradient clipping, lr schedulers (OneCycle, Cosine, ReduceLROnPlateau,
# LambdaLR), parameters_to_vector / vector_to_parameters, and state_dict round trips through
# torch.save / torch.load to a BytesIO and to a file (model, optimizer and scheduler state).
import io
import os
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import parameters_to_vector, vector_to_parameters, clip_grad_norm_

torch.manual_seed(2024)


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 4, kernel_size=3, padding=1)
        self.norm = nn.LayerNorm(4)

    def forward(self, x):
        h = F.relu(self.conv(x))          # (N, 4, L)
        return self.norm(h.mean(-1))      # (N, 4)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Encoder()
        self.head = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))

    def forward(self, x):
        self.calls += 1
        return self.head(self.encoder(x))


def init_weights(m):
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)
        nn.init.constant_(m.bias, 0.01)
    elif isinstance(m, nn.Conv1d):
        nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
        nn.init.zeros_(m.bias)


model = Net()
model.apply(init_weights)
for name, module in model.named_modules():
    print(repr(name), type(module).__name__)
print([type(c).__name__ for c in model.children()])
for name, p in model.named_parameters():
    print(name, tuple(p.shape), round(p.sum().item(), 4))
print(model.head[0].bias)
print(len(list(model.modules())), len(list(model.buffers())))

X = torch.randn(64, 2, 10)
y = torch.randint(0, 3, (64,))

# --- parameter groups: a smaller lr for the encoder
optimizer = torch.optim.SGD([
    {"params": model.encoder.parameters(), "lr": 1e-3},
    {"params": model.head.parameters()},
], lr=1e-1, momentum=0.9)
print([g["lr"] for g in optimizer.param_groups], optimizer.defaults["lr"])
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=[0.01, 0.2], total_steps=8)

for step in range(8):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(X), y)
    loss.backward()
    total_norm = clip_grad_norm_(model.parameters(), max_norm=0.5)
    optimizer.step()
    scheduler.step()
    print(f"{step} loss={loss.item():.5f} norm={total_norm.item():.5f} "
          f"lrs={[round(g['lr'], 6) for g in optimizer.param_groups]}")
print(model.calls)

# --- freezing the encoder
model.encoder.requires_grad_(False)
print([n for n, p in model.named_parameters() if p.requires_grad])
before = model.encoder.conv.weight.clone()
opt2 = torch.optim.Adam(filter(lambda p: p.requires_grad, model.parameters()), lr=1e-2)
sched2 = torch.optim.lr_scheduler.CosineAnnealingLR(opt2, T_max=4, eta_min=1e-4)
for step in range(4):
    opt2.zero_grad()
    loss = F.cross_entropy(model(X), y)
    loss.backward()
    torch.nn.utils.clip_grad_value_(model.parameters(), 0.1)
    opt2.step()
    sched2.step()
    print(step, round(loss.item(), 5), sched2.get_last_lr())
print(torch.equal(before, model.encoder.conv.weight), model.encoder.conv.weight.grad)

# --- flatten parameters to a vector and back
vec = parameters_to_vector(model.parameters())
print(vec.shape, vec.requires_grad)
head_vec = parameters_to_vector(model.head.parameters())
vector_to_parameters(head_vec * 2, model.head.parameters())
print(torch.allclose(parameters_to_vector(model.head.parameters()), head_vec * 2))
vector_to_parameters(head_vec, model.head.parameters())

# --- state_dict round trips
sd = model.state_dict()
print(list(sd.keys()))
print(sd["calls"], type(sd).__name__)
buffer = io.BytesIO()
torch.save({"model": model.state_dict(), "optimizer": opt2.state_dict(),
            "scheduler": sched2.state_dict(), "epoch": 4, "note": "checkpoint"}, buffer)
buffer.seek(0)
ckpt = torch.load(buffer)
print(sorted(ckpt.keys()), ckpt["epoch"], ckpt["note"])
print(ckpt["optimizer"]["param_groups"][0]["lr"], sorted(ckpt["optimizer"]["state"].keys()))
print(ckpt["scheduler"]["last_epoch"], ckpt["scheduler"]["base_lrs"])

model2 = Net()
result = model2.load_state_dict(ckpt["model"])
print(result)
print(all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                              model2.state_dict().values())))
model2.eval()
with torch.no_grad():
    print(torch.allclose(model(X[:4]), model2(X[:4])))

model2.encoder.requires_grad_(False)
opt3 = torch.optim.Adam(filter(lambda p: p.requires_grad, model2.parameters()), lr=1e-2)
opt3.load_state_dict(ckpt["optimizer"])
print(opt3.state_dict()["param_groups"][0]["lr"], opt3.state[model2.head[0].weight]["step"])

with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "model.pt")
    torch.save(model.state_dict(), path)
    sd2 = torch.load(path, weights_only=True)
    print(os.path.exists(path), list(sd2)[:2], torch.equal(sd2["head.2.bias"], model.head[2].bias))
    torch.save([torch.arange(3), {"a": torch.tensor(1.5)}, (1, 2.0, "x", None)], path)
    print(torch.load(path))

missing = model2.load_state_dict({k: v for k, v in sd.items() if not k.startswith("head.2")},
                                 strict=False)
print(missing.missing_keys, missing.unexpected_keys)
try:
    model2.load_state_dict({"bogus": torch.zeros(1)})
except RuntimeError as e:
    print(str(e).splitlines()[0])

# --- ReduceLROnPlateau and LambdaLR
opt4 = torch.optim.SGD(model.head.parameters(), lr=0.5)
plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt4, mode="min", factor=0.5, patience=1)
for val_loss in [1.0, 0.9, 0.95, 0.97, 0.99, 0.5, 0.6, 0.7]:
    plateau.step(val_loss)
    print(val_loss, opt4.param_groups[0]["lr"])
opt5 = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
lam = torch.optim.lr_scheduler.LambdaLR(opt5, lr_lambda=lambda epoch: 0.95 ** epoch)
lrs = []
for _ in range(4):
    opt5.step()
    lam.step()
    lrs.append(round(lam.get_last_lr()[0], 6))
print(lrs)
