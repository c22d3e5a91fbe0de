"""Adagrad: per-coordinate step sizes from the running sum of squared gradients."""
from __future__ import annotations

import numpy as np

from .optimizer import check_options, Optimizer, grads_of, state_tensor, step_tensor


class Adagrad(Optimizer):
    """s <- s + g^2; p <- p - lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps)."""

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        check_options(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                      initial_accumulator_value=initial_accumulator_value, eps=eps)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        # PyTorch creates Adagrad's state eagerly, so state_dict() is complete before a step.
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                state["step"] = step_tensor()
                state["sum"] = state_tensor(
                    np.full_like(p._data, group["initial_accumulator_value"]))

    def step(self, closure=None):
        loss = self._run_closure(closure)
        for group in self.param_groups:
            lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
            weight_decay = group["weight_decay"]
            for p, grad in grads_of(group):
                param = p._data
                state = self.state[p]
                step_t = state["step"]._data
                step_t += 1
                step = step_t.item()
                if group["maximize"]:
                    grad = -grad
                if weight_decay != 0:
                    grad = grad + weight_decay * param
                clr = lr / (1 + (step - 1) * lr_decay)
                state_sum = state["sum"]._data
                state_sum += 1 * grad * grad
                std = np.sqrt(state_sum)
                std += eps
                param += -clr * grad / std
                p._vc[0] += 1
        return loss
