# A LeNet-style CNN trained on synthetic "images" (horizontal vs vertical bars), CPU only.
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import TensorDataset, DataLoader

torch.manual_seed(0)


def make_data(n):
    x = torch.randn(n, 1, 12, 12) * 0.3
    y = torch.randint(0, 2, (n,))
    for i in range(n):
        k = torch.randint(2, 10, (1,)).item()
        if y[i] == 0:
            x[i, 0, k, :] += 2.0
        else:
            x[i, 0, :, k] += 2.0
    return x, y


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 8, 3)
        self.fc1 = nn.Linear(8 * 2 * 2, 16)
        self.fc2 = nn.Linear(16, 2)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)  # flatten all dimensions except batch
        x = F.relu(self.fc1(x))
        x = self.fc2(x)
        return x


net = Net()
print(net)
print(sum(p.numel() for p in net.parameters()))
x_train, y_train = make_data(256)
x_test, y_test = make_data(64)
trainloader = DataLoader(TensorDataset(x_train, y_train), batch_size=32, shuffle=True)

criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.05, momentum=0.9)

for epoch in range(4):
    running_loss = 0.0
    for i, data in enumerate(trainloader, 0):
        inputs, labels = data
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
    print(f'[{epoch + 1}] loss: {running_loss / len(trainloader):.4f}')

correct = 0
total = 0
with torch.no_grad():
    outputs = net(x_test)
    _, predicted = torch.max(outputs.data, 1)
    total += y_test.size(0)
    correct += (predicted == y_test).sum().item()
print(f'Accuracy of the network on the {total} test images: {100 * correct // total} %')

# a second, deeper model with BatchNorm2d, AvgPool, AdaptiveAvgPool and Adam
torch.manual_seed(1)
model = nn.Sequential(
    nn.Conv2d(1, 4, kernel_size=3, padding=1, bias=False),
    nn.BatchNorm2d(4),
    nn.ReLU(),
    nn.AvgPool2d(2),
    nn.Conv2d(4, 8, kernel_size=3, stride=2),
    nn.ReLU(),
    nn.AdaptiveAvgPool2d((1, 1)),
    nn.Flatten(),
    nn.Linear(8, 2),
)
print(model)
opt = optim.Adam(model.parameters(), lr=0.01)
for step in range(15):
    idx = torch.randint(0, 256, (32,))
    loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 5 == 4:
        print(step, f"{loss.item():.4f}")
model.eval()
with torch.no_grad():
    acc = (model(x_test).argmax(1) == y_test).float().mean().item()
print(f"eval accuracy {acc:.3f}")
print(model[1].running_mean.shape, model[1].num_batches_tracked)
