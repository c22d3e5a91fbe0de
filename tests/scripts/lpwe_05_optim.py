# "Learning PyTorch with Examples": the optim package (RMSprop).
import torch
import math

torch.manual_seed(3)

x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)

model = torch.nn.Sequential(
    torch.nn.Linear(3, 1),
    torch.nn.Flatten(0, 1)
)
loss_fn = torch.nn.MSELoss(reduction='sum')

learning_rate = 1e-3
optimizer = torch.optim.RMSprop(model.parameters(), lr=learning_rate)
print(optimizer)
# The tutorial runs 2000 steps; past ~1100 steps RMSprop's fixed-size steps oscillate around the
# optimum and amplify last-bit differences (even in float64), so this copy stops at 1000.
for t in range(1000):
    y_pred = model(xx)

    loss = loss_fn(y_pred, y)
    if t % 100 == 99:
        print(t, loss.item())

    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

linear_layer = model[0]
print(f'Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x + {linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3')
print(sorted(optimizer.state_dict()['state'][0].keys()))
print(optimizer.state_dict()['param_groups'][0]['params'])
