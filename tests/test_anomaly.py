"""Anomaly mode names the backward node that made NaN/inf and its forward line, like PyTorch."""
import warnings

import pytest
import torch

import chainrule
from chainrule.autograd import detect_anomaly, is_anomaly_enabled, set_detect_anomaly


def torch_error(build):
    x = torch.tensor([0.0, 1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.autograd.detect_anomaly():
            with pytest.raises(RuntimeError) as err:
                build(torch, x).backward()
    return str(err.value).splitlines()[0]


def sqrt_times_zero(lib, x):
    return (x.sqrt() * 0).sum()  # sqrt'(0) = inf, times 0 = nan, produced in SqrtBackward0


def log_of_zero(lib, x):
    return (lib.log(x * 0) * 0).sum()  # log'(0) = inf


@pytest.mark.parametrize("build", [sqrt_times_zero, log_of_zero])
def test_names_the_node_like_torch_and_shows_the_forward_line(build):
    x = chainrule.tensor([0.0, 1.0], requires_grad=True)
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        mode = detect_anomaly()
    with mode:
        assert is_anomaly_enabled()
        loss = build(chainrule, x)
        with pytest.raises(RuntimeError) as err:
            loss.backward()
    assert not is_anomaly_enabled()
    message = str(err.value)
    assert message.splitlines()[0] == torch_error(build)
    assert __file__ in message and "build(chainrule, x)" not in message.splitlines()[0]
    assert "return (" in message  # the forward line of the op, from this test file


def test_set_detect_anomaly_as_function_and_context():
    x = chainrule.tensor([1.0, 4.0], requires_grad=True)
    with set_detect_anomaly(True):
        y = x.sqrt()
        assert "traceback_" in y.grad_fn.metadata
        y.sum().backward()  # finite: no error
    assert not is_anomaly_enabled()
    set_detect_anomaly(True)
    try:
        assert is_anomaly_enabled()
    finally:
        set_detect_anomaly(False)
    x2 = chainrule.tensor([0.0], requires_grad=True)
    (x2.sqrt() * 0).sum().backward()  # off: NaN flows silently, as in PyTorch
    assert chainrule.isnan(x2.grad).all()


def test_check_nan_false_does_not_raise():
    x = chainrule.tensor([0.0], requires_grad=True)
    with set_detect_anomaly(True, check_nan=False):
        (x.sqrt() * 0).sum().backward()
