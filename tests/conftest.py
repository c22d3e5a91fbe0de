"""Shared test settings. PyTorch (the oracle) is imported by the tests that need it."""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# The machines are shared and noisy: no deadlines, a modest number of examples by default.
settings.register_profile(
    "chainrule", deadline=None, max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "25")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("chainrule")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
