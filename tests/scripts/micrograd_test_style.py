# micrograd's test file style: build scalar expressions, mirror them in torch with .double()
# and requires_grad = True, and compare forward values and gradients; plus the reference
# engine written as a tiny class, checked against torch on a random MLP.
import math
import random

import torch


class Value:
    def __init__(self, data, _children=(), _op=''):
        self.data = data
        self.grad = 0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), '+')

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), '*')

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, other):
        out = Value(self.data ** other, (self,), f'**{other}')

        def _backward():
            self.grad += (other * self.data ** (other - 1)) * out.grad
        out._backward = _backward
        return out

    def relu(self):
        out = Value(0 if self.data < 0 else self.data, (self,), 'ReLU')

        def _backward():
            self.grad += (out.data > 0) * out.grad
        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,), 'tanh')

        def _backward():
            self.grad += (1 - t ** 2) * out.grad
        out._backward = _backward
        return out

    def backward(self):
        topo, visited = [], set()

        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)
        build_topo(self)
        self.grad = 1
        for v in reversed(topo):
            v._backward()

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other ** -1

    def __rtruediv__(self, other):
        return other * self ** -1


def test_sanity_check():
    x = Value(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    xmg, ymg = x, y

    x = torch.Tensor([-4.0]).double()
    x.requires_grad = True
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    xpt, ypt = x, y

    assert ymg.data == ypt.data.item()
    assert xmg.grad == xpt.grad.item()
    print("sanity", ypt.data.item(), xpt.grad.item(), ypt)


def test_more_ops():
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b ** 3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    amg, bmg, gmg = a, b, g

    a = torch.Tensor([-4.0]).double()
    b = torch.Tensor([2.0]).double()
    a.requires_grad = True
    b.requires_grad = True
    c = a + b
    d = a * b + b ** 3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    apt, bpt, gpt = a, b, g

    tol = 1e-6
    assert abs(gmg.data - gpt.data.item()) < tol
    assert abs(amg.grad - apt.grad.item()) < tol
    assert abs(bmg.grad - bpt.grad.item()) < tol
    print("more ops", gpt.data.item(), apt.grad.item(), bpt.grad.item())
    print(g.grad_fn, g.grad_fn.next_functions)


test_sanity_check()
test_more_ops()


class Neuron:
    def __init__(self, nin, nonlin=True):
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = nonlin

    def __call__(self, x):
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.tanh() if self.nonlin else act

    def parameters(self):
        return self.w + [self.b]


random.seed(1337)
layers = [[Neuron(3) for _ in range(4)], [Neuron(4) for _ in range(4)], [Neuron(4, False)]]
xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
ys = [1.0, -1.0, -1.0, 1.0]


def forward_mg(x):
    for layer in layers:
        x = [n(x) for n in layer]
    return x[0]


# the same network as torch tensors (double precision, leaf tensors built from the floats)
Ws = [torch.tensor([[w.data for w in n.w] for n in layer], dtype=torch.float64,
                   requires_grad=True) for layer in layers]
Bs = [torch.tensor([n.b.data for n in layer], dtype=torch.float64).requires_grad_()
      for layer in layers]


def forward_pt(X):
    h = X
    for i, (W, B) in enumerate(zip(Ws, Bs)):
        h = h @ W.T + B
        if i < len(Ws) - 1:
            h = torch.tanh(h)
    return h.squeeze(-1)


for k in range(5):
    ypred = [forward_mg(x) for x in xs]
    loss = sum((yout - ygt) ** 2 for ygt, yout in zip(ys, ypred))
    params = [p for layer in layers for n in layer for p in n.parameters()]
    for p in params:
        p.grad = 0.0
    loss.backward()

    X = torch.tensor(xs, dtype=torch.double)
    Y = torch.tensor(ys).double()
    loss_pt = ((forward_pt(X) - Y) ** 2).sum()
    for t in Ws + Bs:
        t.grad = None
    loss_pt.backward()
    gw = [[w.grad for w in n.w] for n in layers[0]]
    assert torch.allclose(Ws[0].grad, torch.tensor(gw, dtype=torch.float64))
    assert math.isclose(loss.data, loss_pt.item(), rel_tol=1e-12)

    for p in params:
        p.data += -0.05 * p.grad
    with torch.no_grad():
        for t in Ws + Bs:
            t -= 0.05 * t.grad
    print(k, round(loss.data, 10), round(loss_pt.item(), 10), loss_pt.dtype)

print(Ws[-1].grad)
print(Bs[0].grad.dtype, Bs[0].is_leaf, loss_pt.is_leaf, loss_pt.requires_grad)
x = torch.Tensor([1.5]).double()
print(x.requires_grad, x.dtype, x.type())
x.requires_grad = True
y = x.tanh() * x.sigmoid() + x.exp().log()
y.backward()
print(y, x.grad)
