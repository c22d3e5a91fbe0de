"""RAdam: Adam whose adaptive step is switched on, and rectified, once the variance of the
adaptive learning rate is tractable (rho_t > 5); before that it is SGD with momentum."""
from __future__ import annotations

import numpy as np

from .adam import lerp_
from .optimizer import check_options, Optimizer, grads_of, state_tensor, step_tensor


class RAdam(Optimizer):
    """rho_t = rho_inf - 2 t b2^t / (1 - b2^t), rho_inf = 2 / (1 - b2) - 1; m_hat = m / (1 - b1^t);
    p <- p - lr m_hat r_t sqrt(1 - b2^t) / (sqrt(v) + eps) if rho_t > 5, else p - lr m_hat."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        check_options(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
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
                    state["exp_avg_sq"] = state_tensor(np.zeros_like(param))
                if group["maximize"]:
                    grad = -grad
                step_t = state["step"]._data
                step_t += 1
                step = step_t.item()
                if weight_decay != 0:
                    if group["decoupled_weight_decay"]:
                        param *= 1 - lr * weight_decay
                    else:
                        grad = grad + weight_decay * param
                exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
                lerp_(exp_avg, grad, 1 - beta1, np.empty_like(param))
                exp_avg_sq *= beta2
                exp_avg_sq += (1 - beta2) * grad * grad
                bias_correction1 = 1 - beta1 ** step
                bias_correction2 = 1 - beta2 ** step
                bias_corrected_exp_avg = exp_avg / bias_correction1
                rho_inf = 2 / (1 - beta2) - 1
                rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
                if rho_t > 5.0:
                    rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                            / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                    sqrt_v = np.sqrt(exp_avg_sq)
                    sqrt_v += eps
                    # PyTorch's `float / tensor` is reciprocal(tensor) * float.
                    adaptive_lr = np.reciprocal(sqrt_v) * bias_correction2 ** 0.5
                    param -= bias_corrected_exp_avg * lr * adaptive_lr * rect
                else:
                    param -= bias_corrected_exp_avg * lr
                p._vc[0] += 1
        return loss
