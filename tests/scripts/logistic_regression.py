# Logistic regression on two synthetic Gaussian blobs (nn.Module + BCELoss + SGD).
import torch
import torch.nn as nn

torch.manual_seed(7)

n = 200
x0 = torch.randn(n, 2) + torch.tensor([2.0, 2.0])
x1 = torch.randn(n, 2) + torch.tensor([-2.0, -2.0])
X = torch.cat([x0, x1], dim=0)
y = torch.cat([torch.zeros(n), torch.ones(n)]).unsqueeze(1)
print(X.shape, y.shape, X[:3])


class LogisticRegression(nn.Module):
    def __init__(self, input_dim):
        super(LogisticRegression, self).__init__()
        self.linear = nn.Linear(input_dim, 1)

    def forward(self, x):
        return torch.sigmoid(self.linear(x))


model = LogisticRegression(2)
criterion = nn.BCELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

for epoch in range(100):
    model.train()
    optimizer.zero_grad()
    outputs = model(X)
    loss = criterion(outputs, y)
    loss.backward()
    optimizer.step()
    if (epoch + 1) % 10 == 0:
        print(f'Epoch [{epoch+1}/100], Loss: {loss.item():.6f}')

model.eval()
with torch.no_grad():
    predicted = model(X).round()
    acc = predicted.eq(y).sum() / float(y.shape[0])
    print(f'accuracy: {acc.item():.4f}')
    print((predicted == y).float().mean())
    print(model.linear.weight, model.linear.bias)

# the same model with BCEWithLogitsLoss and Adam, batched with torch.split
torch.manual_seed(8)
logits_model = nn.Linear(2, 1)
loss_fn = nn.BCEWithLogitsLoss()
opt = torch.optim.Adam(logits_model.parameters(), lr=0.05)
perm = torch.randperm(2 * n)
for epoch in range(5):
    total = 0.0
    for idx in torch.split(perm, 64):
        opt.zero_grad()
        l = loss_fn(logits_model(X[idx]), y[idx])
        l.backward()
        opt.step()
        total += l.item() * len(idx)
    print(epoch, round(total / (2 * n), 5))
probs = torch.sigmoid(logits_model(X)).detach()
print(probs[:5].squeeze(), (probs > 0.5).sum().item())
