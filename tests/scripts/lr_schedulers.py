# Learning-rate schedulers driving a small regression.
import torch
from torch import nn, optim
from torch.optim import lr_scheduler

torch.manual_seed(3)
X = torch.randn(64, 4)
w_true = torch.tensor([[1.0], [-2.0], [0.5], [3.0]])
Y = X @ w_true + 0.1 * torch.randn(64, 1)


def run(name, make_sched, epochs=12, opt_cls=optim.SGD, **opt_kw):
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    opt = opt_cls(model.parameters(), **opt_kw)
    sched = make_sched(opt)
    lrs = []
    for epoch in range(epochs):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(X), Y)
        loss.backward()
        opt.step()
        if isinstance(sched, lr_scheduler.ReduceLROnPlateau):
            sched.step(loss)
        else:
            sched.step()
        lrs.append(round(opt.param_groups[0]['lr'], 8))
    print(name, lrs)
    print("   final loss", round(loss.item(), 6))


run("StepLR", lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.5), lr=0.1)
run("MultiStepLR", lambda o: lr_scheduler.MultiStepLR(o, milestones=[2, 5, 9], gamma=0.3), lr=0.1)
run("ExponentialLR", lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9), lr=0.1)
run("CosineAnnealingLR", lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.001), lr=0.1)
run("LambdaLR", lambda o: lr_scheduler.LambdaLR(o, lr_lambda=lambda epoch: 0.95 ** epoch), lr=0.1)
run("ReduceLROnPlateau", lambda o: lr_scheduler.ReduceLROnPlateau(o, mode='min', factor=0.5, patience=1), lr=0.5, momentum=0.9)
run("Adam+StepLR", lambda o: lr_scheduler.StepLR(o, 4), opt_cls=optim.Adam, lr=0.05)

torch.manual_seed(0)
model = nn.Linear(4, 1)
optimizer = optim.SGD(model.parameters(), lr=0.1)
scheduler = lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.1)
for epoch in range(5):
    optimizer.step()
    scheduler.step()
    print(epoch, scheduler.get_last_lr(), scheduler.last_epoch)
print(scheduler.state_dict())
