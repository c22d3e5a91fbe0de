"""Seed 004: one sigmoid neuron on SimpleDataset, trained by gradient descent three ways:
with hand-derived gradients, with autograd, and with optim.SGD; then RMSE and MAE built from
nn.MSELoss and nn.L1Loss.

Prints the slide's figures first: y_pred = tensor([0.8022, 1.0000, ..., 0.6225]) and the MSE.

    python examples/seed004_sigmoid_neuron.py [--epochs 20000] [--mode all|manual|autograd|optim]
"""
import argparse

import chainrule as torch
from chainrule import nn
from chainrule.utils.data import Dataset, DataLoader

device = "cpu"


class SimpleDataset(Dataset):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        X = [[0.5, 0.9], [14.0, 12.0], [15.0, 13.6],
             [28.0, 22.8], [11.0, 8.1], [8.0, 7.1],
             [3.0, 2.9], [-4.0, 0.1], [6.0, 5.3],
             [13.0, 12.0], [21.0, 19.9], [-1.0, 1.5]]
        y = [35.7, 55.9, 58.2, 81.9, 56.3, 48.9, 33.9, 21.8, 48.4, 60.4, 68.4, 29.1]
        self.X = torch.tensor(X, dtype=torch.float, device=device)
        self.y = torch.tensor(y, dtype=torch.float, device=device)
        self.y = self.y * 0.01

    def __len__(self):
        return len(self.X)

    def __getitem__(self, idx):
        return {'input': self.X[idx], 'target': self.y[idx]}

    def __str__(self):
        str = "Data Size: {0}, Input Shape: {1}, Target Shape: {2}".format(
            len(self.X), self.X.shape, self.y.shape)
        return str


def model(X, W, b):
    u = torch.sum(X * W, dim=1) + b
    z = activate(u)
    return z


def activate(u):
    return torch.sigmoid(u)


def loss_fn(y_pred, y):
    loss = torch.square(y_pred - y).mean()
    assert loss.shape == () or loss.shape == (1,)
    return loss


def gradient(W, b, X, y):
    """dL/dW and dL/db by the chain rule (the slide's manual backpropagation)."""
    # W.shape: (2,), b.shape: (1,), X.shape: (12, 2), y.shape: (12)
    y_pred = model(X, W, b)
    dl_dy = 2 * (y_pred - y)
    dl_dy = dl_dy.unsqueeze(dim=-1)                          # dl_dy.shape: (12, 1)
    dy_df = 1.0
    z = torch.sum(X * W, dim=-1) + b                         # z.shape: (12,)
    ds_dz = activate(z) * (1.0 - activate(z))
    ds_dz = ds_dz.unsqueeze(dim=-1)                          # ds_dz.shape: (12, 1)
    W_grad = torch.mean(dl_dy * dy_df * ds_dz * X, dim=0)   # W_grad.shape: (2,)
    b_grad = torch.mean(dl_dy * dy_df * ds_dz * 1.0, dim=0)  # b_grad.shape: (1,)
    return W_grad, b_grad


def report(epoch, loss, W, b, W_grad, b_grad):
    print("[Epoch:{0:6,}] loss:{1:8.5f}, w0:{2:6.3f}, w1:{3:6.3f}, b:{4:6.3f}".format(
        epoch, loss.item(), W[0].item(), W[1].item(), b.item()
    ), end=", ")
    print("W.grad: {0}, b.grad:{1}".format(W_grad, b_grad))


def learn_manual(W, b, train_data_loader, max_epochs=20_000):
    LEARNING_RATE = 0.01
    for epoch in range(0, max_epochs):
        batch = next(iter(train_data_loader))
        y_pred = model(batch["input"], W, b)
        loss = loss_fn(y_pred, batch["target"])
        W_grad, b_grad = gradient(W, b, batch["input"], batch["target"])
        if epoch % 100 == 0:
            report(epoch, loss, W, b, W_grad, b_grad)
        W = W - LEARNING_RATE * W_grad
        b = b - LEARNING_RATE * b_grad
    return W, b


def learn_autograd(W, b, train_data_loader, max_epochs=20_000):
    LEARNING_RATE = 0.01
    for epoch in range(0, max_epochs):
        batch = next(iter(train_data_loader))
        y_pred = model(batch["input"], W, b)
        loss = loss_fn(y_pred, batch["target"])
        loss.backward()
        if epoch % 100 == 0:
            report(epoch, loss, W, b, W.grad, b.grad)
        with torch.no_grad():
            W -= LEARNING_RATE * W.grad
            b -= LEARNING_RATE * b.grad
            W.grad = None
            b.grad = None
    return W, b


def learn_optim(W, b, train_data_loader, max_epochs=20_000):
    LEARNING_RATE = 0.01
    from chainrule import optim
    optimizer = optim.SGD([W, b], lr=LEARNING_RATE)
    for epoch in range(0, max_epochs):
        batch = next(iter(train_data_loader))
        y_pred = model(batch["input"], W, b)
        loss = loss_fn(y_pred, batch["target"])
        loss.backward()
        if epoch % 100 == 0:
            report(epoch, loss, W, b, W.grad, b.grad)
        optimizer.step()
        optimizer.zero_grad()
    return W, b


def errors(W, b, train_data_loader):
    """MSE, RMSE = sqrt(MSE) and MAE of the trained neuron, from nn's losses."""
    batch = next(iter(train_data_loader))
    with torch.no_grad():
        y_pred = model(batch["input"], W, b)
    mse = nn.MSELoss()(y_pred, batch["target"])
    rmse = torch.sqrt(nn.MSELoss()(y_pred, batch["target"]))
    mae = nn.L1Loss()(y_pred, batch["target"])
    print("MSE: {0:.5f}, RMSE: {1:.5f}, MAE: {2:.5f}".format(mse.item(), rmse.item(), mae.item()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20_000)
    parser.add_argument("--mode", choices=["all", "manual", "autograd", "optim"], default="all")
    args = parser.parse_args(argv)

    W = torch.ones((2,))
    b = torch.zeros((1,))
    simple_dataset = SimpleDataset()
    print(simple_dataset)
    train_data_loader = DataLoader(dataset=simple_dataset, batch_size=len(simple_dataset))
    batch = next(iter(train_data_loader))
    y_pred = model(batch["input"], W, b)
    print(y_pred.shape)  # >>> torch.Size([12])
    print(y_pred)  # >>> tensor([0.8022, 1.0000, ..., 0.6225])
    loss = loss_fn(y_pred, batch["target"])
    print(loss)
    print(loss_fn(y_pred, batch["target"] * 100))  # unscaled temperatures: the slide's 2673.9028
    # The slide's `tensor(0.2254)` was computed with the listing's typo [4.0, 0.1] for sample 7
    # (the data slide and the y_pred above use [-4.0, 0.1]):
    X_typo = batch["input"].clone()
    X_typo[7, 0] = 4.0
    print(loss_fn(model(X_typo, W, b), batch["target"]))

    for mode, learn in [("manual", learn_manual), ("autograd", learn_autograd),
                        ("optim", learn_optim)]:
        if args.mode not in ("all", mode):
            continue
        print(f"== learning with {mode} gradients ==")
        needs_grad = mode != "manual"
        W = torch.ones((2,), requires_grad=needs_grad)
        b = torch.zeros((1,), requires_grad=needs_grad)
        W, b = learn(W, b, train_data_loader, args.epochs)
        errors(W, b, train_data_loader)


if __name__ == "__main__":
    main()
