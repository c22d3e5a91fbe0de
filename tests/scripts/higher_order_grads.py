# Second-order autograd as people use it: a WGAN-GP gradient penalty, Hessian-vector products
# (double backward and the finite-difference check), a full Hessian built row by row, the
# Jacobian of a vector function, gradcheck / gradgradcheck in double precision, and
# autograd.grad with allow_unused / retain_graph / grad_outputs.
import torch
import torch.nn as nn
from torch import autograd

torch.manual_seed(3)

# --- gradient penalty (WGAN-GP)
critic = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))
real = torch.randn(8, 4)
fake = torch.randn(8, 4)
opt = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))


def gradient_penalty(critic, real, fake):
    alpha = torch.rand(real.size(0), 1)
    alpha = alpha.expand_as(real)
    interpolates = alpha * real + (1 - alpha) * fake
    interpolates.requires_grad_(True)
    out = critic(interpolates)
    grads = autograd.grad(outputs=out, inputs=interpolates,
                          grad_outputs=torch.ones_like(out),
                          create_graph=True, retain_graph=True, only_inputs=True)[0]
    grads = grads.view(grads.size(0), -1)
    return ((grads.norm(2, dim=1) - 1) ** 2).mean()


for step in range(3):
    opt.zero_grad()
    gp = gradient_penalty(critic, real, fake)
    loss = critic(fake).mean() - critic(real).mean() + 10 * gp
    loss.backward()
    opt.step()
    print(f"step {step} gp {gp.item():.6f} loss {loss.item():.6f}")
print(critic[0].weight.grad.abs().sum() > 0)

# --- Hessian-vector product
w = torch.randn(5, dtype=torch.float64, requires_grad=True)
A = torch.randn(5, 5, dtype=torch.float64)
A = A @ A.t()


def f(w):
    return 0.5 * w @ A @ w + torch.sin(w).sum()


v = torch.randn(5, dtype=torch.float64)
g, = torch.autograd.grad(f(w), w, create_graph=True)
print(g.requires_grad, g.grad_fn is not None)
hvp, = torch.autograd.grad(g, w, grad_outputs=v)
exact = A @ v - torch.sin(w) * v
print(torch.allclose(hvp, exact), (hvp - exact).abs().max() < 1e-12)
eps = 1e-6
g_plus, = torch.autograd.grad(f(w + eps * v), w)
g_minus, = torch.autograd.grad(f(w - eps * v), w)
print(torch.allclose(hvp, (g_plus - g_minus) / (2 * eps), atol=1e-5))

# (g . v).backward() leaves the HVP in w.grad
w.grad = None
g, = torch.autograd.grad(f(w), w, create_graph=True)
(g * v).sum().backward()
print(torch.allclose(w.grad, hvp))

# --- full Hessian, row by row
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = (x ** 3).sum() + x[0] * x[1] * x[2]
grad_x, = torch.autograd.grad(y, x, create_graph=True)
H = torch.stack([torch.autograd.grad(grad_x[i], x, retain_graph=True)[0] for i in range(3)])
print(grad_x)
print(H)
print(torch.autograd.functional.hessian(lambda t: (t ** 3).sum() + t[0] * t[1] * t[2], x.detach()))

# --- Jacobian of a vector function
def vf(t):
    return torch.stack([t[0] * t[1], t[1].exp(), t.pow(2).sum()])


t = torch.tensor([0.5, -1.0], requires_grad=True)
out = vf(t)
J = torch.zeros(3, 2)
for i in range(3):
    J[i] = torch.autograd.grad(out[i], t, retain_graph=True)[0]
print(J)
print(torch.autograd.functional.jacobian(vf, t.detach()))

# --- allow_unused, retain_graph and the errors
a = torch.tensor(2.0, requires_grad=True)
b = torch.tensor(3.0, requires_grad=True)
c = a * a
ga, gb = torch.autograd.grad(c, [a, b], allow_unused=True, retain_graph=True)
print(ga, gb)
ga, gb = torch.autograd.grad(c, [a, b], allow_unused=True, materialize_grads=True)
print(ga, gb)
try:
    torch.autograd.grad(c, [a, b])
except RuntimeError as e:
    print("RuntimeError:", str(e).split(".")[0])

# third derivative of tanh at 0.3
z = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
d1, = torch.autograd.grad(torch.tanh(z), z, create_graph=True)
d2, = torch.autograd.grad(d1, z, create_graph=True)
d3, = torch.autograd.grad(d2, z)
print(d1.item(), d2.item(), d3.item())

# --- gradcheck on a small double-precision function
inp = (torch.randn(3, 4, dtype=torch.double, requires_grad=True),
       torch.randn(4, 2, dtype=torch.double, requires_grad=True))
print(torch.autograd.gradcheck(lambda p, q: torch.tanh(p @ q).sum(dim=0), inp, eps=1e-6, atol=1e-4))
print(torch.autograd.gradgradcheck(lambda p, q: (p @ q).sigmoid(), inp))
