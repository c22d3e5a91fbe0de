# The less common optimizers side by side on one small regression, then SWA and L-BFGS.
import torch
from torch import nn, optim
from torch.optim import lr_scheduler
from torch.optim.swa_utils import AveragedModel, SWALR, get_ema_multi_avg_fn, update_bn

torch.manual_seed(0)
X = torch.randn(64, 5)
w_true = torch.randn(5, 1)
Y = torch.tanh(X @ w_true) + 0.05 * torch.randn(64, 1)


def make_model():
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 1))


def train(name, make_opt, steps=15, make_sched=None):
    model = make_model()
    opt = make_opt(model.parameters())
    sched = make_sched(opt) if make_sched else None
    losses = []
    for step in range(steps):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(X), Y)
        loss.backward()
        opt.step()
        if sched:
            sched.step()
        losses.append(f"{loss.item():.5f}")
    print(f"{name:<28}", " ".join(losses[::3]), "->", f"{nn.functional.mse_loss(model(X), Y).item():.5f}")
    return opt


train("Adadelta", lambda p: optim.Adadelta(p, lr=1.0))
train("Adadelta wd=0.01", lambda p: optim.Adadelta(p, lr=0.5, rho=0.8, weight_decay=0.01))
train("Adamax", lambda p: optim.Adamax(p, lr=0.02))
train("NAdam", lambda p: optim.NAdam(p, lr=0.02))
train("NAdam decoupled wd", lambda p: optim.NAdam(p, lr=0.02, weight_decay=0.1, decoupled_weight_decay=True))
opt = train("NAdam + StepLR", lambda p: optim.NAdam(p, lr=0.05, momentum_decay=0.01),
            make_sched=lambda o: lr_scheduler.StepLR(o, step_size=5, gamma=0.5))
print("  lr now", opt.param_groups[0]["lr"], "state keys", sorted(opt.state_dict()["state"][0]))
train("RAdam", lambda p: optim.RAdam(p, lr=0.02))
train("RAdam short memory", lambda p: optim.RAdam(p, lr=0.02, betas=(0.9, 0.7)))
train("Rprop", lambda p: optim.Rprop(p, lr=0.01))
opt = train("ASGD", lambda p: optim.ASGD(p, lr=0.05, t0=5))
print("  ASGD eta", f"{opt.state[opt.param_groups[0]['params'][0]]['eta'].item():.6f}")
opt = train("Adafactor", lambda p: optim.Adafactor(p, lr=0.05))
print("  Adafactor state", {k: tuple(v.shape) for k, v in opt.state_dict()["state"][0].items()})
print(optim.RAdam(make_model().parameters()))

try:
    optim.NAdam(make_model().parameters(), momentum_decay=-1.0)
except ValueError as err:
    print("ValueError:", err)

# L-BFGS needs a closure: it evaluates the loss several times per step.
for line_search in (None, "strong_wolfe"):
    model = make_model()
    opt = optim.LBFGS(model.parameters(), lr=0.5, max_iter=10, history_size=5,
                      line_search_fn=line_search)

    def closure():
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(X), Y)
        loss.backward()
        return loss

    losses = [f"{opt.step(closure).item():.5f}" for _ in range(4)]
    state = opt.state_dict()["state"][0]
    print("LBFGS", line_search, losses, "evals", state["func_evals"], "iters", state["n_iter"])

# Stochastic weight averaging, with an EMA copy alongside.
model = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 1))
swa_model = AveragedModel(model)
ema_model = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9))
opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
swa_sched = SWALR(opt, swa_lr=0.01, anneal_epochs=3)
batches = [(X[i:i + 16], Y[i:i + 16]) for i in range(0, 64, 16)]
for epoch in range(8):
    for xb, yb in batches:
        opt.zero_grad()
        nn.functional.mse_loss(model(xb), yb).backward()
        opt.step()
    ema_model.update_parameters(model)
    if epoch >= 4:
        swa_model.update_parameters(model)
        swa_sched.step()
    print("epoch", epoch, "lr", round(opt.param_groups[0]["lr"], 6))
update_bn(batches, swa_model)
swa_model.eval()
ema_model.eval()
print("averaged", int(swa_model.n_averaged), "ema", int(ema_model.n_averaged))
print("swa loss", f"{nn.functional.mse_loss(swa_model(X), Y).item():.5f}",
      "ema loss", f"{nn.functional.mse_loss(ema_model(X), Y).item():.5f}")
print(list(swa_model.state_dict())[:4])
