"""RMSprop: divide the gradient by a running root mean square, optionally centered."""
from __future__ import annotations

import numpy as np

from .adam import lerp_
from .optimizer import check_options, Optimizer, grads_of, state_tensor, step_tensor


class RMSprop(Optimizer):
    """v <- alpha v + (1 - alpha) g^2; p <- p - lr * g / (sqrt(v) + eps).

    centered subtracts the squared running mean of g inside the root; momentum keeps
    buf <- momentum * buf + g / (sqrt(v) + eps) and steps by buf.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        check_options(lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._run_closure(closure)
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            weight_decay, momentum, centered = (group["weight_decay"], group["momentum"],
                                                group["centered"])
            for p, grad in grads_of(group):
                param = p._data
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = step_tensor()
                    state["square_avg"] = state_tensor(np.zeros_like(param))
                    if momentum > 0:
                        state["momentum_buffer"] = state_tensor(np.zeros_like(param))
                    if centered:
                        state["grad_avg"] = state_tensor(np.zeros_like(param))
                if group["maximize"]:
                    grad = -grad
                state["step"]._data += 1
                if weight_decay != 0:
                    grad = grad + weight_decay * param
                square_avg = state["square_avg"]._data
                square_avg *= alpha
                square_avg += (1 - alpha) * grad * grad
                if centered:
                    grad_avg = state["grad_avg"]._data
                    lerp_(grad_avg, grad, 1 - alpha, self._scratch(param, 1)[0])
                    avg = np.sqrt(square_avg + -1 * grad_avg * grad_avg)
                else:
                    avg = np.sqrt(square_avg)
                avg += eps
                if momentum > 0:
                    buf = state["momentum_buffer"]._data
                    buf *= momentum
                    buf += grad / avg
                    param += -lr * buf
                else:
                    param += -lr * grad / avg
                p._vc[0] += 1
        return loss
