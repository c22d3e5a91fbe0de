# "A Gentle Introduction to torch.autograd" and "Autograd mechanics" snippets.
import torch
from torch import nn, optim

a = torch.tensor([2., 3.], requires_grad=True)
b = torch.tensor([6., 4.], requires_grad=True)
Q = 3*a**3 - b**2
print(Q)

external_grad = torch.tensor([1., 1.])
Q.backward(gradient=external_grad)

# check if collected gradients are correct
print(9*a**2 == a.grad)
print(-2*b == b.grad)
print(a.grad, b.grad)

x = torch.rand(5, 5)
y = torch.rand(5, 5)
z = torch.rand((5, 5), requires_grad=True)

a = x + y
print(f"Does `a` require gradients?: {a.requires_grad}")
b = x + z
print(f"Does `b` require gradients?: {b.requires_grad}")

# Freezing parameters
model = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 4))
for param in model.parameters():
    param.requires_grad = False
model[2] = nn.Linear(8, 2)
optimizer = optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
print(sum(p.numel() for p in model.parameters() if p.requires_grad))
print([n for n, p in model.named_parameters() if p.requires_grad])

# requires_grad_, detach, no_grad, set_grad_enabled
w = torch.ones(3).requires_grad_()
print(w.requires_grad, w.detach().requires_grad)
with torch.no_grad():
    v = w * 2
print(v.requires_grad)
with torch.set_grad_enabled(False):
    print((w * 2).requires_grad)
with torch.enable_grad():
    print((w * 2).requires_grad)

@torch.no_grad()
def doubler(t):
    return t * 2
print(doubler(w).requires_grad)

# Computing gradients of the simple example in the "Tensors and autograd" docs
x = torch.ones(5)  # input tensor
y = torch.zeros(3)  # expected output
torch.manual_seed(0)
w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)
z = torch.matmul(x, w)+b
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
print(f"Gradient function for z = {z.grad_fn}".split(" object")[0])
print(f"Gradient function for loss = {loss.grad_fn}".split(" object")[0])
loss.backward()
print(w.grad)
print(b.grad)

z = torch.matmul(x, w)+b
z_det = z.detach()
print(z.requires_grad, z_det.requires_grad)

# Jacobian-vector products, accumulation, retain_graph
inp = torch.eye(4, 5, requires_grad=True)
out = (inp+1).pow(2).t()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"First call\n{inp.grad}")
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\nSecond call\n{inp.grad}")
inp.grad.zero_()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\nCall after zeroing gradients\n{inp.grad}")

# torch.autograd.grad and higher order derivatives
x = torch.tensor(2.0, requires_grad=True)
y = x ** 3
dy, = torch.autograd.grad(y, x, create_graph=True)
d2y, = torch.autograd.grad(dy, x)
print(dy, d2y)

# retain_grad on a non-leaf, hooks
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
h = x * 2
h.retain_grad()
h.register_hook(lambda g: print("hook saw", g))
(h ** 2).sum().backward()
print(h.grad, x.grad)
print(x.grad.data, x.data)

# .data and in-place updates on leaves
p = torch.ones(2, requires_grad=True)
p.data.mul_(3)
print(p, p.is_leaf, p.grad_fn)
try:
    p.add_(1)
except RuntimeError as e:
    print("RuntimeError:", e)
