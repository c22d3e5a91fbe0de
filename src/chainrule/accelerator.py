"""`torch.accelerator`: chainrule runs on the CPU only, so there is never an accelerator."""


def is_available():
    return False


def current_accelerator(check_available=False):
    return None


def device_count():
    return 0


def synchronize(device=None):
    pass
