"""NAdam: Adam with Nesterov momentum, whose coefficient mu_t warms up with momentum_decay."""
from __future__ import annotations

import numpy as np

from .adam import lerp_
from .optimizer import check_options, Optimizer, grads_of, state_tensor, step_tensor


class NAdam(Optimizer):
    """mu_t = b1 (1 - 0.96^(t psi) / 2); with m, v as in Adam and d = sqrt(v / (1 - b2^t)) + eps,
    p <- p - lr (1 - mu_t) / (1 - prod mu) * g / d - lr mu_{t+1} / (1 - prod mu * mu_{t+1}) * m / d.
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        check_options(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay,
                      momentum_decay=momentum_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._run_closure(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
            momentum_decay = group["momentum_decay"]
            for p, grad in grads_of(group):
                param = p._data
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = step_tensor()
                    # The running product of mu lives in a scalar tensor (float32 unless the
                    # default dtype is float64) and is rounded there each step, as in PyTorch.
                    state["mu_product"] = step_tensor(1.0)
                    state["exp_avg"] = state_tensor(np.zeros_like(param))
                    state["exp_avg_sq"] = state_tensor(np.zeros_like(param))
                if group["maximize"]:
                    grad = -grad
                step_t = state["step"]._data
                step_t += 1
                step = step_t.item()
                bias_correction2 = 1 - beta2 ** step
                if weight_decay != 0:
                    if group["decoupled_weight_decay"]:
                        param *= 1 - lr * weight_decay
                    else:
                        grad = grad + weight_decay * param
                mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
                mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
                mu_product_t = state["mu_product"]._data
                mu_product_t *= mu
                mu_product = mu_product_t.item()
                exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
                lerp_(exp_avg, grad, 1 - beta1, np.empty_like(param))
                exp_avg_sq *= beta2
                exp_avg_sq += (1 - beta2) * grad * grad
                denom = np.sqrt(exp_avg_sq / bias_correction2)
                denom += eps
                # Two addcdiv_ calls, each (value * x) / denom.
                param += (-lr * (1.0 - mu) / (1.0 - mu_product)) * grad / denom
                param += (-lr * mu_next / (1.0 - mu_product * mu_next)) * exp_avg / denom
                p._vc[0] += 1
        return loss
