# Saving and loading models: state_dict, whole checkpoints, optimizer state, resuming training.
import os
import tempfile
import torch
import torch.nn as nn
import torch.optim as optim
import torch.nn.functional as F


class TheModelClass(nn.Module):
    def __init__(self):
        super(TheModelClass, self).__init__()
        self.fc1 = nn.Linear(8, 12)
        self.fc2 = nn.Linear(12, 6)
        self.fc3 = nn.Linear(6, 2)
        self.bn = nn.BatchNorm1d(6)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.relu(self.bn(self.fc2(x)))
        return self.fc3(x)


torch.manual_seed(0)
model = TheModelClass()
optimizer = optim.SGD(model.parameters(), lr=0.001, momentum=0.9)

print("Model's state_dict:")
for param_tensor in model.state_dict():
    print(param_tensor, "\t", model.state_dict()[param_tensor].size())

print("Optimizer's state_dict:")
for var_name in optimizer.state_dict():
    print(var_name, "\t", optimizer.state_dict()[var_name])

X = torch.randn(32, 8)
Y = torch.randint(0, 2, (32,))
for step in range(5):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(X), Y)
    loss.backward()
    optimizer.step()
print("loss after 5 steps", round(loss.item(), 6))

tmp = tempfile.mkdtemp()
PATH = os.path.join(tmp, "model.pt")
torch.save(model.state_dict(), PATH)

model2 = TheModelClass()
result = model2.load_state_dict(torch.load(PATH, weights_only=True))
print(result)
model2.eval()
model.eval()
with torch.no_grad():
    print(torch.equal(model(X), model2(X)))
print(model2.bn.running_mean)
print(model2.bn.num_batches_tracked)

# General checkpoint for inference and/or resuming training
CKPT = os.path.join(tmp, "ckpt.tar")
torch.save({
    'epoch': 5,
    'model_state_dict': model.state_dict(),
    'optimizer_state_dict': optimizer.state_dict(),
    'loss': loss,
}, CKPT)

model3 = TheModelClass()
optimizer3 = optim.SGD(model3.parameters(), lr=0.5, momentum=0.1)
checkpoint = torch.load(CKPT, weights_only=True)
model3.load_state_dict(checkpoint['model_state_dict'])
optimizer3.load_state_dict(checkpoint['optimizer_state_dict'])
epoch = checkpoint['epoch']
loss3 = checkpoint['loss']
print(epoch, loss3, optimizer3.param_groups[0]['lr'], optimizer3.param_groups[0]['momentum'])
print(sorted(optimizer3.state_dict()['state'].keys()))

# resume both and check they stay identical
model.train(); model3.train()
for step in range(3):
    for m, o in ((model, optimizer), (model3, optimizer3)):
        o.zero_grad()
        l = F.cross_entropy(m(X), Y)
        l.backward()
        o.step()
    print(step, l.item())
print(all(torch.equal(a, b) for a, b in zip(model.parameters(), model3.parameters())))

# strict=False and missing/unexpected keys
sd = model.state_dict()
del sd['fc3.bias']
sd['extra.weight'] = torch.zeros(1)
print(model3.load_state_dict(sd, strict=False))
try:
    model3.load_state_dict(sd)
except RuntimeError as e:
    print(str(e).splitlines()[0])

# saving plain tensors and containers
torch.save([torch.arange(3), {'a': torch.ones(2, 2)}], os.path.join(tmp, "t.pt"))
print(torch.load(os.path.join(tmp, "t.pt")))
print(list(model.state_dict().keys()))
print(type(model.state_dict()).__name__)
