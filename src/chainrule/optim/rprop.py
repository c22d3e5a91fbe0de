"""Rprop: per-coordinate step sizes that grow while the gradient keeps its sign and shrink
when it flips; only the gradient's sign is used."""
from __future__ import annotations

import numpy as np

from .optimizer import check_options, Optimizer, grads_of, state_tensor, step_tensor


class Rprop(Optimizer):
    """s <- clamp(s * (eta+ if g g_prev > 0, eta- if < 0, else 1), step_sizes);
    where the sign flipped g is taken as 0 (no move, and no flip test next step);
    p <- p - sign(g) s."""

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        check_options(lr=lr, etas=etas)
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._run_closure(closure)
        for group in self.param_groups:
            etaminus, etaplus = group["etas"]
            step_size_min, step_size_max = group["step_sizes"]
            for p, grad in grads_of(group):
                param = p._data
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = step_tensor()
                    state["prev"] = state_tensor(np.zeros_like(param))
                    state["step_size"] = state_tensor(np.full_like(grad, group["lr"]))
                grad = -grad if group["maximize"] else grad.copy()
                state["step"]._data += 1
                prev, step_size = state["prev"]._data, state["step_size"]._data
                agreement = grad * prev
                flipped = agreement < 0
                factor = np.ones_like(agreement)
                factor[agreement > 0] = etaplus
                factor[flipped] = etaminus
                step_size *= factor
                np.clip(step_size, step_size_min, step_size_max, out=step_size)
                grad[flipped] = 0
                param -= np.sign(grad) * step_size
                prev[...] = grad
                p._vc[0] += 1
        return loss
