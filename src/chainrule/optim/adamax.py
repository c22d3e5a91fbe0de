"""Adamax: Adam with the second moment replaced by an exponentially weighted infinity norm."""
from __future__ import annotations

import numpy as np

from .adam import lerp_
from .optimizer import check_options, Optimizer, grads_of, state_tensor, step_tensor


class Adamax(Optimizer):
    """m <- lerp(m, g, 1 - b1); u <- max(b2 u, |g| + eps); p <- p - lr / (1 - b1^t) * m / u."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        check_options(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._run_closure(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
            for p, grad in grads_of(group):
                param = p._data
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = step_tensor()
                    state["exp_avg"] = state_tensor(np.zeros_like(param))
                    state["exp_inf"] = state_tensor(np.zeros_like(param))
                if group["maximize"]:
                    grad = -grad
                step_t = state["step"]._data
                step_t += 1
                if weight_decay != 0:
                    grad = grad + weight_decay * param
                exp_avg, exp_inf = state["exp_avg"]._data, state["exp_inf"]._data
                lerp_(exp_avg, grad, 1 - beta1, np.empty_like(param))
                exp_inf *= beta2
                np.maximum(exp_inf, np.abs(grad) + eps, out=exp_inf)
                clr = lr / (1 - beta1 ** step_t.item())
                param += -clr * exp_avg / exp_inf  # addcdiv_: (value * m) / u
                p._vc[0] += 1
        return loss
