"""Neural-network building blocks. (Modules, layers and losses: see the learning-stack issue.)"""
from . import functional  # noqa: F401
