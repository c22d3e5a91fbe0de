"""Reverse-mode automatic differentiation: `backward`, `grad`, grad modes and `Function`."""
from __future__ import annotations

from .grad_mode import (no_grad, enable_grad, set_grad_enabled, inference_mode,  # noqa: F401
                        is_grad_enabled, is_inference_mode_enabled)
from .function import Function, FunctionCtx, InplaceFunction, once_differentiable  # noqa: F401
from .graph import Node  # noqa: F401
from .api import backward, grad  # noqa: F401
from . import graph, engine, function, grad_mode  # noqa: F401
from .gradcheck import gradcheck, gradgradcheck, GradcheckError, numerical_grad  # noqa: F401,E402

from .variable import Variable  # noqa: F401,E402
from .explain import explain  # noqa: F401,E402
from .anomaly import (detect_anomaly, set_detect_anomaly, is_anomaly_enabled,  # noqa: F401,E402
                      is_anomaly_check_nan_enabled)
from .diagnose import why_no_grad, GraphLeakWarning, set_leak_warning  # noqa: F401,E402
from . import functional  # noqa: F401,E402
from . import forward_ad  # noqa: F401,E402
