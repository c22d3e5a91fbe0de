"""`torch.cuda` as seen by code that checks for a GPU: chainrule has none, so
`torch.device("cuda" if torch.cuda.is_available() else "cpu")` picks the CPU."""


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def manual_seed(seed) -> None:
    """Nothing to seed without a GPU (PyTorch silently ignores it too)."""


manual_seed_all = manual_seed


def empty_cache() -> None:
    """Nothing cached without a GPU (a no-op in PyTorch's CPU builds too)."""


def synchronize(device=None):
    raise AssertionError("Torch not compiled with CUDA enabled")
