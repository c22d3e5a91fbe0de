# A test module written the way projects test their PyTorch code: plain test_* functions,
# pytest.raises with match=, parametrize, torch.testing.assert_close / allclose / equal.
# Run as a script it calls every test itself and prints one line per test.
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.testing import assert_close


class TwoLayerNet(nn.Module):
    def __init__(self, d_in, d_hidden, d_out):
        super().__init__()
        self.fc1 = nn.Linear(d_in, d_hidden)
        self.fc2 = nn.Linear(d_hidden, d_out)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


def test_output_shape():
    torch.manual_seed(0)
    net = TwoLayerNet(5, 7, 3)
    out = net(torch.randn(4, 5))
    assert out.shape == (4, 3)
    assert out.shape == torch.Size([4, 3])
    assert out.dtype == torch.float32
    assert out.requires_grad


def test_softmax_rows_sum_to_one():
    torch.manual_seed(1)
    p = F.softmax(torch.randn(6, 10), dim=1)
    assert_close(p.sum(dim=1), torch.ones(6))
    assert torch.all(p >= 0)
    assert (p <= 1).all().item()


def test_log_softmax_matches_log_of_softmax():
    x = torch.randn(3, 4, dtype=torch.float64)
    torch.testing.assert_close(F.log_softmax(x, -1), torch.log(F.softmax(x, -1)))
    assert torch.allclose(x.exp().log(), x)


def test_cross_entropy_equals_nll_of_log_softmax():
    logits = torch.randn(8, 5)
    target = torch.randint(0, 5, (8,))
    ce = F.cross_entropy(logits, target)
    nll = F.nll_loss(F.log_softmax(logits, dim=1), target)
    assert_close(ce, nll)
    assert ce.ndim == 0


def test_gradient_of_linear_layer():
    torch.manual_seed(2)
    layer = nn.Linear(3, 2)
    x = torch.randn(5, 3)
    layer(x).sum().backward()
    assert_close(layer.weight.grad, x.sum(0).expand(2, 3))
    assert_close(layer.bias.grad, torch.full((2,), 5.0))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_mse_loss_dtype(dtype):
    a = torch.tensor([1.0, 2.0, 3.0], dtype=dtype)
    b = torch.tensor([1.5, 2.0, 2.0], dtype=dtype)
    loss = F.mse_loss(a, b)
    assert loss.dtype == dtype
    assert_close(loss, torch.tensor(1.25 / 3, dtype=dtype))
    assert math.isclose(loss.item(), 1.25 / 3, rel_tol=1e-6)


@pytest.mark.parametrize("shape", [(2, 3), (4,), (1, 1, 5)])
def test_reshape_roundtrip(shape):
    x = torch.arange(math.prod(shape)).reshape(shape)
    assert torch.equal(x.flatten().reshape(shape), x)
    assert x.numel() == math.prod(shape)


def test_assert_close_reports_mismatch():
    with pytest.raises(AssertionError, match="Tensor-likes are not close!"):
        assert_close(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.5]))
    with pytest.raises(AssertionError, match="dtype"):
        assert_close(torch.tensor([1.0]), torch.tensor([1.0], dtype=torch.float64))
    with pytest.raises(AssertionError):
        assert_close(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0, 3.0]))
    assert_close(torch.tensor([1.0]), torch.tensor([1.0], dtype=torch.float64),
                 check_dtype=False)
    assert_close(torch.tensor([1.0, 1.1]), torch.tensor([1.0, 1.0]), rtol=0, atol=0.2)
    assert_close(torch.tensor(float("nan")), torch.tensor(float("nan")), equal_nan=True)
    assert_close(1.0, 1.0 + 1e-9)


def test_assert_close_message():
    try:
        assert_close(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.5, 3.0]))
    except AssertionError as e:
        msg = str(e)
    print("    " + "\n    ".join(msg.splitlines()))


def test_shape_mismatch_raises():
    a = torch.randn(2, 3)
    b = torch.randn(4, 5)
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        a @ b
    with pytest.raises(RuntimeError, match=r"must match the size of tensor b"):
        torch.randn(3) + torch.randn(4)
    with pytest.raises(RuntimeError, match="shape .* is invalid for input of size"):
        torch.arange(6).view(4, 2)


def test_backward_twice_raises():
    x = torch.tensor(2.0, requires_grad=True)
    y = x.exp()
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()


def test_no_grad_and_requires_grad_errors():
    x = torch.ones(2)
    with pytest.raises(RuntimeError, match="does not require grad"):
        (x * 2).sum().backward()
    w = torch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        w += 1
    with torch.no_grad():
        z = w * 2
    assert not z.requires_grad
    assert z.grad_fn is None


def test_optimizer_reduces_loss():
    torch.manual_seed(3)
    net = TwoLayerNet(2, 8, 1)
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    x = torch.randn(32, 2)
    y = x[:, :1] * 2 - x[:, 1:]
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = F.mse_loss(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] * 0.5
    print(f"    first {losses[0]:.4f} last {losses[-1]:.4f}")


def test_state_dict_roundtrip(tmp_path):
    torch.manual_seed(4)
    net = TwoLayerNet(3, 4, 2)
    path = tmp_path / "net.pt"
    torch.save(net.state_dict(), path)
    other = TwoLayerNet(3, 4, 2)
    other.load_state_dict(torch.load(path))
    for (k1, v1), (k2, v2) in zip(net.state_dict().items(), other.state_dict().items()):
        assert k1 == k2
        assert torch.equal(v1, v2)
    assert_close(net(torch.ones(1, 3)), other(torch.ones(1, 3)))


def test_dropout_eval_is_identity():
    drop = nn.Dropout(0.5)
    x = torch.randn(10, 10)
    drop.eval()
    assert torch.equal(drop(x), x)
    drop.train()
    torch.manual_seed(0)
    y = drop(x)
    assert ((y == 0) | torch.isclose(y, x * 2)).all()


def test_embedding_index_errors():
    emb = nn.Embedding(5, 3)
    with pytest.raises(IndexError, match="index out of range"):
        emb(torch.tensor([5]))
    assert emb(torch.tensor([[0, 4]])).shape == (1, 2, 3)


def test_module_errors():
    net = TwoLayerNet(2, 2, 2)
    with pytest.raises(AttributeError, match="has no attribute 'fc3'"):
        net.fc3
    with pytest.raises(TypeError):
        nn.Linear(2, 2)(torch.ones(2, 2), torch.ones(2))
    with pytest.raises(RuntimeError, match="Error\\(s\\) in loading state_dict"):
        net.load_state_dict({"fc1.weight": torch.zeros(2, 2)})


def test_make_tensor_and_allclose_tolerances():
    a = torch.tensor([1.0, 1e-8])
    b = torch.tensor([1.0 + 1e-6, 0.0])
    assert torch.allclose(a, b)
    assert not torch.allclose(a, b, atol=0.0)
    assert torch.isclose(a, b, rtol=0, atol=1e-5).tolist() == [True, True]
    assert not torch.equal(a, b)
    assert torch.equal(torch.tensor([1, 2]), torch.tensor([1, 2]))
    assert not torch.equal(torch.tensor([1, 2]), torch.tensor([1, 2, 3]))


if __name__ == "__main__":
    import inspect
    import tempfile
    from pathlib import Path

    for name, fn in list(globals().items()):
        if not name.startswith("test_") or not callable(fn):
            continue
        marks = getattr(fn, "pytestmark", [])
        params = [m for m in marks if m.name == "parametrize"]
        cases = [dict(zip([params[0].args[0]], [v])) for v in params[0].args[1]] if params \
            else [{}]
        for case in cases:
            kwargs = dict(case)
            if "tmp_path" in inspect.signature(fn).parameters:
                with tempfile.TemporaryDirectory() as d:
                    kwargs["tmp_path"] = Path(d)
                    fn(**kwargs)
            else:
                fn(**kwargs)
            print("PASSED", name, case if case else "")
