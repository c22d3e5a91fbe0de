# d2l.ai chapter 5 style: an MLP from scratch with dropout, then the concise version with
# nn.Dropout and weight decay passed per parameter group; synthetic Fashion-MNIST-sized data.
import torch
from torch import nn
from torch.utils import data

torch.manual_seed(42)
num_inputs, num_outputs, num_hiddens1, num_hiddens2 = 64, 5, 32, 16
true_W = torch.randn(num_inputs, num_outputs)
features = torch.randn(600, num_inputs)
labels = (features @ true_W + 0.3 * torch.randn(600, num_outputs)).argmax(dim=1)


def load_array(data_arrays, batch_size, is_train=True):
    dataset = data.TensorDataset(*data_arrays)
    return data.DataLoader(dataset, batch_size, shuffle=is_train)


train_iter = load_array((features[:500], labels[:500]), 50)
test_iter = load_array((features[500:], labels[500:]), 50, is_train=False)


def dropout_layer(X, dropout):
    assert 0 <= dropout <= 1
    if dropout == 1:
        return torch.zeros_like(X)
    if dropout == 0:
        return X
    mask = (torch.rand(X.shape) > dropout).float()
    return mask * X / (1.0 - dropout)


X = torch.arange(16, dtype=torch.float32).reshape((2, 8))
print(X)
print(dropout_layer(X, 0.))
print(dropout_layer(X, 0.5))
print(dropout_layer(X, 1.))

dropout1, dropout2 = 0.2, 0.5


class Net(nn.Module):
    def __init__(self, num_inputs, num_outputs, num_hiddens1, num_hiddens2, is_training=True):
        super(Net, self).__init__()
        self.num_inputs = num_inputs
        self.training = is_training
        self.lin1 = nn.Linear(num_inputs, num_hiddens1)
        self.lin2 = nn.Linear(num_hiddens1, num_hiddens2)
        self.lin3 = nn.Linear(num_hiddens2, num_outputs)
        self.relu = nn.ReLU()

    def forward(self, X):
        H1 = self.relu(self.lin1(X.reshape((-1, self.num_inputs))))
        if self.training:
            H1 = dropout_layer(H1, dropout1)
        H2 = self.relu(self.lin2(H1))
        if self.training:
            H2 = dropout_layer(H2, dropout2)
        out = self.lin3(H2)
        return out


class Accumulator:
    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def __getitem__(self, idx):
        return self.data[idx]


def accuracy(y_hat, y):
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


def evaluate_accuracy(net, data_iter):
    if isinstance(net, torch.nn.Module):
        net.eval()
    metric = Accumulator(2)
    with torch.no_grad():
        for X, y in data_iter:
            metric.add(accuracy(net(X), y), y.numel())
    return metric[0] / metric[1]


def train_epoch(net, train_iter, loss, updater):
    if isinstance(net, torch.nn.Module):
        net.train()
    metric = Accumulator(3)
    for X, y in train_iter:
        y_hat = net(X)
        l = loss(y_hat, y)
        updater.zero_grad()
        l.mean().backward()
        updater.step()
        metric.add(float(l.sum()), accuracy(y_hat, y), y.numel())
    return metric[0] / metric[2], metric[1] / metric[2]


def train(net, train_iter, test_iter, loss, num_epochs, updater):
    for epoch in range(num_epochs):
        train_metrics = train_epoch(net, train_iter, loss, updater)
        test_acc = evaluate_accuracy(net, test_iter)
        print(f"epoch {epoch + 1}: loss {train_metrics[0]:.4f}, "
              f"train acc {train_metrics[1]:.3f}, test acc {test_acc:.3f}")


net = Net(num_inputs, num_outputs, num_hiddens1, num_hiddens2)
num_epochs, lr = 4, 0.5
loss = nn.CrossEntropyLoss(reduction='none')
trainer = torch.optim.SGD(net.parameters(), lr=lr)
train(net, train_iter, test_iter, loss, num_epochs, trainer)

# concise implementation
net = nn.Sequential(nn.Flatten(),
                    nn.Linear(num_inputs, num_hiddens1), nn.ReLU(),
                    nn.Dropout(dropout1),
                    nn.Linear(num_hiddens1, num_hiddens2), nn.ReLU(),
                    nn.Dropout(dropout2),
                    nn.Linear(num_hiddens2, num_outputs))


def init_weights(m):
    if type(m) == nn.Linear:
        nn.init.normal_(m.weight, std=0.01)


net.apply(init_weights)
trainer = torch.optim.SGD(net.parameters(), lr=lr)
train(net, train_iter, test_iter, loss, num_epochs, trainer)
print(net)

# weight decay, concise: decay only the weights, not the biases
wd = 3.0
net = nn.Sequential(nn.Linear(num_inputs, 1))
for param in net.parameters():
    param.data.normal_()
n_train = 20
Xr = torch.randn(n_train + 100, num_inputs)
yr = Xr @ (torch.ones(num_inputs, 1) * 0.01) + 0.05 + 0.01 * torch.randn(n_train + 100, 1)
loss = nn.MSELoss(reduction='none')
trainer = torch.optim.SGD([
    {"params": net[0].weight, 'weight_decay': wd},
    {"params": net[0].bias}], lr=0.003)
dl = load_array((Xr[:n_train], yr[:n_train]), 5)
for epoch in range(30):
    for X, y in dl:
        trainer.zero_grad()
        l = loss(net(X), y)
        l.mean().backward()
        trainer.step()
    if (epoch + 1) % 10 == 0:
        with torch.no_grad():
            print(epoch + 1, loss(net(Xr[n_train:]), yr[n_train:]).mean().item())
print('L2 norm of w:', net[0].weight.norm().item())
print(trainer.param_groups[0]['weight_decay'], trainer.param_groups[1]['weight_decay'])
