"""`torch.backends` queries on a CPU-only library."""
from types import SimpleNamespace


def _unavailable():
    return False


mps = SimpleNamespace(is_available=_unavailable, is_built=_unavailable)
cudnn = SimpleNamespace(enabled=False, deterministic=False, benchmark=False,
                        is_available=_unavailable)
cpu = SimpleNamespace(get_cpu_capability=lambda: "DEFAULT")
