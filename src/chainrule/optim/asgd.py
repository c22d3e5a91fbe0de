"""ASGD: SGD with a decaying step size that also keeps a running average of the iterates."""
from __future__ import annotations

import numpy as np

from .optimizer import check_options, Optimizer, grads_of, state_tensor, step_tensor


class ASGD(Optimizer):
    """p <- p (1 - lambd eta) - eta g; ax <- ax + mu (p - ax);
    then eta = lr / (1 + lambd lr t)^alpha and mu = 1 / max(1, t - t0).

    eta and mu live in scalar tensors (float32 unless the default dtype is float64), so the
    step uses their rounded values, as PyTorch's does.
    """

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0,
                 foreach=None, maximize=False, differentiable=False, capturable=False):
        check_options(lr=lr, weight_decay=weight_decay)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._run_closure(closure)
        for group in self.param_groups:
            lr, lambd, alpha, t0 = group["lr"], group["lambd"], group["alpha"], group["t0"]
            weight_decay = group["weight_decay"]
            for p, grad in grads_of(group):
                param = p._data
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = step_tensor()
                    state["eta"] = step_tensor(lr)
                    state["mu"] = step_tensor(1.0)
                    state["ax"] = state_tensor(np.zeros_like(param))
                if group["maximize"]:
                    grad = -grad
                step_t = state["step"]._data
                step_t += 1
                if weight_decay != 0:
                    grad = grad + weight_decay * param
                eta = state["eta"]._data.item()
                param *= 1 - lambd * eta
                param += -eta * grad
                ax, mu = state["ax"]._data, state["mu"]._data.item()
                if mu != 1:
                    ax += (param - ax) * mu
                else:
                    ax[...] = param
                step = step_t.item()
                # New values pass through a default-dtype scalar (torch.as_tensor) on the way.
                state["eta"]._data[...] = step_tensor(lr / ((1 + lambd * lr * step) ** alpha))._data
                state["mu"]._data[...] = step_tensor(1 / max(1, step - t0))._data
                p._vc[0] += 1
        return loss
