"""Adam and AdamW (decoupled weight decay), with AMSGrad."""
from __future__ import annotations

import numpy as np

from .optimizer import (check_options, CHUNK_BYTES, Optimizer, chunk_bounds, flat_views,
                        grads_of, state_tensor, step_tensor)


def lerp_(start, end, weight, scratch):
    """start <- start + weight * (end - start), in PyTorch's two-branch form for accuracy."""
    np.subtract(end, start, out=scratch)
    if abs(weight) < 0.5:
        scratch *= weight
        start += scratch
    else:
        scratch *= 1 - weight
        np.subtract(end, scratch, out=start)


class Adam(Optimizer):
    """Adaptive moments: m <- lerp(m, g, 1 - b1), v <- b2 v + (1 - b2) g^2,
    p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)."""

    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=None):
        if decoupled_weight_decay is None:
            decoupled_weight_decay = self._decoupled
        check_options(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._run_closure(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
            amsgrad, maximize = group["amsgrad"], group["maximize"]
            decoupled = group["decoupled_weight_decay"]
            for p, grad in grads_of(group):
                param = p._data
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = step_tensor()
                    state["exp_avg"] = state_tensor(np.zeros_like(param))
                    state["exp_avg_sq"] = state_tensor(np.zeros_like(param))
                    if amsgrad:
                        state["max_exp_avg_sq"] = state_tensor(np.zeros_like(param))
                step_t = state["step"]._data
                step_t += 1
                step = step_t.item()
                bias_correction1 = 1 - beta1 ** step
                bias_correction2 = 1 - beta2 ** step
                update = _AdamUpdate(beta1, beta2, lr / bias_correction1, bias_correction2 ** 0.5,
                                     eps, maximize, weight_decay, decoupled, lr)
                max_sq = state["max_exp_avg_sq"]._data if amsgrad else None
                operands = (param, grad, state["exp_avg"]._data, state["exp_avg_sq"]._data,
                            max_sq)
                flat = None
                if param.nbytes > CHUNK_BYTES and grad.shape == param.shape:
                    if not grad.flags.c_contiguous and param.flags.c_contiguous:
                        grad = np.ascontiguousarray(grad)  # one pass, not one per operation
                        operands = (param, grad) + operands[2:]
                    flat = flat_views(*operands)
                if flat is None:  # small (or unusually laid out): whole arrays
                    update(*operands, *self._scratch(param, 3))
                else:
                    scratch = self._chunk_scratch(param.dtype, 3)
                    for start, stop in chunk_bounds(param.size, param.itemsize):
                        n = stop - start
                        update(*[a if a is None else a[start:stop] for a in flat],
                               *[s[:n] for s in scratch])
                p._vc[0] += 1
        return loss


class _AdamUpdate:
    """One parameter's Adam update, applied to whole arrays or to matching slices of them
    (Note [Chunked updates]). The operations and their order are those of PyTorch's
    single-tensor Adam; `tmp`, `denom` and `gbuf` are scratch arrays of the operands' shape."""

    __slots__ = ("beta1", "beta2", "step_size", "bias_correction2_sqrt", "eps", "maximize",
                 "weight_decay", "decoupled", "lr")

    def __init__(self, beta1, beta2, step_size, bias_correction2_sqrt, eps, maximize,
                 weight_decay, decoupled, lr):
        self.beta1, self.beta2, self.step_size = beta1, beta2, step_size
        self.bias_correction2_sqrt, self.eps, self.maximize = bias_correction2_sqrt, eps, maximize
        self.weight_decay, self.decoupled, self.lr = weight_decay, decoupled, lr

    def __call__(self, param, grad, exp_avg, exp_avg_sq, max_sq, tmp, denom, gbuf):
        if self.maximize:
            grad = np.negative(grad, out=gbuf)
        weight_decay = self.weight_decay
        if weight_decay != 0:
            if self.decoupled:
                param *= 1 - self.lr * weight_decay
            else:  # grad.add(param, alpha=weight_decay)
                np.multiply(param, weight_decay, out=tmp)
                grad = np.add(grad, tmp, out=gbuf)
        lerp_(exp_avg, grad, 1 - self.beta1, tmp)
        # exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2): v*b2 + ((1-b2)*g)*g
        exp_avg_sq *= self.beta2
        np.multiply(grad, 1 - self.beta2, out=tmp)
        tmp *= grad
        exp_avg_sq += tmp
        if max_sq is not None:
            np.maximum(max_sq, exp_avg_sq, out=max_sq)
            np.sqrt(max_sq, out=denom)
        else:
            np.sqrt(exp_avg_sq, out=denom)
        denom /= self.bias_correction2_sqrt
        denom += self.eps
        # PyTorch's addcdiv_: param + (value * exp_avg) / denom, left to right.
        np.multiply(exp_avg, -self.step_size, out=tmp)
        tmp /= denom
        param += tmp


class AdamW(Adam):
    """Adam with decoupled weight decay: p <- p * (1 - lr * weight_decay) before the step."""

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
