"""`torch.func`: composable function transforms.

    grad, grad_and_value      gradient of a scalar function (nest them for higher derivatives)
    vjp, jvp                  vector-Jacobian and Jacobian-vector products
    jacrev, jacfwd, hessian   whole Jacobians and Hessians
    vmap                      map a function over a dimension of its inputs
    functional_call           call a module with given tensors as its parameters and buffers
    stack_module_state        stack the parameters of several models (for ensembles with vmap)

They compose as in PyTorch (`vmap(grad(loss))` gives per-sample gradients). How they do it on
chainrule's single tape: Note [Levels without wrappers] in _transforms.py, and _vmap.py.
"""
from ._transforms import grad, grad_and_value, vjp, jvp, jacrev, jacfwd, hessian  # noqa: F401
from ._vmap import vmap  # noqa: F401
from ._module import functional_call, stack_module_state  # noqa: F401

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "vmap",
           "functional_call", "stack_module_state"]
