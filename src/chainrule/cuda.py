"""`torch.cuda` on a CPU-only library: the usual availability checks answer "no"."""


def is_available():
    return False


def device_count():
    return 0


def manual_seed(seed):
    """No CUDA generator to seed; accepted so that seeding code runs unchanged."""


manual_seed_all = manual_seed


def synchronize(device=None):
    pass


def empty_cache():
    pass
