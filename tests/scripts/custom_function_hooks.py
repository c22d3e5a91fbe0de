# Custom autograd Functions the way projects write them (ctx.save_for_backward,
# ctx.needs_input_grad, ctx.mark_non_differentiable, non-tensor arguments, a straight-through
# estimator, once_differentiable), and hooks: tensor.register_hook, module forward /
# forward-pre / full backward hooks, and removing them with the returned handle.
import torch
import torch.nn as nn
from torch.autograd import Function
from torch.autograd.function import once_differentiable

torch.manual_seed(11)


calls = []


class LinearFunction(Function):
    @staticmethod
    def forward(ctx, input, weight, bias=None):
        ctx.save_for_backward(input, weight, bias)
        output = input.mm(weight.t())
        if bias is not None:
            output += bias.unsqueeze(0).expand_as(output)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        input, weight, bias = ctx.saved_tensors
        grad_input = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_input = grad_output.mm(weight)
        if ctx.needs_input_grad[1]:
            grad_weight = grad_output.t().mm(input)
        if bias is not None and ctx.needs_input_grad[2]:
            grad_bias = grad_output.sum(0)
        calls.append(ctx.needs_input_grad)
        return grad_input, grad_weight, grad_bias


class MyLinear(nn.Module):
    def __init__(self, input_features, output_features, bias=True):
        super().__init__()
        self.input_features = input_features
        self.output_features = output_features
        self.weight = nn.Parameter(torch.empty(output_features, input_features))
        if bias:
            self.bias = nn.Parameter(torch.empty(output_features))
        else:
            self.register_parameter('bias', None)
        self.weight.data.uniform_(-0.1, 0.1)
        if self.bias is not None:
            self.bias.data.uniform_(-0.1, 0.1)

    def forward(self, input):
        return LinearFunction.apply(input, self.weight, self.bias)

    def extra_repr(self):
        return 'input_features={}, output_features={}, bias={}'.format(
            self.input_features, self.output_features, self.bias is not None)


layer = MyLinear(3, 2)
print(layer)
x = torch.randn(4, 3)
out = layer(x)
print(out.grad_fn.__class__.__name__, out.requires_grad)
out.sum().backward()
print(layer.weight.grad, layer.bias.grad)
x.requires_grad_()
LinearFunction.apply(x, layer.weight.detach()).pow(2).sum().backward()
print(x.grad)
print("needs_input_grad:", calls)

# gradcheck on the custom function in double precision
inputs = (torch.randn(5, 3, dtype=torch.double, requires_grad=True),
          torch.randn(2, 3, dtype=torch.double, requires_grad=True))
print(torch.autograd.gradcheck(LinearFunction.apply, inputs, eps=1e-6, atol=1e-4))


class MulConstant(Function):
    @staticmethod
    def forward(ctx, tensor, constant):
        ctx.constant = constant
        return tensor * constant

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * ctx.constant, None


a = torch.ones(3, requires_grad=True)
MulConstant.apply(a, 2.5).sum().backward()
print(a.grad)


class StraightThroughSign(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.sign()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        x, = ctx.saved_tensors
        return grad_output * (x.abs() <= 1).to(grad_output.dtype)


w = torch.tensor([-2.0, -0.5, 0.0, 0.7, 3.0], requires_grad=True)
y = StraightThroughSign.apply(w)
print(y)
(y * torch.arange(5.)).sum().backward()
print(w.grad)


class SortWithIndices(Function):
    @staticmethod
    def forward(ctx, x):
        values, idx = x.sort()
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(idx)
        return values, idx

    @staticmethod
    def backward(ctx, g_values, g_idx):
        idx, = ctx.saved_tensors
        grad = torch.zeros_like(g_values)
        grad.scatter_(0, idx, g_values)
        return grad


s = torch.tensor([3.0, 1.0, 2.0], requires_grad=True)
values, idx = SortWithIndices.apply(s)
print(values, idx, idx.requires_grad)
(values * torch.tensor([1.0, 10.0, 100.0])).sum().backward()
print(s.grad)


class Exp(Function):
    @staticmethod
    def forward(ctx, i):
        result = i.exp()
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, grad_output):
        result, = ctx.saved_tensors
        return grad_output * result


e = torch.tensor([0.0, 1.0], dtype=torch.float64, requires_grad=True)
ye = Exp.apply(e)
g1, = torch.autograd.grad(ye.sum(), e, create_graph=True)
print(ye, g1)

# --- tensor hooks
v = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
h = v.register_hook(lambda grad: grad * 2)
seen = []
v2 = v * v
v2.register_hook(lambda grad: seen.append(grad.clone()))
v2.retain_grad()
v2.sum().backward()
print(v.grad, seen, v2.grad)
h.remove()
v.grad.zero_()
(v * v).sum().backward()
print(v.grad)

# --- module hooks
model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
activations = {}


def get_activation(name):
    def hook(model, input, output):
        activations[name] = output.detach()
    return hook


def pre_hook(module, args):
    print("pre-hook on", type(module).__name__, "input", tuple(args[0].shape))


def scale_output(module, inp, out):
    return out * 0.5


def backward_hook(module, grad_input, grad_output):
    print("backward hook", type(module).__name__,
          [None if g is None else tuple(g.shape) for g in grad_input],
          [tuple(g.shape) for g in grad_output])


handles = [model[0].register_forward_hook(get_activation('fc1')),
           model[1].register_forward_hook(get_activation('relu')),
           model[0].register_forward_pre_hook(pre_hook),
           model[2].register_full_backward_hook(backward_hook)]
inp = torch.randn(2, 4, requires_grad=True)
out = model(inp)
print(activations['fc1'])
print(activations['relu'])
out.sum().backward()
h2 = model[2].register_forward_hook(scale_output)
print(torch.allclose(model(inp), out * 0.5))
h2.remove()
for hd in handles:
    hd.remove()
print(torch.equal(model(inp), out), len(activations))

# a hook that records gradient norms of every parameter
norms = {}
for name, p in model.named_parameters():
    p.register_hook(lambda grad, name=name: norms.__setitem__(name, round(grad.norm().item(), 4)))
model.zero_grad()
model(inp).pow(2).mean().backward()
print(norms)
