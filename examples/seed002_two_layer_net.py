"""Seed 002: the two-layer ReLU net trained with autograd, with `clamp(min=0)` and with the
custom autograd Function `MyReLU`. Same seed, same data: both print the same losses.

    python examples/seed002_two_layer_net.py [--steps 500] [--every 100] [--seed 0]
"""
import argparse

import chainrule as torch


class MyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_y):
        x, = ctx.saved_tensors
        grad_input = grad_y.clone()
        grad_input[x < 0] = 0
        return grad_input


def my_relu(x):
    return MyReLU.apply(x)


def clamp_relu(x):
    return x.clamp(min=0)


def train(relu, steps=500, every=100, seed=0):
    """The slide's loop; `relu` is where the two versions differ. Returns the last loss."""
    torch.manual_seed(seed)
    N, D_in, H, D_out = 64, 1000, 100, 10
    x = torch.randn(N, D_in)
    y = torch.randn(N, D_out)
    w1 = torch.randn(D_in, H, requires_grad=True)
    w2 = torch.randn(H, D_out, requires_grad=True)

    learning_rate = 1e-6
    for t in range(steps):
        y_pred = relu(x.mm(w1)).mm(w2)
        loss = (y_pred - y).pow(2).sum()
        if t % every == 0 or t == steps - 1:
            print(t, loss.item())

        loss.backward()

        with torch.no_grad():
            w1 -= learning_rate * w1.grad
            w2 -= learning_rate * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()
    return loss.item()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print("== x.mm(w1).clamp(min=0).mm(w2) ==")
    train(clamp_relu, args.steps, args.every, args.seed)
    print("== my_relu(x.mm(w1)).mm(w2) ==")
    train(my_relu, args.steps, args.every, args.seed)


if __name__ == "__main__":
    main()
