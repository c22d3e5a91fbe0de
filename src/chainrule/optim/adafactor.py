"""Adafactor: Adam-like steps whose second moment of a matrix is stored factored, as one row
and one column of running means (memory O(rows + cols) instead of O(rows * cols))."""
from __future__ import annotations

import numpy as np

from .adam import lerp_
from .optimizer import Optimizer, grads_of, state_tensor, step_tensor


def _norm(a, axis=None):
    return np.sqrt(np.sum(a * a, axis=axis, keepdims=axis is not None))


class Adafactor(Optimizer):
    """With w = t^beta2_decay: r <- lerp(r, mean_cols(g^2), w), c <- lerp(c, mean_rows(g^2), w)
    and v = r c / mean(r) (vectors keep v <- lerp(v, g^2, w)); u = g / sqrt(v), clipped to RMS d;
    p <- p - max(eps2, RMS(p)) min(lr, 1 / sqrt(t)) u."""

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                 weight_decay=0.0, *, foreach=None, maximize=False):
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._run_closure(closure)
        for group in self.param_groups:
            lr, beta2_decay, d = group["lr"], group["beta2_decay"], group["d"]
            (eps1, eps2), weight_decay = group["eps"], group["weight_decay"]
            for p, grad in grads_of(group):
                param = p._data
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = step_tensor()
                    if grad.ndim > 1:
                        state["row_var"] = state_tensor(np.zeros(grad.shape[:-1] + (1,),
                                                                 grad.dtype))
                        state["col_var"] = state_tensor(
                            np.zeros(grad.shape[:-2] + (1,) + grad.shape[-1:], grad.dtype))
                    else:
                        state["variance"] = state_tensor(np.zeros_like(grad))
                if group["maximize"]:
                    grad = -grad
                if eps1 is None:
                    eps1 = float(np.finfo(param.dtype).eps)
                step_t = state["step"]._data
                step_t += 1
                step = step_t.item()
                one_minus_beta2_t = step ** beta2_decay
                rho_t = min(lr, 1 / (step ** 0.5))
                alpha = max(eps2, _norm(param).item() / (param.size ** 0.5)) * rho_t
                if weight_decay != 0:
                    param *= 1 - lr * weight_decay
                if grad.ndim > 1:
                    row_var, col_var = state["row_var"]._data, state["col_var"]._data
                    row_mean = _norm(grad, -1) ** 2 / grad.shape[-1]
                    lerp_(row_var, row_mean, one_minus_beta2_t, np.empty_like(row_var))
                    col_mean = _norm(grad, -2) ** 2 / grad.shape[-2]
                    lerp_(col_var, col_mean, one_minus_beta2_t, np.empty_like(col_var))
                    var_estimate = row_var @ col_var
                    var_estimate /= np.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
                else:
                    variance = state["variance"]._data
                    lerp_(variance, grad * grad, one_minus_beta2_t, np.empty_like(variance))
                    var_estimate = variance.copy()
                np.maximum(var_estimate, eps1 * eps1, out=var_estimate)
                update = np.reciprocal(np.sqrt(var_estimate))  # rsqrt
                update *= grad
                denom = max(1.0, _norm(update).item() / ((update.size ** 0.5) * d))
                param += (-alpha / denom) * update
                p._vc[0] += 1
        return loss
