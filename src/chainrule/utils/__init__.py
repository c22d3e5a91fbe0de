"""Utilities: data loading, activation checkpointing."""
from . import data  # noqa: F401
from . import checkpoint  # noqa: F401
