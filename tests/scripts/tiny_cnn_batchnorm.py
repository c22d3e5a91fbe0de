# A tiny CNN for 1x12x12 images (synthetic "bars": horizontal vs vertical vs diagonal):
# Conv2d -> BatchNorm2d -> ReLU -> MaxPool2d, twice, then Flatten and Linear. Adam,
# StepLR, running statistics of batch norm, eval mode, shapes printed along the way.
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

torch.manual_seed(7)


def make_bars(n):
    x = torch.zeros(n, 1, 12, 12)
    y = torch.randint(0, 3, (n,))
    pos = torch.randint(1, 11, (n,))
    for i in range(n):
        p = pos[i].item()
        if y[i] == 0:
            x[i, 0, p, :] = 1.0
        elif y[i] == 1:
            x[i, 0, :, p] = 1.0
        else:
            x[i, 0] = torch.eye(12)
    x += 0.3 * torch.randn_like(x)
    return x, y


X_train, y_train = make_bars(96)
X_test, y_test = make_bars(48)
print(X_train.shape, torch.bincount(y_train))


class ConvNet(nn.Module):
    def __init__(self, num_classes=3):
        super(ConvNet, self).__init__()
        self.layer1 = nn.Sequential(
            nn.Conv2d(1, 4, kernel_size=3, stride=1, padding=1, bias=False),
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2))
        self.layer2 = nn.Sequential(
            nn.Conv2d(4, 8, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(8),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2))
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(p=0.25)
        self.fc = nn.Linear(3 * 3 * 8, num_classes)

    def forward(self, x):
        out = self.layer1(x)
        out = self.layer2(out)
        out = self.flatten(out)
        out = self.dropout(out)
        out = self.fc(out)
        return out


model = ConvNet()
print(model)
n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
print("trainable parameters:", n_params)
for name, buf in model.named_buffers():
    print(name, tuple(buf.shape), buf.dtype)

x = X_train[:2]
for name, layer in model.named_children():
    x = layer(x)
    print(name, "output shape:", tuple(x.shape))

criterion = nn.CrossEntropyLoss()
optimizer = optim.Adam(model.parameters(), lr=0.01)
scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)

batch_size = 16
for epoch in range(6):
    model.train()
    perm = torch.randperm(X_train.size(0))
    total_loss = 0.0
    for i in range(0, X_train.size(0), batch_size):
        idx = perm[i:i + batch_size]
        images, labels = X_train[idx], y_train[idx]
        outputs = model(images)
        loss = criterion(outputs, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_loss += loss.item()
    scheduler.step()
    print('Epoch [{}/{}], Loss: {:.4f}, lr: {}'.format(
        epoch + 1, 6, total_loss / (X_train.size(0) // batch_size), scheduler.get_last_lr()))

print(model.layer1[1].running_mean)
print(model.layer1[1].running_var)
print(model.layer1[1].num_batches_tracked)

model.eval()
with torch.no_grad():
    outputs = model(X_test)
    _, predicted = torch.max(outputs.data, 1)
    correct = (predicted == y_test).sum().item()
    print('Test Accuracy: {} %'.format(100 * correct / y_test.size(0)))
    print(F.softmax(outputs[:3], dim=1))

# functional forms on one batch
w = model.layer1[0].weight
out = F.conv2d(X_test[:1], w, model.layer1[0].bias, padding=1)
print(out.shape, F.max_pool2d(out, 2).shape, F.avg_pool2d(out, 3, stride=3).shape)
print(torch.allclose(out, model.layer1[0](X_test[:1])))
