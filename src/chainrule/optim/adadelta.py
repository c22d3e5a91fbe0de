"""Adadelta: step sizes from the ratio of running RMS of updates to running RMS of gradients."""
from __future__ import annotations

import numpy as np

from .optimizer import check_options, Optimizer, grads_of, state_tensor, step_tensor


class Adadelta(Optimizer):
    """v <- rho v + (1 - rho) g^2; delta = sqrt(u + eps) / sqrt(v + eps) * g;
    u <- rho u + (1 - rho) delta^2; p <- p - lr * delta."""

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        check_options(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._run_closure(closure)
        for group in self.param_groups:
            lr, rho, eps, weight_decay = (group["lr"], group["rho"], group["eps"],
                                          group["weight_decay"])
            for p, grad in grads_of(group):
                param = p._data
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = step_tensor()
                    state["square_avg"] = state_tensor(np.zeros_like(param))
                    state["acc_delta"] = state_tensor(np.zeros_like(param))
                state["step"]._data += 1
                if group["maximize"]:
                    grad = -grad
                if weight_decay != 0:
                    grad = grad + weight_decay * param
                square_avg, acc_delta = state["square_avg"]._data, state["acc_delta"]._data
                # x.mul_(rho).addcmul_(g, g, value=1 - rho) is x*rho + ((1-rho)*g)*g
                square_avg *= rho
                square_avg += (1 - rho) * grad * grad
                std = np.sqrt(square_avg + eps)
                delta = np.sqrt(acc_delta + eps)
                delta /= std
                delta *= grad
                acc_delta *= rho
                acc_delta += (1 - rho) * delta * delta
                param += -lr * delta
                p._vc[0] += 1
        return loss
