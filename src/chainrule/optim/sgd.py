"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, grads_of, state_tensor


class SGD(Optimizer):
    """p <- p - lr * d, where d is the gradient (plus weight decay) smoothed by momentum.

    With momentum: buf <- momentum * buf + (1 - dampening) * g (buf = g on the first step);
    Nesterov uses g + momentum * buf. See Note [Optimizer arithmetic] in optimizer.py.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False, foreach=None, differentiable=False, fused=None):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._run_closure(closure)
        for group in self.param_groups:
            lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
            weight_decay, nesterov = group["weight_decay"], group["nesterov"]
            for p, grad in grads_of(group):
                param = p._data
                # One scratch array per shape instead of a temporary per expression.
                (tmp,) = self._scratch(param, 1)
                if group["maximize"]:
                    grad = -grad
                if weight_decay != 0:  # grad.add(param, alpha=weight_decay)
                    np.multiply(param, weight_decay, out=tmp)
                    grad = grad + tmp
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        state["momentum_buffer"] = state_tensor(np.array(grad, copy=True))
                    else:  # buf.mul_(momentum).add_(grad, alpha=1 - dampening)
                        buf = buf._data
                        buf *= momentum
                        np.multiply(grad, 1 - dampening, out=tmp)
                        buf += tmp
                    buf = state["momentum_buffer"]._data
                    if nesterov:  # grad.add(buf, alpha=momentum)
                        np.multiply(buf, momentum, out=tmp)
                        grad = grad + tmp
                    else:
                        grad = buf
                # param.add_(grad, alpha=-lr)
                np.multiply(grad, -lr, out=tmp)
                param += tmp
                p._vc[0] += 1
        return loss
