"""Seed 001 (Lab 4): a computation graph by hand, then checked with autograd.

Task 1: y_hat = x * w, s = y_hat - y, loss = s**2 with x=4, y=1, w=0.5.
Task 2: the FNN x1 -> m1 = x1*w1 -> r = ReLU(m1) -> m2 = r*w2 -> y_hat = sigmoid(m2) -> s -> loss
with x1=4, w1=0.5, w2=0.2, y=1.

    python examples/seed001_lab_graph.py [--epochs N]
"""
import argparse

import chainrule as torch


def check_result(x=4.0, y=1.0, w=0.5):
    """One forward and one backward pass of Task 1; prints every node and dloss/dw."""
    x = torch.tensor(x)
    y = torch.tensor(y)
    w = torch.tensor(w, requires_grad=True)
    y_hat = x * w
    s = y_hat - y
    loss = s ** 2
    loss.backward()
    print("y_hat:", y_hat.item(), "s:", s.item(), "loss:", loss.item())
    # By hand: dloss/ds = 2s, ds/dy_hat = 1, dy_hat/dw = x  ->  dloss/dw = 2 * s * x
    print("dloss/dw by hand:", 2 * s.item() * x.item(), "autograd:", w.grad.item())
    return w.grad.item()


def train(x=4.0, y=1.0, w=0.5, learning_rate=0.01, epochs=20):
    """Gradient descent on w for Task 1's single sample."""
    x = torch.tensor(x)
    y = torch.tensor(y)
    w = torch.tensor(w, requires_grad=True)
    for epoch in range(epochs):
        loss = (x * w - y) ** 2
        loss.backward()
        with torch.no_grad():
            w -= learning_rate * w.grad
        w.grad.zero_()
        print(f"epoch {epoch + 1}: w = {w.item():.6f}, loss = {loss.item():.6f}")
    return w


def fnn(x1=4.0, w1=0.5, w2=0.2, y=1.0):
    """Task 2: every node of the FNN's forward pass, then the gradients for w1 and w2."""
    x1 = torch.tensor(x1)
    y = torch.tensor(y)
    w1 = torch.tensor(w1, requires_grad=True)
    w2 = torch.tensor(w2, requires_grad=True)
    m1 = x1 * w1
    r = torch.relu(m1)
    m2 = r * w2
    y_hat = torch.sigmoid(m2)
    s = y_hat - y
    loss = s ** 2
    loss.backward()
    print(f"m1 = {m1.item():.6f}, r = {r.item():.6f}, m2 = {m2.item():.6f}, "
          f"y_hat = {y_hat.item():.6f}, s = {s.item():.6f}, loss = {loss.item():.6f}")
    # By hand, right to left. The sigmoid's local gradient is y_hat * (1 - y_hat): the slide
    # writes it in terms of the node's output.
    dloss_dm2 = 2 * s.item() * 1.0 * y_hat.item() * (1 - y_hat.item())
    dloss_dw2 = dloss_dm2 * r.item()
    relu_grad = 1.0 if m1.item() > 0 else 0.0
    dloss_dw1 = dloss_dm2 * w2.item() * relu_grad * x1.item()
    print(f"dloss/dw2 by hand = {dloss_dw2:.6f}, autograd = {w2.grad.item():.6f}")
    print(f"dloss/dw1 by hand = {dloss_dw1:.6f}, autograd = {w1.grad.item():.6f}")
    return w1.grad.item(), w2.grad.item()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args(argv)
    print("== Task 1: forward and backward ==")
    check_result()
    print("== Task 1: training loop ==")
    train(epochs=args.epochs)
    print("== Task 2: FNN ==")
    fnn()


if __name__ == "__main__":
    main()
