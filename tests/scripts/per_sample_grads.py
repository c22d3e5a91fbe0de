# torch.func as its tutorials use it: per-sample gradients of a small CNN-free classifier with
# vmap(grad(loss)) and functional_call (checked against a loop of ordinary backward passes and
# used for DP-SGD style clipping), model ensembling with stack_module_state, Jacobians and a
# Hessian of an MLP, jvp/vjp of sin/cos, and activation checkpointing with dropout.
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import (functional_call, grad, hessian, jacfwd, jacrev, jvp,
                        stack_module_state, vjp, vmap)
from torch.utils.checkpoint import checkpoint, checkpoint_sequential

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)


class SimpleMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


model = SimpleMLP()
data = torch.randn(16, 8)
targets = torch.randint(4, (16,))

# --- per-sample gradients
params = {k: v.detach() for k, v in model.named_parameters()}
buffers = {k: v.detach() for k, v in model.named_buffers()}


def compute_loss(params, buffers, sample, target):
    batch = sample.unsqueeze(0)
    predictions = functional_call(model, (params, buffers), (batch,))
    return F.cross_entropy(predictions, target.unsqueeze(0))


per_sample = vmap(grad(compute_loss), in_dims=(None, None, 0, 0))(params, buffers, data, targets)
for name, g in per_sample.items():
    print(name, tuple(g.shape), f"{g.norm().item():.6f}")

loop = []
for i in range(data.shape[0]):
    model.zero_grad()
    F.cross_entropy(model(data[i:i + 1]), targets[i:i + 1]).backward()
    loop.append(model.fc1.weight.grad.clone())
print("matches loop:", torch.allclose(per_sample["fc1.weight"], torch.stack(loop), atol=1e-10))

# DP-SGD: clip each sample's gradient to norm 1, average, take one SGD step
norms = torch.stack([g.flatten(1).norm(dim=1) for g in per_sample.values()]).norm(dim=0)
factor = (1.0 / (norms + 1e-6)).clamp(max=1.0)
print("per-sample norms", [round(v, 4) for v in norms.tolist()[:4]])
with torch.no_grad():
    for name, p in model.named_parameters():
        clipped = per_sample[name] * factor.view(-1, *[1] * (per_sample[name].dim() - 1))
        p -= 0.1 * clipped.mean(0)
print(f"loss after DP step {F.cross_entropy(model(data), targets).item():.6f}")

# --- model ensembling
models = [SimpleMLP() for _ in range(4)]
ens_params, ens_buffers = stack_module_state(models)
base = models[0]


def fmodel(params, buffers, x):
    return functional_call(base, (params, buffers), (x,))


minibatch = data[:5]
same = vmap(fmodel, in_dims=(0, 0, None))(ens_params, ens_buffers, minibatch)
print("ensemble", tuple(same.shape), torch.allclose(same[2], models[2](minibatch)))
different = vmap(fmodel)(ens_params, ens_buffers, data[:8].view(4, 2, 8))
print("ensemble (own batches)", tuple(different.shape), f"{different.sum().item():.6f}")

# --- Jacobians and a Hessian
x = torch.randn(8)
J = jacrev(model)(x)
print("jacobian", tuple(J.shape), torch.allclose(J, jacfwd(model)(x)), f"{J.abs().sum():.6f}")
batched_J = vmap(jacrev(model))(data[:3])
print("batched jacobian", tuple(batched_J.shape))
H = hessian(lambda p: functional_call(model, {**params, "fc2.bias": p}, (x,)).tanh().sum())(
    params["fc2.bias"])
print("hessian wrt fc2.bias")
print(H)
w_grad = grad(lambda w: F.cross_entropy(functional_call(model, {"fc2.weight": w}, (data,)),
                                        targets))(model.fc2.weight.detach())
print(f"grad wrt fc2.weight norm {w_grad.norm().item():.6f}")

# --- jvp and vjp of sin/cos
t = torch.linspace(-1, 1, 5)
out, tangent = jvp(lambda t: t.sin().cos(), (t,), (torch.ones(5),))
print("jvp", out, tangent)
out, vjp_fn = vjp(lambda a, b: a.sin() * b.cos(), t, t.flip(0))
print("vjp", vjp_fn(torch.ones(5)))
print("second derivative of sin", grad(grad(torch.sin))(torch.tensor(0.5)))

# --- activation checkpointing
deep = nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Dropout(0.2), nn.Linear(32, 32), nn.Tanh(),
                     nn.Dropout(0.2), nn.Linear(32, 1))
inp = torch.randn(6, 8, requires_grad=True)
torch.manual_seed(5)
deep(inp).pow(2).mean().backward()
plain = [p.grad.clone() for p in deep.parameters()]
deep.zero_grad()
torch.manual_seed(5)
checkpoint(deep, inp, use_reentrant=False).pow(2).mean().backward()
print("checkpoint grads equal:",
      all(torch.allclose(a, p.grad) for a, p in zip(plain, deep.parameters())))
deep.zero_grad()
torch.manual_seed(5)
checkpoint_sequential(deep, 3, inp, use_reentrant=True).pow(2).mean().backward()
print("checkpoint_sequential grads equal:",
      all(torch.allclose(a, p.grad) for a, p in zip(plain, deep.parameters())))
print(f"first layer grad sum {deep[0].weight.grad.sum().item():.8f}")
